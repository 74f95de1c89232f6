#include "entrena/kernels/dense.hpp"

#include "entrena/kernels/gemm.hpp"
#include "entrena/parallel.hpp"

namespace entrena {

template <class T>
void dense_forward(const T* x, const T* W, const T* b, T* y, index_t n, index_t in,
                   index_t out) {
  gemm<T>(Trans::N, Trans::N, n, out, in, T(1), x, in, W, out, T(0), y, out);
  if (!b) return;
  const int nt = threads_for(static_cast<double>(n) * out * 8);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t i = 0; i < n; ++i) {
    T* yi = y + i * out;
#pragma omp simd
    for (index_t j = 0; j < out; ++j) yi[j] += b[j];
  }
}

template <class T>
void column_sums(const T* g, T* sums, index_t n, index_t out) {
  // Rows are added in ascending order for every column: deterministic.
  for (index_t i = 0; i < n; ++i) {
    const T* gi = g + i * out;
#pragma omp simd
    for (index_t j = 0; j < out; ++j) sums[j] += gi[j];
  }
}

template <class T>
void dense_backward(const T* x, const T* W, const T* dy, T* dW, T* db, T* dx, index_t n,
                    index_t in, index_t out) {
  // dW (in, out) += xᵀ (in, n) · dy (n, out)
  gemm<T>(Trans::T, Trans::N, in, out, n, T(1), x, in, dy, out, T(1), dW, out);
  if (db) column_sums(dy, db, n, out);
  // dx (n, in) = dy (n, out) · Wᵀ (out, in)
  if (dx) gemm<T>(Trans::N, Trans::T, n, in, out, T(1), dy, out, W, out, T(0), dx, in);
}

#define ENTRENA_INSTANTIATE(T)                                                            \
  template void dense_forward<T>(const T*, const T*, const T*, T*, index_t, index_t,     \
                                 index_t);                                                \
  template void dense_backward<T>(const T*, const T*, const T*, T*, T*, T*, index_t,     \
                                  index_t, index_t);                                      \
  template void column_sums<T>(const T*, T*, index_t, index_t);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
