// Layers, models and the factory: shapes through forward and backward,
// training XOR, configs and their round trip, errors on bad shapes.
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "check.hpp"
#include "entrena/entrena.hpp"

using namespace entrena;

namespace {

template <class T>
std::unique_ptr<Sequential<T>> mlp(std::uint64_t seed, const char* act = "relu") {
  auto m = std::make_unique<Sequential<T>>(seed);
  m->add(std::make_unique<Dense<T>>(8, act));
  m->add(std::make_unique<Dense<T>>(2));
  return m;
}

const float kXorX[] = {0, 0, 0, 1, 1, 0, 1, 1};
const float kXorY[] = {0, 1, 1, 0};

}  // namespace

TEST(forward_and_backward_shapes) {
  Sequential<double> m(3);
  m.add(std::make_unique<Dense<double>>(5));
  m.add(std::make_unique<ActivationLayer<double>>(Activation::ReLU));
  m.add(std::make_unique<Dropout<double>>(0.5));
  m.add(std::make_unique<Dense<double>>(3, "", "glorot_uniform", "zeros", false));
  m.build({4});
  CHECK_EQ(m.output_shape(), Shape{3});
  const auto ps = m.layer(0).param_specs();
  CHECK_EQ(ps.size(), 2u);
  CHECK_EQ(ps[0].name, std::string("W"));
  CHECK_EQ(ps[0].shape, (Shape{4, 5}));
  CHECK_EQ(ps[1].name, std::string("b"));
  CHECK_EQ(ps[1].shape, (Shape{5}));
  CHECK_EQ(m.layer(3).param_specs().size(), 1u);
  CHECK_EQ(m.param_info().size(), 3u);
  CHECK_EQ(m.param_info()[2].name, std::string("layers.3.W"));
  CHECK_EQ(m.param_info()[2].offset, 25);
  CHECK_EQ(m.param_segments().size(), 1u);
  CHECK_EQ(m.num_params(), 4 * 5 + 5 + 5 * 3);
  std::vector<double> x(6 * 4, 0.5), dy(6 * 3, 1.0);
  const double* y = m.forward(x.data(), 6, true);
  CHECK(y != nullptr);
  m.zero_grad();
  m.backward(dy.data());
  double gsum = 0;
  for (index_t i = 0; i < m.num_params(); ++i) gsum += std::fabs(m.grads()[i]);
  CHECK(gsum > 0);
}

TEST(flatten_takes_image_shapes) {
  Sequential<float> m;
  m.add(std::make_unique<Flatten<float>>());
  m.add(std::make_unique<Dense<float>>(4));
  m.build({2, 3, 3});
  const auto ps = m.layer(1).param_specs();
  CHECK_EQ(ps[0].shape, (Shape{18, 4}));
  CHECK_EQ(m.output_shape(), Shape{4});
}

TEST(aligned_buffers_keep_their_contents_when_they_grow) {
  AlignedBuffer<double> b(3);
  for (index_t i = 0; i < 3; ++i) b[i] = static_cast<double>(i + 1);
  b.reserve_at_least(2);  // never shrinks
  CHECK_EQ(b.size(), 3);
  b.reserve_at_least(1000);  // new storage: the old values come along, new ones are zero
  CHECK_EQ(b.size(), 1000);
  CHECK_EQ(b[0], 1.0);
  CHECK_EQ(b[2], 3.0);
  CHECK_EQ(b[999], 0.0);
  CHECK_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % 64, 0u);
  b.resize(2);
  b.resize(5);  // regrown within the capacity: the dropped elements come back as zeros
  CHECK_EQ(b[1], 2.0);
  CHECK_EQ(b[2], 0.0);
}

TEST(dense_acts_on_the_last_axis) {
  // (n, T, F) -> (n, T, units): the same as Dense on each of the n*T rows.
  Sequential<double> m(2);
  m.add(std::make_unique<Dense<double>>(3, "tanh"));
  m.build({5, 4});
  CHECK_EQ(m.output_shape(), (Shape{5, 3}));
  Sequential<double> flat(2);
  flat.add(std::make_unique<Dense<double>>(3, "tanh"));
  flat.build({4});
  std::vector<double> x(2 * 5 * 4);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37 * static_cast<double>(i));
  const double* y = m.forward(x.data(), 2, false);
  std::vector<double> y3(y, y + 2 * 5 * 3);
  const double* y2 = flat.forward(x.data(), 10, false);
  bool same = true;
  for (std::size_t i = 0; i < y3.size(); ++i) same = same && y3[i] == y2[i];
  CHECK(same);
}

TEST(buffers_and_parameter_options) {
  Sequential<float> m(4);
  m.add(std::make_unique<Normalization<float>>());
  m.add(std::make_unique<Dense<float>>(3));
  m.add(std::make_unique<Dense<float>>(2));
  m.build({4});
  CHECK_EQ(m.num_buffer_elements(), 8);
  CHECK_EQ(m.buffer_info()[0].name, std::string("layers.0.mean"));
  CHECK_EQ(m.buffer_info()[1].name, std::string("layers.0.variance"));
  CHECK_EQ(m.buffers()[4], 1.0f);  // variance starts at 1
  CHECK_EQ(m.num_params(), 4 * 3 + 3 + 3 * 2 + 2);
  // Switching weight decay off for the biases cuts the buffer into runs.
  m.set_param_options(1, ParamOptions{false});
  m.set_param_options(3, ParamOptions{false});
  CHECK_EQ(m.param_segments().size(), 4u);
  CHECK(!m.param_segments()[1].options.weight_decay);
  CHECK_EQ(m.param_segments()[1].offset, 12);
  // SGD with weight decay: decayed tensors shrink, the others do not move (zero gradient).
  std::vector<float> before(m.params(), m.params() + m.num_params());
  for (index_t i = 0; i < m.num_params(); ++i) m.params()[i] = 1.0f, before[static_cast<std::size_t>(i)] = 1.0f;
  m.zero_grad();
  SGD<float> opt(0.5, 0.0, 0.0, 0.1);
  opt.step(m.params(), m.grads(), m.num_params(), m.param_segments());
  CHECK_NEAR(m.params()[0], 1.0f - 0.5f * 0.1f, 1e-7);   // layers.1.W
  CHECK_EQ(m.params()[12], 1.0f);                          // layers.1.b
  CHECK_NEAR(m.params()[15], 1.0f - 0.5f * 0.1f, 1e-7);  // layers.2.W
  CHECK_EQ(m.params()[21], 1.0f);                          // layers.2.b
}

TEST(bad_shapes_and_states_throw) {
  Sequential<float> m;
  m.add(std::make_unique<Dense<float>>(4));
  CHECK_THROWS(ValueError, m.build({}), "(n, ..., features)");
  Sequential<float> m2;
  CHECK_THROWS(ValueError, m2.build({3}), "no layers");
  Sequential<float> m3;
  m3.add(std::make_unique<Dense<float>>(4));
  float x[3] = {1, 2, 3};
  CHECK_THROWS(StateError, m3.forward(x, 1, false), "not built");
  CHECK_THROWS(ValueError, m3.build({0}), "positive");
  m3.build({3});
  CHECK_THROWS(StateError, m3.add(std::make_unique<Dense<float>>(1)), "already built");
  CHECK_THROWS(ValueError, Dense<float>(0), "units: expected an integer >= 1, got 0");
  Sequential<float> huge;
  huge.add(std::make_unique<Dense<float>>(index_t(1) << 61));
  huge.add(std::make_unique<Dense<float>>(2));
  CHECK_THROWS(ValueError, huge.build({4}), "2^40");
  CHECK_THROWS(ValueError, m3.forward(x, 0, false), "n must be >= 1");
}

TEST(trains_xor_to_near_zero_loss) {
  auto m = mlp<float>(7, "relu");
  m->build({2});
  CategoricalCrossentropy<float> loss;
  auto opt = make_optimizer<float>("adam", Json::object({{"lr", 0.05}}));
  double last = 0;
  for (int e = 0; e < 500; ++e) last = train_epoch<float>(*m, loss, *opt, kXorX, kXorY, 4, 1, 4, false, false).loss;
  CHECK(last < 0.02);
  float out[8];
  predict<float>(*m, kXorX, 4, out);
  for (int i = 0; i < 4; ++i) {
    const int cls = out[2 * i + 1] > out[2 * i] ? 1 : 0;
    CHECK_EQ(cls, static_cast<int>(kXorY[i]));
  }
  CHECK_NEAR(evaluate<float>(*m, loss, kXorX, kXorY, 4, 1, 4), last, 0.02);
}

TEST(class_index_targets_are_checked) {
  auto m = mlp<float>(1);
  m->build({2});
  CategoricalCrossentropy<float> loss;
  SGD<float> opt(0.1);
  const float bad_y[] = {0, 1, 2, 0};
  CHECK_THROWS(ValueError, train_epoch<float>(*m, loss, opt, kXorX, bad_y, 4, 1, 2, false, false), "class indices");
  CHECK_THROWS(ValueError, train_epoch<float>(*m, loss, opt, kXorX, kXorY, 4, 1, 0, false, false), "batch_size");
}

TEST(layer_configs_round_trip_through_the_factory) {
  Sequential<float> m(5);
  m.add(std::make_unique<Dense<float>>(6, "relu", Initializer::from_name("uniform", -0.5, 0.25),
                                       Initializer::from_name("constant", 0.1), false));
  m.add(std::make_unique<Dropout<float>>(0.25));
  m.add(std::make_unique<ActivationLayer<float>>(Activation::LeakyReLU, 0.2));
  m.add(std::make_unique<Flatten<float>>());
  m.add(std::make_unique<Dense<float>>(3));
  m.build({4});
  const Json arch = architecture(m);
  CHECK_EQ(arch.at("input_shape").dump(), std::string("[4]"));
  const Json& d0 = arch.at("layers").at(0);
  CHECK_EQ(d0.at("type").as_string(), std::string("Dense"));
  CHECK_EQ(d0.at("units").as_int(), 6);
  CHECK_EQ(d0.at("use_bias").as_bool(), false);
  CHECK_EQ(d0.at("activation").as_string(), std::string("relu"));
  CHECK_EQ(d0.at("kernel_init").at("name").as_string(), std::string("uniform"));
  CHECK_EQ(d0.at("kernel_init").at("low").as_double(), -0.5);
  CHECK_EQ(d0.at("kernel_init").at("high").as_double(), 0.25);
  CHECK_EQ(d0.at("bias_init").at("value").as_double(), 0.1);
  CHECK_EQ(arch.at("layers").at(1).at("rate").as_double(), 0.25);
  CHECK_EQ(arch.at("layers").at(2).at("alpha").as_double(), 0.2);
  CHECK(arch.at("layers").at(4).at("activation").is_null());
  // Rebuilt from its architecture (after a JSON text round trip), the same seed gives the same weights.
  auto m2 = model_from_architecture<float>(Json::parse(arch.dump()), 5);
  CHECK(architecture(*m2) == arch);
  CHECK_EQ(m2->num_params(), m.num_params());
  bool same = true;
  for (index_t i = 0; i < m.num_params(); ++i) same = same && m.params()[i] == m2->params()[i];
  CHECK(same);
}

TEST(the_registry_reads_the_forms_of_entrena_0_1_and_names) {
  auto l = make_layer<double>(Json::parse(
      R"({"type": "Dense", "units": 3, "activation": "relu", "kernel_init": "he_normal", "name": "d1"})"));
  auto* d = dynamic_cast<Dense<double>*>(l.get());
  CHECK(d != nullptr);
  if (d) {
    CHECK(d->use_bias());
    CHECK(d->activation() == Activation::ReLU);
    CHECK_EQ(d->kernel_init().name(), std::string("he_normal"));
    CHECK_EQ(d->bias_init().name(), std::string("zeros"));
    CHECK_EQ(d->name(), std::string("d1"));
    const Json c = d->config();
    CHECK_EQ(c.at("name").as_string(), std::string("d1"));
  }
  // entrena 0.1 files: a nested Activation config and initializer a/b.
  auto old = make_layer<float>(Json::parse(
      R"({"type": "Dense", "units": 2, "use_bias": true,
          "activation": {"type": "Activation", "activation": "leaky_relu", "alpha": 0.3},
          "kernel_init": {"name": "normal", "a": 0.5, "b": 0.1}, "bias_init": {"name": "zeros", "a": 0, "b": 0}})"));
  const Json c = old->config();
  CHECK_EQ(c.at("activation").as_string(), std::string("leaky_relu"));
  CHECK_EQ(c.at("alpha").as_double(), 0.3);
  CHECK_EQ(c.at("kernel_init").at("mean").as_double(), 0.5);
  CHECK_EQ(c.at("kernel_init").at("std").as_double(), 0.1);
  // Aliases, ignoring case.
  auto k = make_layer<float>(Json::parse(R"({"type": "Dense", "units": 2, "kernel_init": "Kaiming_Normal"})"));
  const Json kc = k->config();
  CHECK_EQ(kc.at("kernel_init").at("name").as_string(), std::string("he_normal"));
}

// A layer registered by an application: y = scale * x, with a buffer that
// counts the training samples seen.
template <class T>
class ScaleLayer : public Layer<T> {
 public:
  explicit ScaleLayer(double s) : s_(s) {}
  static std::unique_ptr<Layer<T>> from_config(Options& o) {
    return std::make_unique<ScaleLayer<T>>(o.number("scale", 1.0));
  }
  std::string kind() const override { return "Scale"; }
  Json args() const override { return Json::object({{"scale", s_}}); }
  Shape build(const Shape& s) override {
    this->in_shape_ = this->out_shape_ = s;
    return s;
  }
  std::vector<TensorSpec> buffer_specs() const override { return {{"seen", {1}}}; }
  void bind(const TensorPointers<T>& t) override { seen_ = t.buffers[0]; }
  void forward(const T* x, T* y, index_t n, bool training, Rng&) override {
    const index_t c = n * shape_size(this->in_shape_);
    for (index_t i = 0; i < c; ++i) y[i] = static_cast<T>(s_) * x[i];
    if (training) seen_[0] += static_cast<T>(n);
  }
  void backward(const T*, const T*, const T* dy, T* dx, index_t n) override {
    if (!dx) return;
    const index_t c = n * shape_size(this->in_shape_);
    for (index_t i = 0; i < c; ++i) dx[i] = static_cast<T>(s_) * dy[i];
  }

 private:
  double s_;
  T* seen_ = nullptr;
};

TEST(applications_register_layers_with_buffers) {
  register_layer<ScaleLayer>("Scale");
  const auto types = layer_types();
  CHECK(std::find(types.begin(), types.end(), "Scale") != types.end());
  auto m = model_from_architecture<double>(Json::parse(
      R"({"input_shape": [2], "layers": [{"type": "Dense", "units": 3}, {"type": "Scale", "scale": 2}]})"), 3);
  CHECK_EQ(m->num_buffer_elements(), 1);
  const double x[4] = {1, 2, 3, 4};
  m->forward(x, 2, true);
  m->forward(x, 2, false);
  CHECK_EQ(m->buffers()[0], 2.0);
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Scale", "factor": 2})")),
               "Scale: unknown argument 'factor'; expected name, scale, type");
}

TEST(factory_errors_list_what_is_accepted) {
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Conv9D"})")), "expected one of Dense");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"units": 3})")), "\"type\"");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Dense"})")), "units: missing");
  CHECK_THROWS(TypeError, make_layer<float>(Json::parse(R"({"type": "Dense", "units": "3"})")),
               "units: expected an integer, got string \"3\"");
  CHECK_THROWS(TypeError, make_layer<float>(Json::parse(R"({"type": "Dense", "units": 3.5})")), "integer");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Dense", "units": 3, "activation": "nope"})")),
               "activation: expected one of identity");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Dense", "units": 3, "kernel_init": {"name": "x"}})")),
               "kernel_init: expected one of zeros");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Dense", "units": 3, "unit": 4})")),
               "Dense: unknown argument 'unit'");
  CHECK_THROWS(TypeError, make_layer<float>(Json::parse("[]")), "JSON object");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Dropout", "rate": 1.0})")),
               "rate: expected a finite number in [0, 1), got 1");
  CHECK_THROWS(ValueError, make_loss<float>("mse_typo"), "expected one of mse");
  CHECK_THROWS(ValueError, make_loss<float>("huber", Json::object({{"delta", 1.0}, {"beta", 2.0}})),
               "huber: unknown argument 'beta'; expected delta, reduction");
  CHECK_THROWS(ValueError, make_loss<float>("mse", Json::object({{"reduction", "none"}})), "none");
  CHECK_THROWS(ValueError, make_optimizer<float>("sgd", Json::object({{"momentum", 0.9}, {"lr_", 0.1}})),
               "unknown argument 'lr_'");
  CHECK_THROWS(TypeError, make_optimizer<float>("sgd", Json::object({{"lr", "fast"}})), "lr: expected a number");
  CHECK_THROWS(ValueError, make_optimizer<float>("sgd", Json::object({{"lr", -1.0}})), "lr");
  CHECK_THROWS(ValueError, make_optimizer<float>("nadam"), "expected one of sgd");
  CHECK_THROWS(ValueError, model_from_architecture<float>(Json::parse(
                   R"({"input_shape": [4], "layers": [{"type": "Dense", "units": 2}, {"type": "Dense", "units": -1}]})")),
               "architecture.layers[1]");
  CHECK_THROWS(ValueError, model_from_architecture<float>(Json::parse(R"({"input_shape": [0], "layers": []})")),
               "input_shape[0]");
  CHECK_THROWS(ValueError, model_from_architecture<float>(Json::parse(
                   R"({"input_shape": [1048576], "layers": [{"type": "Dense", "units": 1099511627776}]})")),
               "2^40");
}

TEST(every_registered_name_builds_and_round_trips) {
  for (const std::string& name : loss_names()) {
    CHECK_EQ(make_loss<float>(name)->name(), name);
    auto l = make_loss<double>(name);
    CHECK_EQ(make_loss<double>(name, l->config())->config().dump(), l->config().dump());
  }
  for (const std::string& name : optimizer_names()) {
    CHECK_EQ(make_optimizer<float>(name)->name(), name);
    auto o = make_optimizer<double>(name, Json::object({{"lr", 0.5}, {"clip_norm", 1.0}}));
    CHECK_EQ(o->lr(), 0.5);
    CHECK_EQ(make_optimizer<double>(name, o->config())->config().dump(), o->config().dump());
  }
  CHECK(!layer_types().empty());
  auto adam = make_optimizer<float>("adam", Json::parse(R"({"betas": [0.8, 0.9], "amsgrad": true})"));
  auto* a = dynamic_cast<Adam<float>*>(adam.get());
  CHECK(a != nullptr);
  if (a) {
    CHECK_EQ(a->hyper().beta1, 0.8);
    CHECK_EQ(a->hyper().beta2, 0.9);
    CHECK(a->hyper().amsgrad);
  }
  CHECK_EQ(make_optimizer<float>("adamw")->name(), std::string("adamw"));
  auto mom = make_optimizer<float>("Momentum");
  CHECK_EQ(mom->name(), std::string("sgd"));
  const Json mc = mom->config();
  CHECK_EQ(mc.at("momentum").as_double(), 0.9);
  for (const char* kind : {"activation", "initializer", "loss", "optimizer", "metric", "layer"})
    CHECK(!names(kind).names().empty());
}

TEST(layers_added_by_value_like_python) {
  // model.add(Dense<T>(units, "activation", "kernel_init")) builds the same
  // model as the registry with the same seed.
  Sequential<float> a(5);
  a.add(Dense<float>(8, "relu", "he_uniform")).add(Dropout<float>(0.25)).add(Dense<float>(2));
  a.build({2});
  Sequential<float> b(5);
  b.add(make_layer<float>(Json::parse(R"({"type": "Dense", "units": 8, "activation": "relu", "kernel_init": "he_uniform"})")));
  b.add(make_layer<float>(Json::parse(R"({"type": "Dropout", "rate": 0.25})")));
  b.add(make_layer<float>(Json::parse(R"({"type": "Dense", "units": 2})")));
  b.build({2});
  CHECK_EQ(a.num_params(), b.num_params());
  bool same = true;
  for (index_t i = 0; i < a.num_params(); ++i) same = same && a.params()[i] == b.params()[i];
  CHECK(same);
  CHECK(a.layer(0).config().dump() == b.layer(0).config().dump());
  CHECK_THROWS(ValueError, Dense<float>(4, "sparkle"), "sparkle");
  CHECK_THROWS(ValueError, Dense<float>(4, "relu", "magic"), "magic");
}

TEST(bf16_products_round_the_operands) {
  // One Dense layer: with bfloat16 products, y = bf16(x)·bf16(W) + b (to
  // float32 accumulation), different from the float32 result; float64
  // models have no bfloat16 policy.
  Sequential<float> m(3);
  m.add(Dense<float>(3));
  m.build({4});
  const float x[8] = {1.00390625f, -2.5f, 0.3333333f, 7.1f, 0.1f, 0.2f, 0.3f, 0.4f};
  std::vector<float> fp32(m.forward(x, 2, false), m.forward(x, 2, false) + 6);
  m.set_bf16(true);
  CHECK(m.bf16());
  const float* y = m.forward(x, 2, false);
  const float* W = m.params();
  const float* b = m.params() + 12;
  bool near = true, differs = false;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      double want = b[j];
      for (int k = 0; k < 4; ++k) want += double(round_to_bf16(x[i * 4 + k])) * round_to_bf16(W[k * 3 + j]);
      near = near && std::fabs(y[i * 3 + j] - want) <= 1e-5 * (1 + std::fabs(want));
      differs = differs || y[i * 3 + j] != fp32[static_cast<std::size_t>(i * 3 + j)];
    }
  CHECK(near);
  CHECK(differs);
  CHECK_EQ(round_to_bf16(1.00390625f), 1.0f);          // a tie: to even
  CHECK_EQ(round_to_bf16(1.01171875f), 1.015625f);     // above the tie: up
  Sequential<double> d(1);
  d.add(Dense<double>(2));
  d.build({2});
  CHECK_THROWS(ValueError, d.set_bf16(true), "precision");
}

ENTRENA_TEST_MAIN
