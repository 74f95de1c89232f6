// fit: the whole training run in C++, as Python's Sequential.fit does it:
// epochs of train_epoch (nn/trainer.hpp), optional validation, a learning-
// rate schedule, early stopping and a per-epoch callback; returns a History.
//
//   entrena::FitOptions<float> o;
//   o.epochs = 100; o.batch_size = 32;
//   o.validation = {Xv.data(), Yv.data(), n_val};
//   o.schedule = std::make_shared<entrena::CosineAnnealing>(100);
//   o.early_stopping = {"val_loss", /*patience=*/5, /*min_delta=*/0.0, /*restore_best_weights=*/true};
//   entrena::History h = entrena::fit(model, loss, opt, X.data(), Y.data(), n, 1, o);
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "entrena/nn/loss.hpp"
#include "entrena/nn/model.hpp"
#include "entrena/nn/optimizer.hpp"
#include "entrena/nn/schedule.hpp"
#include "entrena/nn/trainer.hpp"

namespace entrena {

// What fit reports after each epoch (and passes to on_epoch).
struct EpochLogs {
  index_t epoch = 0;   // 0-based, counting from FitOptions::initial_epoch
  double loss = 0.0;   // mean training loss of the epoch
  double val_loss = std::numeric_limits<double>::quiet_NaN();  // NaN without validation data
  double lr = 0.0;     // the learning rate used in the epoch
  double seconds = 0.0;
  index_t iterations = 0;  // optimizer steps in the epoch
  bool has_val() const { return val_loss == val_loss; }
};

// The record of a run: one entry per epoch in each vector.
struct History {
  std::vector<index_t> epoch;
  std::vector<double> loss, val_loss, lr, seconds;  // val_loss is empty without validation data
  std::vector<index_t> iterations;
  // Why training ended before FitOptions::epochs: "" (it did not),
  // "early_stopping", "callback" (on_epoch returned false) or "nonfinite_loss"
  // (with terminate_on_nonfinite; see FitOptions).
  std::string stop_reason;
  // Early stopping: the epoch with the best monitored value (-1 if none)
  // and that value; whether the best weights were put back at the end.
  index_t best_epoch = -1;
  double best = std::numeric_limits<double>::quiet_NaN();
  bool restored_best_weights = false;

  index_t epochs() const { return static_cast<index_t>(epoch.size()); }
  index_t total_iterations() const;
  void record(const EpochLogs& logs);
};

// Keras' EarlyStopping (as entrena.callbacks.EarlyStopping in Python): the
// monitored value improves when it drops below best − min_delta; training
// stops once it has not improved for `patience` epochs in a row (Keras' rule;
// patience 0 stops at the first epoch without improvement).
// With restore_best_weights, the parameters of the best epoch are put back
// when training is stopped this way.
struct EarlyStopping {
  bool enabled = false;
  std::string monitor = "val_loss";  // "loss" or "val_loss"
  index_t patience = 0;
  double min_delta = 0.0;
  bool restore_best_weights = false;

  EarlyStopping() = default;
  EarlyStopping(std::string monitor_, index_t patience_, double min_delta_ = 0.0,
                bool restore_best_weights_ = false)
      : enabled(true),
        monitor(std::move(monitor_)),
        patience(patience_),
        min_delta(min_delta_),
        restore_best_weights(restore_best_weights_) {}
};

// Validation data: X (n, *input_shape) and Y (n, target_width), with the
// training data's target width.
template <class T>
struct Validation {
  const T* X = nullptr;
  const T* Y = nullptr;
  index_t n = 0;
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
  // Sets the optimizer's lr before each epoch e (counted from
  // initial_epoch) to schedule->lr_at(e, metric). A schedule that was never
  // started is reset to the optimizer's lr first; one that was (by an
  // earlier fit) continues, so calling fit again with initial_epoch = the
  // epochs done so far resumes it. Schedules that read a metric
  // (ReduceLROnPlateau) get the previous epoch's `schedule_monitor` value.
  std::shared_ptr<Schedule> schedule;
  std::string schedule_monitor;  // "loss", "val_loss", or "" = val_loss with validation data, else loss
  EarlyStopping early_stopping;
  EpochCallback on_epoch;
  // Per-batch progress, passed through to train_epoch.
  ProgressFn progress;
  index_t progress_every = 0;
  // A NaN or infinite batch loss stops the epoch before that batch's update
  // (train_epoch). By default fit then throws a StateError naming the epoch
  // and batch (as Python's fit raises FloatingPointError); with this set, it
  // records the epoch and returns with stop_reason "nonfinite_loss".
  bool terminate_on_nonfinite = false;
};

// Trains `model` on X: (n, *model.input_shape()), Y: (n, target_width)
// (class indices with target_width 1, or targets of the output's width).
// The model must be built (StateError otherwise). The model, loss and optimizer keep their state afterwards, so fit can be
// called again to continue.
template <class T>
History fit(Sequential<T>& model, Loss<T>& loss, Optimizer<T>& optimizer, const T* X, const T* Y,
            index_t n, index_t target_width, const FitOptions<T>& options = {});

}  // namespace entrena
