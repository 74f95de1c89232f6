// Convolution layers from C++: a small CNN built from configs trains and
// round-trips through a model file; layers made by their constructors;
// output shapes and "same" padding; bad configs and input shapes.
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "check.hpp"
#include "entrena/entrena.hpp"

using namespace entrena;
namespace fs = std::filesystem;

namespace {

// 8×8 images with a horizontal (class 0) or vertical (class 1) bar, noisy.
void bars(index_t n, std::uint64_t seed, std::vector<float>& X, std::vector<float>& y) {
  Rng rng(seed);
  X.assign(static_cast<std::size_t>(n * 64), 0.0f);
  y.assign(static_cast<std::size_t>(n), 0.0f);
  for (index_t i = 0; i < n; ++i) {
    float* img = X.data() + i * 64;
    for (int k = 0; k < 64; ++k) img[k] = static_cast<float>(0.3 * rng.normal());
    const bool vertical = rng.uniform() < 0.5;
    const int pos = 1 + static_cast<int>(rng.uniform() * 6);
    for (int k = 0; k < 8; ++k) img[vertical ? k * 8 + pos : pos * 8 + k] += 1.0f;
    y[static_cast<std::size_t>(i)] = vertical ? 1.0f : 0.0f;
  }
}

const char* kArchitecture = R"({"input_shape": [1, 8, 8], "layers": [
  {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
  {"type": "Conv2D", "filters": 8, "kernel_size": [3, 3], "strides": 2, "groups": 2, "activation": "relu"},
  {"type": "Conv2D", "filters": 8, "kernel_size": 1, "groups": 8, "use_bias": false},
  {"type": "Flatten"},
  {"type": "Dense", "units": 2}]})";

}  // namespace

TEST(a_cnn_from_configs_trains_and_round_trips_through_a_file) {
  auto m = model_from_architecture<float>(Json::parse(kArchitecture), 3);
  CHECK_EQ(m->output_shape(), Shape{2});
  CHECK_EQ(m->layer(1).output_shape(), (Shape{8, 3, 3}));
  CHECK_EQ(m->layer(1).param_specs()[0].shape, (Shape{8, 2, 3, 3}));
  CHECK_EQ(m->num_params(), 4 * 9 + 4 + 8 * 2 * 9 + 8 + 8 + 72 * 2 + 2);
  std::vector<float> X, y;
  bars(192, 5, X, y);
  CategoricalCrossentropy<float> loss;
  Adam<float> opt(0.01);
  FitOptions<float> o;
  o.epochs = 12;
  o.batch_size = 32;
  History h = fit(*m, loss, opt, X.data(), y.data(), 192, 1, o);
  CHECK(h["loss"].back() < 0.3 * h["loss"].front());

  const fs::path dir = fs::current_path() / "conv_test_files";
  fs::create_directories(dir);
  const std::string path = (dir / "cnn.safetensors").string();
  save(*m, path);
  LoadedModel<float> l = load<float>(path);
  CHECK(architecture(*l.model) == architecture(*m));
  CHECK(std::memcmp(l.model->params(), m->params(), sizeof(float) * static_cast<std::size_t>(m->num_params())) == 0);
  std::vector<float> p1(192 * 2), p2(192 * 2);
  predict<float>(*m, X.data(), 192, p1.data());
  predict<float>(*l.model, X.data(), 192, p2.data());
  CHECK(p1 == p2);
  // Loaded as float64: the same architecture, predictions close.
  LoadedModel<double> l64 = load<double>(path);
  std::vector<double> X64(X.begin(), X.end()), p64(192 * 2);
  predict<double>(*l64.model, X64.data(), 192, p64.data());
  for (std::size_t i = 0; i < p1.size(); ++i) CHECK_NEAR(p64[i], p1[i], 1e-4);
  fs::remove_all(dir);
}

TEST(layers_made_by_their_constructors) {
  ConvArgs a;
  a.strides = {2};
  a.padding = "same";
  a.groups = 3;
  Sequential<double> m(1);
  m.add(Conv2D<double>(6, {3, 2}, "tanh", a));
  ConvArgs b;
  b.pads = {1, 0};
  b.dilation_rate = {1, 2};
  b.use_bias = false;
  m.add(Conv2D<double>(4, {3}, "", b));
  m.build({3, 9, 10});
  CHECK_EQ(m.layer(0).output_shape(), (Shape{6, 5, 5}));  // ceil(9 / 2), ceil(10 / 2)
  CHECK_EQ(m.layer(1).output_shape(), (Shape{4, 5, 1}));  // (5 + 2 - 3) + 1, 5 - (2·2 + 1) + 1
  CHECK_EQ(m.layer(0).param_specs()[0].shape, (Shape{6, 1, 3, 2}));
  CHECK_EQ(m.layer(1).param_specs().size(), 1u);
  const auto& c0 = dynamic_cast<const Conv2D<double>&>(m.layer(0));
  // "same" along height: total (5 - 1)·2 + 3 - 9 = 2 -> 1 before, 1 after;
  // along width: (5 - 1)·2 + 2 - 10 = 0.
  CHECK_EQ(c0.pads_before()[0], 1);
  CHECK_EQ(c0.pads_after()[0], 1);
  CHECK_EQ(c0.pads_before()[1], 0);
  CHECK(m.layer(0).config() == make_layer<double>(m.layer(0).config())->config());
  std::vector<double> x(2 * 3 * 9 * 10, 0.25), dy(2 * 4 * 5, 1.0);
  m.forward(x.data(), 2, true);
  m.zero_grad();
  m.backward(dy.data());
  double gsum = 0;
  for (index_t i = 0; i < m.num_params(); ++i) gsum += std::fabs(m.grads()[i]);
  CHECK(gsum > 0);

  Sequential<float> m1(2);
  ConvArgs s;
  s.padding = "same";
  s.strides = {3};
  m1.add(Conv1D<float>(5, {4}, "relu", s));
  m1.build({2, 10});
  CHECK_EQ(m1.output_shape(), (Shape{5, 4}));
  CHECK(m1.layer(0).config() ==
        Json::parse(R"({"type": "Conv1D", "filters": 5, "kernel_size": [4], "strides": [3], "padding": "same",
                        "dilation_rate": [1], "groups": 1, "activation": "relu", "use_bias": true,
                        "kernel_init": {"name": "glorot_uniform"}, "bias_init": {"name": "zeros"}})"));
}

TEST(bad_configs_and_shapes) {
  auto conv = [](const char* text) { return make_layer<float>(Json::parse(text)); };
  CHECK_THROWS(ValueError, conv(R"({"type": "Conv2D", "kernel_size": 3})"), "filters: missing");
  CHECK_THROWS(ValueError, conv(R"({"type": "Conv2D", "filters": 2, "kernel_size": 3, "groups": 3})"),
               "groups: expected a divisor of filters (2), got 3");
  CHECK_THROWS(TypeError, conv(R"({"type": "Conv1D", "filters": 2, "kernel_size": [3, 3]})"),
               "kernel_size: expected an integer or a list of 1 integers, got an array of 2");
  CHECK_THROWS(ValueError, conv(R"({"type": "Conv2D", "filters": 2, "kernel_size": 3, "padding": "full"})"),
               "padding: expected 'valid', 'same'");
  CHECK_THROWS(ValueError, conv(R"({"type": "Conv2D", "filters": 2, "kernel_size": 3, "stride": 2})"),
               "Conv2D: unknown argument 'stride'");
  CHECK_THROWS(ValueError, Conv2D<float>(2, {3, 3, 3}), "kernel_size: expected 1 or 2 values");
  Sequential<float> m;
  m.add(Conv2D<float>(4, {3}, "", ConvArgs()));
  CHECK_THROWS(ValueError, m.build({3, 8}), "Conv2D: expected inputs of shape (n, channels, height, width), got (n, 3, 8)");
  Sequential<float> m2;
  m2.add(Conv2D<float>(4, {5}));
  CHECK_THROWS(ValueError, m2.build({1, 4, 6}), "is smaller than the dilated kernel (5 × 5)");
}

ENTRENA_TEST_MAIN
