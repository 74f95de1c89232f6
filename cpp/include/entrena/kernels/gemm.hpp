// General matrix multiply, the engine of every forward and backward pass.
//
// Structure (Goto/BLIS): C is cut into cache blocks; a KC-deep slice of
// op(B) is packed into NR-wide micro-panels that stay in L2, MR-row
// micro-panels of op(A) stay in L1, and a register-tiled MR×NR micro-kernel
// runs the K loop with FMAs. Small problems skip the packing they do not
// need. The micro-kernel exists in AVX-512, AVX2+FMA and portable variants,
// chosen at run time by active_isa() (entrena/cpu.hpp).
#pragma once

#include "entrena/common.hpp"
#include "entrena/cpu.hpp"

namespace entrena {

enum class Trans : int { N = 0, T = 1 };

// C = alpha * op(A) * op(B) + beta * C, all row-major.
//   op(A): (M, K); A is (M, K) with lda >= K when ta == N, (K, M) with lda >= M when T.
//   op(B): (K, N); B is (K, N) with ldb >= N when tb == N, (N, K) with ldb >= K when T.
//   C: (M, N), ldc >= N.
// beta == 0 overwrites C (NaNs already in C do not propagate). Bitwise
// identical results for any thread count: threads split M and N only and
// every element accumulates over K in the same order.
// Throws ValueError for negative sizes or leading dimensions that are too small.
template <class T>
void gemm(Trans ta, Trans tb, index_t M, index_t N, index_t K, T alpha, const T* A,
          index_t lda, const T* B, index_t ldb, T beta, T* C, index_t ldc);

// Which axis of C gemm_fused's bias runs along.
enum class BiasAxis : int {
  Columns = 0,  // bias: (N,), one value per column, added to every row (a dense layer's bias)
  Rows = 1,     // bias: (M,), one value per row, added to every column (a convolution's
                // bias over C = (channels, positions))
};

// The same product with a fused epilogue, applied while each C tile is
// still in registers:
//   C = act(alpha * op(A) * op(B) + beta * C + bias)
// bias: (N,) added to every row of C (bias_axis Columns) or (M,) added to
// every column (Rows), or null; act = max(·, 0) when relu, else the
// identity. max_threads: 0 lets the work and get_num_threads() decide;
// n >= 1 uses at most n threads (1: the calling thread only, for kernels
// that call GEMM inside their own parallel loop, so that OpenMP is never
// nested). Shapes and guarantees as for gemm(); the result does not depend
// on max_threads.
template <class T>
void gemm_fused(Trans ta, Trans tb, index_t M, index_t N, index_t K, T alpha, const T* A,
                index_t lda, const T* B, index_t ldb, T beta, T* C, index_t ldc, const T* bias,
                bool relu, BiasAxis bias_axis = BiasAxis::Columns, int max_threads = 0);

// Mixed precision, bfloat16 products with float32 accumulation: while a
// Bf16Scope(true) lives on a thread, that thread's float32 GEMMs round both
// operands to bfloat16 (round to nearest even; NaN stays NaN) as they pack
// them and accumulate the (exact) products in float32. Kernels that call
// GEMM from their own worker threads read the flag on the calling thread
// and pass it on. float64 GEMMs are not affected.
class Bf16Scope {
 public:
  explicit Bf16Scope(bool on = true);
  ~Bf16Scope();
  Bf16Scope(const Bf16Scope&) = delete;
  Bf16Scope& operator=(const Bf16Scope&) = delete;

 private:
  bool previous_;
};
// Whether the calling thread's float32 GEMMs use bfloat16 products.
bool bf16_products();
// x rounded to the nearest bfloat16 (ties to even), as a float: the
// emulation's conversion, and the NumPy twin's.
float round_to_bf16(float x);

// The float32 multiply-add throughput of this machine, in GFLOP/s (one FMA
// counts as 2 flops): `threads` threads each run independent chains of
// vector FMAs of the given ISA for about `seconds`. For benchmarks, which
// report GEMM speed as a fraction of it. Throws ValueError when the CPU
// lacks isa or threads < 1.
double fma_peak_gflops(double seconds, Isa isa, int threads = 1);

}  // namespace entrena
