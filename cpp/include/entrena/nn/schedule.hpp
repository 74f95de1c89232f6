// Learning-rate schedules, per epoch. fit (nn/fit.hpp) drives them; the
// Python bindings expose the same classes.
//
// Protocol: reset(base_lr) starts the schedule from the optimizer's
// learning rate. Then, before every epoch e = 0, 1, 2, ..., lr_at(e, metric)
// returns the rate for that epoch; `metric` is the monitored value at the
// end of the previous epoch (NaN before the first epoch or when nothing is
// monitored). The closed-form schedules (Constant, ExponentialDecay,
// StepDecay, CosineAnnealing, LambdaSchedule) depend on e only and ignore
// metric, so they may be called in any order. ReduceLROnPlateau is
// stateful: it reads the metric, so call it once per epoch, in order.
// The formulas are PyTorch's (torch.optim.lr_scheduler), with e the epoch.
#pragma once

#include <functional>
#include <limits>
#include <string>

#include "entrena/common.hpp"

namespace entrena {

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual std::string name() const = 0;
  // Starts (or restarts) the schedule from base_lr (finite, >= 0).
  virtual void reset(double base_lr);
  // Whether reset was called (fit resets a schedule only if it was not).
  bool started() const { return started_; }
  // The learning rate for epoch `epoch` (>= 0); see the protocol above.
  virtual double lr_at(index_t epoch,
                       double metric = std::numeric_limits<double>::quiet_NaN()) = 0;
  // Whether lr_at reads the metric (fit then passes the monitored value).
  virtual bool uses_metric() const { return false; }
  double base_lr() const { return base_lr_; }

 protected:
  static void check_epoch(const char* who, index_t epoch);
  double base_lr_ = 0.0;
  bool started_ = false;
};

// lr = base_lr for every epoch.
class ConstantSchedule : public Schedule {
 public:
  std::string name() const override { return "constant"; }
  double lr_at(index_t epoch, double metric = std::numeric_limits<double>::quiet_NaN()) override;
};

// torch ExponentialLR: lr = base_lr · gamma^e.
class ExponentialDecay : public Schedule {
 public:
  explicit ExponentialDecay(double gamma);
  std::string name() const override { return "exponential_decay"; }
  double lr_at(index_t epoch, double metric = std::numeric_limits<double>::quiet_NaN()) override;
  double gamma() const { return gamma_; }

 private:
  double gamma_;
};

// torch StepLR: lr = base_lr · gamma^floor(e / step_size).
class StepDecay : public Schedule {
 public:
  explicit StepDecay(index_t step_size, double gamma = 0.1);
  std::string name() const override { return "step_decay"; }
  double lr_at(index_t epoch, double metric = std::numeric_limits<double>::quiet_NaN()) override;
  index_t step_size() const { return step_size_; }
  double gamma() const { return gamma_; }

 private:
  index_t step_size_;
  double gamma_;
};

// torch CosineAnnealingLR, closed form:
// lr = eta_min + (base_lr - eta_min) · (1 + cos(π · e / T_max)) / 2.
// (Past T_max the cosine continues, rising again, as PyTorch's closed form.)
class CosineAnnealing : public Schedule {
 public:
  explicit CosineAnnealing(index_t t_max, double eta_min = 0.0);
  std::string name() const override { return "cosine_annealing"; }
  double lr_at(index_t epoch, double metric = std::numeric_limits<double>::quiet_NaN()) override;
  index_t t_max() const { return t_max_; }
  double eta_min() const { return eta_min_; }

 private:
  index_t t_max_;
  double eta_min_;
};

// torch LambdaLR: lr = base_lr · factor(e). The factor must return a finite
// number >= 0 (ValueError otherwise).
class LambdaSchedule : public Schedule {
 public:
  explicit LambdaSchedule(std::function<double(index_t)> factor);
  std::string name() const override { return "lambda"; }
  double lr_at(index_t epoch, double metric = std::numeric_limits<double>::quiet_NaN()) override;

 private:
  std::function<double(index_t)> factor_;
};

// torch ReduceLROnPlateau. With a finite metric m, lr_at does what PyTorch's
// step(m) does, then returns the current rate:
//   improved = mode min: m < best·(1 − threshold)  (rel) or m < best − threshold  (abs)
//              mode max: m > best·(1 + threshold)  (rel) or m > best + threshold  (abs)
//   improved → best = m, bad_epochs = 0; else bad_epochs += 1
//   during cooldown (after a reduction) bad epochs are not counted
//   bad_epochs > patience → lr = max(lr · factor, min_lr) (if that changes it
//   by more than eps), cooldown starts, bad_epochs = 0.
// A NaN metric (first epoch, nothing monitored) leaves everything as is.
class ReduceLROnPlateau : public Schedule {
 public:
  enum class Mode { Min, Max };
  enum class ThresholdMode { Rel, Abs };
  explicit ReduceLROnPlateau(Mode mode = Mode::Min, double factor = 0.1, index_t patience = 10,
                             double threshold = 1e-4, ThresholdMode threshold_mode = ThresholdMode::Rel,
                             index_t cooldown = 0, double min_lr = 0.0, double eps = 1e-8);
  // From names: mode "min" | "max", threshold_mode "rel" | "abs".
  static Mode mode_from_name(const std::string& name);
  static ThresholdMode threshold_mode_from_name(const std::string& name);

  std::string name() const override { return "reduce_lr_on_plateau"; }
  void reset(double base_lr) override;
  double lr_at(index_t epoch, double metric = std::numeric_limits<double>::quiet_NaN()) override;
  bool uses_metric() const override { return true; }

  double current_lr() const { return lr_; }
  double best() const { return best_; }
  index_t num_bad_epochs() const { return bad_epochs_; }
  index_t cooldown_counter() const { return cooldown_counter_; }
  Mode mode() const { return mode_; }
  double factor() const { return factor_; }
  index_t patience() const { return patience_; }
  double threshold() const { return threshold_; }
  ThresholdMode threshold_mode() const { return threshold_mode_; }
  index_t cooldown() const { return cooldown_; }
  double min_lr() const { return min_lr_; }
  double eps() const { return eps_; }

 private:
  bool is_better(double m) const;
  Mode mode_;
  double factor_;
  index_t patience_;
  double threshold_;
  ThresholdMode threshold_mode_;
  index_t cooldown_;
  double min_lr_, eps_;
  double lr_ = 0.0, best_ = 0.0;
  index_t bad_epochs_ = 0, cooldown_counter_ = 0;
};

}  // namespace entrena
