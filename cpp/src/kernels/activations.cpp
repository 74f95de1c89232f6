#include "entrena/kernels/activations.hpp"

#include <cmath>

#include "entrena/parallel.hpp"

namespace entrena {

template <class T>
void relu_forward(const T* x, T* y, index_t n) {
  const int nt = threads_for(static_cast<double>(n), 1 << 17);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1)
  for (index_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}

template <class T>
void relu_backward(const T* x, const T* dy, T* dx, index_t n) {
  const int nt = threads_for(static_cast<double>(n), 1 << 17);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1)
  for (index_t i = 0; i < n; ++i) dx[i] = x[i] > T(0) ? dy[i] : T(0);
}

template <class T>
void softmax_forward(const T* x, T* y, index_t rows, index_t cols) {
  const int nt = threads_for(static_cast<double>(rows) * cols * 8);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    T m = xr[0];
    for (index_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    T s = T(0);
    for (index_t j = 0; j < cols; ++j) {
      yr[j] = std::exp(xr[j] - m);
      s += yr[j];
    }
    const T inv = T(1) / s;
    for (index_t j = 0; j < cols; ++j) yr[j] *= inv;
  }
}

#define ENTRENA_INSTANTIATE(T)                                              \
  template void relu_forward<T>(const T*, T*, index_t);                     \
  template void relu_backward<T>(const T*, const T*, T*, index_t);          \
  template void softmax_forward<T>(const T*, T*, index_t, index_t);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
