// GEMM entry points: check the arguments, handle the degenerate cases,
// pick the thread count, then run the active ISA's GEMM from the kernel
// table (kernel_table.hpp). Also owns the per-thread packing buffers. The
// loop nest and the micro-kernel are in gemm_driver.hpp.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "entrena/kernels/gemm.hpp"
#include "entrena/parallel.hpp"
#include "kernel_table.hpp"

namespace entrena {

namespace kernels {

template <class T>
T* gemm_workspace(int slot, index_t n) {
  // Two buffers per thread and element type, grown on demand and kept for
  // the life of the thread: a steady state allocates nothing.
  thread_local AlignedBuffer<T> bufs[2];
  bufs[slot].reserve_at_least(n);
  return bufs[slot].data();
}
template float* gemm_workspace<float>(int, index_t);
template double* gemm_workspace<double>(int, index_t);

index_t l2_cache_bytes() {
  static const index_t bytes = [] {
    long b = 0;
#if defined(_SC_LEVEL2_CACHE_SIZE)
    b = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    // Unknown, or implausible for a core's L2: assume 1 MiB.
    return static_cast<index_t>(b >= (64L << 10) && b <= (64L << 20) ? b : (1L << 20));
  }();
  return bytes;
}

}  // namespace kernels

namespace {
thread_local bool t_bf16 = false;
#include "bf16_round.inc"
}  // namespace

Bf16Scope::Bf16Scope(bool on) : previous_(t_bf16) { t_bf16 = on; }
Bf16Scope::~Bf16Scope() { t_bf16 = previous_; }
bool bf16_products() { return t_bf16; }
float round_to_bf16(float x) { return bf16_round(x); }

namespace {

const char* trans_name(Trans t) { return t == Trans::N ? "N" : "T"; }

template <class T>
void check_args(Trans ta, Trans tb, index_t M, index_t N, index_t K, const T* A, index_t lda,
                const T* B, index_t ldb, const T* C, index_t ldc) {
  if (M < 0 || N < 0 || K < 0)
    throw ValueError(cat("gemm: M, N, K must be >= 0, got M=", M, ", N=", N, ", K=", K));
  const index_t a_cols = ta == Trans::N ? K : M, b_cols = tb == Trans::N ? N : K;
  if (lda < (a_cols > 1 ? a_cols : 1))
    throw ValueError(cat("gemm: lda must be >= ", a_cols, " (ta=", trans_name(ta), "), got ", lda));
  if (ldb < (b_cols > 1 ? b_cols : 1))
    throw ValueError(cat("gemm: ldb must be >= ", b_cols, " (tb=", trans_name(tb), "), got ", ldb));
  if (ldc < (N > 1 ? N : 1)) throw ValueError(cat("gemm: ldc must be >= ", N, ", got ", ldc));
  if (M > 0 && N > 0) {
    if (!C) throw ValueError("gemm: C must not be null");
    if (K > 0 && (!A || !B)) throw ValueError("gemm: A and B must not be null when K > 0");
  }
}

// C = act(beta*C + bias) without a product (K == 0 or alpha == 0).
template <class T>
void scale_only(index_t M, index_t N, T beta, T* C, index_t ldc, const T* bias, bool relu,
                bool bias_rows) {
  for (index_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    for (index_t j = 0; j < N; ++j) {
      T x = beta == T(0) ? T(0) : c[j] * beta;
      if (bias) x += bias[bias_rows ? i : j];
      if (relu) x = x < T(0) ? T(0) : x;
      c[j] = x;
    }
  }
}

}  // namespace

template <class T>
void gemm_fused(Trans ta, Trans tb, index_t M, index_t N, index_t K, T alpha, const T* A,
                index_t lda, const T* B, index_t ldb, T beta, T* C, index_t ldc, const T* bias,
                bool relu, BiasAxis bias_axis, int max_threads) {
  check_args(ta, tb, M, N, K, A, lda, B, ldb, C, ldc);
  if (bias_axis != BiasAxis::Columns && bias_axis != BiasAxis::Rows)
    throw ValueError(cat("gemm: bias_axis must be Columns (0) or Rows (1), got ", static_cast<int>(bias_axis)));
  if (max_threads < 0) throw ValueError(cat("gemm: max_threads must be >= 0, got ", max_threads));
  const bool bias_rows = bias_axis == BiasAxis::Rows;
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == T(0)) {
    scale_only(M, N, beta, C, ldc, bias, relu, bias_rows);
    return;
  }
  // One thread per ~half a million multiply-adds: below that, waking a
  // second thread costs more than it saves.
  const double work = static_cast<double>(M) * N * K;
  int nt = threads_for(work, 262144.0);
  if (max_threads > 0 && nt > max_threads) nt = max_threads;
  kernels::GemmArgs<T> g{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu,
                         bias_rows, nt};
  g.bf16 = std::is_same_v<T, float> && t_bf16;
  kernels::table<T>().gemm(g);
}

template <class T>
void gemm(Trans ta, Trans tb, index_t M, index_t N, index_t K, T alpha, const T* A,
          index_t lda, const T* B, index_t ldb, T beta, T* C, index_t ldc) {
  gemm_fused<T>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nullptr, false);
}

double fma_peak_gflops(double seconds, Isa isa, int threads) {
  if (!isa_supported(isa))
    throw ValueError(cat("isa: this CPU supports up to ", isa_name(best_supported_isa()),
                         ", got ", isa_name(isa)));
  if (threads < 1) throw ValueError(cat("threads: expected >= 1, got ", threads));
  if (!(seconds > 0)) throw ValueError(cat("seconds: expected > 0, got ", seconds));
  const auto chains = kernels::isa_table(isa).fma_chains;
  double total = 0;
  // Every thread runs short chunks of the loop for `seconds` on its own
  // clock and keeps its fastest chunk, so a time slice lost to another
  // process does not lower the estimate; the threads' rates add.
#pragma omp parallel for num_threads(threads) schedule(static, 1) reduction(+ : total) if (threads > 1)
  for (int t = 0; t < threads; ++t) {
    using clock = std::chrono::steady_clock;
    float sink = 0;
    const long chunk = 1 << 14;
    double flops = chains(4 * chunk, &sink) * chunk;  // warm up
    double best = 1e30;
    const auto start = clock::now();
    for (;;) {
      const auto t0 = clock::now();
      chains(chunk, &sink);
      const auto t1 = clock::now();
      const double dt = std::chrono::duration<double>(t1 - t0).count();
      if (dt > 0 && dt < best) best = dt;
      if (std::chrono::duration<double>(t1 - start).count() >= seconds) break;
    }
    total += flops / best * 1e-9 + (sink == 12345.f ? 1e-30 : 0.0);
  }
  return total;
}

#define ENTRENA_INSTANTIATE(T)                                                                \
  template void gemm<T>(Trans, Trans, index_t, index_t, index_t, T, const T*, index_t,       \
                        const T*, index_t, T, T*, index_t);                                   \
  template void gemm_fused<T>(Trans, Trans, index_t, index_t, index_t, T, const T*, index_t, \
                              const T*, index_t, T, T*, index_t, const T*, bool, BiasAxis, int);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
