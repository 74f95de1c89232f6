#include "entrena/nn/activation.hpp"

#include <cmath>

#include "entrena/kernels/activations.hpp"

namespace entrena {

namespace {
// In the order of the Activation enum.
const Activation kOrder[] = {
    Activation::ReLU, Activation::Identity, Activation::Sigmoid,  Activation::Tanh,
    Activation::LeakyReLU, Activation::ELU, Activation::GELU,     Activation::GELUTanh,
    Activation::SiLU,  Activation::Softplus, Activation::Softmax, Activation::LogSoftmax};
const char* const kOrderNames[] = {"relu", "identity", "sigmoid",  "tanh",    "leaky_relu", "elu",
                                   "gelu", "gelu_tanh", "silu",    "softplus", "softmax", "log_softmax"};
}  // namespace

const NameTable& activation_names() {
  static const NameTable t("activation",
                           {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "gelu_tanh",
                            "silu", "softplus", "softmax", "log_softmax"},
                           {{"linear", "identity"}, {"swish", "silu"}});
  return t;
}

Activation activation_from_name(const std::string& name, const std::string& arg) {
  const std::string c = activation_names().canonical(name, arg);
  for (std::size_t i = 0; i < std::size(kOrder); ++i)
    if (c == kOrderNames[i]) return kOrder[i];
  throw ValueError(cat(arg, ": unknown activation '", name, "'"));
}

std::string activation_name(Activation a) {
  for (std::size_t i = 0; i < std::size(kOrder); ++i)
    if (kOrder[i] == a) return kOrderNames[i];
  return "?";
}

bool activation_has_alpha(Activation a) { return a == Activation::LeakyReLU || a == Activation::ELU; }

double activation_default_alpha(Activation a) {
  switch (a) {
    case Activation::LeakyReLU: return 0.01;
    case Activation::ELU: return 1.0;
    default: return 0.0;
  }
}

double resolve_alpha(Activation a, double alpha) {
  if (std::isnan(alpha)) return activation_default_alpha(a);
  if (!activation_has_alpha(a))
    throw ValueError(cat("alpha: only leaky_relu and elu take alpha; got alpha = ", alpha, " for '",
                         activation_name(a), "'"));
  return check_number("alpha", alpha);
}

template <class T>
void activation_forward(Activation a, T alpha, const T* x, T* y, index_t rows, index_t cols) {
  const index_t count = rows * cols;
  switch (a) {
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
    case Activation::Softmax: softmax_forward(x, y, rows, cols); break;
    case Activation::LogSoftmax: log_softmax_forward(x, y, rows, cols); break;
  }
}

template <class T>
void activation_backward(Activation a, T alpha, const T* x, const T* y, const T* dy, T* dx,
                         index_t rows, index_t cols) {
  const index_t count = rows * cols;
  switch (a) {
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
    case Activation::Softmax: softmax_backward(y, dy, dx, rows, cols); break;
    case Activation::LogSoftmax: log_softmax_backward(y, dy, dx, rows, cols); break;
  }
}

// ------------------------------------------------------------------ layer
template <class T>
ActivationLayer<T>::ActivationLayer(Activation act, double alpha)
    : act_(act), alpha_(resolve_alpha(act, alpha)) {}

template <class T>
std::unique_ptr<Layer<T>> ActivationLayer<T>::from_config(Options& o) {
  const Json* name = o.get("activation");
  if (!name) throw ValueError("activation: missing (the activation's name, e.g. \"relu\")");
  if (!name->is_string())
    throw TypeError(cat("activation: expected an activation name, got ", name->type_name()));
  const Activation act = activation_from_name(name->as_string());
  return std::make_unique<ActivationLayer<T>>(act, o.number("alpha", std::nan("")));
}

template <class T>
Json ActivationLayer<T>::args() const {
  Json j = Json::object({{"activation", activation_name(act_)}});
  if (activation_has_alpha(act_)) j["alpha"] = alpha_;
  return j;
}

template <class T>
Shape ActivationLayer<T>::build(const Shape& input_shape) {
  if (act_ == Activation::Softmax || act_ == Activation::LogSoftmax) features_of(activation_name(act_), input_shape);
  this->in_shape_ = input_shape;
  this->out_shape_ = input_shape;
  return input_shape;
}

template <class T>
void ActivationLayer<T>::forward(const T* x, T* y, index_t n, bool, Rng&) {
  const index_t cols = this->in_shape_.empty() ? 1 : this->in_shape_.back();
  activation_forward<T>(act_, static_cast<T>(alpha_), x, y, rows_of(n, this->in_shape_), cols);
}

template <class T>
void ActivationLayer<T>::backward(const T* x, const T* y, const T* dy, T* dx, index_t n) {
  if (!dx) return;
  const index_t cols = this->in_shape_.empty() ? 1 : this->in_shape_.back();
  activation_backward<T>(act_, static_cast<T>(alpha_), x, y, dy, dx, rows_of(n, this->in_shape_), cols);
}

#define ENTRENA_INSTANTIATE(T)                                                                       \
  template void activation_forward<T>(Activation, T, const T*, T*, index_t, index_t);                \
  template void activation_backward<T>(Activation, T, const T*, const T*, const T*, T*, index_t, index_t); \
  template class ActivationLayer<T>;
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
