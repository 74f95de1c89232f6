#include "entrena/kernels/normalization.hpp"

#include <cmath>

#include "entrena/parallel.hpp"

namespace entrena {

namespace {
constexpr index_t kChunk = 64;  // columns per parallel task

// y = (x - shift) / max(sqrt(var), eps) per column; shift may be null.
template <class T>
void scale_columns(const T* x, const T* shift, const T* var, T* y, index_t rows, index_t features, T eps) {
  const int nt = threads_for(static_cast<double>(rows) * features * 4, 262144.0);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t i = 0; i < rows; ++i) {
    const T* xi = x + i * features;
    T* yi = y + i * features;
#pragma omp simd
    for (index_t j = 0; j < features; ++j) {
      const T v = var[j] > T(0) ? var[j] : T(0);
      const T s = std::sqrt(v);
      yi[j] = (shift ? xi[j] - shift[j] : xi[j]) / (s > eps ? s : eps);
    }
  }
}
}  // namespace

template <class T>
void feature_moments(const T* x, index_t rows, index_t features, double* mean, double* var) {
  // x: (rows, features); mean, var: (features,)
  const index_t chunks = (features + kChunk - 1) / kChunk;
  int nt = threads_for(static_cast<double>(rows) * features * 2, 262144.0);
  if (nt > chunks) nt = static_cast<int>(chunks);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t c = 0; c < chunks; ++c) {
    const index_t j0 = c * kChunk, j1 = j0 + kChunk < features ? j0 + kChunk : features;
    double s[kChunk] = {}, q[kChunk] = {};
    for (index_t i = 0; i < rows; ++i) {
      const T* xi = x + i * features;
      for (index_t j = j0; j < j1; ++j) s[j - j0] += static_cast<double>(xi[j]);
    }
    for (index_t j = j0; j < j1; ++j) mean[j] = rows > 0 ? s[j - j0] / static_cast<double>(rows) : 0.0;
    for (index_t i = 0; i < rows; ++i) {
      const T* xi = x + i * features;
      for (index_t j = j0; j < j1; ++j) {
        const double d = static_cast<double>(xi[j]) - mean[j];
        q[j - j0] += d * d;
      }
    }
    for (index_t j = j0; j < j1; ++j) var[j] = rows > 0 ? q[j - j0] / static_cast<double>(rows) : 0.0;
  }
}

template <class T>
void standardize_forward(const T* x, const T* mean, const T* var, T* y, index_t rows, index_t features,
                         T eps) {
  // x, y: (rows, features); mean, var: (features,)
  scale_columns(x, mean, var, y, rows, features, eps);
}

template <class T>
void standardize_backward(const T* var, const T* dy, T* dx, index_t rows, index_t features, T eps) {
  // var: (features,); dy, dx: (rows, features)
  scale_columns<T>(dy, nullptr, var, dx, rows, features, eps);
}

#define ENTRENA_INSTANTIATE(T)                                                                   \
  template void feature_moments<T>(const T*, index_t, index_t, double*, double*);               \
  template void standardize_forward<T>(const T*, const T*, const T*, T*, index_t, index_t, T); \
  template void standardize_backward<T>(const T*, const T*, T*, index_t, index_t, T);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
