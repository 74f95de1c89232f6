// Loops over the channels of x: (n, C, S), n samples of C channels of S
// contiguous positions each, shared by the batch- and layer-normalization
// kernels. Work is split into blocks of channels: kChannelBlock channels
// when S == 1 (rows of features, the inner loops run across channels), one
// channel otherwise (the inner loops run along its S positions). A block
// goes to one thread whole, and its sums have a fixed order, so results do
// not depend on the thread count.
#pragma once

#include <algorithm>
#include <type_traits>

#include "entrena/common.hpp"
#include "entrena/parallel.hpp"

namespace entrena::channel_loops {

constexpr index_t kChannelBlock = 64;

inline index_t block_size(index_t S) { return S == 1 ? kChannelBlock : 1; }

// body(c0, c1) for each block [c0, c1) of channels, blocks in parallel;
// `passes` is how many times the body reads the block's elements.
template <class F>
void for_channel_blocks(index_t n, index_t C, index_t S, int passes, F body) {
  const index_t b = block_size(S), blocks = (C + b - 1) / b;
  int nt = threads_for(static_cast<double>(n) * C * S * passes, 65536.0);
  if (nt > blocks) nt = static_cast<int>(blocks);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t k = 0; k < blocks; ++k) body(k * b, std::min(C, k * b + b));
}

// For the channels c of a block [c0, c1):
//   out0[c - c0] = sum of f0(i, c, s, e), out1[c - c0] = sum of f1(i, c, s, e)
// over the samples i and positions s of channel c (e = (i·C + c)·S + s, the
// element's index), in double, in an order fixed by the shape alone.
// Without f1 (nullptr) only out0 is computed.
template <class F0, class F1 = std::nullptr_t>
void block_sums(index_t n, index_t C, index_t S, index_t c0, index_t c1, double* out0, F0 f0,
                double* out1 = nullptr, F1 f1 = nullptr) {
  constexpr bool two = !std::is_null_pointer_v<F1>;
  for (index_t c = c0; c < c1; ++c) {
    out0[c - c0] = 0.0;
    if constexpr (two) out1[c - c0] = 0.0;
  }
  if (S == 1) {
    for (index_t i = 0; i < n; ++i) {
#pragma omp simd
      for (index_t c = c0; c < c1; ++c) {
        out0[c - c0] += f0(i, c, index_t(0), i * C + c);
        if constexpr (two) out1[c - c0] += f1(i, c, index_t(0), i * C + c);
      }
    }
    return;
  }
  // Along s: kLanes partial sums (independent chains the vectoriser keeps
  // in registers), added pairwise at the end, then the remainder in order.
  constexpr index_t kLanes = 8;
  for (index_t c = c0; c < c1; ++c)
    for (index_t i = 0; i < n; ++i) {
      const index_t base = (i * C + c) * S;
      double p0[kLanes] = {}, p1[kLanes] = {};
      index_t s = 0;
      for (; s + kLanes <= S; s += kLanes) {
#pragma omp simd
        for (index_t k = 0; k < kLanes; ++k) {
          p0[k] += f0(i, c, s + k, base + s + k);
          if constexpr (two) p1[k] += f1(i, c, s + k, base + s + k);
        }
      }
      for (index_t w = kLanes / 2; w > 0; w /= 2)
        for (index_t k = 0; k < w; ++k) {
          p0[k] += p0[k + w];
          if constexpr (two) p1[k] += p1[k + w];
        }
      for (; s < S; ++s) {
        p0[0] += f0(i, c, s, base + s);
        if constexpr (two) p1[0] += f1(i, c, s, base + s);
      }
      out0[c - c0] += p0[0];
      if constexpr (two) out1[c - c0] += p1[0];
    }
}

// f(i, c, s, e) for every element of the channels [c0, c1).
template <class F>
void block_apply(index_t n, index_t C, index_t S, index_t c0, index_t c1, F f) {
  if (S == 1) {
    for (index_t i = 0; i < n; ++i) {
#pragma omp simd
      for (index_t c = c0; c < c1; ++c) f(i, c, index_t(0), i * C + c);
    }
    return;
  }
  for (index_t c = c0; c < c1; ++c)
    for (index_t i = 0; i < n; ++i) {
      const index_t base = (i * C + c) * S;
#pragma omp simd
      for (index_t s = 0; s < S; ++s) f(i, c, s, base + s);
    }
}

}  // namespace entrena::channel_loops
