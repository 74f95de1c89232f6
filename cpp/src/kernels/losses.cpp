#include "entrena/kernels/losses.hpp"

#include <cmath>

namespace entrena {

namespace {
// log(sum(exp(row))) computed stably; also returns the row maximum.
template <class T>
T row_logsumexp(const T* row, index_t c, T& m) {
  m = row[0];
  for (index_t j = 1; j < c; ++j) m = row[j] > m ? row[j] : m;
  T s = T(0);
  for (index_t j = 0; j < c; ++j) s += std::exp(row[j] - m);
  return m + std::log(s);
}
}  // namespace

template <class T>
T softmax_cross_entropy_forward(const T* logits, const T* labels, index_t n, index_t c) {
  // Rows are summed in ascending order (double accumulator): deterministic.
  double total = 0.0;
  for (index_t i = 0; i < n; ++i) {
    const T* row = logits + i * c;
    T m;
    const T lse = row_logsumexp(row, c, m);
    total += static_cast<double>(lse - row[static_cast<index_t>(labels[i])]);
  }
  return n > 0 ? static_cast<T>(total / static_cast<double>(n)) : T(0);
}

template <class T>
void softmax_cross_entropy_backward(const T* logits, const T* labels, T* grad, index_t n,
                                    index_t c, T scale) {
  for (index_t i = 0; i < n; ++i) {
    const T* row = logits + i * c;
    T* g = grad + i * c;
    T m;
    const T lse = row_logsumexp(row, c, m);
    for (index_t j = 0; j < c; ++j) g[j] = std::exp(row[j] - lse) * scale;
    g[static_cast<index_t>(labels[i])] -= scale;
  }
}

#define ENTRENA_INSTANTIATE(T)                                                              \
  template T softmax_cross_entropy_forward<T>(const T*, const T*, index_t, index_t);        \
  template void softmax_cross_entropy_backward<T>(const T*, const T*, T*, index_t, index_t, \
                                                  T);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
