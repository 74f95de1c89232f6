#include "entrena/nn/loss.hpp"

#include "entrena/kernels/losses.hpp"

namespace entrena {

template <class T>
void SoftmaxCrossEntropy<T>::check_target(index_t width, index_t target_width) const {
  if (target_width != 1)
    throw ValueError(cat("categorical_crossentropy: expected class-index targets of shape (n,), "
                         "got targets of width ", target_width, " for ", width, " classes"));
}

template <class T>
void SoftmaxCrossEntropy<T>::check_target_values(const T* target, index_t n, index_t width,
                                                 index_t target_width) const {
  check_target(width, target_width);
  for (index_t i = 0; i < n; ++i) {
    const T v = target[i];
    if (!(v >= T(0) && v < static_cast<T>(width) && v == static_cast<T>(static_cast<index_t>(v))))
      throw ValueError(cat("y: expected class indices in [0, ", width, "), got ", v, " at row ", i));
  }
}

template <class T>
T SoftmaxCrossEntropy<T>::forward(const T* pred, const T* target, index_t n, index_t width,
                                  index_t target_width) {
  check_target(width, target_width);
  return softmax_cross_entropy_forward(pred, target, n, width);
}

template <class T>
void SoftmaxCrossEntropy<T>::backward(const T* pred, const T* target, T* grad, index_t n,
                                      index_t width, index_t target_width) {
  check_target(width, target_width);
  softmax_cross_entropy_backward(pred, target, grad, n, width, T(1) / static_cast<T>(n));
}

template class SoftmaxCrossEntropy<float>;
template class SoftmaxCrossEntropy<double>;

}  // namespace entrena
