#include "entrena/kernels/losses.hpp"

#include <cmath>

#include "entrena/parallel.hpp"

namespace entrena {

namespace {

// The divisor of a mean over `rows` rows of `width` elements: width * the
// sum of the weights (in index order, in double), or rows * width without
// weights (exactly, so that all-1 weights give the unweighted bits).
template <class T>
double mean_divisor(const T* w, index_t rows, index_t width) {
  if (!w) return static_cast<double>(rows) * static_cast<double>(width);
  double s = 0.0;
  for (index_t r = 0; r < rows; ++r) s += static_cast<double>(w[r]);
  return s * static_cast<double>(width);
}

// The factor of every gradient: 1/divisor for the mean (0 for an empty or
// all-zero-weight batch), 1 for the sum.
template <class T>
T grad_scale(Reduction red, double divisor) {
  return red == Reduction::Mean ? (divisor > 0.0 ? T(1) / static_cast<T>(divisor) : T(0)) : T(1);
}

template <class T>
T weight_of(const T* w, index_t r) {
  return w ? w[r] : T(1);
}

// red_r w_r sum_j f(p_rj, t_rj): summed in index order in double.
template <class T, class F>
T reduce_elementwise(const T* p, const T* t, index_t n, Reduction red, const T* w, index_t width, F f) {
  const index_t rows = width > 0 ? n / width : 0;
  double total = 0.0;
  for (index_t r = 0; r < rows; ++r) {
    const double wr = static_cast<double>(weight_of(w, r));
    for (index_t k = r * width; k < (r + 1) * width; ++k) total += wr * static_cast<double>(f(p[k], t[k]));
  }
  if (red == Reduction::Mean) {
    const double d = mean_divisor(w, rows, width);
    total = d > 0.0 ? total / d : 0.0;
  }
  return static_cast<T>(total);
}

// g_k = f(p_k, t_k) s w_r; independent rows, any thread count.
template <class T, class F>
void grad_elementwise(const T* p, const T* t, T* g, index_t n, Reduction red, const T* w, index_t width, F f) {
  const index_t rows = width > 0 ? n / width : 0;
  const T s = grad_scale<T>(red, mean_divisor(w, rows, width));
  const int nt = threads_for(static_cast<double>(n) * 8);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t r = 0; r < rows; ++r) {
    const T wr = weight_of(w, r);
    for (index_t k = r * width; k < (r + 1) * width; ++k) g[k] = f(p[k], t[k]) * s * wr;
  }
}

// max(v, 0) and max(v, -100) that keep NaN (std::fmax would drop it).
template <class T>
T relu(T v) {
  return v < T(0) ? T(0) : v;
}
template <class T>
T clamp_log(T v) {
  return v < T(-100) ? T(-100) : v;
}

template <class T>
T sigmoid(T z) {
  const T e = std::exp(-std::fabs(z));
  return z >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

// Row maximum m and ls = log sum_j exp(z_j - m), so that
// -log softmax(z)_j = ls - (z_j - m).
template <class T>
void row_logsumexp(const T* z, index_t c, T& m, T& ls) {
  m = z[0];
  for (index_t j = 1; j < c; ++j) m = z[j] > m ? z[j] : m;
  T s = T(0);
  for (index_t j = 0; j < c; ++j) s += std::exp(z[j] - m);
  ls = std::log(s);
}

}  // namespace

// ------------------------------------------------------------ regression
template <class T>
T mse_forward(const T* pred, const T* target, index_t n, Reduction red, const T* w,
              index_t width) {
  return reduce_elementwise(pred, target, n, red, w, width, [](T p, T t) { return (p - t) * (p - t); });
}
template <class T>
void mse_backward(const T* pred, const T* target, T* grad, index_t n, Reduction red,
              const T* w, index_t width) {
  grad_elementwise(pred, target, grad, n, red, w, width, [](T p, T t) { return T(2) * (p - t); });
}

template <class T>
T half_mse_forward(const T* pred, const T* target, index_t n, Reduction red, const T* w,
              index_t width) {
  return reduce_elementwise(pred, target, n, red, w, width,
                            [](T p, T t) { return T(0.5) * (p - t) * (p - t); });
}
template <class T>
void half_mse_backward(const T* pred, const T* target, T* grad, index_t n, Reduction red,
              const T* w, index_t width) {
  grad_elementwise(pred, target, grad, n, red, w, width, [](T p, T t) { return p - t; });
}

template <class T>
T mae_forward(const T* pred, const T* target, index_t n, Reduction red, const T* w,
              index_t width) {
  return reduce_elementwise(pred, target, n, red, w, width, [](T p, T t) { return std::fabs(p - t); });
}
template <class T>
void mae_backward(const T* pred, const T* target, T* grad, index_t n, Reduction red,
              const T* w, index_t width) {
  grad_elementwise(pred, target, grad, n, red, w, width, [](T p, T t) {
    const T d = p - t;
    return d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0));
  });
}

template <class T>
T huber_forward(const T* pred, const T* target, index_t n, T delta, Reduction red, const T* w,
              index_t width) {
  return reduce_elementwise(pred, target, n, red, w, width, [delta](T p, T t) {
    const T a = std::fabs(p - t);
    return a < delta ? T(0.5) * a * a : delta * (a - T(0.5) * delta);
  });
}
template <class T>
void huber_backward(const T* pred, const T* target, T* grad, index_t n, T delta, Reduction red,
              const T* w, index_t width) {
  grad_elementwise(pred, target, grad, n, red, w, width, [delta](T p, T t) {
    const T d = p - t;
    return d < -delta ? -delta : (d > delta ? delta : d);
  });
}

// -------------------------------------------------------- classification
template <class T>
T binary_crossentropy_forward(const T* prob, const T* target, index_t n, Reduction red, const T* w,
              index_t width) {
  return reduce_elementwise(prob, target, n, red, w, width, [](T p, T t) {
    // log(1 - p) as log1p(-p): exact for small p. Both logs clamped at -100.
    const T lp = clamp_log(std::log(p));
    const T lq = clamp_log(std::log1p(-p));
    return -(t * lp + (T(1) - t) * lq);
  });
}
template <class T>
void binary_crossentropy_backward(const T* prob, const T* target, T* grad, index_t n, Reduction red,
              const T* w, index_t width) {
  grad_elementwise(prob, target, grad, n, red, w, width, [](T p, T t) {
    return (p - t) / std::fmax((T(1) - p) * p, T(1e-12));
  });
}

template <class T>
T binary_crossentropy_with_logits_forward(const T* logits, const T* target, index_t n, Reduction red, const T* w,
              index_t width) {
  return reduce_elementwise(logits, target, n, red, w, width, [](T z, T t) {
    return std::fmax(z, T(0)) - z * t + std::log1p(std::exp(-std::fabs(z)));
  });
}
template <class T>
void binary_crossentropy_with_logits_backward(const T* logits, const T* target, T* grad, index_t n,
                              Reduction red,
              const T* w, index_t width) {
  grad_elementwise(logits, target, grad, n, red, w, width, [](T z, T t) { return sigmoid(z) - t; });
}

template <class T>
T hinge_forward(const T* pred, const T* target, index_t n, Reduction red, const T* w,
              index_t width) {
  return reduce_elementwise(pred, target, n, red, w, width,
                            [](T p, T t) { return relu(T(1) - t * p); });
}
template <class T>
void hinge_backward(const T* pred, const T* target, T* grad, index_t n, Reduction red,
              const T* w, index_t width) {
  grad_elementwise(pred, target, grad, n, red, w, width,
                   [](T p, T t) { return T(1) - t * p > T(0) ? -t : T(0); });
}

template <class T>
T categorical_crossentropy_forward(const T* logits, const T* target, index_t rows, index_t c,
                        index_t target_width, T label_smoothing, Reduction red, const T* w) {
  const T eps = label_smoothing, uniform = label_smoothing / static_cast<T>(c);
  double total = 0.0;
  for (index_t i = 0; i < rows; ++i) {
    const T* z = logits + i * c;
    T m, ls;
    row_logsumexp(z, c, m, ls);
    double li = 0.0;
    if (target_width == 1) {
      const index_t y = static_cast<index_t>(target[i]);
      li = static_cast<double>((T(1) - eps) * (ls - (z[y] - m)));
      if (eps != T(0)) {
        double all = 0.0;
        for (index_t j = 0; j < c; ++j) all += static_cast<double>(ls - (z[j] - m));
        li += static_cast<double>(uniform) * all;
      }
    } else {
      const T* t = target + i * c;
      for (index_t j = 0; j < c; ++j) {
        const T q = (T(1) - eps) * t[j] + uniform;
        li += static_cast<double>(q * (ls - (z[j] - m)));
      }
    }
    total += static_cast<double>(weight_of(w, i)) * li;
  }
  if (red == Reduction::Mean) {
    const double d = mean_divisor(w, rows, 1);
    total = d > 0.0 ? total / d : 0.0;
  }
  return static_cast<T>(total);
}

template <class T>
void categorical_crossentropy_backward(const T* logits, const T* target, T* grad, index_t rows, index_t c,
                            index_t target_width, T label_smoothing, Reduction red, const T* w) {
  const T s0 = grad_scale<T>(red, mean_divisor(w, rows, 1));
  const T eps = label_smoothing, uniform = label_smoothing / static_cast<T>(c);
  const int nt = threads_for(static_cast<double>(rows) * static_cast<double>(c) * 24);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t i = 0; i < rows; ++i) {
    const T* z = logits + i * c;
    T* g = grad + i * c;
    const T wi = weight_of(w, i);
    T m, ls;
    row_logsumexp(z, c, m, ls);
    if (target_width == 1) {
      // sum_j q_j = 1
      for (index_t j = 0; j < c; ++j) g[j] = (std::exp((z[j] - m) - ls) - uniform) * s0 * wi;
      g[static_cast<index_t>(target[i])] -= (T(1) - eps) * s0 * wi;
    } else {
      const T* t = target + i * c;
      T qsum = T(0);
      for (index_t j = 0; j < c; ++j) qsum += (T(1) - eps) * t[j] + uniform;
      for (index_t j = 0; j < c; ++j) {
        const T q = (T(1) - eps) * t[j] + uniform;
        g[j] = (std::exp((z[j] - m) - ls) * qsum - q) * s0 * wi;
      }
    }
  }
}

template <class T>
T multiclass_hinge_forward(const T* scores, const T* labels, index_t rows, index_t c, T margin,
                       Reduction red, const T* w) {
  double total = 0.0;
  for (index_t i = 0; i < rows; ++i) {
    const T* z = scores + i * c;
    const index_t y = static_cast<index_t>(labels[i]);
    double li = 0.0;
    for (index_t j = 0; j < c; ++j)
      if (j != y) li += static_cast<double>(relu(margin - z[y] + z[j]));
    total += static_cast<double>(weight_of(w, i)) * (li / static_cast<double>(c));
  }
  if (red == Reduction::Mean) {
    const double d = mean_divisor(w, rows, 1);
    total = d > 0.0 ? total / d : 0.0;
  }
  return static_cast<T>(total);
}

template <class T>
void multiclass_hinge_backward(const T* scores, const T* labels, T* grad, index_t rows, index_t c,
                           T margin, Reduction red, const T* w) {
  const T s0 = grad_scale<T>(red, mean_divisor(w, rows, 1)) / static_cast<T>(c);
  const int nt = threads_for(static_cast<double>(rows) * static_cast<double>(c) * 4);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t i = 0; i < rows; ++i) {
    const T* z = scores + i * c;
    T* g = grad + i * c;
    const index_t y = static_cast<index_t>(labels[i]);
    const T s = s0 * weight_of(w, i);
    index_t active = 0;
    for (index_t j = 0; j < c; ++j) {
      const bool on = j != y && margin - z[y] + z[j] > T(0);
      g[j] = on ? s : T(0);
      active += on ? 1 : 0;
    }
    g[y] = -static_cast<T>(active) * s;
  }
}

#define ENTRENA_INSTANTIATE(T)                                                                  \
  template T mse_forward<T>(const T*, const T*, index_t, Reduction, const T*, index_t);                            \
  template void mse_backward<T>(const T*, const T*, T*, index_t, Reduction, const T*, index_t);                    \
  template T half_mse_forward<T>(const T*, const T*, index_t, Reduction, const T*, index_t);                       \
  template void half_mse_backward<T>(const T*, const T*, T*, index_t, Reduction, const T*, index_t);               \
  template T mae_forward<T>(const T*, const T*, index_t, Reduction, const T*, index_t);                            \
  template void mae_backward<T>(const T*, const T*, T*, index_t, Reduction, const T*, index_t);                    \
  template T huber_forward<T>(const T*, const T*, index_t, T, Reduction, const T*, index_t);                       \
  template void huber_backward<T>(const T*, const T*, T*, index_t, T, Reduction, const T*, index_t);               \
  template T binary_crossentropy_forward<T>(const T*, const T*, index_t, Reduction, const T*, index_t);                            \
  template void binary_crossentropy_backward<T>(const T*, const T*, T*, index_t, Reduction, const T*, index_t);                    \
  template T binary_crossentropy_with_logits_forward<T>(const T*, const T*, index_t, Reduction, const T*, index_t);                \
  template void binary_crossentropy_with_logits_backward<T>(const T*, const T*, T*, index_t, Reduction, const T*, index_t);        \
  template T hinge_forward<T>(const T*, const T*, index_t, Reduction, const T*, index_t);                          \
  template void hinge_backward<T>(const T*, const T*, T*, index_t, Reduction, const T*, index_t);                  \
  template T categorical_crossentropy_forward<T>(const T*, const T*, index_t, index_t, index_t, T,         \
                                      Reduction, const T*);                                               \
  template void categorical_crossentropy_backward<T>(const T*, const T*, T*, index_t, index_t, index_t, T, \
                                          Reduction, const T*);                                           \
  template T multiclass_hinge_forward<T>(const T*, const T*, index_t, index_t, T, Reduction, const T*);        \
  template void multiclass_hinge_backward<T>(const T*, const T*, T*, index_t, index_t, T,           \
                                         Reduction, const T*);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
