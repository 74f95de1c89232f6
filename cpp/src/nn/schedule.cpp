#include "entrena/nn/schedule.hpp"

#include <algorithm>
#include <cmath>

namespace entrena {

namespace {
constexpr double kPi = 3.14159265358979323846;

bool finite_nonneg(double v) { return std::isfinite(v) && v >= 0.0; }
}  // namespace

void Schedule::reset(double base_lr) {
  if (!finite_nonneg(base_lr))
    throw ValueError(cat(name(), ": base_lr must be a finite number >= 0, got ", base_lr));
  base_lr_ = base_lr;
  started_ = true;
}

void Schedule::check_epoch(const char* who, index_t epoch) {
  if (epoch < 0) throw ValueError(cat(who, ": epoch must be >= 0, got ", epoch));
}

// ---------------------------------------------------------------- closed forms
double ConstantSchedule::lr_at(index_t epoch, double) {
  check_epoch("constant", epoch);
  return base_lr_;
}

ExponentialDecay::ExponentialDecay(double gamma) : gamma_(gamma) {
  if (!finite_nonneg(gamma))
    throw ValueError(cat("exponential_decay: gamma must be a finite number >= 0, got ", gamma));
}

double ExponentialDecay::lr_at(index_t epoch, double) {
  check_epoch("exponential_decay", epoch);
  return base_lr_ * std::pow(gamma_, static_cast<double>(epoch));
}

StepDecay::StepDecay(index_t step_size, double gamma) : step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) throw ValueError(cat("step_decay: step_size must be >= 1, got ", step_size));
  if (!finite_nonneg(gamma))
    throw ValueError(cat("step_decay: gamma must be a finite number >= 0, got ", gamma));
}

double StepDecay::lr_at(index_t epoch, double) {
  check_epoch("step_decay", epoch);
  return base_lr_ * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

CosineAnnealing::CosineAnnealing(index_t t_max, double eta_min) : t_max_(t_max), eta_min_(eta_min) {
  if (t_max < 1) throw ValueError(cat("cosine_annealing: T_max must be >= 1, got ", t_max));
  if (!finite_nonneg(eta_min))
    throw ValueError(cat("cosine_annealing: eta_min must be a finite number >= 0, got ", eta_min));
}

double CosineAnnealing::lr_at(index_t epoch, double) {
  check_epoch("cosine_annealing", epoch);
  const double c = std::cos(kPi * static_cast<double>(epoch) / static_cast<double>(t_max_));
  return eta_min_ + (base_lr_ - eta_min_) * (1.0 + c) / 2.0;
}

LambdaSchedule::LambdaSchedule(std::function<double(index_t)> factor) : factor_(std::move(factor)) {
  if (!factor_) throw ValueError("lambda: factor must be a callable, got an empty function");
}

double LambdaSchedule::lr_at(index_t epoch, double) {
  check_epoch("lambda", epoch);
  const double f = factor_(epoch);
  if (!finite_nonneg(f))
    throw ValueError(cat("lambda: factor(", epoch, ") must return a finite number >= 0, got ", f));
  return base_lr_ * f;
}

// ------------------------------------------------------------ ReduceLROnPlateau
ReduceLROnPlateau::ReduceLROnPlateau(Mode mode, double factor, index_t patience, double threshold,
                                     ThresholdMode threshold_mode, index_t cooldown, double min_lr,
                                     double eps)
    : mode_(mode),
      factor_(factor),
      patience_(patience),
      threshold_(threshold),
      threshold_mode_(threshold_mode),
      cooldown_(cooldown),
      min_lr_(min_lr),
      eps_(eps) {
  // The checks come first; reset(0) below only initialises the state.
  if (!(factor >= 0.0 && factor < 1.0))
    throw ValueError(cat("reduce_lr_on_plateau: factor must be in [0, 1), got ", factor));
  if (patience < 0)
    throw ValueError(cat("reduce_lr_on_plateau: patience must be >= 0, got ", patience));
  if (!finite_nonneg(threshold))
    throw ValueError(cat("reduce_lr_on_plateau: threshold must be a finite number >= 0, got ", threshold));
  if (cooldown < 0)
    throw ValueError(cat("reduce_lr_on_plateau: cooldown must be >= 0, got ", cooldown));
  if (!finite_nonneg(min_lr))
    throw ValueError(cat("reduce_lr_on_plateau: min_lr must be a finite number >= 0, got ", min_lr));
  if (!finite_nonneg(eps))
    throw ValueError(cat("reduce_lr_on_plateau: eps must be a finite number >= 0, got ", eps));
  reset(0.0);
  started_ = false;
}

ReduceLROnPlateau::Mode ReduceLROnPlateau::mode_from_name(const std::string& name) {
  if (name == "min") return Mode::Min;
  if (name == "max") return Mode::Max;
  throw ValueError(cat("reduce_lr_on_plateau: mode must be 'min' or 'max', got '", name, "'"));
}

ReduceLROnPlateau::ThresholdMode ReduceLROnPlateau::threshold_mode_from_name(const std::string& name) {
  if (name == "rel") return ThresholdMode::Rel;
  if (name == "abs") return ThresholdMode::Abs;
  throw ValueError(cat("reduce_lr_on_plateau: threshold_mode must be 'rel' or 'abs', got '", name, "'"));
}

void ReduceLROnPlateau::reset(double base_lr) {
  Schedule::reset(base_lr);
  lr_ = base_lr;
  best_ = mode_ == Mode::Min ? std::numeric_limits<double>::infinity()
                             : -std::numeric_limits<double>::infinity();
  bad_epochs_ = 0;
  cooldown_counter_ = 0;
}

bool ReduceLROnPlateau::is_better(double m) const {
  if (mode_ == Mode::Min)
    return threshold_mode_ == ThresholdMode::Rel ? m < best_ * (1.0 - threshold_) : m < best_ - threshold_;
  return threshold_mode_ == ThresholdMode::Rel ? m > best_ * (1.0 + threshold_) : m > best_ + threshold_;
}

double ReduceLROnPlateau::lr_at(index_t epoch, double metric) {
  check_epoch("reduce_lr_on_plateau", epoch);
  if (std::isnan(metric)) return lr_;
  if (is_better(metric)) {
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ > patience_) {
    const double reduced = std::max(lr_ * factor_, min_lr_);
    if (lr_ - reduced > eps_) lr_ = reduced;
    cooldown_counter_ = cooldown_;
    bad_epochs_ = 0;
  }
  return lr_;
}

}  // namespace entrena
