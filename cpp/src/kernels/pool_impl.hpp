// Max-pooling rows, compiled per ISA (kernel table entries pool_row_max and
// pool_row_argmax): the windows of one output row, all inside the plane,
// each window position a branch-free select over consecutive outputs, so
// the loops vectorise and never mispredict.
#pragma once

#include <cstdint>

#include "entrena/kernels/pooling.hpp"
#include "simd.hpp"

namespace entrena::ENTRENA_ISA_NS {
namespace {
namespace pool {

// Whether u replaces the running maximum v: larger, or the first NaN.
// (Bitwise operators: no short-circuit branches, so loops stay vectorised.)
template <class T>
inline bool takes_over(T u, T v) {
  return (u > v) | ((u != u) & (v == v));
}

// The maxima of the windows of output row oh, outputs [o0, o0 + m) of the
// plane xp, into best, window positions in row-by-row order.
template <class T>
void row_maxima(const PoolGeometry& g, const T* xp, idx oh, idx o0, idx m, T* best) {
  const idx sw = g.stride_w;
  for (idx kh = 0; kh < g.pool_h; ++kh) {
    const T* row = xp + (oh * g.stride_h + kh) * g.in_w + o0 * sw;
    for (idx kw = 0; kw < g.pool_w; ++kw) {
      if (kh == 0 && kw == 0) {
        for (idx j = 0; j < m; ++j) best[j] = row[j * sw];
        continue;
      }
#pragma omp simd
      for (idx j = 0; j < m; ++j) {
        const T u = row[j * sw + kw], v = best[j];
        best[j] = takes_over(u, v) ? u : v;
      }
    }
  }
}

// As row_maxima, also keeping where each maximum is: offsets in the plane
// (int32, so that the selects stay as wide as float vectors).
template <class T>
void row_argmax(const PoolGeometry& g, const T* xp, idx oh, idx o0, idx m, T* best,
                       std::int32_t* where) {
  const idx sw = g.stride_w;
  const auto sw32 = static_cast<std::int32_t>(sw);
  for (idx kh = 0; kh < g.pool_h; ++kh) {
    const idx at = (oh * g.stride_h + kh) * g.in_w + o0 * sw;
    const T* row = xp + at;
    const auto at32 = static_cast<std::int32_t>(at);
    for (idx kw = 0; kw < g.pool_w; ++kw) {
      if (kh == 0 && kw == 0) {
        for (std::int32_t j = 0; j < m; ++j) {
          best[j] = row[j * sw];
          where[j] = at32 + j * sw32;
        }
        continue;
      }
      const auto kw32 = static_cast<std::int32_t>(kw);
#pragma omp simd
      for (std::int32_t j = 0; j < m; ++j) {
        const T u = row[j * sw + kw], v = best[j];
        const bool take = takes_over(u, v);
        best[j] = take ? u : v;
        where[j] = take ? at32 + j * sw32 + kw32 : where[j];
      }
    }
  }
}

}  // namespace pool
}  // namespace
}  // namespace entrena::ENTRENA_ISA_NS
