// Activations: the names, the element-wise (and last-axis) application of
// an activation kernel, and the Activation layer.
#pragma once

#include <limits>
#include <string>

#include "entrena/nn/layer.hpp"

namespace entrena {

// Activations a layer can apply. Element-wise ones work on any shape;
// Softmax and LogSoftmax work along the last axis of (n, ..., features).
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
// identity, sigmoid, tanh, relu, leaky_relu, elu, gelu, gelu_tanh, silu,
// softplus, softmax, log_softmax; aliases linear (identity), swish (silu).
const NameTable& activation_names();
// ValueError for an unknown name; `arg` names the argument in the message.
Activation activation_from_name(const std::string& name, const std::string& arg = "activation");
std::string activation_name(Activation a);
// True for the activations that take alpha (LeakyReLU, ELU).
bool activation_has_alpha(Activation a);
// alpha's default for a (0.01 LeakyReLU, 1 ELU, 0 otherwise).
double activation_default_alpha(Activation a);
// alpha as a layer keeps it: the default when NaN; ValueError when given
// (not NaN) for an activation that takes none, or not finite.
double resolve_alpha(Activation a, double alpha);

// y = act(x) for x: (rows, cols); softmax and log_softmax along cols.
template <class T>
void activation_forward(Activation a, T alpha, const T* x, T* y, index_t rows, index_t cols);
// dx = dL/dx from the forward's x and y and dy = dL/dy, all (rows, cols).
template <class T>
void activation_backward(Activation a, T alpha, const T* x, const T* y, const T* dy, T* dx,
                         index_t rows, index_t cols);

// Config: {"activation": name, "alpha": number (leaky_relu and elu only)}.
template <class T>
class ActivationLayer : public Layer<T> {
 public:
  // alpha: NaN for the default (see resolve_alpha).
  explicit ActivationLayer(Activation act, double alpha = std::numeric_limits<double>::quiet_NaN());
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "Activation"; }
  // Acts on each step alone: the output keeps the input's mask over steps.
  MaskUse mask_use() const override { return MaskUse::Keep; }
  Json args() const override;
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
