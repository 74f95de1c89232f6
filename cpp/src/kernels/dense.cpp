#include "entrena/kernels/dense.hpp"

#include "entrena/kernels/gemm.hpp"
#include "entrena/parallel.hpp"

namespace entrena {

// x: (n, in), W: (in, out), b: (out,) or null, y: (n, out)
template <class T>
void dense_forward(const T* x, const T* W, const T* b, T* y, index_t n, index_t in,
                   index_t out, bool relu) {
  // y = act(1·x·W + 0·y + b): bias and ReLU fused into the GEMM epilogue.
  gemm_fused<T>(Trans::N, Trans::N, n, out, in, T(1), x, in, W, out, T(0), y, out, b, relu);
}

// g: (n, out), sums: (out,)
template <class T>
void column_sums(const T* g, T* sums, index_t n, index_t out) {
  // Threads take disjoint column chunks (multiples of 64 columns); within a
  // column the rows are added in ascending order, so the result does not
  // depend on the thread count.
  constexpr index_t chunk = 64;
  const index_t chunks = (out + chunk - 1) / chunk;
  int nt = threads_for(static_cast<double>(n) * out, 262144.0);
  if (nt > chunks) nt = static_cast<int>(chunks);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t c = 0; c < chunks; ++c) {
    const index_t j0 = c * chunk, j1 = j0 + chunk < out ? j0 + chunk : out;
    T* s = sums + j0;
    for (index_t i = 0; i < n; ++i) {
      const T* gi = g + i * out + j0;
#pragma omp simd
      for (index_t j = 0; j < j1 - j0; ++j) s[j] += gi[j];
    }
  }
}

// x: (n, in), W: (in, out), dy: (n, out), dW: (in, out), db: (out,), dx: (n, in)
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
                                 index_t, bool);                                          \
  template void dense_backward<T>(const T*, const T*, const T*, T*, T*, T*, index_t,     \
                                  index_t, index_t);                                      \
  template void column_sums<T>(const T*, T*, index_t, index_t);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
