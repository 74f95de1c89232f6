#include "entrena/nn/optimizer.hpp"

#include <cmath>

#include "entrena/nn/options.hpp"

namespace entrena {

namespace {

// Argument checks of the constructors; messages as in nn/options.hpp
// ("momentum: expected a finite number >= 0, got -1").
void check_at_least(const char* what, double v, double lo) { check_number(what, v, lo); }
void check_positive(const char* what, double v) { check_number(what, v, 0.0, HUGE_VAL, true); }
void check_unit(const char* what, double v, bool closed_top) { check_number(what, v, 0.0, 1.0, false, !closed_top); }

}  // namespace

// ------------------------------------------------------------------- base

template <class T>
void Optimizer<T>::check_lr(const std::string&, double lr) {
  check_at_least("lr", lr, 0.0);
}

template <class T>
void Optimizer<T>::set_lr(double lr) {
  check_lr(name(), lr);
  lr_ = lr;
}

template <class T>
void Optimizer<T>::set_steps(index_t steps) {
  check_integer("steps", steps, 0);
  steps_ = steps;
}

template <class T>
void Optimizer<T>::set_clip_norm(double max_norm) {
  check_at_least("clip_norm", max_norm, 0.0);
  clip_norm_ = max_norm;
}

template <class T>
void Optimizer<T>::set_clip_value(double clip_value) {
  check_at_least("clip_value", clip_value, 0.0);
  clip_value_ = clip_value;
}

template <class T>
Json Optimizer<T>::config_with(Json extra) const {
  Json j = Json::object({{"lr", lr_}});
  for (const auto& m : extra.as_object()) j[m.first] = m.second;
  j["clip_norm"] = clip_norm_ > 0.0 ? Json(clip_norm_) : Json();
  j["clip_value"] = clip_value_ > 0.0 ? Json(clip_value_) : Json();
  return j;
}

template <class T>
void Optimizer<T>::init_state(index_t n) {
  if (n < 1) throw ValueError(cat(name(), ": the number of parameters must be >= 1, got ", n));
  if (state_n_ == n) return;
  if (state_n_ != 0)
    throw ValueError(cat(name(), ": expected ", state_n_,
                         " parameters (the optimizer state is sized for them), got ", n,
                         "; use one optimizer per model"));
  allocate(n);
  state_n_ = n;
}

template <class T>
std::vector<StateBuffer<T>> Optimizer<T>::state() {
  std::vector<StateBuffer<T>> out;
  if (state_n_ > 0) list_state(out);
  return out;
}

template <class T>
void Optimizer<T>::step(T* p, T* grad, index_t n, const std::vector<ParamSegment>& segments) {
  if (n < 0) throw ValueError(cat(name(), ": the number of parameters must be >= 0, got ", n));
  for (const ParamSegment& s : segments)
    if (s.offset < 0 || s.size < 0 || s.offset > n - s.size)
      throw ValueError(cat(name(), ": segment [", s.offset, ", ", s.offset + s.size, ") is outside the ", n,
                           " parameters"));
  if (n == 0) {  // a model without parameters: nothing to update
    ++steps_;
    return;
  }
  init_state(n);
  // Value first, then norm: the norm is that of the gradient actually used.
  if (clip_value_ > 0.0) clip_grad_value(grad, n, clip_value_);
  if (clip_norm_ > 0.0) last_grad_norm_ = clip_grad_norm(grad, n, clip_norm_);
  if (segments.empty()) {
    update(p, grad, 0, n, true);
  } else {
    for (const ParamSegment& s : segments)
      if (s.size > 0) update(p + s.offset, grad + s.offset, s.offset, s.size, s.options.weight_decay);
  }
  ++steps_;
}

// -------------------------------------------------------------------- SGD

template <class T>
SGD<T>::SGD(double lr, double momentum, double dampening, double weight_decay, bool nesterov)
    : Optimizer<T>("sgd", lr) {
  check_at_least("momentum", momentum, 0.0);
  check_unit("dampening", dampening, true);
  check_at_least("weight_decay", weight_decay, 0.0);
  if (nesterov && (momentum <= 0.0 || dampening != 0.0))
    throw ValueError(cat("nesterov: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum = ",
                         momentum, ", dampening = ", dampening));
  c_ = SgdConfig{lr, momentum, dampening, weight_decay, nesterov};
}

template <class T>
void SGD<T>::allocate(index_t n) {
  if (c_.momentum != 0.0) momentum_.resize(n);
}

template <class T>
void SGD<T>::list_state(std::vector<StateBuffer<T>>& out) {
  if (c_.momentum != 0.0) out.push_back({"momentum_buffer", momentum_.data(), momentum_.size()});
}

template <class T>
Json SGD<T>::config() const {
  return this->config_with(Json::object({{"momentum", c_.momentum},
                                         {"dampening", c_.dampening},
                                         {"weight_decay", c_.weight_decay},
                                         {"nesterov", c_.nesterov}}));
}

template <class T>
void SGD<T>::update(T* p, const T* grad, index_t offset, index_t n, bool decay) {
  SgdConfig c = c_;
  c.lr = this->lr_;
  if (!decay) c.weight_decay = 0.0;
  // PyTorch creates the buffer as a copy of g at the first step.
  sgd_step(p, grad, c_.momentum != 0.0 ? momentum_.data() + offset : nullptr, n, c, this->steps_ == 0);
}

// ------------------------------------------------------------- Adam, AdamW

template <class T>
Adam<T>::Adam(double lr, double beta1, double beta2, double eps, double weight_decay, bool amsgrad)
    : Adam("adam", lr, beta1, beta2, eps, weight_decay, amsgrad, false) {}

template <class T>
Adam<T>::Adam(const char* who, double lr, double beta1, double beta2, double eps,
              double weight_decay, bool amsgrad, bool decoupled)
    : Optimizer<T>(who, lr) {
  check_unit("betas[0]", beta1, false);
  check_unit("betas[1]", beta2, false);
  check_positive("eps", eps);
  check_at_least("weight_decay", weight_decay, 0.0);
  c_ = AdamConfig{lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled};
}

template <class T>
void Adam<T>::allocate(index_t n) {
  exp_avg_.resize(n);
  exp_avg_sq_.resize(n);
  if (c_.amsgrad) max_exp_avg_sq_.resize(n);
}

template <class T>
void Adam<T>::list_state(std::vector<StateBuffer<T>>& out) {
  out.push_back({"exp_avg", exp_avg_.data(), exp_avg_.size()});
  out.push_back({"exp_avg_sq", exp_avg_sq_.data(), exp_avg_sq_.size()});
  if (c_.amsgrad) out.push_back({"max_exp_avg_sq", max_exp_avg_sq_.data(), max_exp_avg_sq_.size()});
}

template <class T>
Json Adam<T>::config() const {
  return this->config_with(Json::object({{"betas", Json::array({Json(c_.beta1), Json(c_.beta2)})},
                                         {"eps", c_.eps},
                                         {"weight_decay", c_.weight_decay},
                                         {"amsgrad", c_.amsgrad}}));
}

template <class T>
void Adam<T>::update(T* p, const T* grad, index_t offset, index_t n, bool decay) {
  AdamConfig c = c_;
  c.lr = this->lr_;
  if (!decay) c.weight_decay = 0.0;
  adam_step(p, grad, exp_avg_.data() + offset, exp_avg_sq_.data() + offset,
            c_.amsgrad ? max_exp_avg_sq_.data() + offset : nullptr, n, c, this->steps_ + 1);
}

// ---------------------------------------------------------------- RMSprop

template <class T>
RMSprop<T>::RMSprop(double lr, double alpha, double eps, double weight_decay, double momentum,
                    bool centered)
    : Optimizer<T>("rmsprop", lr) {
  check_unit("alpha", alpha, true);
  check_positive("eps", eps);
  check_at_least("weight_decay", weight_decay, 0.0);
  check_at_least("momentum", momentum, 0.0);
  c_ = RmspropConfig{lr, alpha, eps, weight_decay, momentum, centered};
}

template <class T>
void RMSprop<T>::allocate(index_t n) {
  square_avg_.resize(n);
  if (c_.centered) grad_avg_.resize(n);
  if (c_.momentum > 0.0) momentum_.resize(n);
}

template <class T>
void RMSprop<T>::list_state(std::vector<StateBuffer<T>>& out) {
  out.push_back({"square_avg", square_avg_.data(), square_avg_.size()});
  if (c_.momentum > 0.0) out.push_back({"momentum_buffer", momentum_.data(), momentum_.size()});
  if (c_.centered) out.push_back({"grad_avg", grad_avg_.data(), grad_avg_.size()});
}

template <class T>
Json RMSprop<T>::config() const {
  return this->config_with(Json::object({{"alpha", c_.alpha},
                                         {"eps", c_.eps},
                                         {"weight_decay", c_.weight_decay},
                                         {"momentum", c_.momentum},
                                         {"centered", c_.centered}}));
}

template <class T>
void RMSprop<T>::update(T* p, const T* grad, index_t offset, index_t n, bool decay) {
  RmspropConfig c = c_;
  c.lr = this->lr_;
  if (!decay) c.weight_decay = 0.0;
  rmsprop_step(p, grad, square_avg_.data() + offset, c_.centered ? grad_avg_.data() + offset : nullptr,
               c_.momentum > 0.0 ? momentum_.data() + offset : nullptr, n, c);
}

// ---------------------------------------------------------------- Adagrad

template <class T>
Adagrad<T>::Adagrad(double lr, double lr_decay, double weight_decay,
                    double initial_accumulator_value, double eps)
    : Optimizer<T>("adagrad", lr) {
  check_at_least("lr_decay", lr_decay, 0.0);
  check_at_least("weight_decay", weight_decay, 0.0);
  check_at_least("initial_accumulator_value", initial_accumulator_value, 0.0);
  check_positive("eps", eps);
  c_ = AdagradConfig{lr, lr_decay, weight_decay, initial_accumulator_value, eps};
}

template <class T>
void Adagrad<T>::allocate(index_t n) {
  sum_.resize(n);
  const T init = static_cast<T>(c_.initial_accumulator_value);
  for (index_t i = 0; i < n; ++i) sum_[i] = init;
}

template <class T>
void Adagrad<T>::list_state(std::vector<StateBuffer<T>>& out) {
  out.push_back({"sum", sum_.data(), sum_.size()});
}

template <class T>
Json Adagrad<T>::config() const {
  return this->config_with(Json::object({{"lr_decay", c_.lr_decay},
                                         {"weight_decay", c_.weight_decay},
                                         {"initial_accumulator_value", c_.initial_accumulator_value},
                                         {"eps", c_.eps}}));
}

template <class T>
void Adagrad<T>::update(T* p, const T* grad, index_t offset, index_t n, bool decay) {
  AdagradConfig c = c_;
  c.lr = this->lr_;
  if (!decay) c.weight_decay = 0.0;
  adagrad_step(p, grad, sum_.data() + offset, n, c, this->steps_ + 1);
}

#define ENTRENA_OPTIMIZERS(T)  \
  template class Optimizer<T>; \
  template class SGD<T>;       \
  template class Adam<T>;      \
  template class AdamW<T>;     \
  template class RMSprop<T>;   \
  template class Adagrad<T>;
ENTRENA_OPTIMIZERS(float)
ENTRENA_OPTIMIZERS(double)
#undef ENTRENA_OPTIMIZERS

}  // namespace entrena
