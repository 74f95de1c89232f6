// Learning-rate schedules against hand-computed rates (PyTorch's formulas).
#include <cmath>
#include <vector>

#include "check.hpp"
#include "entrena/nn/schedule.hpp"

using namespace entrena;

TEST(constant) {
  ConstantSchedule s;
  CHECK(!s.started());
  s.reset(0.3);
  CHECK(s.started());
  CHECK_EQ(s.lr_at(0), 0.3);
  CHECK_EQ(s.lr_at(1000), 0.3);
}

TEST(exponential_decay_is_lr0_gamma_to_the_epoch) {
  ExponentialDecay s(0.5);
  s.reset(0.1);
  const double want[] = {0.1, 0.05, 0.025, 0.0125};
  for (int e = 0; e < 4; ++e) CHECK_NEAR(s.lr_at(e), want[e], 1e-15);
  // Closed form: any order.
  CHECK_NEAR(s.lr_at(10), 0.1 / 1024.0, 1e-18);
  CHECK_NEAR(s.lr_at(1), 0.05, 1e-15);
}

TEST(step_decay_multiplies_every_step_size_epochs) {
  StepDecay s(3, 0.1);
  s.reset(1.0);
  const double want[] = {1, 1, 1, 0.1, 0.1, 0.1, 0.01};
  for (int e = 0; e < 7; ++e) CHECK_NEAR(s.lr_at(e), want[e], 1e-15);
}

TEST(cosine_annealing_closed_form) {
  CosineAnnealing s(10);
  s.reset(1.0);
  CHECK_NEAR(s.lr_at(0), 1.0, 1e-15);
  CHECK_NEAR(s.lr_at(2), (1 + std::cos(0.2 * 3.14159265358979323846)) / 2, 1e-15);  // 0.9045...
  CHECK_NEAR(s.lr_at(2), 0.9045084971874737, 1e-15);
  CHECK_NEAR(s.lr_at(5), 0.5, 1e-15);
  CHECK_NEAR(s.lr_at(10), 0.0, 1e-15);
  CHECK_NEAR(s.lr_at(20), 1.0, 1e-15);  // the cosine continues past T_max
  CosineAnnealing m(10, 0.1);
  m.reset(1.0);
  CHECK_NEAR(m.lr_at(5), 0.55, 1e-15);
  CHECK_NEAR(m.lr_at(10), 0.1, 1e-15);
}

TEST(lambda_scales_the_base_rate) {
  LambdaSchedule s([](index_t e) { return 1.0 / static_cast<double>(e + 1); });
  s.reset(0.2);
  CHECK_NEAR(s.lr_at(0), 0.2, 1e-15);
  CHECK_NEAR(s.lr_at(3), 0.05, 1e-15);
  LambdaSchedule bad([](index_t) { return -1.0; });
  bad.reset(0.1);
  CHECK_THROWS(ValueError, bad.lr_at(0), "factor(0) must return a finite number >= 0");
}

TEST(reduce_on_plateau_as_pytorch) {
  ReduceLROnPlateau s(ReduceLROnPlateau::Mode::Min, 0.5, 2);
  s.reset(1.0);
  CHECK_EQ(s.lr_at(0), 1.0);  // no metric yet
  // Metrics at the end of epochs 0..8 and the rate PyTorch gives after each.
  const double metric[] = {10, 9, 9, 9, 9, 8, 8, 8, 8};
  const double want[] = {1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25};
  for (int e = 0; e < 9; ++e) CHECK_EQ(s.lr_at(e + 1, metric[e]), want[e]);
  CHECK_EQ(s.best(), 8.0);
  // reset starts over.
  s.reset(2.0);
  CHECK_EQ(s.current_lr(), 2.0);
  CHECK_EQ(s.num_bad_epochs(), 0);
}

TEST(reduce_on_plateau_cooldown_min_lr_threshold_and_max_mode) {
  ReduceLROnPlateau c(ReduceLROnPlateau::Mode::Min, 0.5, 0, 1e-4, ReduceLROnPlateau::ThresholdMode::Rel, 1);
  c.reset(1.0);
  // patience 0: the first bad epoch reduces; then one cooldown epoch is not counted.
  const double metric[] = {5, 5, 5, 5, 5};
  const double want[] = {1, 0.5, 0.5, 0.25, 0.25};
  for (int e = 0; e < 5; ++e) CHECK_EQ(c.lr_at(e + 1, metric[e]), want[e]);

  ReduceLROnPlateau floor(ReduceLROnPlateau::Mode::Min, 0.1, 0, 1e-4, ReduceLROnPlateau::ThresholdMode::Rel, 0, 0.05);
  floor.reset(1.0);
  floor.lr_at(1, 1.0);
  CHECK_NEAR(floor.lr_at(2, 1.0), 0.1, 1e-15);
  CHECK_NEAR(floor.lr_at(3, 1.0), 0.05, 1e-15);
  CHECK_NEAR(floor.lr_at(4, 1.0), 0.05, 1e-15);

  // rel threshold 0.1: 0.95 is not an improvement on 1.0, 0.89 is.
  ReduceLROnPlateau rel(ReduceLROnPlateau::Mode::Min, 0.5, 0, 0.1);
  rel.reset(1.0);
  rel.lr_at(1, 1.0);
  CHECK_EQ(rel.lr_at(2, 0.95), 0.5);
  CHECK_EQ(rel.lr_at(3, 0.89), 0.5);
  CHECK_EQ(rel.best(), 0.89);
  // abs threshold 0.1: 0.95 is not an improvement on 1.0.
  ReduceLROnPlateau ab(ReduceLROnPlateau::Mode::Min, 0.5, 0, 0.1, ReduceLROnPlateau::ThresholdMode::Abs);
  ab.reset(1.0);
  ab.lr_at(1, 1.0);
  CHECK_EQ(ab.lr_at(2, 0.95), 0.5);

  ReduceLROnPlateau mx(ReduceLROnPlateau::mode_from_name("max"), 0.5, 0);
  mx.reset(1.0);
  CHECK_EQ(mx.lr_at(1, 0.5), 1.0);
  CHECK_EQ(mx.lr_at(2, 0.6), 1.0);  // rising accuracy is an improvement
  CHECK_EQ(mx.lr_at(3, 0.6), 0.5);
}

TEST(invalid_arguments) {
  CHECK_THROWS(ValueError, ExponentialDecay(-0.5), "gamma");
  CHECK_THROWS(ValueError, StepDecay(0), "step_size must be >= 1, got 0");
  CHECK_THROWS(ValueError, CosineAnnealing(0), "T_max");
  CHECK_THROWS(ValueError, ReduceLROnPlateau(ReduceLROnPlateau::Mode::Min, 1.5), "factor must be in [0, 1), got 1.5");
  CHECK_THROWS(ValueError, ReduceLROnPlateau::mode_from_name("down"), "'min' or 'max'");
  CHECK_THROWS(ValueError, LambdaSchedule(nullptr), "callable");
  ConstantSchedule s;
  CHECK_THROWS(ValueError, s.reset(-1.0), "base_lr");
  s.reset(0.1);
  CHECK_THROWS(ValueError, s.lr_at(-1), "epoch must be >= 0");
}

ENTRENA_TEST_MAIN
