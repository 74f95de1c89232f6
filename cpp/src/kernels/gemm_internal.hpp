// Private interface between the GEMM dispatcher (gemm.cpp) and its ISA
// variants (gemm_avx512.cpp, gemm_avx2.cpp, gemm_generic.cpp).
#pragma once

#include "entrena/common.hpp"
#include "entrena/kernels/gemm.hpp"

namespace entrena::gemm_detail {

// One GEMM call, already validated: C = act(alpha·op(A)·op(B) + beta·C + bias).
// M, N, K >= 1 and alpha != 0 (the dispatcher handles the degenerate cases).
template <class T>
struct Args {
  Trans ta, tb;
  index_t M, N, K;
  T alpha;
  const T* A;
  index_t lda;
  const T* B;
  index_t ldb;
  T beta;
  T* C;
  index_t ldc;
  const T* bias;  // (N,) or null
  bool relu;
  int threads;  // chosen by the dispatcher (threads_for), >= 1
};

// A 64-byte-aligned scratch buffer of at least n elements owned by the
// calling thread; slot 0 holds packed A, slot 1 packed B. Allocated once and
// grown on demand, so a steady state allocates nothing. Defined in gemm.cpp
// (baseline ISA) so no ISA-specific code is shared between variants.
template <class T>
T* workspace(int slot, index_t n);

// One overload per element type and ISA.
void gemm_generic(const Args<float>& g);
void gemm_generic(const Args<double>& g);
// Runs `iters` rounds of independent FMA chains; returns flops done per round.
double fma_chains_generic(long iters, float* sink);

#if defined(ENTRENA_X86)
void gemm_avx2(const Args<float>& g);
void gemm_avx2(const Args<double>& g);
void gemm_avx512(const Args<float>& g);
void gemm_avx512(const Args<double>& g);
double fma_chains_avx2(long iters, float* sink);
double fma_chains_avx512(long iters, float* sink);
#endif

}  // namespace entrena::gemm_detail
