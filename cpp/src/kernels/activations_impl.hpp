// The activation kernels, written once over the SIMD mapping (simd.hpp)
// and the vector math of vmath.hpp. Internal header of the ISA translation
// units (isa_kernels.hpp): each compiles it for its ISA, in its namespace,
// and puts the kernels in its table (kernel_table.hpp).
//
// Threads: element-wise kernels split the data into fixed blocks of
// kBlock elements, rows kernels into rows; each element or row is computed
// by exactly one thread with the same instructions whatever the thread
// count (partial vectors are padded, not computed by a scalar tail), so
// results are bitwise identical for any number of threads.
#pragma once

#include <cstdint>

#include "kernel_table.hpp"
#include "simd.hpp"
#include "vmath.hpp"

namespace entrena::ENTRENA_ISA_NS {
namespace {

using idx = kernels::idx;

constexpr idx kBlock = 4096;  // elements per parallel task (multiple of every vector width)

inline idx min_idx(idx a, idx b) { return a < b ? a : b; }

// y[i] = f(x[i]) over vectors; the last partial vector is padded with 0.
template <class T, class F>
inline void map1(const T* x, T* y, idx n, int nt, F f) {
  constexpr int L = simd::lanes<T>;
  const idx nb = (n + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (idx b = 0; b < nb; ++b) {
    const idx lo = b * kBlock, hi = min_idx(n, lo + kBlock);
    idx i = lo;
    for (; i + L <= hi; i += L) simd::store(y + i, f(simd::load(x + i)));
    if (i < hi) {
      const int m = static_cast<int>(hi - i);
      simd::store_part(y + i, f(simd::load_part(x + i, m, T(0))), m);
    }
  }
}

// out[i] = f(a[i], b[i]).
template <class T, class F>
inline void map2(const T* a, const T* b2, T* out, idx n, int nt, F f) {
  constexpr int L = simd::lanes<T>;
  const idx nb = (n + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (idx b = 0; b < nb; ++b) {
    const idx lo = b * kBlock, hi = min_idx(n, lo + kBlock);
    idx i = lo;
    for (; i + L <= hi; i += L) simd::store(out + i, f(simd::load(a + i), simd::load(b2 + i)));
    if (i < hi) {
      const int m = static_cast<int>(hi - i);
      simd::store_part(out + i, f(simd::load_part(a + i, m, T(0)), simd::load_part(b2 + i, m, T(0))),
                       m);
    }
  }
}

template <class T>
inline vec_t<T> vsigmoid(vec_t<T> x) {
  // 1/(1+e^-x) for x >= 0, e^x/(1+e^x) for x < 0: e^-|x| never overflows
  // and tiny results keep their relative accuracy.
  const vec_t<T> e = vexp<T>(-vabs<T>(x));
  const vec_t<T> r = T(1) / (T(1) + e);
  return x >= T(0) ? r : e * r;
}

template <class T>
inline vec_t<T> vclamp(vec_t<T> x, T lo, T hi) {
  x = x < lo ? simd::set1<T>(lo) : x;
  return x > hi ? simd::set1<T>(hi) : x;
}

constexpr double kInvSqrt2 = 0.7071067811865476;
constexpr double kInvSqrt2Pi = 0.3989422804014327;
constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kGeluCubic = 0.044715;
constexpr double kSoftplusThreshold = 20.0;  // PyTorch's default (beta = 1)

// One row of softmax (log_softmax when log is set). x, y: (cols,)
template <class T>
inline void softmax_row(const T* x, T* y, idx cols, bool log) {
  using V = vec_t<T>;
  constexpr int L = simd::lanes<T>;
  const T ninf = -__builtin_inf();
  // Row maximum.
  V vm = simd::set1<T>(ninf);
  idx j = 0;
  for (; j + L <= cols; j += L) {
    const V v = simd::load(x + j);
    vm = v > vm ? v : vm;
  }
  if (j < cols) {
    const V v = simd::load_part(x + j, static_cast<int>(cols - j), ninf);
    vm = v > vm ? v : vm;
  }
  const T m = simd::hmax<T>(vm);
  // Sum of exp(x - m); softmax stores the exponentials on the way.
  V acc = V{};
  for (j = 0; j + L <= cols; j += L) {
    const V e = vexp<T>(simd::load(x + j) - m);
    if (!log) simd::store(y + j, e);
    acc += e;
  }
  if (j < cols) {
    const V e = vexp<T>(simd::load_part(x + j, static_cast<int>(cols - j), ninf) - m);
    if (!log) simd::store_part(y + j, e, static_cast<int>(cols - j));
    acc += e;
  }
  const T s = simd::hsum<T>(acc);
  if (log) {
    const T ls = vlog<T>(simd::set1<T>(s))[0];
    for (j = 0; j < cols; ++j) y[j] = (x[j] - m) - ls;
  } else {
    const T inv = T(1) / s;
    for (j = 0; j < cols; ++j) y[j] *= inv;
  }
}

// Sum of a[j] * b[j] (b == nullptr: sum of a[j]) over a row, vector lanes first.
template <class T>
inline T row_dot(const T* a, const T* b, idx cols) {
  using V = vec_t<T>;
  constexpr int L = simd::lanes<T>;
  V acc = V{};
  idx j = 0;
  for (; j + L <= cols; j += L) acc += b ? simd::load(a + j) * simd::load(b + j) : simd::load(a + j);
  if (j < cols) {
    const V va = simd::load_part(a + j, static_cast<int>(cols - j), T(0));
    acc += b ? va * simd::load_part(b + j, static_cast<int>(cols - j), T(0)) : va;
  }
  return simd::hsum<T>(acc);
}

// ------------------------------------------------------------- raw math
template <class T>
void math_exp(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) { return vexp<T>(v); });
}
template <class T>
void math_expm1(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) { return vexpm1<T>(v); });
}
template <class T>
void math_log(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) { return vlog<T>(v); });
}
template <class T>
void math_log1p(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) { return vlog1p<T>(v); });
}
template <class T>
void math_tanh(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) { return vtanh<T>(v); });
}
template <class T>
void math_erf(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) { return verf<T>(v); });
}
template <class T>
void math_erfc(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) { return verfc<T>(v); });
}

// ----------------------------------------------------------- activations
// Formulas are stated in the public header (entrena/kernels/activations.hpp).

template <class T>
void identity_forward(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) { return v; });
}
template <class T>
void identity_backward(const T* dy, T* dx, idx n, int nt) {
  map1<T>(dy, dx, n, nt, [](vec_t<T> v) { return v; });
}

template <class T>
void sigmoid_forward(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) { return vsigmoid<T>(v); });
}
template <class T>
void sigmoid_backward(const T* y, const T* dy, T* dx, idx n, int nt) {
  map2<T>(y, dy, dx, n, nt, [](vec_t<T> s, vec_t<T> g) { return g * (s * (T(1) - s)); });
}

template <class T>
void tanh_forward(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) { return vtanh<T>(v); });
}
template <class T>
void tanh_backward(const T* y, const T* dy, T* dx, idx n, int nt) {
  map2<T>(y, dy, dx, n, nt, [](vec_t<T> t, vec_t<T> g) { return g * (T(1) - t * t); });
}

template <class T>
void relu_forward(const T* x, T* y, idx n, int nt) {
  // NaN stays NaN.
  map1<T>(x, y, n, nt, [](vec_t<T> v) { return v < T(0) ? vec_t<T>{} : v; });
}
template <class T>
void relu_backward(const T* x, const T* dy, T* dx, idx n, int nt) {
  map2<T>(x, dy, dx, n, nt, [](vec_t<T> v, vec_t<T> g) { return v > T(0) ? g : vec_t<T>{}; });
}

template <class T>
void leaky_relu_forward(const T* x, T* y, idx n, T alpha, int nt) {
  map1<T>(x, y, n, nt, [alpha](vec_t<T> v) { return v > T(0) ? v : v * alpha; });
}
template <class T>
void leaky_relu_backward(const T* x, const T* dy, T* dx, idx n, T alpha, int nt) {
  map2<T>(x, dy, dx, n, nt, [alpha](vec_t<T> v, vec_t<T> g) { return v > T(0) ? g : g * alpha; });
}

template <class T>
void elu_forward(const T* x, T* y, idx n, T alpha, int nt) {
  map1<T>(x, y, n, nt, [alpha](vec_t<T> v) { return v > T(0) ? v : alpha * vexpm1<T>(v); });
}
template <class T>
void elu_backward(const T* x, const T* dy, T* dx, idx n, T alpha, int nt) {
  map2<T>(x, dy, dx, n, nt,
          [alpha](vec_t<T> v, vec_t<T> g) { return v > T(0) ? g : g * (alpha * vexp<T>(v)); });
}

template <class T>
void gelu_forward(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) {
    // Phi(x) = erfc(-x/sqrt2)/2 keeps its relative accuracy for x << 0.
    // Below -40 Phi is 0 and x is clamped so that -inf gives 0, not NaN.
    const vec_t<T> cdf = T(0.5) * verfc<T>(v * T(-kInvSqrt2));
    const vec_t<T> xc = v < T(-40) ? simd::set1<T>(T(-40)) : v;
    return xc * cdf;
  });
}
template <class T>
void gelu_backward(const T* x, const T* dy, T* dx, idx n, int nt) {
  map2<T>(x, dy, dx, n, nt, [](vec_t<T> v, vec_t<T> g) {
    const vec_t<T> cdf = T(0.5) * verfc<T>(v * T(-kInvSqrt2));
    const vec_t<T> xc = vclamp<T>(v, T(-40), T(40));
    const vec_t<T> pdf = T(kInvSqrt2Pi) * vexp<T>(T(-0.5) * xc * xc);
    return g * (cdf + xc * pdf);
  });
}

template <class T>
void gelu_tanh_forward(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) {
    // (1 + tanh u)/2 = sigmoid(2u): no cancellation for x << 0.
    const vec_t<T> xc = vclamp<T>(v, T(-1000), T(1000));
    const vec_t<T> u = T(kSqrt2OverPi) * (xc + T(kGeluCubic) * xc * xc * xc);
    const vec_t<T> s = vsigmoid<T>(T(2) * u);
    return (v < T(-1000) ? xc : v) * s;
  });
}
template <class T>
void gelu_tanh_backward(const T* x, const T* dy, T* dx, idx n, int nt) {
  map2<T>(x, dy, dx, n, nt, [](vec_t<T> v, vec_t<T> g) {
    const vec_t<T> xc = vclamp<T>(v, T(-1000), T(1000));
    const vec_t<T> x2 = xc * xc;
    const vec_t<T> u = T(kSqrt2OverPi) * (xc + T(kGeluCubic) * x2 * xc);
    const vec_t<T> du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCubic) * x2);
    const vec_t<T> s = vsigmoid<T>(T(2) * u);
    return g * (s + xc * (s * (T(1) - s)) * (T(2) * du));
  });
}

template <class T>
void silu_forward(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) {
    const vec_t<T> xc = v < T(-1000) ? simd::set1<T>(T(-1000)) : v;  // -inf -> 0, not NaN
    return xc * vsigmoid<T>(v);
  });
}
template <class T>
void silu_backward(const T* x, const T* dy, T* dx, idx n, int nt) {
  map2<T>(x, dy, dx, n, nt, [](vec_t<T> v, vec_t<T> g) {
    const vec_t<T> s = vsigmoid<T>(v);
    const vec_t<T> xc = vclamp<T>(v, T(-1000), T(1000));
    return g * (s * (T(1) + xc * (T(1) - s)));
  });
}

template <class T>
void softplus_forward(const T* x, T* y, idx n, int nt) {
  map1<T>(x, y, n, nt, [](vec_t<T> v) {
    return v > T(kSoftplusThreshold) ? v : vlog1p<T>(vexp<T>(v));
  });
}
template <class T>
void softplus_backward(const T* x, const T* dy, T* dx, idx n, int nt) {
  map2<T>(x, dy, dx, n, nt, [](vec_t<T> v, vec_t<T> g) {
    return v > T(kSoftplusThreshold) ? g : g * vsigmoid<T>(v);
  });
}

// ------------------------------------------------------------- row-wise
template <class T>
void softmax_forward(const T* x, T* y, idx rows, idx cols, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (idx r = 0; r < rows; ++r) softmax_row<T>(x + r * cols, y + r * cols, cols, false);
}

template <class T>
void log_softmax_forward(const T* x, T* y, idx rows, idx cols, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (idx r = 0; r < rows; ++r) softmax_row<T>(x + r * cols, y + r * cols, cols, true);
}

template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, idx rows, idx cols, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (idx r = 0; r < rows; ++r) {
    const T* yr = y + r * cols;
    const T* gr = dy + r * cols;
    T* dr = dx + r * cols;
    const T dot = row_dot<T>(gr, yr, cols);
    for (idx j = 0; j < cols; ++j) dr[j] = yr[j] * (gr[j] - dot);
  }
}

template <class T>
void log_softmax_backward(const T* y, const T* dy, T* dx, idx rows, idx cols, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (idx r = 0; r < rows; ++r) {
    const T* yr = y + r * cols;
    const T* gr = dy + r * cols;
    T* dr = dx + r * cols;
    const T total = row_dot<T>(gr, nullptr, cols);
    // dx = dy - softmax * sum(dy), softmax = exp(y).
    constexpr int L = simd::lanes<T>;
    idx j = 0;
    for (; j + L <= cols; j += L)
      simd::store(dr + j, simd::load(gr + j) - vexp<T>(simd::load(yr + j)) * total);
    if (j < cols) {
      const vec_t<T> v = simd::load_part(gr + j, static_cast<int>(cols - j), T(0)) -
                         vexp<T>(simd::load_part(yr + j, static_cast<int>(cols - j), T(0))) * total;
      simd::store_part(dr + j, v, static_cast<int>(cols - j));
    }
  }
}

}  // namespace
}  // namespace entrena::ENTRENA_ISA_NS
