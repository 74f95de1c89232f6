// Optimizers update the model's flat parameter buffer in one fused loop.
#pragma once

#include <string>

#include "entrena/common.hpp"

namespace entrena {

template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  // p, grad: (n,) flat buffers; state is allocated at the first step.
  virtual void step(T* p, const T* grad, index_t n) = 0;
  double lr() const { return lr_; }
  void set_lr(double lr);
  index_t steps() const { return steps_; }

 protected:
  Optimizer(const char* who, double lr) { check_lr(who, lr); lr_ = lr; }
  static void check_lr(const std::string& who, double lr);
  double lr_;
  index_t steps_ = 0;
};

// torch.optim.SGD without momentum: p -= lr * (grad + weight_decay * p)
template <class T>
class SGD : public Optimizer<T> {
 public:
  explicit SGD(double lr = 0.01, double weight_decay = 0.0);
  std::string name() const override { return "sgd"; }
  void step(T* p, const T* grad, index_t n) override;

 private:
  double weight_decay_;
};

}  // namespace entrena
