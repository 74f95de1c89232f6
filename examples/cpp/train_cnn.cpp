// A convolutional network from C++: learn to tell horizontal, vertical and
// diagonal strokes apart in noisy 12x12 images, then save the model, load it
// back and check that it predicts the same.
//   ./train_cnn [output_dir]
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <entrena/entrena.hpp>

namespace en = entrena;

constexpr int kSide = 12;
constexpr int kClasses = 3;

// One noisy image of class c (0 horizontal, 1 vertical, 2 diagonal stroke) at a
// random position, written to img[kSide * kSide].
static void draw(en::Rng& rng, int c, float* img) {
  for (int i = 0; i < kSide * kSide; ++i) img[i] = static_cast<float>(0.3 * rng.normal());
  const int at = static_cast<int>(rng.uniform(2, kSide - 2));      // which row, column or diagonal
  const int from = static_cast<int>(rng.uniform(0, kSide - 7));    // where the stroke starts
  for (int t = from; t < from + 7; ++t) {
    const int row = c == 0 ? at : t;
    const int col = c == 1 ? at : (c == 0 ? t : (t + at) % kSide);
    img[row * kSide + col] += 1.0f;
  }
}

static std::unique_ptr<en::Layer<float>> layer(const char* json) {
  return en::make_layer<float>(en::Json::parse(json));
}

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : ".";
  try {
    const int n = 600, n_test = 300;
    std::vector<float> X(static_cast<std::size_t>((n + n_test) * kSide * kSide)), y(n + n_test);
    en::Rng rng(3);
    for (int i = 0; i < n + n_test; ++i) {
      y[i] = static_cast<float>(i % kClasses);
      draw(rng, i % kClasses, X.data() + static_cast<std::size_t>(i) * kSide * kSide);
    }

    std::printf("== CNN: Conv2D(8, 3x3, same, relu) -> MaxPool2D(2) -> Conv2D(16, 3x3, relu) -> "
                "GlobalAveragePooling2D -> Dense(3) ==\n");
    en::Sequential<float> model(/*seed=*/7);
    model.add(layer(R"({"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"})"));
    model.add(layer(R"({"type": "MaxPool2D", "pool_size": 2})"));
    model.add(layer(R"({"type": "Conv2D", "filters": 16, "kernel_size": 3, "activation": "relu"})"));
    model.add(layer(R"({"type": "GlobalAveragePooling2D"})"));
    model.add(en::Dense<float>(kClasses));
    model.build({1, kSide, kSide});  // (channels, height, width)
    for (en::index_t i = 0; i < model.num_layers(); ++i) {
      const en::Shape& s = model.layer(i).output_shape();
      const auto [first, last] = model.layer_params(i);
      en::index_t count = 0;
      for (en::index_t t = first; t < last; ++t) count += model.param_info()[t].size;
      std::printf("  %-24s output (", model.layer(i).kind().c_str());
      for (std::size_t k = 0; k < s.size(); ++k) std::printf(k ? ", %lld" : "%lld", static_cast<long long>(s[k]));
      std::printf("), %lld parameters\n", static_cast<long long>(count));
    }

    en::CategoricalCrossentropy<float> loss;
    en::Adam<float> opt(0.01);
    en::FitOptions<float> o;
    o.epochs = 15;
    o.batch_size = 32;
    o.metrics = {"accuracy"};
    o.on_epoch = [](const en::EpochLogs& logs) {
      if ((logs.epoch + 1) % 5 == 0)
        std::printf("epoch %2lld  loss %.4f  accuracy %.3f\n", static_cast<long long>(logs.epoch + 1),
                    logs.get("loss"), logs.get("accuracy"));
      return true;
    };
    en::fit(model, loss, opt, X.data(), y.data(), n, 1, o);

    const float* Xt = X.data() + static_cast<std::size_t>(n) * kSide * kSide;
    std::vector<float> out(static_cast<std::size_t>(n_test * kClasses));
    en::predict(model, Xt, n_test, out.data());
    int right = 0;
    for (int i = 0; i < n_test; ++i) {
      const float* row = out.data() + i * kClasses;
      int best = 0;
      for (int k = 1; k < kClasses; ++k)
        if (row[k] > row[best]) best = k;
      right += best == static_cast<int>(y[n + i]);
    }
    std::printf("test accuracy %.3f on %d new images\n", static_cast<double>(right) / n_test, n_test);

    const std::string path = dir + "/cnn.safetensors";
    en::save(model, path, {{"example", "strokes"}});
    en::LoadedModel<float> loaded = en::load<float>(path);
    std::vector<float> again(out.size());
    en::predict(*loaded.model, Xt, n_test, again.data());
    const bool same = again == out;
    std::printf("saved to %s and loaded back: %s predictions\n", path.c_str(), same ? "identical" : "DIFFERENT");
    if (!same) throw en::StateError("the loaded model predicts differently");
  } catch (const en::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
