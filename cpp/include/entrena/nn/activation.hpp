// The activation layer: applies one element-wise activation kernel.
#pragma once

#include <string>

#include "entrena/nn/layer.hpp"

namespace entrena {

// Element-wise activation layer.
enum class Activation : int { ReLU = 0 };
Activation activation_from_name(const std::string& name);
std::string activation_name(Activation a);

template <class T>
class ActivationLayer : public Layer<T> {
 public:
  explicit ActivationLayer(Activation act) : act_(act) {}
  std::string kind() const override { return "Activation"; }
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;
  Activation activation() const { return act_; }

 private:
  Activation act_;
};

}  // namespace entrena
