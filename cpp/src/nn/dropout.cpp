#include "entrena/nn/dropout.hpp"

#include <cmath>

namespace entrena {

template <class T>
Dropout<T>::Dropout(double rate) : rate_(rate) {
  if (!(rate >= 0.0 && rate < 1.0))
    throw ValueError(cat("Dropout: rate must be in [0, 1), got ", rate));
}

template <class T>
Shape Dropout<T>::build(const Shape& input_shape) {
  this->in_shape_ = input_shape;
  this->out_shape_ = input_shape;
  return input_shape;
}

template <class T>
void Dropout<T>::forward(const T* x, T* y, index_t n, bool training, Rng& rng) {
  const index_t count = n * shape_size(this->in_shape_);
  last_training_ = training && rate_ > 0.0;
  if (!last_training_) {
    std::memcpy(y, x, static_cast<std::size_t>(count) * sizeof(T));
    return;
  }
  // Masks come from the model's generator in element order: the same seed
  // gives the same masks for any thread count.
  mask_.reserve_at_least(count);
  T* m = mask_.data();
  const T scale = static_cast<T>(1.0 / (1.0 - rate_));
  for (index_t i = 0; i < count; ++i) m[i] = rng.uniform() >= rate_ ? scale : T(0);
#pragma omp simd
  for (index_t i = 0; i < count; ++i) y[i] = x[i] * m[i];
}

template <class T>
void Dropout<T>::backward(const T*, const T*, const T* dy, T* dx, index_t n) {
  if (!dx) return;
  const index_t count = n * shape_size(this->in_shape_);
  if (!last_training_) {
    std::memcpy(dx, dy, static_cast<std::size_t>(count) * sizeof(T));
    return;
  }
  const T* m = mask_.data();
#pragma omp simd
  for (index_t i = 0; i < count; ++i) dx[i] = dy[i] * m[i];
}

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

template class Dropout<float>;
template class Dropout<double>;
template class Flatten<float>;
template class Flatten<double>;

}  // namespace entrena
