#include "entrena/nn/activation.hpp"

#include <cmath>

#include "entrena/kernels/activations.hpp"

namespace entrena {

// -------------------------------------------------------------- Activation
namespace {
struct NamedActivation {
  const char* name;
  Activation act;
};
// Canonical names first; aliases after.
constexpr NamedActivation kNames[] = {
    {"identity", Activation::Identity},   {"sigmoid", Activation::Sigmoid},
    {"tanh", Activation::Tanh},           {"relu", Activation::ReLU},
    {"leaky_relu", Activation::LeakyReLU}, {"elu", Activation::ELU},
    {"gelu", Activation::GELU},           {"gelu_tanh", Activation::GELUTanh},
    {"silu", Activation::SiLU},           {"softplus", Activation::Softplus},
    {"softmax", Activation::Softmax},     {"log_softmax", Activation::LogSoftmax},
    {"linear", Activation::Identity},     {"swish", Activation::SiLU},
};
constexpr int kCanonical = 12;
}  // namespace

Activation activation_from_name(const std::string& name) {
  for (const auto& na : kNames)
    if (name == na.name) return na.act;
  std::string all;
  for (int i = 0; i < kCanonical; ++i) all += (i ? ", " : "") + std::string(kNames[i].name);
  throw ValueError(cat("activation: expected one of ", all, "; got '", name, "'"));
}

std::string activation_name(Activation a) {
  for (int i = 0; i < kCanonical; ++i)
    if (kNames[i].act == a) return kNames[i].name;
  return "?";
}

bool activation_has_alpha(Activation a) {
  return a == Activation::LeakyReLU || a == Activation::ELU;
}

double activation_default_alpha(Activation a) {
  switch (a) {
    case Activation::LeakyReLU: return 0.01;
    case Activation::ELU: return 1.0;
    default: return 0.0;
  }
}

template <class T>
ActivationLayer<T>::ActivationLayer(Activation act)
    : act_(act), alpha_(activation_default_alpha(act)) {}

template <class T>
ActivationLayer<T>::ActivationLayer(Activation act, double alpha) : act_(act), alpha_(alpha) {
  if (!std::isfinite(alpha))
    throw ValueError(cat("alpha: expected a finite number, got ", alpha));
}

template <class T>
Json ActivationLayer<T>::config() const {
  Json j = Json::object({{"type", "Activation"}, {"activation", activation_name(act_)}});
  if (activation_has_alpha(act_))
    j = Json::object({{"type", "Activation"}, {"activation", activation_name(act_)}, {"alpha", alpha_}});
  return j;
}

template <class T>
Shape ActivationLayer<T>::build(const Shape& input_shape) {
  if ((act_ == Activation::Softmax || act_ == Activation::LogSoftmax) &&
      (input_shape.empty() || input_shape.back() < 1))
    throw ValueError(cat(activation_name(act_), ": expected inputs of shape (n, ..., features) with "
                         "features >= 1, got per-sample shape ", shape_str(input_shape)));
  this->in_shape_ = input_shape;
  this->out_shape_ = input_shape;
  return input_shape;
}

template <class T>
void ActivationLayer<T>::forward(const T* x, T* y, index_t n, bool, Rng&) {
  const index_t count = n * shape_size(this->in_shape_);
  const T alpha = static_cast<T>(alpha_);
  switch (act_) {
    case Activation::Identity: identity_forward(x, y, count); break;
    case Activation::Sigmoid: sigmoid_forward(x, y, count); break;
    case Activation::Tanh: tanh_forward(x, y, count); break;
    case Activation::ReLU: relu_forward(x, y, count); break;
    case Activation::LeakyReLU: leaky_relu_forward(x, y, count, alpha); break;
    case Activation::ELU: elu_forward(x, y, count, alpha); break;
    case Activation::GELU: gelu_forward(x, y, count); break;
    case Activation::GELUTanh: gelu_tanh_forward(x, y, count); break;
    case Activation::SiLU: silu_forward(x, y, count); break;
    case Activation::Softplus: softplus_forward(x, y, count); break;
    case Activation::Softmax:
    case Activation::LogSoftmax: {
      const index_t cols = this->in_shape_.back();
      const index_t rows = count / cols;
      if (act_ == Activation::Softmax)
        softmax_forward(x, y, rows, cols);
      else
        log_softmax_forward(x, y, rows, cols);
      break;
    }
  }
}

template <class T>
void ActivationLayer<T>::backward(const T* x, const T* y, const T* dy, T* dx, index_t n) {
  if (!dx) return;
  const index_t count = n * shape_size(this->in_shape_);
  const T alpha = static_cast<T>(alpha_);
  switch (act_) {
    case Activation::Identity: identity_backward(dy, dx, count); break;
    case Activation::Sigmoid: sigmoid_backward(y, dy, dx, count); break;
    case Activation::Tanh: tanh_backward(y, dy, dx, count); break;
    case Activation::ReLU: relu_backward(x, dy, dx, count); break;
    case Activation::LeakyReLU: leaky_relu_backward(x, dy, dx, count, alpha); break;
    case Activation::ELU: elu_backward(x, dy, dx, count, alpha); break;
    case Activation::GELU: gelu_backward(x, dy, dx, count); break;
    case Activation::GELUTanh: gelu_tanh_backward(x, dy, dx, count); break;
    case Activation::SiLU: silu_backward(x, dy, dx, count); break;
    case Activation::Softplus: softplus_backward(x, dy, dx, count); break;
    case Activation::Softmax:
    case Activation::LogSoftmax: {
      const index_t cols = this->in_shape_.back();
      const index_t rows = count / cols;
      if (act_ == Activation::Softmax)
        softmax_backward(y, dy, dx, rows, cols);
      else
        log_softmax_backward(y, dy, dx, rows, cols);
      break;
    }
  }
}

template class ActivationLayer<float>;
template class ActivationLayer<double>;

}  // namespace entrena
