#include "entrena/kernels/embedding.hpp"

#include <cmath>
#include <cstring>

#include "entrena/parallel.hpp"

namespace entrena {

template <class T>
void embedding_check_ids(const T* ids, index_t count, index_t V) {
  for (index_t i = 0; i < count; ++i) {
    const T v = ids[i];
    // Written so that NaN fails too.
    if (!(v >= T(0) && v < static_cast<T>(V) && std::floor(v) == v))
      throw ValueError(cat("ids: expected integers in [0, ", V, ") (num_embeddings = ", V, "), got ",
                           static_cast<double>(v), " at position ", i));
  }
}

template <class T>
void embedding_forward(const T* ids, const T* W, T* y, index_t count, index_t V, index_t D) {
  embedding_check_ids(ids, count, V);
  const int nt = threads_for(static_cast<double>(count) * D, 262144.0);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t i = 0; i < count; ++i)
    std::memcpy(y + i * D, W + static_cast<index_t>(ids[i]) * D, sizeof(T) * static_cast<std::size_t>(D));
}

template <class T>
void embedding_backward(const T* ids, const T* dy, T* dW, index_t count, index_t V, index_t D,
                        index_t padding_idx) {
  (void)V;
  // Threads take disjoint column chunks; each adds the rows in id order.
  constexpr index_t chunk = 64;
  const index_t chunks = (D + chunk - 1) / chunk;
  int nt = threads_for(static_cast<double>(count) * D, 262144.0);
  if (nt > chunks) nt = static_cast<int>(chunks);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t c = 0; c < chunks; ++c) {
    const index_t j0 = c * chunk, j1 = j0 + chunk < D ? j0 + chunk : D;
    for (index_t i = 0; i < count; ++i) {
      const index_t id = static_cast<index_t>(ids[i]);
      if (id == padding_idx) continue;
      T* w = dW + id * D;
      const T* g = dy + i * D;
#pragma omp simd
      for (index_t j = j0; j < j1; ++j) w[j] += g[j];
    }
  }
}

#define ENTRENA_INSTANTIATE(T)                                                                    \
  template void embedding_check_ids<T>(const T*, index_t, index_t);                              \
  template void embedding_forward<T>(const T*, const T*, T*, index_t, index_t, index_t);         \
  template void embedding_backward<T>(const T*, const T*, T*, index_t, index_t, index_t, index_t);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
