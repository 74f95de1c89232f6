#include "entrena/nn/flatten.hpp"

#include <cstring>

namespace entrena {

template <class T>
Shape Flatten<T>::build(const Shape& input_shape) {
  this->in_shape_ = input_shape;
  this->out_shape_ = {shape_size(input_shape)};
  return this->out_shape_;
}

template <class T>
void Flatten<T>::forward(const T* x, T* y, index_t n, bool, Rng&) {
  std::memcpy(y, x, static_cast<std::size_t>(n * shape_size(this->in_shape_)) * sizeof(T));
}

template <class T>
void Flatten<T>::backward(const T*, const T*, const T* dy, T* dx, index_t n) {
  if (dx) std::memcpy(dx, dy, static_cast<std::size_t>(n * shape_size(this->in_shape_)) * sizeof(T));
}

template class Flatten<float>;
template class Flatten<double>;

}  // namespace entrena
