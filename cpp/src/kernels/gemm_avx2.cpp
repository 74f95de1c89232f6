// GEMM variant for AVX2 + FMA: 16 ymm registers hold a 6×2 tile of vectors
// (6 rows × 16 floats or 8 doubles) plus the B row and the broadcast A
// value. Compiled with -mavx2 -mfma; only called when active_isa() is AVX2
// or better.
#include <immintrin.h>

#include "gemm_driver.hpp"

namespace entrena::gemm_detail {
namespace {

struct V256f {
  using T = float;
  using R = __m256;
  static constexpr int W = 8;
  static R zero() { return _mm256_setzero_ps(); }
  static R set1(float x) { return _mm256_set1_ps(x); }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R x) { _mm256_storeu_ps(p, x); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  // max(0, x); a NaN in x is kept (vmaxps returns its second operand).
  static R relu(R x) { return _mm256_max_ps(_mm256_setzero_ps(), x); }
  static void prefetch(const char* p) { _mm_prefetch(p, _MM_HINT_T0); }
  using Mask = __m256i;  // lane i is all ones when i < n
  static Mask mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static R maskload(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void maskstore(float* p, Mask m, R x) { _mm256_maskstore_ps(p, m, x); }
};

struct V256d {
  using T = double;
  using R = __m256d;
  static constexpr int W = 4;
  static R zero() { return _mm256_setzero_pd(); }
  static R set1(double x) { return _mm256_set1_pd(x); }
  static R load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, R x) { _mm256_storeu_pd(p, x); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_pd(a, b, c); }
  static R mul(R a, R b) { return _mm256_mul_pd(a, b); }
  static R add(R a, R b) { return _mm256_add_pd(a, b); }
  static R relu(R x) { return _mm256_max_pd(_mm256_setzero_pd(), x); }
  static void prefetch(const char* p) { _mm_prefetch(p, _MM_HINT_T0); }
  using Mask = __m256i;
  static Mask mask(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static R maskload(const double* p, Mask m) { return _mm256_maskload_pd(p, m); }
  static void maskstore(double* p, Mask m, R x) { _mm256_maskstore_pd(p, m, x); }
};

// A micro-panel MR×KC about half of a 32 KiB L1d, B block KC×NC about half
// of a 1 MiB L2.
template <class VT, int MR_, int NV, index_t KC_, index_t MC_, index_t NC_>
struct Kern {
  using T = typename VT::T;
  static constexpr int MR = MR_, NR = NV * VT::W;
  static constexpr index_t KC = KC_, MC = MC_, NC = NC_;
  // Tiles of up to WIDE_ROWS rows may be WIDE micro-panels wide.
  static constexpr int WIDE = 2, WIDE_ROWS = 2;
  template <int AL, int ROWS, bool EDGE, int S>
  static void tile(index_t kc, const T* a, index_t as, const T* b, index_t bs, T* c, index_t ldc,
                   index_t nr, const Epilogue<T>& ep) {
    vec_tile<VT, ROWS, NV * S, AL, EDGE>(kc, a, as, b, bs, c, ldc, nr, ep);
  }
};

using KernF = Kern<V256f, 6, 2, 512, 960, 256>;
using KernD = Kern<V256d, 6, 2, 256, 960, 256>;

}  // namespace

void gemm_avx2(const Args<float>& g) { Driver<KernF>::run(g); }
void gemm_avx2(const Args<double>& g) { Driver<KernD>::run(g); }

// 12 independent accumulator chains, more than FMA latency × throughput.
double fma_chains_avx2(long iters, float* sink) {
  constexpr int C = 12;
  __m256 acc[C];
  const __m256 x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < C; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < C; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  __m256 s = acc[0];
  for (int i = 1; i < C; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  float t = 0;
  for (float v : lanes) t += v;
  *sink = t;
  return 2.0 * C * 8;
}

}  // namespace entrena::gemm_detail
