#include "entrena/kernels/optimizers.hpp"

#include "entrena/parallel.hpp"

namespace entrena {

template <class T>
void sgd_step(T* p, const T* grad, index_t n, T lr, T weight_decay) {
  // torch.optim.SGD (momentum 0): g = grad + wd * p; p -= lr * g
  const int nt = threads_for(static_cast<double>(n), 1 << 17);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1)
  for (index_t i = 0; i < n; ++i) p[i] -= lr * (grad[i] + weight_decay * p[i]);
}

template void sgd_step<float>(float*, const float*, index_t, float, float);
template void sgd_step<double>(double*, const double*, index_t, double, double);

}  // namespace entrena
