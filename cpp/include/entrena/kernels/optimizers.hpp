// Optimizer steps over a flat parameter buffer, and gradient clipping.
//
// Each step is one fused loop over the whole buffer: it reads the gradient,
// updates the optimizer state and the parameters in the same pass. The
// formulas are PyTorch's (torch.optim.*, torch.nn.utils.clip_grad_*), so that
// trajectories can be compared with it. Hyper-parameters arrive in double
// and are rounded to T once per call; the element loop computes in T.
//
// Threads: the buffer is cut into fixed-size blocks that threads share out,
// so every element sees the same instructions for any thread count. Each
// kernel has SIMD variants per ISA (see cpu.hpp), chosen at run time.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// torch.optim.SGD hyper-parameters.
struct SgdConfig {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

// torch.optim.Adam (decoupled = false) and torch.optim.AdamW (decoupled = true).
struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
  bool decoupled = false;
};

// torch.optim.RMSprop hyper-parameters.
struct RmspropConfig {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};

// torch.optim.Adagrad hyper-parameters.
struct AdagradConfig {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
};

// SGD with momentum, dampening, Nesterov and coupled weight decay:
//   g = grad + weight_decay * p
//   if momentum != 0:
//     b = g                                    at the first step (first_step)
//     b = momentum * b + (1 - dampening) * g   afterwards
//     g = g + momentum * b   if nesterov,  else  g = b
//   p = p - lr * g
// p, grad, momentum_buffer: (n,); momentum_buffer may be null when momentum == 0.
template <class T>
void sgd_step(T* p, const T* grad, T* momentum_buffer, index_t n, const SgdConfig& c,
              bool first_step);

// Adam / AdamW, step t >= 1 (this update's 1-based count):
//   AdamW: p = p * (1 - lr * weight_decay)       Adam: g = grad + weight_decay * p
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   amsgrad: v_max = max(v_max, v), and v_max replaces v below
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// p, grad, exp_avg (m), exp_avg_sq (v), max_exp_avg_sq (v_max): (n,);
// max_exp_avg_sq may be null unless amsgrad.
template <class T>
void adam_step(T* p, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, index_t n,
               const AdamConfig& c, index_t t);

// RMSprop:
//   g = grad + weight_decay * p
//   s = alpha * s + (1 - alpha) * g * g
//   centered:  a = alpha * a + (1 - alpha) * g;   d = sqrt(s - a * a) + eps
//   otherwise:                                     d = sqrt(s) + eps
//   momentum > 0:  b = momentum * b + g / d;  p = p - lr * b
//   otherwise:                                p = p - lr * g / d
// p, grad, square_avg (s), grad_avg (a), momentum_buffer (b): (n,); grad_avg
// may be null unless centered, momentum_buffer unless momentum > 0.
template <class T>
void rmsprop_step(T* p, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer, index_t n,
                  const RmspropConfig& c);

// Adagrad, step t >= 1:
//   g = grad + weight_decay * p
//   clr = lr / (1 + (t - 1) * lr_decay)
//   sum = sum + g * g
//   p = p - clr * g / (sqrt(sum) + eps)
// p, grad, sum: (n,). sum starts at initial_accumulator_value (the caller's job).
template <class T>
void adagrad_step(T* p, const T* grad, T* sum, index_t n, const AdagradConfig& c, index_t t);

// The L2 norm sqrt(sum g_i^2) of g: (n,), accumulated in double. The sum is
// taken over fixed blocks whose partial sums are added in index order, so the
// result does not depend on the thread count.
template <class T>
double grad_norm(const T* g, index_t n);

// torch.nn.utils.clip_grad_norm_ over one flat gradient buffer g: (n,):
//   norm = ||g||_2;  coef = max_norm / (norm + 1e-6);  if coef < 1: g = g * coef
// Returns the norm before clipping.
template <class T>
double clip_grad_norm(T* g, index_t n, double max_norm);

// torch.nn.utils.clip_grad_value_: g = min(max(g, -clip_value), clip_value).
// g: (n,); clip_value >= 0.
template <class T>
void clip_grad_value(T* g, index_t n, double clip_value);

}  // namespace entrena
