// fit: histories, schedules, early stopping (with restored weights),
// callbacks, non-finite losses and argument errors.
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "check.hpp"
#include "entrena/entrena.hpp"

using namespace entrena;

namespace {

const float kX[] = {0, 0, 0, 1, 1, 0, 1, 1};
const float kY[] = {0, 1, 1, 0};

std::unique_ptr<Sequential<float>> xor_model(std::uint64_t seed = 11) {
  auto m = std::make_unique<Sequential<float>>(seed);
  m->add(make_layer<float>(Json::parse(R"({"type": "Dense", "units": 8, "activation": "relu"})")));
  m->add(make_layer<float>(Json::parse(R"({"type": "Dense", "units": 2})")));
  m->build({2});
  return m;
}

// A trained XOR model (loss near zero).
std::unique_ptr<Sequential<float>> trained_xor() {
  auto m = xor_model();
  CategoricalCrossentropy<float> loss;
  Adam<float> opt(0.05);
  FitOptions<float> o;
  o.epochs = 400;
  o.batch_size = 4;
  fit(*m, loss, opt, kX, kY, 4, 1, o);
  return m;
}

}  // namespace

TEST(fit_records_a_history_and_learns_xor) {
  auto m = xor_model();
  CategoricalCrossentropy<float> loss;
  Adam<float> opt(0.05);
  FitOptions<float> o;
  o.epochs = 300;
  o.batch_size = 2;
  o.validation = {kX, kY, 4};
  History h = fit(*m, loss, opt, kX, kY, 4, 1, o);
  CHECK_EQ(h.epochs(), 300);
  CHECK_EQ(h["loss"].size(), 300u);
  CHECK_EQ(h["val_loss"].size(), 300u);
  CHECK_EQ(h.total_iterations(), 600);
  CHECK_EQ(h["iterations"][0], 2);
  CHECK_EQ(h.epoch.front(), 0);
  CHECK_EQ(h.epoch.back(), 299);
  CHECK(h.stop_reason.empty());
  CHECK(h["loss"].back() < h["loss"].front());
  CHECK(h["val_loss"].back() < 0.05);
  CHECK_EQ(h["lr"].back(), 0.05);
  for (double s : h["seconds"]) CHECK(s >= 0.0);
  CHECK((h.keys == std::vector<std::string>{"loss", "val_loss", "lr", "seconds", "iterations"}));
}

TEST(fit_follows_a_schedule_and_resumes_it) {
  auto m = xor_model();
  CategoricalCrossentropy<float> loss;
  SGD<float> opt(0.2);
  FitOptions<float> o;
  o.epochs = 5;
  o.batch_size = 4;
  o.schedule = std::make_shared<ExponentialDecay>(0.5);
  History h = fit(*m, loss, opt, kX, kY, 4, 1, o);
  const double want[] = {0.2, 0.1, 0.05, 0.025, 0.0125};
  for (int e = 0; e < 5; ++e) CHECK_NEAR(h["lr"][e], want[e], 1e-15);
  // A second fit continues the same schedule from initial_epoch.
  o.initial_epoch = 5;
  o.epochs = 2;
  History h2 = fit(*m, loss, opt, kX, kY, 4, 1, o);
  CHECK_NEAR(h2["lr"][0], 0.2 / 32, 1e-15);
  CHECK_NEAR(h2["lr"][1], 0.2 / 64, 1e-15);
  CHECK_EQ(h2.epoch[0], 5);
}

TEST(fit_drives_reduce_on_plateau_with_the_monitored_loss) {
  auto m = xor_model();
  CategoricalCrossentropy<float> loss;
  SGD<float> opt(1e-7);  // the loss barely moves: a plateau
  FitOptions<float> o;
  o.epochs = 5;
  o.batch_size = 4;
  o.schedule = std::make_shared<ReduceLROnPlateau>(ReduceLROnPlateau::Mode::Min, 0.5, 0, 0.01);
  History h = fit(*m, loss, opt, kX, kY, 4, 1, o);
  const double want[] = {1e-7, 1e-7, 0.5e-7, 0.25e-7, 0.125e-7};
  for (int e = 0; e < 5; ++e) CHECK_NEAR(h["lr"][e], want[e], 1e-20);
}

TEST(early_stopping_stops_and_restores_the_best_weights) {
  auto m = trained_xor();
  const std::vector<float> trained(m->params(), m->params() + m->num_params());
  CategoricalCrossentropy<float> loss;
  SGD<float> opt(0.0);  // no learning: only the callback changes the weights
  FitOptions<float> o;
  o.epochs = 50;
  o.batch_size = 4;
  o.validation = {kX, kY, 4};
  o.early_stopping = {EarlyStopping("val_loss", 1, 0.0, true)};
  o.on_epoch = [&](const EpochLogs& logs) {
    if (logs.epoch == 0)
      for (index_t i = 0; i < m->num_params(); ++i) m->params()[i] = 0.0f;  // loss becomes log 2
    return true;
  };
  History h = fit(*m, loss, opt, kX, kY, 4, 1, o);
  // Epoch 0 is the best; epoch 1 does not improve; patience 1 stops after epoch 1.
  CHECK_EQ(h.epochs(), 2);
  CHECK_EQ(h.stop_reason, std::string("early_stopping"));
  CHECK_EQ(h.early_stopping.size(), 1u);
  CHECK_EQ(h.early_stopping[0].best_epoch, 0);
  CHECK_EQ(h.early_stopping[0].stopped_epoch, 1);
  CHECK_NEAR(h["val_loss"][1], std::log(2.0), 1e-6);
  CHECK(h.early_stopping[0].restored_best_weights);
  bool same = true;
  for (index_t i = 0; i < m->num_params(); ++i) same = same && m->params()[i] == trained[static_cast<std::size_t>(i)];
  CHECK(same);
}

TEST(early_stopping_on_training_loss_without_restoring) {
  auto m = xor_model();
  CategoricalCrossentropy<float> loss;
  SGD<float> opt(0.0);  // constant loss: never improves after epoch 0
  FitOptions<float> o;
  o.epochs = 20;
  o.batch_size = 4;
  o.early_stopping = {EarlyStopping("loss", 2)};
  History h = fit(*m, loss, opt, kX, kY, 4, 1, o);
  CHECK_EQ(h.epochs(), 3);  // epochs 1 and 2 without improvement
  CHECK_EQ(h.stop_reason, std::string("early_stopping"));
  CHECK(!h.early_stopping[0].restored_best_weights);
  CHECK(!h.has("val_loss"));
}

TEST(the_callback_can_stop_training) {
  auto m = xor_model();
  CategoricalCrossentropy<float> loss;
  SGD<float> opt(0.1);
  FitOptions<float> o;
  o.epochs = 10;
  int calls = 0;
  o.on_epoch = [&](const EpochLogs& logs) {
    ++calls;
    return logs.epoch < 2;
  };
  History h = fit(*m, loss, opt, kX, kY, 4, 1, o);
  CHECK_EQ(calls, 3);
  CHECK_EQ(h.epochs(), 3);
  CHECK_EQ(h.stop_reason, std::string("callback"));
}

TEST(a_nonfinite_loss_throws_or_stops) {
  const float big = std::numeric_limits<float>::max();
  const float X[] = {big, -big, -big, big, big, big, -big, -big};
  CategoricalCrossentropy<float> loss;
  SGD<float> opt(0.1);
  FitOptions<float> o;
  o.epochs = 3;
  o.batch_size = 4;
  auto m = xor_model();
  CHECK_THROWS(NonFiniteLossError, fit(*m, loss, opt, X, kY, 4, 1, o), "the loss became");
  o.terminate_on_nonfinite = true;
  auto m2 = xor_model();
  History h = fit(*m2, loss, opt, X, kY, 4, 1, o);
  CHECK_EQ(h.epochs(), 1);
  CHECK_EQ(h.stop_reason, std::string("nonfinite_loss"));
  CHECK(!std::isfinite(h["loss"][0]));
}

TEST(fit_argument_errors) {
  CategoricalCrossentropy<float> loss;
  SGD<float> opt(0.1);
  Sequential<float> unbuilt;
  unbuilt.add(std::make_unique<Dense<float>>(2));
  CHECK_THROWS(StateError, fit(unbuilt, loss, opt, kX, kY, 4, 1), "not built");
  auto m = xor_model();
  FitOptions<float> o;
  o.early_stopping = {EarlyStopping("val_loss", 1)};
  CHECK_THROWS(ValueError, fit(*m, loss, opt, kX, kY, 4, 1, o), "needs validation data");
  o.early_stopping = {EarlyStopping("accuracy", 1)};
  CHECK_THROWS(ValueError, fit(*m, loss, opt, kX, kY, 4, 1, o), "monitor 'accuracy' is not logged; expected one of loss");
  o.metrics = {"accuracy"};
  o.early_stopping[0].mode = "up";
  CHECK_THROWS(ValueError, fit(*m, loss, opt, kX, kY, 4, 1, o), "mode: expected one of");
  FitOptions<float> o2;
  o2.batch_size = 0;
  CHECK_THROWS(ValueError, fit(*m, loss, opt, kX, kY, 4, 1, o2), "batch_size");
  CHECK_THROWS(ValueError, fit(*m, loss, opt, kX, kY, 4, 3), "y: expected targets of shape (n, 2)");
  CHECK_THROWS(ValueError, fit(*m, loss, opt, kX, kY, 0, 1), "n must be >= 1");
  FitOptions<float> o3;
  o3.drop_last = true;
  o3.batch_size = 8;
  CHECK_THROWS(ValueError, fit(*m, loss, opt, kX, kY, 4, 1, o3), "drop_last");
}

TEST(metrics_run_during_the_epoch_and_on_validation) {
  auto m = trained_xor();
  CategoricalCrossentropy<float> loss;
  SGD<float> opt(0.0);
  FitOptions<float> o;
  o.epochs = 2;
  o.batch_size = 2;
  o.metrics = {"accuracy", MetricSpec<float>("acc", make_metric<float>("acc"))};
  o.validation = {kX, kY, 4};
  History h = fit(*m, loss, opt, kX, kY, 4, 1, o);
  CHECK((h.keys == std::vector<std::string>{"loss", "accuracy", "acc", "val_loss", "val_accuracy", "val_acc",
                                            "lr", "seconds", "iterations"}));
  CHECK_EQ(h["accuracy"][1], 1.0);
  CHECK_EQ(h["val_acc"][1], 1.0);
}

TEST(early_stopping_follows_keras_modes_baseline_and_start_epoch) {
  // A constant loss (no learning): never an improvement after the first epoch.
  auto run = [](EarlyStopping es, index_t epochs = 30) {
    auto m = xor_model();
    CategoricalCrossentropy<float> loss;
    SGD<float> opt(0.0);
    FitOptions<float> o;
    o.epochs = epochs;
    o.batch_size = 4;
    o.metrics = {"accuracy"};
    o.early_stopping = {es};
    return fit(*m, loss, opt, kX, kY, 4, 1, o);
  };
  CHECK_EQ(run(EarlyStopping("loss", 3)).epochs(), 4);
  // A baseline the loss never beats: the wait is never reset.
  EarlyStopping b("loss", 3);
  b.baseline = 1e-9;
  CHECK_EQ(run(b).epochs(), 3);
  // Epochs before start_from_epoch are not watched.
  EarlyStopping s("loss", 2);
  s.start_from_epoch = 5;
  CHECK_EQ(run(s).epochs(), 8);
  // "auto" maximizes accuracy: a constant accuracy stops after patience epochs.
  History h = run(EarlyStopping("accuracy", 1));
  CHECK_EQ(h.epochs(), 2);
  CHECK_EQ(h.early_stopping[0].best_epoch, 0);
}

TEST(per_timestep_targets) {
  // Dense on (n, T, F) with one class per timestep: a loss over n*T rows.
  Sequential<double> m(9);
  m.add(std::make_unique<Dense<double>>(6, "tanh"));
  m.add(std::make_unique<Dense<double>>(3));
  m.build({4, 2});
  std::vector<double> X(16 * 4 * 2), Y(16 * 4);
  for (std::size_t i = 0; i < X.size(); ++i) X[i] = std::sin(0.7 * static_cast<double>(i));
  for (std::size_t i = 0; i < Y.size(); ++i) Y[i] = X[2 * i] > 0.3 ? 2 : X[2 * i] < -0.3 ? 0 : 1;
  CategoricalCrossentropy<double> loss;
  Adam<double> opt(0.05);
  FitOptions<double> o;
  o.epochs = 60;
  o.batch_size = 8;
  o.metrics = {"accuracy"};
  History h = fit(m, loss, opt, X.data(), Y.data(), 16, 4, o);
  CHECK(h["loss"].back() < 0.5 * h["loss"].front());
  CHECK(h["accuracy"].back() > 0.9);
  CHECK_THROWS(ValueError, fit(m, loss, opt, X.data(), Y.data(), 16, 5, o), "(n, 4, 3)");
}

ENTRENA_TEST_MAIN
