#include "entrena/nn/activation.hpp"

#include "entrena/kernels/activations.hpp"

namespace entrena {

// -------------------------------------------------------------- Activation
Activation activation_from_name(const std::string& name) {
  if (name == "relu") return Activation::ReLU;
  throw ValueError(cat("activation: expected one of relu; got '", name, "'"));
}

std::string activation_name(Activation a) {
  switch (a) {
    case Activation::ReLU: return "relu";
  }
  return "?";
}

template <class T>
Shape ActivationLayer<T>::build(const Shape& input_shape) {
  this->in_shape_ = input_shape;
  this->out_shape_ = input_shape;
  return input_shape;
}

template <class T>
void ActivationLayer<T>::forward(const T* x, T* y, index_t n, bool, Rng&) {
  const index_t count = n * shape_size(this->in_shape_);
  switch (act_) {
    case Activation::ReLU: relu_forward(x, y, count); break;
  }
}

template <class T>
void ActivationLayer<T>::backward(const T* x, const T*, const T* dy, T* dx, index_t n) {
  if (!dx) return;
  const index_t count = n * shape_size(this->in_shape_);
  switch (act_) {
    case Activation::ReLU: relu_backward(x, dy, dx, count); break;
  }
}

template class ActivationLayer<float>;
template class ActivationLayer<double>;

}  // namespace entrena
