#include "entrena/nn/normalization.hpp"

#include <vector>

#include "entrena/kernels/normalization.hpp"

namespace entrena {

template <class T>
Shape Normalization<T>::build(const Shape& input_shape) {
  features_ = features_of("Normalization", input_shape);
  this->in_shape_ = input_shape;
  this->out_shape_ = input_shape;
  return input_shape;
}

template <class T>
std::vector<TensorSpec> Normalization<T>::buffer_specs() const {
  return {{"mean", {features_}}, {"variance", {features_}}};
}

template <class T>
void Normalization<T>::bind(const TensorPointers<T>& t) {
  mean_ = t.buffers[0];
  var_ = t.buffers[1];
}

template <class T>
void Normalization<T>::init(Rng&) {
  for (index_t j = 0; j < features_; ++j) {
    mean_[j] = T(0);
    var_[j] = T(1);
  }
}

template <class T>
void Normalization<T>::forward(const T* x, T* y, index_t n, bool, Rng&) {
  standardize_forward(x, mean_, var_, y, rows_of(n, this->in_shape_), features_, static_cast<T>(kEps));
}

template <class T>
void Normalization<T>::backward(const T*, const T*, const T* dy, T* dx, index_t n) {
  if (dx) standardize_backward(var_, dy, dx, rows_of(n, this->in_shape_), features_, static_cast<T>(kEps));
}

template <class T>
void Normalization<T>::adapt(const T* x, index_t n) {
  if (!mean_) throw StateError("Normalization.adapt: the layer is not built yet (it must belong to a built model)");
  if (n < 1) throw ValueError(cat("Normalization.adapt: expected at least one sample, got ", n));
  std::vector<double> mean(static_cast<std::size_t>(features_)), var(mean.size());
  feature_moments(x, rows_of(n, this->in_shape_), features_, mean.data(), var.data());
  for (index_t j = 0; j < features_; ++j) {
    mean_[j] = static_cast<T>(mean[static_cast<std::size_t>(j)]);
    var_[j] = static_cast<T>(var[static_cast<std::size_t>(j)]);
  }
}

template class Normalization<float>;
template class Normalization<double>;

}  // namespace entrena
