// General matrix multiply, the engine of every forward and backward pass.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

enum class Trans : int { N = 0, T = 1 };

// C = alpha * op(A) * op(B) + beta * C, all row-major.
//   op(A): (M, K); A is (M, K) with lda >= K when ta == N, (K, M) with lda >= M when T.
//   op(B): (K, N); B is (K, N) with ldb >= N when tb == N, (N, K) with ldb >= K when T.
//   C: (M, N), ldc >= N.
// beta == 0 overwrites C (NaNs already in C do not propagate). Bitwise
// identical results for any thread count: threads split M and N only and
// every element accumulates over K in the same order.
template <class T>
void gemm(Trans ta, Trans tb, index_t M, index_t N, index_t K, T alpha, const T* A,
          index_t lda, const T* B, index_t ldb, T beta, T* C, index_t ldc);

}  // namespace entrena
