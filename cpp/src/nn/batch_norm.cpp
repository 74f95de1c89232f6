#include "entrena/nn/batch_norm.hpp"

#include "entrena/kernels/batch_norm.hpp"

namespace entrena {

template <class T>
BatchNormalization<T>::BatchNormalization(double momentum, double eps, bool center, bool scale)
    : momentum_(check_number("momentum", momentum, 0.0, 1.0)),
      eps_(check_number("eps", eps, 0.0, std::numeric_limits<double>::infinity(), true)),
      affine_{scale, center} {}

template <class T>
std::unique_ptr<Layer<T>> BatchNormalization<T>::from_config(Options& o) {
  const double momentum = o.number("momentum", 0.1);
  const double eps = o.number("eps", 1e-5);
  const bool center = o.flag("center", true);
  return std::make_unique<BatchNormalization<T>>(momentum, eps, center, o.flag("scale", true));
}

template <class T>
Json BatchNormalization<T>::args() const {
  return Json::object({{"momentum", momentum_}, {"eps", eps_}, {"center", affine_.center}, {"scale", affine_.scale}});
}

template <class T>
Shape BatchNormalization<T>::build(const Shape& input_shape) {
  if (input_shape.empty())
    throw ValueError(cat("BatchNormalization: expected inputs of shape (n, channels, ...) or (n, features), "
                         "got per-sample shape ", shape_str(input_shape)));
  channels_ = input_shape[0];
  positions_ = shape_size(input_shape) / channels_;
  save_mean_.resize(channels_);
  save_invstd_.resize(channels_);
  this->in_shape_ = input_shape;
  this->out_shape_ = input_shape;
  return input_shape;
}

template <class T>
std::vector<TensorSpec> BatchNormalization<T>::param_specs() const {
  return affine_.specs(channels_);
}

template <class T>
std::vector<TensorSpec> BatchNormalization<T>::buffer_specs() const {
  return {{"running_mean", {channels_}}, {"running_var", {channels_}}};
}

template <class T>
void BatchNormalization<T>::bind(const TensorPointers<T>& t) {
  affine_.bind(t);
  running_mean_ = t.buffers[0];
  running_var_ = t.buffers[1];
}

template <class T>
void BatchNormalization<T>::init(Rng&) {
  affine_.init(channels_);
  for (index_t c = 0; c < channels_; ++c) {
    running_mean_[c] = T(0);
    running_var_[c] = T(1);
  }
}

template <class T>
void BatchNormalization<T>::forward(const T* x, T* y, index_t n, bool training, Rng&) {
  if (training && n * positions_ < 2)
    throw ValueError(cat("BatchNormalization: training needs more than one value per channel, got a batch of ", n,
                         " sample of per-sample shape ", shape_str(this->in_shape_),
                         "; use batches of at least 2 samples (fit: drop_last=True drops a last batch of one)"));
  batch_norm_forward(x, affine_.gamma, affine_.beta, running_mean_, running_var_, y, save_mean_.data(),
                     save_invstd_.data(), n, channels_, positions_, momentum_, eps_, training);
  trained_ = training;
}

template <class T>
void BatchNormalization<T>::backward(const T* x, const T*, const T* dy, T* dx, index_t n) {
  batch_norm_backward(x, dy, affine_.gamma, save_mean_.data(), save_invstd_.data(), dx, affine_.dgamma,
                      affine_.dbeta, n, channels_, positions_, trained_);
}

template class BatchNormalization<float>;
template class BatchNormalization<double>;

}  // namespace entrena
