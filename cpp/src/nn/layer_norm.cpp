#include "entrena/nn/layer_norm.hpp"

#include "entrena/kernels/layer_norm.hpp"

namespace entrena {

template <class T>
LayerNormalization<T>::LayerNormalization(double eps, bool center, bool scale)
    : eps_(check_number("eps", eps, 0.0, std::numeric_limits<double>::infinity(), true)),
      affine_{scale, center} {}

template <class T>
std::unique_ptr<Layer<T>> LayerNormalization<T>::from_config(Options& o) {
  const double eps = o.number("eps", 1e-5);
  const bool center = o.flag("center", true);
  return std::make_unique<LayerNormalization<T>>(eps, center, o.flag("scale", true));
}

template <class T>
Json LayerNormalization<T>::args() const {
  return Json::object({{"eps", eps_}, {"center", affine_.center}, {"scale", affine_.scale}});
}

template <class T>
Shape LayerNormalization<T>::build(const Shape& input_shape) {
  features_ = features_of("LayerNormalization", input_shape);
  this->in_shape_ = input_shape;
  this->out_shape_ = input_shape;
  return input_shape;
}

template <class T>
std::vector<TensorSpec> LayerNormalization<T>::param_specs() const {
  return affine_.specs(features_);
}

template <class T>
void LayerNormalization<T>::bind(const TensorPointers<T>& t) {
  affine_.bind(t);
}

template <class T>
void LayerNormalization<T>::init(Rng&) {
  affine_.init(features_);
}

template <class T>
void LayerNormalization<T>::forward(const T* x, T* y, index_t n, bool, Rng&) {
  const index_t rows = rows_of(n, this->in_shape_);
  save_mean_.reserve_at_least(rows);
  save_invstd_.reserve_at_least(rows);
  layer_norm_forward(x, affine_.gamma, affine_.beta, y, save_mean_.data(), save_invstd_.data(), rows, features_,
                     eps_);
}

template <class T>
void LayerNormalization<T>::backward(const T* x, const T*, const T* dy, T* dx, index_t n) {
  layer_norm_backward(x, dy, affine_.gamma, save_mean_.data(), save_invstd_.data(), dx, affine_.dgamma, affine_.dbeta,
                      rows_of(n, this->in_shape_), features_);
}

template class LayerNormalization<float>;
template class LayerNormalization<double>;

}  // namespace entrena
