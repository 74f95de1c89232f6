#include "entrena/nn/layer.hpp"

#include <cmath>

#include "entrena/kernels/activations.hpp"
#include "entrena/kernels/dense.hpp"
#include "entrena/nn/activation.hpp"

namespace entrena {

// ------------------------------------------------------------- Initializer
namespace {
struct InitName {
  const char* name;
  Initializer::Kind kind;
};
constexpr InitName kInitNames[] = {
    {"zeros", Initializer::Kind::Zeros},
    {"ones", Initializer::Kind::Ones},
    {"constant", Initializer::Kind::Constant},
    {"uniform", Initializer::Kind::Uniform},
    {"normal", Initializer::Kind::Normal},
    {"glorot_uniform", Initializer::Kind::GlorotUniform},
    {"glorot_normal", Initializer::Kind::GlorotNormal},
    {"he_uniform", Initializer::Kind::HeUniform},
    {"he_normal", Initializer::Kind::HeNormal},
    {"lecun_uniform", Initializer::Kind::LecunUniform},
    {"lecun_normal", Initializer::Kind::LecunNormal},
};
}  // namespace

Initializer Initializer::from_name(const std::string& name, double a, double b) {
  for (const auto& e : kInitNames)
    if (name == e.name) return Initializer{e.kind, a, b};
  std::string known;
  for (const auto& e : kInitNames) known += std::string(known.empty() ? "" : ", ") + e.name;
  throw ValueError(cat("initializer: expected one of ", known, "; got '", name, "'"));
}

std::string Initializer::name() const {
  for (const auto& e : kInitNames)
    if (kind == e.kind) return e.name;
  return "?";
}

Json Initializer::config() const {
  return Json::object({{"name", name()}, {"a", a}, {"b", b}});
}

template <class T>
void Initializer::fill(T* p, index_t count, index_t fan_in, index_t fan_out, Rng& rng) const {
  const double fi = static_cast<double>(fan_in < 1 ? 1 : fan_in);
  const double fo = static_cast<double>(fan_out < 1 ? 1 : fan_out);
  auto uniform = [&](double lo, double hi) {
    for (index_t i = 0; i < count; ++i) p[i] = static_cast<T>(rng.uniform(lo, hi));
  };
  auto normal = [&](double mean, double std) {
    for (index_t i = 0; i < count; ++i) p[i] = static_cast<T>(mean + std * rng.normal());
  };
  switch (kind) {
    case Kind::Zeros: for (index_t i = 0; i < count; ++i) p[i] = T(0); break;
    case Kind::Ones: for (index_t i = 0; i < count; ++i) p[i] = T(1); break;
    case Kind::Constant: for (index_t i = 0; i < count; ++i) p[i] = static_cast<T>(a); break;
    case Kind::Uniform: uniform(a, b); break;
    case Kind::Normal: normal(a, b); break;
    // Glorot & Bengio (2010): Var = 2 / (fan_in + fan_out)
    case Kind::GlorotUniform: { double l = std::sqrt(6.0 / (fi + fo)); uniform(-l, l); break; }
    case Kind::GlorotNormal: normal(0.0, std::sqrt(2.0 / (fi + fo))); break;
    // He et al. (2015): Var = 2 / fan_in
    case Kind::HeUniform: { double l = std::sqrt(6.0 / fi); uniform(-l, l); break; }
    case Kind::HeNormal: normal(0.0, std::sqrt(2.0 / fi)); break;
    // LeCun (1998): Var = 1 / fan_in
    case Kind::LecunUniform: { double l = std::sqrt(3.0 / fi); uniform(-l, l); break; }
    case Kind::LecunNormal: normal(0.0, std::sqrt(1.0 / fi)); break;
  }
}

template void Initializer::fill<float>(float*, index_t, index_t, index_t, Rng&) const;
template void Initializer::fill<double>(double*, index_t, index_t, index_t, Rng&) const;

// ------------------------------------------------------------------- Dense
template <class T>
Dense<T>::Dense(index_t units, bool use_bias, Initializer kernel_init, Initializer bias_init,
                std::unique_ptr<ActivationLayer<T>> activation)
    : units_(units),
      use_bias_(use_bias),
      kernel_init_(kernel_init),
      bias_init_(bias_init),
      act_(std::move(activation)) {
  if (units < 1) throw ValueError(cat("Dense: units must be >= 1, got ", units));
}

template <class T>
Dense<T>::Dense(index_t units, const std::string& activation, const std::string& kernel_init,
                const std::string& bias_init, bool use_bias)
    : Dense(units, use_bias, Initializer::from_name(kernel_init), Initializer::from_name(bias_init),
            activation.empty() || activation == "identity" || activation == "linear"
                ? nullptr
                : std::make_unique<ActivationLayer<T>>(activation_from_name(activation))) {}

template <class T>
Dense<T>::Dense(Dense&&) noexcept = default;

template <class T>
Dense<T>::~Dense() = default;

template <class T>
Json Dense<T>::config() const {
  return Json::object({{"type", "Dense"},
                       {"units", units_},
                       {"use_bias", use_bias_},
                       {"activation", act_ ? act_->config() : Json()},
                       {"kernel_init", kernel_init_.config()},
                       {"bias_init", bias_init_.config()}});
}

template <class T>
Shape Dense<T>::build(const Shape& input_shape) {
  if (input_shape.size() != 1)
    throw ValueError(cat("Dense: expected inputs of shape (n, features), got per-sample shape ",
                         shape_str(input_shape), "; add a Flatten layer before Dense"));
  in_ = input_shape[0];
  this->in_shape_ = input_shape;
  this->out_shape_ = {units_};
  if (act_) act_->build(this->out_shape_);
  return this->out_shape_;
}

template <class T>
index_t Dense<T>::num_params() const {
  return in_ * units_ + (use_bias_ ? units_ : 0);
}

template <class T>
std::vector<std::pair<std::string, Shape>> Dense<T>::param_shapes() const {
  std::vector<std::pair<std::string, Shape>> s{{"W", {in_, units_}}};
  if (use_bias_) s.push_back({"b", {units_}});
  return s;
}

template <class T>
void Dense<T>::bind(T* params, T* grads) {
  W_ = params;
  dW_ = grads;
  b_ = use_bias_ ? params + in_ * units_ : nullptr;
  db_ = use_bias_ ? grads + in_ * units_ : nullptr;
}

template <class T>
void Dense<T>::init_params(Rng& rng) {
  kernel_init_.fill(W_, in_ * units_, in_, units_, rng);
  if (use_bias_) bias_init_.fill(b_, units_, in_, units_, rng);
}

template <class T>
void Dense<T>::forward(const T* x, T* y, index_t n, bool training, Rng& rng) {
  if (!act_) {
    dense_forward(x, W_, b_, y, n, in_, units_);
    return;
  }
  if (act_->activation() == Activation::ReLU) {
    // Bias and ReLU fused into the GEMM epilogue; no pre-activation buffer
    // is needed because y > 0 exactly where x·W + b > 0.
    dense_forward(x, W_, b_, y, n, in_, units_, true);
    return;
  }
  z_.reserve_at_least(n * units_);
  dense_forward(x, W_, b_, z_.data(), n, in_, units_);
  act_->forward(z_.data(), y, n, training, rng);
}

template <class T>
void Dense<T>::backward(const T* x, const T* y, const T* dy, T* dx, index_t n) {
  if (!act_) {
    dense_backward(x, W_, dy, dW_, db_, dx, n, in_, units_);
    return;
  }
  dz_.reserve_at_least(n * units_);
  if (act_->activation() == Activation::ReLU)
    relu_backward(y, dy, dz_.data(), n * units_);
  else
    act_->backward(z_.data(), y, dy, dz_.data(), n);
  dense_backward(x, W_, dz_.data(), dW_, db_, dx, n, in_, units_);
}

template class Dense<float>;
template class Dense<double>;

}  // namespace entrena
