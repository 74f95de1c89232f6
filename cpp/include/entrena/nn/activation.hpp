// The activation layer: applies one activation kernel.
#pragma once

#include <string>

#include "entrena/nn/layer.hpp"

namespace entrena {

// Activations a layer can apply. Element-wise ones work on any shape;
// Softmax and LogSoftmax work along the last dimension of (n, ..., features).
enum class Activation : int {
  ReLU = 0,
  Identity,
  Sigmoid,
  Tanh,
  LeakyReLU,   // alpha: negative slope (default 0.01)
  ELU,         // alpha: value approached for x -> -inf (default 1)
  GELU,        // exact, x Phi(x)
  GELUTanh,    // tanh approximation
  SiLU,        // x sigmoid(x), a.k.a. Swish
  Softplus,    // PyTorch beta = 1, threshold = 20
  Softmax,
  LogSoftmax,
};
// Names: identity (alias linear), sigmoid, tanh, relu, leaky_relu, elu,
// gelu, gelu_tanh, silu (alias swish), softplus, softmax, log_softmax.
// Throws ValueError for an unknown name.
Activation activation_from_name(const std::string& name);
std::string activation_name(Activation a);
// True for the activations that take alpha (LeakyReLU, ELU).
bool activation_has_alpha(Activation a);
// alpha's default for a (0.01 LeakyReLU, 1 ELU, 0 otherwise).
double activation_default_alpha(Activation a);

template <class T>
class ActivationLayer : public Layer<T> {
 public:
  explicit ActivationLayer(Activation act);
  // alpha is used by LeakyReLU and ELU; it must be finite (ValueError).
  ActivationLayer(Activation act, double alpha);
  std::string kind() const override { return "Activation"; }
  Json config() const override;
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;
  Activation activation() const { return act_; }
  double alpha() const { return alpha_; }

 private:
  Activation act_;
  double alpha_;
};

}  // namespace entrena
