#include "entrena/nn/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace entrena {

namespace {
// Copies rows idx[0..b) of src (rows of `width` elements) into dst.
template <class T>
void gather_rows(const T* src, const index_t* idx, index_t b, index_t width, T* dst) {
  for (index_t r = 0; r < b; ++r)
    std::memcpy(dst + r * width, src + idx[r] * width, static_cast<std::size_t>(width) * sizeof(T));
}

void check_batch(index_t n, index_t batch_size) {
  if (n < 1) throw ValueError(cat("X: expected at least one sample, got n = ", n));
  if (batch_size < 1) throw ValueError(cat("batch_size must be >= 1, got ", batch_size));
}
}  // namespace

template <class T>
EpochStats train_epoch(Sequential<T>& model, Loss<T>& loss, Optimizer<T>& opt, const T* X,
                       const T* Y, index_t n, index_t target_width, index_t batch_size,
                       bool shuffle, bool drop_last, const ProgressFn& progress, index_t every) {
  check_batch(n, batch_size);
  const index_t in_w = shape_size(model.input_shape());
  const index_t out_w = shape_size(model.output_shape());
  loss.check_target_values(Y, n, out_w, target_width);

  std::vector<index_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index_t(0));
  if (shuffle) model.rng().shuffle(order.data(), n);

  const index_t full = n / batch_size;
  const index_t batches = drop_last ? full : (n + batch_size - 1) / batch_size;
  if (batches == 0)
    throw ValueError(cat("batch_size (", batch_size, ") is larger than the ", n,
                         " samples and drop_last is set: the epoch would have no batch"));

  AlignedBuffer<T> xb(std::min(batch_size, n) * in_w), yb(std::min(batch_size, n) * target_width),
      grad(std::min(batch_size, n) * out_w);
  EpochStats st;
  double loss_sum = 0.0;
  const bool sum_reduced = loss.reduction() == Reduction::Sum;
  for (index_t bi = 0; bi < batches; ++bi) {
    const index_t start = bi * batch_size;
    const index_t b = std::min(batch_size, n - start);
    const index_t* idx = order.data() + start;
    gather_rows(X, idx, b, in_w, xb.data());
    gather_rows(Y, idx, b, target_width, yb.data());

    const T* out = model.forward(xb.data(), b, true);
    const T l = loss.forward(out, yb.data(), b, out_w, target_width);
    if (!std::isfinite(static_cast<double>(l))) {
      st.nonfinite_batch = bi;
      st.nonfinite_loss = static_cast<double>(l);
      break;
    }
    loss.backward(out, yb.data(), grad.data(), b, out_w, target_width);
    model.zero_grad();
    model.backward(grad.data());
    opt.step(model.params(), model.grads(), model.num_params());

    loss_sum += sum_reduced ? static_cast<double>(l) : static_cast<double>(l) * static_cast<double>(b);
    st.samples += b;
    st.iterations += 1;
    st.loss = sum_reduced ? loss_sum : loss_sum / static_cast<double>(st.samples);
    if (progress && every > 0 && ((bi + 1) % every == 0 || bi + 1 == batches)) {
      if (!progress(bi + 1, batches, st.loss)) break;
    }
  }
  return st;
}

template <class T>
double evaluate(Sequential<T>& model, Loss<T>& loss, const T* X, const T* Y, index_t n,
                index_t target_width, index_t batch_size, T* pred) {
  check_batch(n, batch_size);
  const index_t in_w = shape_size(model.input_shape());
  const index_t out_w = shape_size(model.output_shape());
  loss.check_target_values(Y, n, out_w, target_width);
  const bool sum_reduced = loss.reduction() == Reduction::Sum;
  double total = 0.0;
  for (index_t start = 0; start < n; start += batch_size) {
    const index_t b = std::min(batch_size, n - start);
    const T* out = model.forward(X + start * in_w, b, false);
    const double l = static_cast<double>(loss.forward(out, Y + start * target_width, b, out_w, target_width));
    total += sum_reduced ? l : l * static_cast<double>(b);
    if (pred)
      std::memcpy(pred + start * out_w, out, static_cast<std::size_t>(b * out_w) * sizeof(T));
  }
  return sum_reduced ? total : total / static_cast<double>(n);
}

template <class T>
void predict(Sequential<T>& model, const T* X, index_t n, T* out, index_t batch_size) {
  check_batch(n, batch_size);
  const index_t in_w = shape_size(model.input_shape());
  const index_t out_w = shape_size(model.output_shape());
  for (index_t start = 0; start < n; start += batch_size) {
    const index_t b = std::min(batch_size, n - start);
    const T* y = model.forward(X + start * in_w, b, false);
    std::memcpy(out + start * out_w, y, static_cast<std::size_t>(b * out_w) * sizeof(T));
  }
}

#define ENTRENA_INSTANTIATE(T)                                                                \
  template EpochStats train_epoch<T>(Sequential<T>&, Loss<T>&, Optimizer<T>&, const T*,       \
                                     const T*, index_t, index_t, index_t, bool, bool,         \
                                     const ProgressFn&, index_t);                             \
  template double evaluate<T>(Sequential<T>&, Loss<T>&, const T*, const T*, index_t, index_t, \
                              index_t, T*);                                                   \
  template void predict<T>(Sequential<T>&, const T*, index_t, T*, index_t);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
