// The mini-batch loop: shuffle, gather a batch, forward, loss, metrics,
// backward, optimizer step. It runs an epoch in C++ without returning to
// the caller between batches unless a progress callback is given.
//
// Targets: Y holds `target_size` values per sample. With outputs of shape
// (n, ..., C) that is either one value per position (class indices or
// labels: Y of shape (n, ...)) or the output's own shape (n, ..., C); the
// loss sees rows = n·(positions) (nn/loss.hpp).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "entrena/nn/communicator.hpp"
#include "entrena/nn/loss.hpp"
#include "entrena/nn/metrics.hpp"
#include "entrena/nn/model.hpp"
#include "entrena/nn/optimizer.hpp"

namespace entrena {

// A training run that was stopped because the loss became NaN or infinite
// (Python: FloatingPointError).
class NonFiniteLossError : public StateError {
 public:
  using StateError::StateError;
};

// The target width per row (1 or the output's last size) for targets of
// target_size values per sample; ValueError when they fit neither layout.
index_t target_width_for(const Shape& output_shape, index_t target_size);

struct EpochStats {
  double loss = 0.0;       // over the samples seen: their mean, or their sum for a "sum" loss
  index_t iterations = 0;  // optimizer steps taken
  index_t samples = 0;     // samples seen
  index_t batches = 0;     // batches in the epoch
  // Index of the batch whose loss was NaN or infinite, or -1. The epoch
  // stops at that batch before its backward pass and optimizer step, so the
  // parameters keep their last finite values.
  index_t nonfinite_batch = -1;
  double nonfinite_loss = 0.0;
  bool interrupted = false;  // the interrupt check asked to stop (before batch `iterations`)
};

// Running values during an epoch, passed to the progress callback: "loss"
// first, then each metric's display name.
using RunningLogs = std::vector<std::pair<std::string, double>>;
// Called every `every` batches (and after the last) with (batches done,
// batches in the epoch, running logs). Returning false stops the epoch
// after that batch.
using ProgressFn = std::function<bool(index_t, index_t, const RunningLogs&)>;
// Checked between batches; returning true stops the epoch (e.g. Ctrl-C).
using InterruptFn = std::function<bool()>;

// A metric with the name it is reported under.
template <class T>
struct MetricSpec {
  std::string name;
  std::shared_ptr<Metric<T>> metric;
  MetricSpec(std::string display, std::shared_ptr<Metric<T>> m) : name(std::move(display)), metric(std::move(m)) {}
  // A built-in metric by name (metric_names()).
  MetricSpec(const char* n) : name(n), metric(make_metric<T>(n)) {}
  MetricSpec(const std::string& n) : name(n), metric(make_metric<T>(n)) {}
};

// The batches of an epoch. X: (n, *model.input_shape()), Y: target_size
// values per sample. Metrics are reset first and updated with every batch's
// training outputs.
template <class T>
struct EpochOptions {
  index_t batch_size = 32;
  bool shuffle = true;
  bool drop_last = false;
  std::vector<std::pair<std::string, Metric<T>*>> metrics;  // (display name, metric)
  ProgressFn progress;
  index_t every = 0;
  InterruptFn interrupted;
  // Weights of the samples' losses (finite, >= 0), sample_weight_size per
  // sample: 1, or one per output position (a weight per step of (n, T, C)
  // outputs). The loss is then the weighted mean over the batch (see
  // kernels/losses.hpp); metrics stay unweighted.
  const T* sample_weight = nullptr;
  index_t sample_weight_size = 1;
  // Data-parallel training (nn/communicator.hpp): every rank passes the
  // whole data set. The samples are permuted the same way on every rank
  // (padded to a multiple of P by wrapping around, as PyTorch's
  // DistributedSampler), rank r takes positions r, r + P, r + 2P, ..., and
  // after each backward pass the gradients are averaged over the ranks
  // before the optimizer step, so P ranks with batch b step like one
  // process with batch P·b. Stops (non-finite loss, interrupts, a progress
  // callback returning false) are agreed, so every rank stops at the same
  // batch. The epoch's loss and metrics are over all ranks' samples (the
  // metrics' states merged in rank order; a metric that cannot merge,
  // Metric::mergeable, keeps the rank's own value).
  Communicator* communicator = nullptr;
};

template <class T>
EpochStats train_epoch(Sequential<T>& model, Loss<T>& loss, Optimizer<T>& opt, const T* X, const T* Y,
                       index_t n, index_t target_size, const EpochOptions<T>& options);

// The same with only the batch options (no metrics, no callbacks).
template <class T>
EpochStats train_epoch(Sequential<T>& model, Loss<T>& loss, Optimizer<T>& opt, const T* X, const T* Y,
                       index_t n, index_t target_size, index_t batch_size, bool shuffle = true,
                       bool drop_last = false);

// The loss over the data set in inference mode (batches of batch_size): the
// mean over samples, or the sum for a "sum" loss; with sample weights (as in
// EpochOptions) the weighted mean or sum. Metrics are reset and updated with
// every batch; predictions (n, *output_shape) go to pred if it is not null.
template <class T>
double evaluate(Sequential<T>& model, Loss<T>& loss, const T* X, const T* Y, index_t n,
                index_t target_size, index_t batch_size, T* pred = nullptr,
                const std::vector<Metric<T>*>& metrics = {}, const T* sample_weight = nullptr,
                index_t sample_weight_size = 1);

// Inference-mode outputs for X: (n, *input_shape) into out: (n, *output_shape).
template <class T>
void predict(Sequential<T>& model, const T* X, index_t n, T* out, index_t batch_size = 1024);

}  // namespace entrena
