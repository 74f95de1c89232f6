// The mini-batch loop: shuffle, gather a batch, forward, loss, backward,
// optimizer step. It runs an epoch in C++ without returning to the caller
// between batches unless a progress callback is given.
#pragma once

#include <functional>

#include "entrena/nn/loss.hpp"
#include "entrena/nn/model.hpp"
#include "entrena/nn/optimizer.hpp"

namespace entrena {

struct EpochStats {
  double loss = 0.0;       // over the samples seen: their mean, or their sum for a "sum" loss
  index_t iterations = 0;  // optimizer steps taken
  index_t samples = 0;     // samples seen
  // Index of the batch whose loss was NaN or infinite, or -1. The epoch
  // stops at that batch before its backward pass and optimizer step, so the
  // parameters keep their last finite values.
  index_t nonfinite_batch = -1;
  double nonfinite_loss = 0.0;
};

// Called every `every` batches with (batches done, batches in epoch, running
// mean loss). Returning false stops the epoch after that batch.
using ProgressFn = std::function<bool(index_t, index_t, double)>;

// X: (n, *model.input_shape()), Y: (n, target_width).
template <class T>
EpochStats train_epoch(Sequential<T>& model, Loss<T>& loss, Optimizer<T>& opt, const T* X,
                       const T* Y, index_t n, index_t target_width, index_t batch_size,
                       bool shuffle, bool drop_last, const ProgressFn& progress = {},
                       index_t every = 0);

// The loss over the data set in inference mode (batches of batch_size): the
// mean over samples, or the sum for a "sum" loss; writes predictions
// (n, *output_shape) to pred if it is not null.
template <class T>
double evaluate(Sequential<T>& model, Loss<T>& loss, const T* X, const T* Y, index_t n,
                index_t target_width, index_t batch_size, T* pred = nullptr);

// Inference-mode outputs for X: (n, *input_shape) into out: (n, *output_shape).
template <class T>
void predict(Sequential<T>& model, const T* X, index_t n, T* out, index_t batch_size = 1024);

}  // namespace entrena
