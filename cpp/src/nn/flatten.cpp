#include "entrena/nn/flatten.hpp"

namespace entrena {

template <class T>
Shape Flatten<T>::build(const Shape& input_shape) {
  this->in_shape_ = input_shape;
  this->out_shape_ = {shape_size(input_shape)};
  return this->out_shape_;
}

template class Flatten<float>;
template class Flatten<double>;

}  // namespace entrena
