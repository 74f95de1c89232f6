#include "entrena/nn/optimizer.hpp"

#include <cmath>

#include "entrena/kernels/optimizers.hpp"

namespace entrena {

template <class T>
void Optimizer<T>::check_lr(const std::string& who, double lr) {
  if (!(lr >= 0.0) || !std::isfinite(lr))
    throw ValueError(cat(who, ": lr must be a finite number >= 0, got ", lr));
}

template <class T>
void Optimizer<T>::set_lr(double lr) {
  check_lr(name(), lr);
  lr_ = lr;
}

template <class T>
SGD<T>::SGD(double lr, double weight_decay) : Optimizer<T>("sgd", lr), weight_decay_(weight_decay) {
  if (!(weight_decay >= 0.0))
    throw ValueError(cat("sgd: weight_decay must be >= 0, got ", weight_decay));
}

template <class T>
void SGD<T>::step(T* p, const T* grad, index_t n) {
  sgd_step(p, grad, n, static_cast<T>(this->lr_), static_cast<T>(weight_decay_));
  ++this->steps_;
}

template class Optimizer<float>;
template class Optimizer<double>;
template class SGD<float>;
template class SGD<double>;

}  // namespace entrena
