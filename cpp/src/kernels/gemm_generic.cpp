// Portable GEMM variant: plain C++ with `#pragma omp simd`, compiled for the
// baseline ISA (SSE2 on x86-64, NEON on aarch64). The micro-kernel keeps an
// MR×NR tile of accumulators small enough for 16 vector registers and lets
// the compiler vectorise over the NR columns.
#include "gemm_driver.hpp"

namespace entrena::gemm_detail {
namespace {

template <class T_, int MR_, int NR_, index_t KC_, index_t MC_, index_t NC_>
struct Kern {
  using T = T_;
  static constexpr int MR = MR_, NR = NR_;
  static constexpr index_t KC = KC_, MC = MC_, NC = NC_;
  static constexpr int WIDE = 1, WIDE_ROWS = 0;  // no wide tiles

  // a, b, c, nr as for vec_tile (gemm_driver.hpp): ROWS rows of an MR×NR
  // tile, the first nr columns valid when EDGE.
  template <int AL, int ROWS, bool EDGE, int S>
  static void tile(index_t kc, const T* a, index_t as, const T* b, index_t bs, T* c, index_t ldc,
                   index_t nr, const Epilogue<T>& ep) {
    const index_t ncol = EDGE ? nr : NR;
    T acc[ROWS][NR];
    for (int i = 0; i < ROWS; ++i)
#pragma omp simd
      for (int j = 0; j < NR; ++j) acc[i][j] = T(0);
    const index_t a_step = AL == 0 ? as : 1;
    for (index_t k = 0; k < kc; ++k) {
      for (int i = 0; i < ROWS; ++i) {
        const T ai = AL == 0 ? a[i] : a[i * as];
        if constexpr (EDGE) {
          for (index_t j = 0; j < ncol; ++j) acc[i][j] += ai * b[j];
        } else {
#pragma omp simd
          for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
        }
      }
      a += a_step;
      b += bs;
    }
    for (int i = 0; i < ROWS; ++i) {
      T* ci = c + i * ldc;
#pragma omp simd
      for (index_t j = 0; j < ncol; ++j) {
        T x = ep.alpha != T(1) ? acc[i][j] * ep.alpha : acc[i][j];
        if (ep.beta == T(1))
          x = ci[j] + x;
        else if (ep.beta != T(0))
          x = ci[j] * ep.beta + x;
        if (ep.bias) x += ep.bias[j];
        // max(0, x) that keeps a NaN.
        if (ep.relu) x = x < T(0) ? T(0) : x;
        ci[j] = x;
      }
    }
  }
};

using KernF = Kern<float, 4, 8, 256, 256, 512>;
using KernD = Kern<double, 4, 4, 256, 256, 256>;

}  // namespace

void gemm_generic(const Args<float>& g) { Driver<KernF>::run(g); }
void gemm_generic(const Args<double>& g) { Driver<KernD>::run(g); }

// 16 independent chains of 4-wide multiply-adds.
double fma_chains_generic(long iters, float* sink) {
  constexpr int C = 16, W = 4;
  float acc[C][W];
  for (int i = 0; i < C; ++i)
    for (int j = 0; j < W; ++j) acc[i][j] = static_cast<float>(i + j);
  const float x = 1.0000001f, y = 1e-7f;
  for (long it = 0; it < iters; ++it) {
    for (int i = 0; i < C; ++i)
#pragma omp simd
      for (int j = 0; j < W; ++j) acc[i][j] = acc[i][j] * x + y;
  }
  float s = 0;
  for (int i = 0; i < C; ++i)
    for (int j = 0; j < W; ++j) s += acc[i][j];
  *sink = s;
  return 2.0 * C * W;
}

}  // namespace entrena::gemm_detail
