// Portable GEMM: row-parallel, vectorised over N. Each C element
// accumulates over K in ascending order, so the result does not depend on
// the number of threads.
#include "entrena/kernels/gemm.hpp"

#include "entrena/parallel.hpp"

namespace entrena {

template <class T>
void gemm(Trans ta, Trans tb, index_t M, index_t N, index_t K, T alpha, const T* A,
          index_t lda, const T* B, index_t ldb, T beta, T* C, index_t ldc) {
  if (M <= 0 || N <= 0) return;
  const int nt = threads_for(static_cast<double>(M) * N * K);
  const index_t sa_i = ta == Trans::N ? lda : 1, sa_k = ta == Trans::N ? 1 : lda;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    if (beta == T(0)) {
      for (index_t j = 0; j < N; ++j) c[j] = T(0);
    } else if (beta != T(1)) {
      for (index_t j = 0; j < N; ++j) c[j] *= beta;
    }
    const T* a = A + i * sa_i;
    if (tb == Trans::N) {
      for (index_t k = 0; k < K; ++k) {
        const T aik = alpha * a[k * sa_k];
        const T* b = B + k * ldb;
#pragma omp simd
        for (index_t j = 0; j < N; ++j) c[j] += aik * b[j];
      }
    } else {
      for (index_t j = 0; j < N; ++j) {
        const T* b = B + j * ldb;
        T s = T(0);
        for (index_t k = 0; k < K; ++k) s += a[k * sa_k] * b[k];
        c[j] += alpha * s;
      }
    }
  }
}

template void gemm<float>(Trans, Trans, index_t, index_t, index_t, float, const float*,
                          index_t, const float*, index_t, float, float*, index_t);
template void gemm<double>(Trans, Trans, index_t, index_t, index_t, double, const double*,
                           index_t, const double*, index_t, double, double*, index_t);

}  // namespace entrena
