// Optimizers update the model's flat parameter buffer in one fused loop.
// Formulas and defaults are PyTorch's (torch.optim); the kernels they call
// (entrena/kernels/optimizers.hpp) quote them.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "entrena/common.hpp"
#include "entrena/json.hpp"
#include "entrena/kernels/optimizers.hpp"
#include "entrena/nn/params.hpp"

namespace entrena {

// One named buffer of optimizer state ("exp_avg", "momentum_buffer", ...):
// `size` elements at `data`, mirroring the parameter buffer.
template <class T>
struct StateBuffer {
  std::string name;
  T* data;
  index_t size;
};

template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;

  // The constructor arguments, PyTorch's names, as a JSON object (what
  // make_optimizer takes): {"lr": ..., ..., "clip_norm": null | x,
  // "clip_value": null | x}.
  virtual Json config() const = 0;

  // One update of p from grad, both (n,) flat buffers. When configured, the
  // gradient is first clipped in place (by value, then by global norm over
  // all of it, like torch.nn.utils.clip_grad_value_ / clip_grad_norm_).
  // `segments` cut the buffer into ranges with their options (weight decay
  // on or off; Sequential::param_segments()); each is updated in one fused
  // pass. No segments: one range of n with the default options. The state
  // is allocated for n parameters at the first step; later steps must pass
  // the same n.
  void step(T* p, T* grad, index_t n, const std::vector<ParamSegment>& segments = {});

  double lr() const { return lr_; }
  void set_lr(double lr);
  // Updates taken so far. Settable, to restore a saved state exactly (the
  // bias corrections of Adam and the lr decay of Adagrad depend on it).
  index_t steps() const { return steps_; }
  void set_steps(index_t steps);

  // Gradient clipping before each update; 0 turns it off (the default).
  double clip_norm() const { return clip_norm_; }
  void set_clip_norm(double max_norm);
  double clip_value() const { return clip_value_; }
  void set_clip_value(double clip_value);
  // The global gradient norm measured by the last step that clipped by norm
  // (before clipping); NaN if none did.
  double last_grad_norm() const { return last_grad_norm_; }

  // Allocates and initialises the state for n parameters, as the first step
  // would (so that a saved state can be copied in before any step). A no-op
  // if the state already has n elements; ValueError for another n.
  void init_state(index_t n);
  // Parameters the state is sized for; 0 before the first step / init_state.
  index_t state_size() const { return state_n_; }
  // The named state buffers (empty before the state is allocated). The
  // pointers stay valid for the optimizer's lifetime: buffers are never
  // reallocated once allocated.
  std::vector<StateBuffer<T>> state();

 protected:
  Optimizer(const char* who, double lr) { check_lr(who, lr); lr_ = lr; }
  static void check_lr(const std::string& who, double lr);
  // Subclasses: allocate their buffers for n parameters (and fill them with
  // their initial values), list them, and apply one update, with steps_
  // updates already taken, to the n parameters at `offset` of the buffer
  // (p and grad point there; state buffers are indexed from offset), with
  // or without weight decay.
  virtual void allocate(index_t n) = 0;
  virtual void list_state(std::vector<StateBuffer<T>>& out) = 0;
  virtual void update(T* p, const T* grad, index_t offset, index_t n, bool decay) = 0;
  // {"lr": lr(), ...extra, "clip_norm", "clip_value"}.
  Json config_with(Json extra) const;

  double lr_;
  index_t steps_ = 0;

 private:
  double clip_norm_ = 0.0;
  double clip_value_ = 0.0;
  double last_grad_norm_ = std::numeric_limits<double>::quiet_NaN();
  index_t state_n_ = 0;
};

// torch.optim.SGD: momentum, dampening, Nesterov, coupled weight decay.
// State: "momentum_buffer" when momentum != 0.
template <class T>
class SGD : public Optimizer<T> {
 public:
  explicit SGD(double lr = 0.01, double momentum = 0.0, double dampening = 0.0,
               double weight_decay = 0.0, bool nesterov = false);
  std::string name() const override { return "sgd"; }
  Json config() const override;
  const SgdConfig& hyper() const { return c_; }

 protected:
  void allocate(index_t n) override;
  void list_state(std::vector<StateBuffer<T>>& out) override;
  void update(T* p, const T* grad, index_t offset, index_t n, bool decay) override;

 private:
  SgdConfig c_;
  AlignedBuffer<T> momentum_;
};

// torch.optim.Adam (coupled weight decay) and, through AdamW, torch.optim.AdamW.
// State: "exp_avg", "exp_avg_sq", and "max_exp_avg_sq" with amsgrad.
template <class T>
class Adam : public Optimizer<T> {
 public:
  explicit Adam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                double weight_decay = 0.0, bool amsgrad = false);
  std::string name() const override { return c_.decoupled ? "adamw" : "adam"; }
  Json config() const override;
  const AdamConfig& hyper() const { return c_; }

 protected:
  Adam(const char* who, double lr, double beta1, double beta2, double eps, double weight_decay,
       bool amsgrad, bool decoupled);
  void allocate(index_t n) override;
  void list_state(std::vector<StateBuffer<T>>& out) override;
  void update(T* p, const T* grad, index_t offset, index_t n, bool decay) override;

 private:
  AdamConfig c_;
  AlignedBuffer<T> exp_avg_, exp_avg_sq_, max_exp_avg_sq_;
};

// torch.optim.AdamW: Adam with decoupled weight decay p = p * (1 - lr * wd).
template <class T>
class AdamW : public Adam<T> {
 public:
  explicit AdamW(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                 double weight_decay = 1e-2, bool amsgrad = false)
      : Adam<T>("adamw", lr, beta1, beta2, eps, weight_decay, amsgrad, true) {}
};

// torch.optim.RMSprop. State: "square_avg", "grad_avg" when centered,
// "momentum_buffer" when momentum > 0.
template <class T>
class RMSprop : public Optimizer<T> {
 public:
  explicit RMSprop(double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
                   double weight_decay = 0.0, double momentum = 0.0, bool centered = false);
  std::string name() const override { return "rmsprop"; }
  Json config() const override;
  const RmspropConfig& hyper() const { return c_; }

 protected:
  void allocate(index_t n) override;
  void list_state(std::vector<StateBuffer<T>>& out) override;
  void update(T* p, const T* grad, index_t offset, index_t n, bool decay) override;

 private:
  RmspropConfig c_;
  AlignedBuffer<T> square_avg_, grad_avg_, momentum_;
};

// torch.optim.Adagrad. State: "sum", starting at initial_accumulator_value.
template <class T>
class Adagrad : public Optimizer<T> {
 public:
  explicit Adagrad(double lr = 1e-2, double lr_decay = 0.0, double weight_decay = 0.0,
                   double initial_accumulator_value = 0.0, double eps = 1e-10);
  std::string name() const override { return "adagrad"; }
  Json config() const override;
  const AdagradConfig& hyper() const { return c_; }

 protected:
  void allocate(index_t n) override;
  void list_state(std::vector<StateBuffer<T>>& out) override;
  void update(T* p, const T* grad, index_t offset, index_t n, bool decay) override;

 private:
  AdagradConfig c_;
  AlignedBuffer<T> sum_;
};

}  // namespace entrena
