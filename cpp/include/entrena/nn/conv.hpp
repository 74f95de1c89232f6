// Convolution layers: Conv1D over (n, C, L) sequences and Conv2D over
// (n, C, H, W) images, batch first and channels first as in PyTorch.
#pragma once

#include <array>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "entrena/kernels/conv.hpp"
#include "entrena/nn/activation.hpp"
#include "entrena/nn/layer.hpp"

namespace entrena {

// The arguments of a convolution layer beyond filters, kernel size and
// activation, with Python's defaults. Sizes per spatial axis take one
// value (for every axis) or one per axis.
struct ConvArgs {
  std::vector<index_t> strides{1};
  // "valid" (no padding) or "same" (output size ceil(size / stride)); not
  // used when pads is set.
  std::string padding = "valid";
  // Explicit zero padding, the same on both sides of an axis.
  std::vector<index_t> pads;
  std::vector<index_t> dilation_rate{1};
  index_t groups = 1;
  double alpha = std::numeric_limits<double>::quiet_NaN();  // leaky_relu / elu; NaN: the default
  bool use_bias = true;
  Initializer kernel_init{};                             // glorot_uniform
  Initializer bias_init{Initializer::Kind::Zeros};
};

// y = act(conv(x, W) + b) with R spatial axes (R = 1: Conv1D, 2: Conv2D):
// (n, C, *spatial) -> (n, filters, *out_spatial), cross-correlation as
// PyTorch's conv1d / conv2d compute it. W: (filters, C / groups, *kernel_size)
// and b: (filters,), PyTorch's and ONNX's layouts. groups splits the
// channels into groups convolved separately (groups = C: depthwise). With
// ReLU the bias and the activation run in the kernels' epilogue, and
// ReLU's backward pass where they read dy.
//
// Padding "same" gives out = ceil(size / stride) with a total padding of
// max((out - 1)·stride + (k - 1)·dilation + 1 - size, 0), the extra element
// (if odd) after the input, as in Keras and TensorFlow.
//
// Initializers see fan_in = C / groups · prod(kernel_size) and fan_out =
// filters · prod(kernel_size), as in Keras and PyTorch.
//
// Config: {"filters": int >= 1, "kernel_size": int >= 1 or [R of them],
// "strides": int >= 1 or [R], "padding": "valid" | "same" | int >= 0 | [R]
// (symmetric), "dilation_rate": int >= 1 or [R], "groups": int >= 1
// dividing filters and the input channels, "activation": null | name,
// "alpha": number (leaky_relu and elu only), "use_bias": bool,
// "kernel_init": initializer, "bias_init": initializer}. Written back with
// lists for the per-axis sizes.
template <class T, int R>
class Conv : public Layer<T> {
  static_assert(R == 1 || R == 2, "Conv: 1 or 2 spatial axes");

 public:
  Conv(index_t filters, std::vector<index_t> kernel_size, const std::string& activation = "",
       const ConvArgs& args = ConvArgs());
  static std::unique_ptr<Layer<T>> from_config(Options& o);

  std::string kind() const override { return R == 1 ? "Conv1D" : "Conv2D"; }
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  std::vector<TensorSpec> param_specs() const override;
  void bind(const TensorPointers<T>& t) override;
  void init(Rng& rng) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;

  index_t filters() const { return filters_; }
  index_t groups() const { return groups_; }
  const std::array<index_t, R>& kernel_size() const { return kernel_; }
  const std::array<index_t, R>& strides() const { return strides_; }
  const std::array<index_t, R>& dilation_rate() const { return dilation_; }
  // The padding before and after each axis (known after build).
  const std::array<index_t, R>& pads_before() const { return pad0_; }
  const std::array<index_t, R>& pads_after() const { return pad1_; }
  bool use_bias() const { return use_bias_; }
  Activation activation() const { return act_; }
  double alpha() const { return alpha_; }

 private:
  enum class Padding { Valid, Same, Explicit };
  index_t filters_, groups_;
  std::array<index_t, R> kernel_, strides_, dilation_, pads_, pad0_{}, pad1_{};
  Padding padding_;
  bool use_bias_;
  Initializer kernel_init_, bias_init_;
  Activation act_;
  double alpha_;
  Conv2dShape shape_{};  // the kernels' view: R = 1 is 2-D with H = 1
  AlignedBuffer<T> z_, dz_, work_;  // pre-activation and its gradient; kernel scratch
  T *W_ = nullptr, *b_ = nullptr, *dW_ = nullptr, *db_ = nullptr;
};

template <class T>
using Conv1D = Conv<T, 1>;
template <class T>
using Conv2D = Conv<T, 2>;

}  // namespace entrena
