// One step of a recurrent cell (SimpleRNN, LSTM, GRU), forward and
// backward, fused: the gate nonlinearities, the state update and the output
// in one pass over each row. Internal header of the ISA translation units
// (isa_kernels.hpp). The arguments are described with RnnStep
// (kernel_table.hpp), the equations in entrena/kernels/recurrent.hpp.
//
// Single-threaded: the driver (recurrent.cpp) gives each thread its own
// block of rows. Rows are independent and every element is computed with the
// same instructions (the last partial vector of a row is padded, not done by
// a scalar tail), so the split does not change any result.
#pragma once

#include "activations_impl.hpp"
#include "kernel_table.hpp"
#include "simd.hpp"
#include "vmath.hpp"

namespace entrena::ENTRENA_ISA_NS {
namespace {
namespace rnn {

using kernels::idx;
using kernels::RnnStep;

// Runs f(j, m) over the columns [0, H) of a row in vector steps of m lanes
// (m < L only for the last one).
template <class T, class F>
inline void columns(idx H, F f) {
  constexpr int L = simd::lanes<T>;
  idx j = 0;
  for (; j + L <= H; j += L) f(j, L);
  if (j < H) f(j, static_cast<int>(H - j));
}

template <class T>
inline vec_t<T> ld(const T* p, int m) {
  return m == simd::lanes<T> ? simd::load(p) : simd::load_part(p, m, T(0));
}
template <class T>
inline void st(T* p, vec_t<T> v, int m) {
  if (m == simd::lanes<T>)
    simd::store(p, v);
  else
    simd::store_part(p, v, m);
}

template <class T>
inline void copy_row(const T* src, T* dst, idx H) {
  for (idx j = 0; j < H; ++j) dst[j] = src[j];
}
template <class T>
inline void zero_row(T* dst, idx H) {
  for (idx j = 0; j < H; ++j) dst[j] = T(0);
}

template <class T>
void step_forward(const RnnStep<T>& s) {
  using V = vec_t<T>;
  const idx H = s.H;
  for (idx b = 0; b < s.rows; ++b) {
    T* g = s.g + b * s.g_ld;
    const T* hp = s.h_prev + b * s.hp_ld;
    T* h = s.h + b * s.h_ld;
    T* y = s.y ? s.y + b * s.y_ld : nullptr;
    const bool lstm = s.cell == RnnCell::LSTM;
    if (s.mask && !s.mask[b * s.mask_ld]) {
      // A masked step: the state carries over, the output is zero.
      copy_row(hp, h, H);
      if (lstm) copy_row(s.c_prev + b * s.cp_ld, s.c + b * s.c_ld, H);
      if (y) zero_row(y, H);
      continue;
    }
    switch (s.cell) {
      case RnnCell::Tanh:
      case RnnCell::ReLU: {
        const bool relu = s.cell == RnnCell::ReLU;
        columns<T>(H, [&](idx j, int m) {
          const V a = ld(g + j, m);
          const V v = relu ? simd::relu(a) : vtanh<T>(a);
          st(g + j, v, m);
          st(h + j, v, m);
          if (y) st(y + j, v, m);
        });
        break;
      }
      case RnnCell::LSTM: {
        const T* cp = s.c_prev + b * s.cp_ld;
        T* c = s.c + b * s.c_ld;
        T* tc = s.tc + b * s.tc_ld;
        columns<T>(H, [&](idx j, int m) {
          const V i = vsigmoid<T>(ld(g + j, m));
          const V f = vsigmoid<T>(ld(g + H + j, m));
          const V gg = vtanh<T>(ld(g + 2 * H + j, m));
          const V o = vsigmoid<T>(ld(g + 3 * H + j, m));
          const V cv = f * ld(cp + j, m) + i * gg;
          const V t = vtanh<T>(cv);
          const V hv = o * t;
          st(g + j, i, m);
          st(g + H + j, f, m);
          st(g + 2 * H + j, gg, m);
          st(g + 3 * H + j, o, m);
          st(c + j, cv, m);
          st(tc + j, t, m);
          st(h + j, hv, m);
          if (y) st(y + j, hv, m);
        });
        break;
      }
      case RnnCell::GRU: {
        const T* r = s.r + b * s.r_ld;
        T* hn = s.hn + b * s.hn_ld;
        columns<T>(H, [&](idx j, int m) {
          const V rv = vsigmoid<T>(ld(g + j, m) + ld(r + j, m));
          const V z = vsigmoid<T>(ld(g + H + j, m) + ld(r + H + j, m));
          const V hnv = ld(r + 2 * H + j, m);
          const V nv = vtanh<T>(ld(g + 2 * H + j, m) + rv * hnv);
          const V hv = (T(1) - z) * nv + z * ld(hp + j, m);
          st(g + j, rv, m);
          st(g + H + j, z, m);
          st(g + 2 * H + j, nv, m);
          st(hn + j, hnv, m);
          st(h + j, hv, m);
          if (y) st(y + j, hv, m);
        });
        break;
      }
    }
  }
}

template <class T>
void step_backward(const RnnStep<T>& s) {
  using V = vec_t<T>;
  const idx H = s.H;
  // (not rnn_gates(): an inline function of the public header compiled here
  // could be picked by the linker for baseline code)
  const idx G = s.cell == RnnCell::LSTM ? 4 : s.cell == RnnCell::GRU ? 3 : 1;
  for (idx b = 0; b < s.rows; ++b) {
    T* g = s.g + b * s.g_ld;
    T* dh = s.dh + b * s.dh_ld;
    const T* dy = s.dy ? s.dy + b * s.dy_ld : nullptr;
    if (s.mask && !s.mask[b * s.mask_ld]) {
      // A masked step passes dL/dh (and dL/dc) through unchanged.
      zero_row(g, G * H);
      if (s.cell == RnnCell::GRU) zero_row(s.dgh + b * s.dgh_ld, G * H);
      continue;
    }
    T* sx = s.sx + b * s.sx_ld;
    T* sh = s.sh ? s.sh + b * s.sh_ld : nullptr;
    // Stores a pre-activation gradient and adds it to the row's sum.
    auto put = [&](T* at, T* sum, vec_t<T> v, int m) {
      st(at, v, m);
      st(sum, ld(sum, m) + v, m);
    };
    auto dh_total = [&](idx j, int m) {
      const V d = ld(dh + j, m);
      return dy ? d + ld(dy + j, m) : d;
    };
    switch (s.cell) {
      case RnnCell::Tanh:
      case RnnCell::ReLU: {
        const bool relu = s.cell == RnnCell::ReLU;
        columns<T>(H, [&](idx j, int m) {
          const V d = dh_total(j, m);
          const V a = ld(g + j, m);
          const V da = relu ? (a > T(0) ? d : simd::zero<T>()) : d * (T(1) - a * a);
          put(g + j, sx + j, da, m);
          st(dh + j, simd::zero<T>(), m);
        });
        break;
      }
      case RnnCell::LSTM: {
        const T* cp = s.c_prev + b * s.cp_ld;
        const T* tc = s.tc + b * s.tc_ld;
        T* dc = s.dc + b * s.dc_ld;
        columns<T>(H, [&](idx j, int m) {
          const V d = dh_total(j, m);
          const V i = ld(g + j, m), f = ld(g + H + j, m), gg = ld(g + 2 * H + j, m), o = ld(g + 3 * H + j, m);
          const V t = ld(tc + j, m);
          const V dcv = ld(dc + j, m) + d * o * (T(1) - t * t);
          const V dov = d * t;
          put(g + j, sx + j, dcv * gg * i * (T(1) - i), m);
          put(g + H + j, sx + H + j, dcv * ld(cp + j, m) * f * (T(1) - f), m);
          put(g + 2 * H + j, sx + 2 * H + j, dcv * i * (T(1) - gg * gg), m);
          put(g + 3 * H + j, sx + 3 * H + j, dov * o * (T(1) - o), m);
          st(dc + j, dcv * f, m);
          st(dh + j, simd::zero<T>(), m);
        });
        break;
      }
      case RnnCell::GRU: {
        const T* hp = s.h_prev + b * s.hp_ld;
        const T* hn = s.hn + b * s.hn_ld;
        T* dgh = s.dgh + b * s.dgh_ld;
        columns<T>(H, [&](idx j, int m) {
          const V d = dh_total(j, m);
          const V rv = ld(g + j, m), z = ld(g + H + j, m), nv = ld(g + 2 * H + j, m);
          const V dn = d * (T(1) - z) * (T(1) - nv * nv);
          const V dz = d * (ld(hp + j, m) - nv) * z * (T(1) - z);
          const V dr = dn * ld(hn + j, m) * rv * (T(1) - rv);
          put(g + j, sx + j, dr, m);
          put(g + H + j, sx + H + j, dz, m);
          put(g + 2 * H + j, sx + 2 * H + j, dn, m);
          put(dgh + j, sh + j, dr, m);
          put(dgh + H + j, sh + H + j, dz, m);
          put(dgh + 2 * H + j, sh + 2 * H + j, dn * rv, m);
          st(dh + j, d * z, m);
        });
        break;
      }
    }
  }
}

}  // namespace rnn
}  // namespace
}  // namespace entrena::ENTRENA_ISA_NS
