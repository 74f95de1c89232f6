// Dense: a fully connected layer over the last axis.
#pragma once

#include <memory>
#include <string>

#include "entrena/nn/activation.hpp"
#include "entrena/nn/layer.hpp"

namespace entrena {

// y = act(x·W + b) over the last axis: (n, ..., in) -> (n, ..., units), as
// in Keras. W: (in, units), b: (units,). The activation is optional (none:
// y = x·W + b); with ReLU the bias add and the activation run in the GEMM
// epilogue.
//
// Config: {"units": int >= 1, "activation": null | name, "alpha": number
// (leaky_relu and elu only), "use_bias": bool, "kernel_init": initializer,
// "bias_init": initializer}.
template <class T>
class Dense : public Layer<T> {
 public:
  // As Python's Dense(units, activation, ...): activation is a name
  // (activation_names()), or "" / "identity" / "linear" for none; the
  // initializers by name; alpha NaN for the activation's default.
  explicit Dense(index_t units, const std::string& activation = "",
                 const std::string& kernel_init = "glorot_uniform", const std::string& bias_init = "zeros",
                 bool use_bias = true, double alpha = std::numeric_limits<double>::quiet_NaN());
  // The same with initializers that take arguments.
  Dense(index_t units, const std::string& activation, Initializer kernel_init, Initializer bias_init,
        bool use_bias = true, double alpha = std::numeric_limits<double>::quiet_NaN());
  static std::unique_ptr<Layer<T>> from_config(Options& o);

  std::string kind() const override { return "Dense"; }
  // Acts on each step alone: the output keeps the input's mask over steps.
  MaskUse mask_use() const override { return MaskUse::Keep; }
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  std::vector<TensorSpec> param_specs() const override;
  void bind(const TensorPointers<T>& t) override;
  void init(Rng& rng) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;

  index_t units() const { return units_; }
  index_t in_features() const { return in_; }
  bool use_bias() const { return use_bias_; }
  const Initializer& kernel_init() const { return kernel_init_; }
  const Initializer& bias_init() const { return bias_init_; }
  // The fused activation (Identity when there is none) and its alpha.
  Activation activation() const { return act_; }
  double alpha() const { return alpha_; }

 private:
  index_t units_, in_ = 0;
  bool use_bias_;
  Initializer kernel_init_, bias_init_;
  Activation act_;
  double alpha_;
  AlignedBuffer<T> z_, dz_;  // pre-activation and its gradient (with an activation other than ReLU)
  T *W_ = nullptr, *b_ = nullptr, *dW_ = nullptr, *db_ = nullptr;
};

}  // namespace entrena
