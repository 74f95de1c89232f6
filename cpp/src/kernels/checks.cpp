#include "entrena/kernels/checks.hpp"

#include <cmath>

namespace entrena {

template <class T>
index_t count_nonfinite(const T* x, index_t n) {
  // x - x is 0 for finite x and NaN for NaN or ±inf; the loop vectorises.
  index_t bad = 0;
#pragma omp simd reduction(+ : bad)
  for (index_t i = 0; i < n; ++i) bad += (x[i] - x[i] == x[i] - x[i]) ? 0 : 1;
  return bad;
}

template index_t count_nonfinite<float>(const float*, index_t);
template index_t count_nonfinite<double>(const double*, index_t);

}  // namespace entrena
