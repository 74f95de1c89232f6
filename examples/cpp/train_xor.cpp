// entrena from C++: train XOR and a small regression, save the XOR model,
// load it back and check that it predicts the same.
//   ./train_xor [output_dir]
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <entrena/entrena.hpp>

namespace en = entrena;

static void xor_example(const std::string& dir) {
  std::printf("== XOR: Dense(8, relu) -> Dense(2), softmax cross-entropy, Adam ==\n");
  const float X[] = {0, 0, 0, 1, 1, 0, 1, 1};
  const float y[] = {0, 1, 1, 0};  // class indices

  en::Sequential<float> model(/*seed=*/42);
  model.add(en::Dense<float>(8, "relu", "he_uniform"));
  model.add(en::Dense<float>(2));
  model.build({2});

  en::CategoricalCrossentropy<float> loss;
  en::Adam<float> opt(0.05);
  en::FitOptions<float> o;
  o.epochs = 300;
  o.batch_size = 4;
  o.metrics = {"accuracy"};
  o.on_epoch = [](const en::EpochLogs& logs) {
    if ((logs.epoch + 1) % 50 == 0)
      std::printf("epoch %3lld  loss %.6f  accuracy %.2f\n", static_cast<long long>(logs.epoch + 1),
                  logs.get("loss"), logs.get("accuracy"));
    return true;
  };
  en::fit(model, loss, opt, X, y, 4, 1, o);

  float out[8];
  en::predict(model, X, 4, out);
  for (int i = 0; i < 4; ++i)
    std::printf("%g xor %g -> class %d (logits %.3f, %.3f)\n", X[2 * i], X[2 * i + 1],
                out[2 * i + 1] > out[2 * i] ? 1 : 0, out[2 * i], out[2 * i + 1]);

  const std::string path = dir + "/xor.safetensors";
  en::save(model, path, {{"example", "xor"}});
  en::LoadedModel<float> loaded = en::load<float>(path);
  float again[8];
  en::predict(*loaded.model, X, 4, again);
  bool same = true;
  for (int i = 0; i < 8; ++i) same = same && again[i] == out[i];
  std::printf("saved to %s and loaded back: %s predictions\n\n", path.c_str(), same ? "identical" : "DIFFERENT");
  if (!same) throw en::StateError("the loaded model predicts differently");
}

static void regression_example() {
  std::printf("== Regression: y = 3 x0 - 2 x1 + 0.5 sin(4 x0), MSE, SGD with momentum, cosine schedule ==\n");
  const int n = 256, n_val = 64;
  std::vector<double> X(2 * (n + n_val)), y(n + n_val);
  en::Rng rng(7);
  for (int i = 0; i < n + n_val; ++i) {
    const double a = rng.uniform(-1, 1), b = rng.uniform(-1, 1);
    X[2 * i] = a;
    X[2 * i + 1] = b;
    y[i] = 3 * a - 2 * b + 0.5 * std::sin(4 * a);
  }
  en::Sequential<double> model(1);
  model.add(en::make_layer<double>(en::Json::parse(R"({"type": "Dense", "units": 32, "activation": "tanh"})")));
  model.add(en::make_layer<double>(en::Json::parse(R"({"type": "Dense", "units": 1})")));
  model.build({2});
  auto loss = en::make_loss<double>("mse");
  auto opt = en::make_optimizer<double>("sgd", en::Json::object({{"lr", 0.05}, {"momentum", 0.9}}));

  en::FitOptions<double> o;
  o.epochs = 200;
  o.batch_size = 16;
  o.validation = {X.data() + 2 * n, y.data() + n, n_val};
  o.schedule = std::make_shared<en::CosineAnnealing>(200, 1e-4);
  o.early_stopping = {en::EarlyStopping("val_loss", /*patience=*/20, /*min_delta=*/1e-6, /*restore_best_weights=*/true)};
  en::History h = en::fit(model, *loss, *opt, X.data(), y.data(), n, 1, o);
  for (en::index_t e = 0; e < h.epochs(); e += 25)
    std::printf("epoch %3lld  lr %.5f  loss %.6f  val_loss %.6f\n", static_cast<long long>(h.epoch[e] + 1),
                h["lr"][e], h["loss"][e], h["val_loss"][e]);
  const en::EarlyStoppingResult& es = h.early_stopping[0];
  std::printf("trained %lld epochs (%s), best val_loss %.6f at epoch %lld\n", static_cast<long long>(h.epochs()),
              h.stop_reason.empty() ? "all" : h.stop_reason.c_str(), es.best, static_cast<long long>(es.best_epoch + 1));
  double pred[4];
  en::predict(model, X.data() + 2 * n, 4, pred);
  for (int i = 0; i < 4; ++i)
    std::printf("x = (% .3f, % .3f)  y = % .4f  predicted % .4f\n", X[2 * (n + i)], X[2 * (n + i) + 1], y[n + i], pred[i]);
}

int main(int argc, char** argv) {
  try {
    xor_example(argc > 1 ? argv[1] : ".");
    regression_example();
  } catch (const en::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
