#include "entrena/nn/dense.hpp"

#include <cmath>

#include "entrena/kernels/activations.hpp"
#include "entrena/kernels/dense.hpp"

namespace entrena {

namespace {
Activation dense_activation(const std::string& name) {
  return name.empty() ? Activation::Identity : activation_from_name(name);
}
}  // namespace

template <class T>
Dense<T>::Dense(index_t units, const std::string& activation, const std::string& kernel_init,
                const std::string& bias_init, bool use_bias, double alpha)
    : Dense(units, activation, Initializer::from_config(Json(kernel_init), "kernel_init"),
            Initializer::from_config(Json(bias_init), "bias_init"), use_bias, alpha) {}

template <class T>
Dense<T>::Dense(index_t units, const std::string& activation, Initializer kernel_init, Initializer bias_init,
                bool use_bias, double alpha)
    : units_(check_integer("units", units, 1)),
      use_bias_(use_bias),
      kernel_init_(kernel_init),
      bias_init_(bias_init),
      act_(dense_activation(activation)),
      alpha_(resolve_alpha(act_, alpha)) {}

template <class T>
std::unique_ptr<Layer<T>> Dense<T>::from_config(Options& o) {
  const Json* units = o.get("units");
  if (!units) throw ValueError("units: missing (the number of output features)");
  const index_t n = o.integer("units", 0, 1);
  std::string act;
  double alpha = o.number("alpha", std::nan(""));
  if (const Json* a = o.get("activation")) {
    if (a->is_string()) {
      act = a->as_string();
    } else if (a->is_object()) {
      // entrena 0.1 wrote the activation as an Activation layer config.
      Options inner(*a, "activation");
      inner.get("type");
      act = inner.string("activation", "identity");
      alpha = inner.number("alpha", alpha);
      inner.finish();
      if (!activation_has_alpha(activation_from_name(act))) alpha = std::nan("");
    } else {
      throw TypeError(cat("activation: expected an activation name or None, got ", a->type_name()));
    }
  }
  const bool use_bias = o.flag("use_bias", true);
  const Json* kinit = o.get("kernel_init");
  const Json* binit = o.get("bias_init");
  return std::make_unique<Dense<T>>(
      n, act, kinit ? Initializer::from_config(*kinit, "kernel_init") : Initializer{},
      binit ? Initializer::from_config(*binit, "bias_init") : Initializer{Initializer::Kind::Zeros}, use_bias, alpha);
}

template <class T>
Json Dense<T>::args() const {
  Json j = Json::object({{"units", units_},
                         {"activation", act_ == Activation::Identity ? Json() : Json(activation_name(act_))}});
  if (activation_has_alpha(act_)) j["alpha"] = alpha_;
  j["use_bias"] = use_bias_;
  j["kernel_init"] = kernel_init_.config();
  j["bias_init"] = bias_init_.config();
  return j;
}

template <class T>
Shape Dense<T>::build(const Shape& input_shape) {
  in_ = features_of("Dense", input_shape);
  this->in_shape_ = input_shape;
  this->out_shape_ = input_shape;
  this->out_shape_.back() = units_;
  return this->out_shape_;
}

template <class T>
std::vector<TensorSpec> Dense<T>::param_specs() const {
  std::vector<TensorSpec> s{{"W", {in_, units_}}};
  if (use_bias_) s.push_back({"b", {units_}});
  return s;
}

template <class T>
void Dense<T>::bind(const TensorPointers<T>& t) {
  W_ = t.params[0];
  dW_ = t.grads[0];
  b_ = use_bias_ ? t.params[1] : nullptr;
  db_ = use_bias_ ? t.grads[1] : nullptr;
}

template <class T>
void Dense<T>::init(Rng& rng) {
  kernel_init_.fill(W_, in_ * units_, in_, units_, rng);
  if (use_bias_) bias_init_.fill(b_, units_, in_, units_, rng);
}

template <class T>
void Dense<T>::forward(const T* x, T* y, index_t n, bool, Rng&) {
  const index_t rows = rows_of(n, this->in_shape_);
  if (act_ == Activation::Identity || act_ == Activation::ReLU) {
    // With ReLU the bias add and the activation are fused into the GEMM
    // epilogue; no pre-activation is kept because y > 0 exactly where x·W + b > 0.
    dense_forward(x, W_, b_, y, rows, in_, units_, act_ == Activation::ReLU);
    return;
  }
  z_.reserve_at_least(rows * units_);
  dense_forward(x, W_, b_, z_.data(), rows, in_, units_);
  activation_forward<T>(act_, static_cast<T>(alpha_), z_.data(), y, rows, units_);
}

template <class T>
void Dense<T>::backward(const T* x, const T* y, const T* dy, T* dx, index_t n) {
  const index_t rows = rows_of(n, this->in_shape_);
  if (act_ == Activation::Identity) {
    dense_backward(x, W_, dy, dW_, db_, dx, rows, in_, units_);
    return;
  }
  dz_.reserve_at_least(rows * units_);
  if (act_ == Activation::ReLU)
    relu_backward(y, dy, dz_.data(), rows * units_);
  else
    activation_backward<T>(act_, static_cast<T>(alpha_), z_.data(), y, dy, dz_.data(), rows, units_);
  dense_backward(x, W_, dz_.data(), dW_, db_, dx, rows, in_, units_);
}

template class Dense<float>;
template class Dense<double>;

}  // namespace entrena
