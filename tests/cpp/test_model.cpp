// Layers, models and the factory: shapes through forward and backward,
// training XOR, configs and their round trip, errors on bad shapes.
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
  m->add(std::make_unique<Dense<T>>(8, true, Initializer{}, Initializer{Initializer::Kind::Zeros},
                                    std::make_unique<ActivationLayer<T>>(activation_from_name(act))));
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
  m.add(std::make_unique<Dense<double>>(3, false));
  m.build({4});
  CHECK_EQ(m.output_shape(), Shape{3});
  const auto ps = m.layer(0).param_shapes();
  CHECK_EQ(ps.size(), 2u);
  CHECK_EQ(ps[0].first, std::string("W"));
  CHECK_EQ(ps[0].second, (Shape{4, 5}));
  CHECK_EQ(ps[1].first, std::string("b"));
  CHECK_EQ(ps[1].second, (Shape{5}));
  CHECK_EQ(m.layer(3).param_shapes().size(), 1u);
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
  const auto ps = m.layer(1).param_shapes();
  CHECK_EQ(ps[0].second, (Shape{18, 4}));
  CHECK_EQ(m.output_shape(), Shape{4});
}

TEST(bad_shapes_and_states_throw) {
  Sequential<float> m;
  m.add(std::make_unique<Dense<float>>(4));
  CHECK_THROWS(ValueError, m.build({2, 3}), "Flatten");
  Sequential<float> m2;
  CHECK_THROWS(ValueError, m2.build({3}), "no layers");
  Sequential<float> m3;
  m3.add(std::make_unique<Dense<float>>(4));
  float x[3] = {1, 2, 3};
  CHECK_THROWS(StateError, m3.forward(x, 1, false), "not built");
  CHECK_THROWS(ValueError, m3.build({0}), "positive");
  m3.build({3});
  CHECK_THROWS(StateError, m3.add(std::make_unique<Dense<float>>(1)), "already built");
  CHECK_THROWS(ValueError, Dense<float>(0), "units must be >= 1");
  CHECK_THROWS(ValueError, m3.forward(x, 0, false), "n must be >= 1");
}

TEST(trains_xor_to_near_zero_loss) {
  auto m = mlp<float>(7, "relu");
  m->build({2});
  SoftmaxCrossEntropy<float> loss;
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
  SoftmaxCrossEntropy<float> loss;
  SGD<float> opt(0.1);
  const float bad_y[] = {0, 1, 2, 0};
  CHECK_THROWS(ValueError, train_epoch<float>(*m, loss, opt, kXorX, bad_y, 4, 1, 2, false, false), "class indices");
  CHECK_THROWS(ValueError, train_epoch<float>(*m, loss, opt, kXorX, kXorY, 4, 1, 0, false, false), "batch_size");
}

TEST(layer_configs_round_trip_through_the_factory) {
  Sequential<float> m(5);
  m.add(std::make_unique<Dense<float>>(6, false, Initializer::from_name("uniform", -0.5, 0.25),
                                       Initializer::from_name("constant", 0.1),
                                       std::make_unique<ActivationLayer<float>>(Activation::ReLU)));
  m.add(std::make_unique<Dropout<float>>(0.25));
  m.add(std::make_unique<ActivationLayer<float>>(Activation::ReLU));
  m.add(std::make_unique<Flatten<float>>());
  m.add(std::make_unique<Dense<float>>(3));
  m.build({4});
  const Json arch = architecture(m);
  CHECK_EQ(arch.at("input_shape").dump(), std::string("[4]"));
  const Json& d0 = arch.at("layers").at(0);
  CHECK_EQ(d0.at("type").as_string(), std::string("Dense"));
  CHECK_EQ(d0.at("units").as_int(), 6);
  CHECK_EQ(d0.at("use_bias").as_bool(), false);
  CHECK_EQ(d0.at("activation").at("activation").as_string(), std::string("relu"));
  CHECK_EQ(d0.at("kernel_init").at("name").as_string(), std::string("uniform"));
  CHECK_EQ(d0.at("kernel_init").at("a").as_double(), -0.5);
  CHECK_EQ(d0.at("kernel_init").at("b").as_double(), 0.25);
  CHECK_EQ(arch.at("layers").at(1).at("rate").as_double(), 0.25);
  CHECK(arch.at("layers").at(4).at("activation").is_null());
  // Rebuilt from its architecture (after a JSON text round trip), the same seed gives the same weights.
  auto m2 = model_from_architecture<float>(Json::parse(arch.dump()), 5);
  CHECK(architecture(*m2) == arch);
  CHECK_EQ(m2->num_params(), m.num_params());
  bool same = true;
  for (index_t i = 0; i < m.num_params(); ++i) same = same && m.params()[i] == m2->params()[i];
  CHECK(same);
}

TEST(factory_accepts_shorthands_and_ignores_unknown_layer_keys) {
  auto l = make_layer<double>(Json::parse(
      R"({"type": "Dense", "units": 3, "activation": "relu", "kernel_init": "he_normal", "name": "d1"})"));
  auto* d = dynamic_cast<Dense<double>*>(l.get());
  CHECK(d != nullptr);
  if (d) {
    CHECK(d->use_bias());
    CHECK(d->activation() != nullptr);
    CHECK_EQ(d->kernel_init().name(), std::string("he_normal"));
    CHECK_EQ(d->bias_init().name(), std::string("zeros"));
  }
}

TEST(factory_errors_list_what_is_accepted) {
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Conv9D"})")), "expected one of Dense");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"units": 3})")), "\"type\"");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Dense"})")), "missing \"units\"");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Dense", "units": "3"})")), "integer");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Dense", "units": 3, "activation": "nope"})")), "nope");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Dense", "units": 3, "kernel_init": {"name": "x"}})")), "initializer");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse("[]")), "JSON object");
  CHECK_THROWS(ValueError, make_loss<float>("mse_typo"), "expected one of mse");
  CHECK_THROWS(ValueError, make_loss<float>("huber", Json::object({{"delta", 1.0}, {"beta", 2.0}})), "unknown option 'beta'; expected delta, reduction");
  CHECK_THROWS(ValueError, make_loss<float>("mse", Json::object({{"reduction", "none"}})), "none");
  CHECK_THROWS(ValueError, make_optimizer<float>("sgd", Json::object({{"momentum", 0.9}, {"lr_", 0.1}})),
               "unknown option 'lr_'");
  CHECK_THROWS(ValueError, make_optimizer<float>("sgd", Json::object({{"lr", "fast"}})), "lr must be a number");
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
    CHECK_EQ(make_loss<double>(name)->name(), name);
  }
  for (const std::string& name : optimizer_names()) {
    CHECK_EQ(make_optimizer<float>(name)->name(), name);
    CHECK_EQ(make_optimizer<double>(name, Json::object({{"lr", 0.5}, {"clip_norm", 1.0}}))->lr(), 0.5);
  }
  CHECK(!layer_types().empty());
  auto adam = make_optimizer<float>("adam", Json::parse(R"({"betas": [0.8, 0.9], "amsgrad": true})"));
  auto* a = dynamic_cast<Adam<float>*>(adam.get());
  CHECK(a != nullptr);
  if (a) {
    CHECK_EQ(a->config().beta1, 0.8);
    CHECK_EQ(a->config().beta2, 0.9);
    CHECK(a->config().amsgrad);
  }
  CHECK_EQ(make_optimizer<float>("adamw")->name(), std::string("adamw"));
}

ENTRENA_TEST_MAIN

TEST(layers_added_by_value_like_python) {
  // model.add(Dense<T>(units, "activation")) builds the same model as the
  // explicit constructor with the same seed.
  Sequential<float> a(5);
  a.add(Dense<float>(8, "relu", "he_uniform")).add(Dropout<float>(0.25)).add(Dense<float>(2));
  a.build({2});
  Sequential<float> b(5);
  b.add(std::make_unique<Dense<float>>(8, true, Initializer::from_name("he_uniform"),
                                       Initializer{Initializer::Kind::Zeros},
                                       std::make_unique<ActivationLayer<float>>(Activation::ReLU)));
  b.add(std::make_unique<Dropout<float>>(0.25));
  b.add(std::make_unique<Dense<float>>(2));
  b.build({2});
  CHECK_EQ(a.num_params(), b.num_params());
  bool same = true;
  for (index_t i = 0; i < a.num_params(); ++i) same = same && a.params()[i] == b.params()[i];
  CHECK(same);
  CHECK(a.layer(0).config().dump() == b.layer(0).config().dump());
  CHECK_THROWS(ValueError, Dense<float>(4, "sparkle"), "sparkle");
  CHECK_THROWS(ValueError, Dense<float>(4, "relu", "magic"), "magic");
}
