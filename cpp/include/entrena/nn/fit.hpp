// fit: the one epoch loop of entrena, for C++ and Python alike (Python's
// Sequential.fit calls it): epochs of train_epoch (nn/trainer.hpp) with
// running metrics, optional validation, a learning-rate schedule (the
// closed forms or ReduceLROnPlateau), early stopping, non-finite-loss
// handling and callbacks at epoch boundaries; returns a History.
//
//   entrena::FitOptions<float> o;
//   o.epochs = 100; o.batch_size = 32;
//   o.metrics = {"accuracy"};
//   o.validation = {Xv.data(), Yv.data(), n_val};
//   o.schedule = std::make_shared<entrena::CosineAnnealing>(100);
//   o.early_stopping = {entrena::EarlyStopping("val_accuracy", /*patience=*/5)};
//   entrena::History h = entrena::fit(model, loss, opt, X.data(), Y.data(), n, 1, o);
//
// Each epoch: on_epoch_begin; the schedule sets the optimizer's lr; the
// batches (training metrics accumulate from each batch's own outputs); the
// validation pass; the logs; early stopping; on_epoch (which may stop
// training). Logs hold, in order: "loss", each metric, "val_loss", each
// "val_" metric, "lr" (the rate the epoch used), "seconds", "iterations".
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "entrena/nn/loss.hpp"
#include "entrena/nn/metrics.hpp"
#include "entrena/nn/model.hpp"
#include "entrena/nn/optimizer.hpp"
#include "entrena/nn/schedule.hpp"
#include "entrena/nn/trainer.hpp"

namespace entrena {

// What fit reports after each epoch (and passes to on_epoch).
struct EpochLogs {
  index_t epoch = 0;  // 0-based, counting from FitOptions::initial_epoch
  std::vector<std::pair<std::string, double>> values;  // in the order above
  // The value of `key`, or NaN when it was not logged.
  double get(const std::string& key) const;
  bool has(const std::string& key) const;
  void set(const std::string& key, double value);
};

// What early stopping found (one per EarlyStopping rule).
struct EarlyStoppingResult {
  index_t best_epoch = -1;  // the epoch with the best monitored value (-1: none)
  double best = std::numeric_limits<double>::quiet_NaN();
  index_t stopped_epoch = -1;  // the epoch after which it stopped training (-1: it did not)
  index_t wait = 0;            // epochs since the last improvement, at the end
  bool restored_best_weights = false;
};

// The record of a run: one entry per epoch for every logged key (NaN for
// an epoch that did not log the key, e.g. the metrics of an epoch stopped
// by a non-finite loss).
struct History {
  std::vector<index_t> epoch;
  std::vector<std::string> keys;  // in the order first logged
  std::map<std::string, std::vector<double>> values;
  // Why training ended before FitOptions::epochs: "" (it did not),
  // "early_stopping", "callback" (on_epoch returned false), "nonfinite_loss"
  // (with terminate_on_nonfinite) or "interrupted".
  std::string stop_reason;
  std::vector<EarlyStoppingResult> early_stopping;
  // With stop_reason "interrupted": the epoch and the batch before which
  // training stopped, and the batches of that epoch.
  index_t interrupted_epoch = -1, interrupted_batch = -1, interrupted_batches = 0;

  // The values of `key`, one per epoch (ValueError listing the keys when absent).
  const std::vector<double>& operator[](const std::string& key) const;
  bool has(const std::string& key) const { return values.count(key) > 0; }
  index_t epochs() const { return static_cast<index_t>(epoch.size()); }
  index_t total_iterations() const;
  void record(const EpochLogs& logs);
};

// Keras' EarlyStopping: after each epoch from start_from_epoch on, the
// monitored value improves when it beats the best so far by more than
// min_delta (mode min: v < best − |min_delta|; max: v > best + |min_delta|;
// auto: max for metrics where higher is better, min for losses and the
// rest). An improvement resets the wait, unless a baseline is set and not
// beaten. Training stops when the wait reaches patience (patience 0: at the
// first epoch without improvement; never after the first epoch). With
// restore_best_weights the parameters of the best epoch are put back when
// training ends, however it ends (as Keras 3 does).
struct EarlyStopping {
  std::string monitor = "val_loss";  // "loss", a metric's name, or "val_" + either
  index_t patience = 0;
  double min_delta = 0.0;
  bool restore_best_weights = false;
  std::string mode = "auto";  // "auto" | "min" | "max"
  std::optional<double> baseline;
  index_t start_from_epoch = 0;

  EarlyStopping() = default;
  EarlyStopping(std::string monitor_, index_t patience_, double min_delta_ = 0.0,
                bool restore_best_weights_ = false)
      : monitor(std::move(monitor_)),
        patience(patience_),
        min_delta(min_delta_),
        restore_best_weights(restore_best_weights_) {}
};

// Validation data: X (n, *input_shape) and Y with the training targets'
// layout; sample weights (optional) with the training weights' layout.
template <class T>
struct Validation {
  const T* X = nullptr;
  const T* Y = nullptr;
  index_t n = 0;
  const T* sample_weight = nullptr;
};

// Called after each epoch with its logs; returning false stops training.
using EpochCallback = std::function<bool(const EpochLogs&)>;

template <class T>
struct FitOptions {
  index_t epochs = 1;
  index_t batch_size = 32;
  bool shuffle = true;
  bool drop_last = false;
  index_t initial_epoch = 0;  // epoch numbering starts here (schedules see it too)
  std::optional<std::uint64_t> seed;  // reseeds the model's generator first
  Validation<T> validation;           // used when validation.X is set
  index_t eval_batch_size = 1024;     // for the validation pass
  // Reported under their names (and "val_" + name on validation data).
  std::vector<MetricSpec<T>> metrics;
  // Sets the optimizer's lr before each epoch e (counted from
  // initial_epoch) to schedule->lr_at(e, metric). A schedule that was never
  // started is reset to the optimizer's lr first; one that was (by an
  // earlier fit) continues, so calling fit again with initial_epoch = the
  // epochs done so far resumes it. Schedules that read a metric
  // (ReduceLROnPlateau) get the previous epoch's `schedule_monitor` value.
  std::shared_ptr<Schedule> schedule;
  std::string schedule_monitor;  // a logged key; "" = val_loss with validation data, else loss
  std::vector<EarlyStopping> early_stopping;
  std::function<void(index_t epoch)> on_epoch_begin;
  EpochCallback on_epoch;
  // Per-batch progress, passed through to train_epoch.
  ProgressFn progress;
  index_t progress_every = 0;
  // Checked between batches: returning true ends training after the
  // current batch with stop_reason "interrupted" (the epoch is not logged).
  InterruptFn interrupted;
  // A NaN or infinite batch loss stops the epoch before that batch's update
  // (train_epoch). By default fit then throws a NonFiniteLossError naming
  // the epoch and batch; with this set, it records the epoch and returns
  // with stop_reason "nonfinite_loss".
  bool terminate_on_nonfinite = false;
  // Weights of the training samples' losses (see EpochOptions): the loss is
  // the weighted mean. sample_weight_size values per sample (1, or one per
  // output position); validation.sample_weight has the same layout.
  const T* sample_weight = nullptr;
  index_t sample_weight_size = 1;
  // Data-parallel training over the ranks of a communicator (see
  // EpochOptions::communicator and nn/communicator.hpp). fit first gives
  // every rank rank 0's parameters, buffers and generator; validation runs
  // on the whole validation set on every rank (the same values, so the
  // same early-stopping decisions), and every stop is agreed, so all ranks
  // leave fit after the same epoch. Training metrics are over every rank's
  // samples; a monitor may not name a metric that cannot merge its state
  // over the ranks (Metric::mergeable; the built-in ones and Python
  // functions can).
  Communicator* communicator = nullptr;
};

// Trains `model` on X: (n, *model.input_shape()), Y: target_size values
// per sample (see nn/trainer.hpp). The model must be built (StateError
// otherwise). The model, loss and optimizer keep their state afterwards, so
// fit can be called again to continue.
template <class T>
History fit(Sequential<T>& model, Loss<T>& loss, Optimizer<T>& optimizer, const T* X, const T* Y,
            index_t n, index_t target_size, const FitOptions<T>& options = {});

}  // namespace entrena
