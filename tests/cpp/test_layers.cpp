// The layers of convolution-free image and sequence models from C++:
// pooling, padding, reshaping and normalization layers built from configs
// and by value, trained with fit, and saved and loaded with their buffers
// (batch normalization's running statistics).
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "check.hpp"
#include "entrena/entrena.hpp"

using namespace entrena;
namespace fs = std::filesystem;

namespace {

const char* const kLayers[] = {
    R"({"type": "ZeroPadding2D", "padding": [[1, 0], [0, 1]]})",
    R"({"type": "AvgPool2D", "pool_size": 2, "strides": 1, "padding": "same"})",
    R"({"type": "Dense", "units": 4, "activation": "relu"})",
    R"({"type": "LayerNormalization", "eps": 0.001})",
    R"({"type": "MaxPool2D", "pool_size": [2, 2]})",
    R"({"type": "BatchNormalization", "momentum": 0.2})",
    R"({"type": "Reshape", "target_shape": [2, -1]})",
    R"({"type": "MaxPool1D", "pool_size": 2, "strides": 1, "padding": "same"})",
    R"({"type": "AvgPool1D", "pool_size": [2], "strides": [1]})",
    R"({"type": "GlobalMaxPooling1D"})",
    R"({"type": "Dense", "units": 2})",
};

// Samples (1, 6, 6): class 1 when the left half is brighter than the right.
void image_data(std::vector<float>& X, std::vector<float>& Y, index_t n) {
  Rng rng(5);
  X.resize(static_cast<std::size_t>(n * 36));
  Y.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    double left = 0, right = 0;
    for (index_t k = 0; k < 36; ++k) {
      const float v = static_cast<float>(rng.normal());
      X[static_cast<std::size_t>(i * 36 + k)] = v;
      (k % 6 < 3 ? left : right) += v;
    }
    Y[static_cast<std::size_t>(i)] = left > right ? 1.0f : 0.0f;
  }
}

std::unique_ptr<Sequential<float>> image_model() {
  auto m = std::make_unique<Sequential<float>>(3);
  for (const char* cfg : kLayers) m->add(make_layer<float>(Json::parse(cfg)));
  m->build({1, 6, 6});
  return m;
}

}  // namespace

TEST(layers_from_configs_have_the_right_shapes) {
  auto m = image_model();
  const std::vector<Shape> want = {{1, 7, 7}, {1, 7, 7}, {1, 7, 4}, {1, 7, 4}, {1, 3, 2}, {1, 3, 2},
                                   {2, 3},    {2, 3},    {2, 2},    {2},       {2}};
  for (index_t k = 0; k < m->num_layers(); ++k) CHECK_EQ(m->layer(k).output_shape(), want[static_cast<std::size_t>(k)]);
  // Configs come back as written by every layer (arrays of sizes).
  CHECK(m->layer(1).config() ==
        Json::parse(R"({"type": "AvgPool2D", "pool_size": [2, 2], "strides": [1, 1], "padding": "same"})"));
  CHECK(m->layer(0).config().at("padding") == Json::parse("[[1, 0], [0, 1]]"));
  const auto [b0, b1] = m->layer_buffers(5);
  CHECK_EQ(b1 - b0, 2);
  CHECK_EQ(m->buffer_info()[static_cast<std::size_t>(b0)].name, "layers.5.running_mean");
  const auto [p0, p1] = m->layer_params(5);
  CHECK_EQ(m->param_info()[static_cast<std::size_t>(p0)].local, "gamma");
  CHECK_EQ(m->param_info()[static_cast<std::size_t>(p1 - 1)].local, "beta");
}

TEST(a_model_with_the_layers_trains_and_round_trips) {
  const index_t n = 160;
  std::vector<float> X, Y;
  image_data(X, Y, n);
  auto m = image_model();
  CategoricalCrossentropy<float> loss;
  Adam<float> opt(0.02);
  FitOptions<float> o;
  o.epochs = 12;
  o.batch_size = 16;
  const History h = fit(*m, loss, opt, X.data(), Y.data(), n, 1, o);
  CHECK(h["loss"].back() < 0.8 * h["loss"].front());
  // Training moved the running statistics away from (0, 1).
  const float* rs = m->buffers();
  CHECK(rs[0] != 0.0f);
  const std::string path = (fs::current_path() / "layers_test.safetensors").string();
  save(*m, path);
  auto loaded = load<float>(path);
  Sequential<float>& again = *loaded.model;
  CHECK_EQ(again.num_buffer_elements(), m->num_buffer_elements());
  for (index_t i = 0; i < m->num_buffer_elements(); ++i) CHECK_EQ(again.buffers()[i], m->buffers()[i]);
  std::vector<float> a(static_cast<std::size_t>(n * 2)), b(a.size());
  predict(*m, X.data(), n, a.data());
  predict(again, X.data(), n, b.data());
  CHECK(a == b);
  // Inference uses the running statistics: one sample alone gives the same output.
  std::vector<float> one(2);
  predict(again, X.data() + 36 * 7, 1, one.data());
  CHECK_EQ(one[0], a[14]);
  CHECK_EQ(one[1], a[15]);
  fs::remove(path);
}

TEST(layers_added_by_value) {
  Sequential<double> m(1);
  m.add(ZeroPadding2D<double>(1, 2));
  m.add(MaxPool2D<double>(std::vector<index_t>{3, 2}, std::vector<index_t>{1, 2}, "same"));
  m.add(BatchNormalization<double>(0.5, 1e-3, true, false));
  m.add(GlobalAveragePooling2D<double>());
  m.add(Reshape<double>({1, -1}));
  m.add(LayerNormalization<double>());
  m.build({3, 4, 4});
  CHECK_EQ(m.layer(0).output_shape(), (Shape{3, 6, 8}));
  CHECK_EQ(m.layer(1).output_shape(), (Shape{3, 6, 4}));
  CHECK_EQ(m.layer(4).output_shape(), (Shape{1, 3}));
  CHECK_EQ(m.num_params(), 3 + 3 + 3);  // gamma of batch norm, gamma and beta of layer norm
  std::vector<double> x(2 * 48);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<double>(i));
  const double* y = m.forward(x.data(), 2, true);
  // Layer norm over 3 values: each row has mean 0.
  CHECK_NEAR(y[0] + y[1] + y[2], 0.0, 1e-12);
  m.backward(y);
}

TEST(layer_errors) {
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "MaxPool2D", "pool_size": 0})")),
               "pool_size: expected an integer >= 1, got 0");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "AvgPool1D", "padding": "full"})")),
               "padding: expected one of 'valid', 'same'; got 'full'");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "BatchNormalization", "momentum": 1.5})")),
               "momentum: expected a finite number in [0, 1], got 1.5");
  CHECK_THROWS(ValueError, make_layer<float>(Json::parse(R"({"type": "Reshape"})")), "target_shape: missing");
  CHECK_THROWS(ValueError, MaxPool1D<float>(std::vector<index_t>{2, 2}, {}), "pool_size: expected 1 size, got 2");
  Sequential<float> m(1);
  m.add(MaxPool2D<float>(3));
  CHECK_THROWS(ValueError, m.build({2, 2, 5}), "MaxPool2D: expected inputs at least as large as pool_size (3, 3)");
  Sequential<float> bn(1);
  bn.add(BatchNormalization<float>());
  bn.build({4});
  std::vector<float> x(4, 1.0f);
  CHECK_THROWS(ValueError, bn.forward(x.data(), 1, true), "training needs more than one value per channel");
}

ENTRENA_TEST_MAIN
