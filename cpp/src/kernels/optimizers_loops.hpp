// The optimizer element loops. Internal header of the ISA translation units
// (isa_kernels.hpp): each compiles them for its ISA, in its namespace with
// internal linkage, and puts them in its table (kernel_table.hpp). They are
// plain loops under `#pragma omp simd`: the compiler vectorises them for
// the ISA's flags (they stream memory, and the vectoriser's code is as fast
// as hand-written vectors). They call nothing but compiler builtins.
//
// The formulas are documented in entrena/kernels/optimizers.hpp; the
// coefficients (bias corrections, 1 - beta, ...) arrive precomputed in T.
#pragma once

#include "kernel_table.hpp"
#include "simd.hpp"

namespace entrena::ENTRENA_ISA_NS {
namespace {
namespace opt {

using kernels::AdagradCoef;
using kernels::AdamCoef;
using kernels::idx;
using kernels::RmspropCoef;
using kernels::SgdCoef;

// Elements per block of the update loops: threads take whole blocks, so the
// split between SIMD body and remainder never depends on the thread count.
constexpr idx kBlock = 4096;

inline float root(float x) { return __builtin_sqrtf(x); }
inline double root(double x) { return __builtin_sqrt(x); }

// [lo, hi) of block b of a buffer of n elements.
inline idx block_end(idx b, idx n, idx block) { return b * block + block < n ? b * block + block : n; }

// OpenMP: blocks of kBlock elements are shared out statically; inside a block
// one SIMD loop. The same element always runs the same code, whatever nt is.
// body(b, lo, hi) handles block b = [lo, hi) with an element-wise SIMD loop; kernels capture by value, so
// their pointers and coefficients stay in registers across the SIMD loop.
template <class F>
inline void for_blocks(idx n, idx block, int nt, F&& body) {
  const idx nb = (n + block - 1) / block;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (idx b = 0; b < nb; ++b) body(b, b * block, block_end(b, n, block));
}

// SGD. p, grad, buf: (n,); buf is only touched when kMomentum.
template <class T, bool kMomentum>
void sgd(T* __restrict p, const T* __restrict grad, T* __restrict buf, idx n, const SgdCoef<T>& c,
         int nt) {
  const T lr = c.lr, wd = c.wd, mom = c.momentum, damp1 = c.one_minus_dampening;
  const bool nesterov = c.nesterov, first = c.first;
  for_blocks(n, kBlock, nt, [=](idx, idx lo, idx hi) {
#pragma omp simd
    for (idx i = lo; i < hi; ++i) {
      const T pi = p[i];
      T g = grad[i] + wd * pi;
      if constexpr (kMomentum) {
        const T v = first ? g : mom * buf[i] + damp1 * g;
        buf[i] = v;
        g = nesterov ? g + mom * v : v;
      }
      p[i] = pi - lr * g;
    }
  });
}

// Adam and AdamW. p, grad, m, v, vmax: (n,); vmax only touched when kAmsgrad.
template <class T, bool kAmsgrad>
void adam(T* __restrict p, const T* __restrict grad, T* __restrict m, T* __restrict v,
          T* __restrict vmax, idx n, const AdamCoef<T>& c, int nt) {
  const T keep = c.keep, wd = c.coupled_wd, b1 = c.beta1, ob1 = c.one_minus_beta1, b2 = c.beta2,
          ob2 = c.one_minus_beta2, inv_bc2 = c.inv_sqrt_bc2, step = c.step_size, eps = c.eps;
  for_blocks(n, kBlock, nt, [=](idx, idx lo, idx hi) {
#pragma omp simd
    for (idx i = lo; i < hi; ++i) {
      const T pi = p[i];
      const T g = grad[i] + wd * pi;  // coupled decay (Adam); wd = 0 for AdamW
      const T mi = b1 * m[i] + ob1 * g;
      T vi = b2 * v[i] + ob2 * g * g;
      m[i] = mi;
      v[i] = vi;
      if constexpr (kAmsgrad) {
        const T w = vmax[i];
        vi = w > vi ? w : vi;
        vmax[i] = vi;
      }
      const T denom = root(vi) * inv_bc2 + eps;
      p[i] = pi * keep - step * (mi / denom);  // keep = 1 - lr * wd for AdamW, 1 for Adam
    }
  });
}

// RMSprop. p, grad, s, a, buf: (n,); a only touched when kCentered, buf when kMomentum.
template <class T, bool kCentered, bool kMomentum>
void rmsprop(T* __restrict p, const T* __restrict grad, T* __restrict s, T* __restrict a,
             T* __restrict buf, idx n, const RmspropCoef<T>& c, int nt) {
  const T lr = c.lr, wd = c.wd, alpha = c.alpha, oa = c.one_minus_alpha, eps = c.eps,
          mom = c.momentum;
  for_blocks(n, kBlock, nt, [=](idx, idx lo, idx hi) {
#pragma omp simd
    for (idx i = lo; i < hi; ++i) {
      const T pi = p[i];
      const T g = grad[i] + wd * pi;
      const T si = alpha * s[i] + oa * g * g;
      s[i] = si;
      T d;
      if constexpr (kCentered) {
        const T ai = alpha * a[i] + oa * g;
        a[i] = ai;
        d = root(si - ai * ai) + eps;
      } else {
        d = root(si) + eps;
      }
      if constexpr (kMomentum) {
        const T bi = mom * buf[i] + g / d;
        buf[i] = bi;
        p[i] = pi - lr * bi;
      } else {
        p[i] = pi - lr * (g / d);
      }
    }
  });
}

// Adagrad. p, grad, sum: (n,).
template <class T>
void adagrad(T* __restrict p, const T* __restrict grad, T* __restrict sum, idx n,
             const AdagradCoef<T>& c, int nt) {
  const T clr = c.clr, wd = c.wd, eps = c.eps;
  for_blocks(n, kBlock, nt, [=](idx, idx lo, idx hi) {
#pragma omp simd
    for (idx i = lo; i < hi; ++i) {
      const T pi = p[i];
      const T g = grad[i] + wd * pi;
      const T si = sum[i] + g * g;
      sum[i] = si;
      p[i] = pi - clr * (g / (root(si) + eps));
    }
  });
}

// partial[b] = sum of g_i^2 over block b (blocks of `block` elements), in double.
template <class T>
void sum_squares(const T* __restrict g, idx n, idx block, double* __restrict partial, int nt) {
  // (An explicit loop: this reduction vectorises far worse inside a lambda.)
  const idx nb = (n + block - 1) / block;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (idx b = 0; b < nb; ++b) {
    const idx hi = block_end(b, n, block);
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (idx i = b * block; i < hi; ++i) {
      const double x = static_cast<double>(g[i]);
      acc += x * x;
    }
    partial[b] = acc;
  }
}

// g = g * s. g: (n,).
template <class T>
void scale(T* __restrict g, idx n, T s, int nt) {
  for_blocks(n, kBlock, nt, [=](idx, idx lo, idx hi) {
#pragma omp simd
    for (idx i = lo; i < hi; ++i) g[i] = g[i] * s;
  });
}

// g = min(max(g, -v), v); NaN stays NaN. g: (n,).
template <class T>
void clamp(T* __restrict g, idx n, T v, int nt) {
  for_blocks(n, kBlock, nt, [=](idx, idx lo, idx hi) {
#pragma omp simd
    for (idx i = lo; i < hi; ++i) {
      const T x = g[i];
      g[i] = x < -v ? -v : (x > v ? v : x);
    }
  });
}

}  // namespace opt
}  // namespace
}  // namespace entrena::ENTRENA_ISA_NS
