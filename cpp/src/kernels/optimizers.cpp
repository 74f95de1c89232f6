// Optimizer kernels: checks, per-call coefficients and thread counts, then
// the element loop of the active ISA from the kernel table
// (kernel_table.hpp; the loops are in optimizers_loops.hpp).
#include "entrena/kernels/optimizers.hpp"

#include <cmath>

#include "entrena/parallel.hpp"
#include "kernel_table.hpp"

namespace entrena {

namespace {

// Threads for an elementwise pass over n elements costing ~`cost` flops each.
int threads(index_t n, double cost) {
  return threads_for(static_cast<double>(n) * cost, double(1 << 17));
}

void require(bool ok, const char* what) {
  if (!ok) throw ValueError(what);
}

}  // namespace

template <class T>
void sgd_step(T* p, const T* grad, T* momentum_buffer, index_t n, const SgdConfig& c,
              bool first_step) {
  // p, grad, momentum_buffer: (n,)
  // torch.optim.SGD:
  //   g = grad + wd * p;  b = g (first step) | momentum * b + (1 - dampening) * g
  //   g = g + momentum * b (nesterov) | b;  p = p - lr * g
  if (n <= 0) return;
  const kernels::SgdCoef<T> k{T(c.lr), T(c.weight_decay), T(c.momentum), T(1.0 - c.dampening),
                                 c.nesterov, first_step};
  if (c.momentum != 0.0) {
    require(momentum_buffer != nullptr, "sgd_step: momentum != 0 needs a momentum buffer");
    kernels::table<T>().sgd_momentum(p, grad, momentum_buffer, n, k, threads(n, 4));
  } else {
    kernels::table<T>().sgd_plain(p, grad, nullptr, n, k, threads(n, 2));
  }
}

template <class T>
void adam_step(T* p, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, index_t n,
               const AdamConfig& c, index_t t) {
  // p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq: (n,)
  // torch.optim.Adam / AdamW:
  //   p = p * (1 - lr * wd) (AdamW) | g = grad + wd * p (Adam)
  //   m = b1 * m + (1 - b1) * g;  v = b2 * v + (1 - b2) * g^2;  v_max = max(v_max, v) (amsgrad)
  //   p = p - lr / (1 - b1^t) * m / (sqrt(v or v_max) / sqrt(1 - b2^t) + eps)
  if (t < 1) throw ValueError(cat("adam_step: step must be >= 1, got ", t));
  if (n <= 0) return;
  const double bc1 = 1.0 - std::pow(c.beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(c.beta2, static_cast<double>(t));
  const kernels::AdamCoef<T> k{
      T(c.decoupled ? 1.0 - c.lr * c.weight_decay : 1.0),
      T(c.decoupled ? 0.0 : c.weight_decay),
      T(c.beta1), T(1.0 - c.beta1), T(c.beta2), T(1.0 - c.beta2),
      T(1.0 / std::sqrt(bc2)), T(c.lr / bc1), T(c.eps)};
  if (c.amsgrad) {
    require(max_exp_avg_sq != nullptr, "adam_step: amsgrad needs a max_exp_avg_sq buffer");
    kernels::table<T>().adam_amsgrad(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, k, threads(n, 12));
  } else {
    kernels::table<T>().adam(p, grad, exp_avg, exp_avg_sq, nullptr, n, k, threads(n, 12));
  }
}

template <class T>
void rmsprop_step(T* p, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer, index_t n,
                  const RmspropConfig& c) {
  // p, grad, square_avg, grad_avg, momentum_buffer: (n,)
  // torch.optim.RMSprop:
  //   g = grad + wd * p;  s = alpha * s + (1 - alpha) * g^2
  //   d = sqrt(s - a^2) + eps with a = alpha * a + (1 - alpha) * g (centered) | sqrt(s) + eps
  //   b = momentum * b + g / d; p = p - lr * b (momentum > 0) | p = p - lr * g / d
  if (n <= 0) return;
  const bool centered = c.centered, mom = c.momentum > 0.0;
  require(!centered || grad_avg != nullptr, "rmsprop_step: centered needs a grad_avg buffer");
  require(!mom || momentum_buffer != nullptr, "rmsprop_step: momentum > 0 needs a momentum buffer");
  const kernels::RmspropCoef<T> k{T(c.lr),  T(c.weight_decay), T(c.alpha), T(1.0 - c.alpha),
                                     T(c.eps), T(c.momentum)};
  kernels::table<T>().rmsprop[centered][mom](p, grad, square_avg, grad_avg, momentum_buffer, n, k,
                                    threads(n, 10));
}

template <class T>
void adagrad_step(T* p, const T* grad, T* sum, index_t n, const AdagradConfig& c, index_t t) {
  // p, grad, sum: (n,)
  // torch.optim.Adagrad:
  //   g = grad + wd * p;  clr = lr / (1 + (t - 1) * lr_decay)
  //   sum = sum + g^2;    p = p - clr * g / (sqrt(sum) + eps)
  if (t < 1) throw ValueError(cat("adagrad_step: step must be >= 1, got ", t));
  if (n <= 0) return;
  const double clr = c.lr / (1.0 + static_cast<double>(t - 1) * c.lr_decay);
  const kernels::AdagradCoef<T> k{T(clr), T(c.weight_decay), T(c.eps)};
  kernels::table<T>().adagrad(p, grad, sum, n, k, threads(n, 8));
}

template <class T>
double grad_norm(const T* g, index_t n) {
  // g: (n,)
  // sqrt(sum_i g_i^2). The blocks depend on n only (at most kMaxBlocks of
  // them, at least 4096 elements each) and their partial sums are added in
  // index order: the same bits for any thread count.
  if (n <= 0) return 0.0;
  constexpr index_t kMaxBlocks = 1024;
  index_t block = (n + kMaxBlocks - 1) / kMaxBlocks;
  block = block < 4096 ? 4096 : (block + 63) / 64 * 64;
  const index_t nb = (n + block - 1) / block;
  double partial[kMaxBlocks];
  kernels::table<T>().sum_squares(g, n, block, partial, threads(n, 2));
  double total = 0.0;
  for (index_t b = 0; b < nb; ++b) total += partial[b];
  return std::sqrt(total);
}

template <class T>
double clip_grad_norm(T* g, index_t n, double max_norm) {
  // g: (n,), scaled in place
  // torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6); g *= coef if coef < 1
  if (!(max_norm >= 0.0)) throw ValueError(cat("clip_grad_norm: max_norm must be >= 0, got ", max_norm));
  const double norm = grad_norm(g, n);
  const double coef = max_norm / (norm + 1e-6);
  // A NaN norm gives a NaN coefficient, which (as in PyTorch) poisons g.
  if (!(coef >= 1.0)) kernels::table<T>().scale(g, n, static_cast<T>(coef), threads(n, 1));
  return norm;
}

template <class T>
void clip_grad_value(T* g, index_t n, double clip_value) {
  // g: (n,), clamped in place
  // torch.nn.utils.clip_grad_value_: g = clamp(g, -clip_value, clip_value)
  if (!(clip_value >= 0.0))
    throw ValueError(cat("clip_grad_value: clip_value must be >= 0, got ", clip_value));
  if (n <= 0) return;
  kernels::table<T>().clamp(g, n, static_cast<T>(clip_value), threads(n, 1));
}

#define ENTRENA_OPT_KERNELS(T)                                                                  \
  template void sgd_step<T>(T*, const T*, T*, index_t, const SgdConfig&, bool);                \
  template void adam_step<T>(T*, const T*, T*, T*, T*, index_t, const AdamConfig&, index_t);   \
  template void rmsprop_step<T>(T*, const T*, T*, T*, T*, index_t, const RmspropConfig&);      \
  template void adagrad_step<T>(T*, const T*, T*, index_t, const AdagradConfig&, index_t);     \
  template double grad_norm<T>(const T*, index_t);                                             \
  template double clip_grad_norm<T>(T*, index_t, double);                                      \
  template void clip_grad_value<T>(T*, index_t, double);
ENTRENA_OPT_KERNELS(float)
ENTRENA_OPT_KERNELS(double)
#undef ENTRENA_OPT_KERNELS

}  // namespace entrena
