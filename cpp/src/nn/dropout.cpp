#include "entrena/nn/dropout.hpp"

#include <cstring>

namespace entrena {

template <class T>
Dropout<T>::Dropout(double rate) : rate_(check_number("rate", rate, 0.0, 1.0, false, true)) {}

template <class T>
std::unique_ptr<Layer<T>> Dropout<T>::from_config(Options& o) {
  if (!o.has("rate")) throw ValueError("rate: missing (the fraction of elements to drop)");
  return std::make_unique<Dropout<T>>(o.number("rate", 0.0));
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
  masked_ = training && rate_ > 0.0;
  if (!masked_) {
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
  if (!masked_) {
    std::memcpy(dx, dy, static_cast<std::size_t>(count) * sizeof(T));
    return;
  }
  const T* m = mask_.data();
#pragma omp simd
  for (index_t i = 0; i < count; ++i) dx[i] = dy[i] * m[i];
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace entrena
