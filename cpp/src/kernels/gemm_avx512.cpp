// GEMM variant for AVX-512 (F, DQ, BW, VL): 24 of the 32 zmm registers
// hold a 6×4 tile of vectors (6 rows × 64 floats or 32 doubles), 4 more the
// B row, one the broadcast A value. Per k: 4 loads and 6 broadcasts feed 24
// FMAs. Compiled with -mavx512*; only called when
// active_isa() is AVX512.
#include <immintrin.h>

#include "gemm_driver.hpp"

namespace entrena::gemm_detail {
namespace {

struct V512f {
  using T = float;
  using R = __m512;
  static constexpr int W = 16;
  static R zero() { return _mm512_setzero_ps(); }
  static R set1(float x) { return _mm512_set1_ps(x); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R x) { _mm512_storeu_ps(p, x); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  // max(0, x); a NaN in x is kept (vmaxps returns its second operand). The
  // all-ones-mask form avoids a spurious GCC 12 warning in _mm512_max_ps.
  static R relu(R x) { return _mm512_maskz_max_ps(0xFFFF, _mm512_setzero_ps(), x); }
  static void prefetch(const char* p) { _mm_prefetch(p, _MM_HINT_T0); }
  using Mask = __mmask16;
  static Mask mask(int n) { return static_cast<Mask>((1u << n) - 1); }
  static R maskload(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void maskstore(float* p, Mask m, R x) { _mm512_mask_storeu_ps(p, m, x); }
};

struct V512d {
  using T = double;
  using R = __m512d;
  static constexpr int W = 8;
  static R zero() { return _mm512_setzero_pd(); }
  static R set1(double x) { return _mm512_set1_pd(x); }
  static R load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, R x) { _mm512_storeu_pd(p, x); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  static R mul(R a, R b) { return _mm512_mul_pd(a, b); }
  static R add(R a, R b) { return _mm512_add_pd(a, b); }
  static R relu(R x) { return _mm512_maskz_max_pd(0xFF, _mm512_setzero_pd(), x); }
  static void prefetch(const char* p) { _mm_prefetch(p, _MM_HINT_T0); }
  using Mask = __mmask8;
  static Mask mask(int n) { return static_cast<Mask>((1u << n) - 1); }
  static R maskload(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void maskstore(double* p, Mask m, R x) { _mm512_mask_storeu_pd(p, m, x); }
};

// Block sizes for a core with 32-48 KiB L1d and 1-2 MiB L2 (Zen 4, Ice
// Lake / Sapphire Rapids): the A micro-panel MR×KC (9 KiB) stays in L1
// beside the B rows streaming through it, the B block KC×NC (576 KiB) in L2.
template <class VT, int MR_, int NV, index_t KC_, index_t MC_, index_t NC_, int WIDE_,
          int WIDE_ROWS_>
struct Kern {
  using T = typename VT::T;
  static constexpr int MR = MR_, NR = NV * VT::W;
  static constexpr index_t KC = KC_, MC = MC_, NC = NC_;
  // Tiles of up to WIDE_ROWS rows may be WIDE micro-panels wide.
  static constexpr int WIDE = WIDE_, WIDE_ROWS = WIDE_ROWS_;
  template <int AL, int ROWS, bool EDGE, int S>
  static void tile(index_t kc, const T* a, index_t as, const T* b, index_t bs, T* c, index_t ldc,
                   index_t nr, const Epilogue<T>& ep) {
    vec_tile<VT, ROWS, NV * S, AL, EDGE>(kc, a, as, b, bs, c, ldc, nr, ep);
  }
};

//                 MR  NV   KC   MC   NC  WIDE WIDE_ROWS
using KernF = Kern<V512f, 6, 4, 384, 960, 384, 2, 1>;   // 6×64 floats
using KernD = Kern<V512d, 6, 4, 192, 960, 384, 2, 1>;   // 6×32 doubles

}  // namespace

void gemm_avx512(const Args<float>& g) { Driver<KernF>::run(g); }
void gemm_avx512(const Args<double>& g) { Driver<KernD>::run(g); }

// 16 independent accumulator chains, more than FMA latency × throughput.
double fma_chains_avx512(long iters, float* sink) {
  constexpr int C = 16;
  __m512 acc[C];
  const __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < C; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < C; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < C; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  float t = 0;
  for (float v : lanes) t += v;
  *sink = t;
  return 2.0 * C * 16;
}

}  // namespace entrena::gemm_detail
