// Pooling layers on (n, C, L) and (n, C, H, W), PyTorch's layout:
// MaxPool1D/2D and AvgPool1D/2D slide a window over the spatial axes;
// GlobalMaxPooling1D/2D and GlobalAveragePooling1D/2D pool each channel
// whole, (n, C, ...) -> (n, C).
#pragma once

#include <string>
#include <vector>

#include "entrena/kernels/pooling.hpp"
#include "entrena/nn/layer.hpp"

namespace entrena {

enum class PoolMode { Max, Average };

// The windows of pool_size moved by strides over the spatial sizes
// `spatial` ((L) or (H, W); one size per axis each) of `planes` planes,
// padded as nn/window.hpp says for "same". out_h or out_w is 0 when a
// "valid" window does not fit.
PoolGeometry pool_geometry(index_t planes, const Shape& spatial, const std::vector<index_t>& pool_size,
                           const std::vector<index_t>& strides, bool same);

// What the pooling layers share: the pooling kernels on the planes of
// geo_ (set by build, with planes = C per sample).
template <class T, PoolMode M>
class PoolingBase : public Layer<T> {
 public:
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;

 protected:
  // ValueError unless the per-sample shape is (C, L) (D = 1) or (C, H, W).
  void check_rank(const Shape& input_shape, int d) const;
  PoolGeometry geo_;
  // Max pooling in training: where each maximum of the last forward pass
  // was (the backward pass then reads neither x nor y); valid while
  // argmax_valid_.
  AlignedBuffer<std::int32_t> argmax_;
  bool argmax_valid_ = false;
};

// Windows of pool_size moved by strides over the last D axes: (n, C, L)
// -> (n, C, L') for D = 1, (n, C, H, W) -> (n, C, H', W') for D = 2.
// padding "valid": only whole windows, L' = (L - pool) / stride + 1;
// "same" (as Keras and TensorFlow): L' = ceil(L / stride), the input padded
// by max((L' - 1)·stride + pool - L, 0), half before it (rounded down) and
// the rest after it; padded positions never win a max and are not counted
// in an average. Windows may overlap (strides < pool_size). Max: the first
// maximum in window order (row by row) gets the gradient, as in PyTorch.
//
// Config: {"pool_size": int >= 1 or [k] (1-D) / [h, w] (2-D), default 2,
// "strides": null (= pool_size) or the same forms, "padding": "valid" | "same"}.
// The config written has both as arrays of D sizes.
template <class T, PoolMode M, int D>
class Pooling : public PoolingBase<T, M> {
 public:
  // One size for every axis; strides 0: pool_size.
  explicit Pooling(index_t pool_size = 2, index_t strides = 0, const std::string& padding = "valid");
  // D sizes each; empty strides: pool_size.
  Pooling(std::vector<index_t> pool_size, std::vector<index_t> strides, const std::string& padding = "valid");
  static std::unique_ptr<Layer<T>> from_config(Options& o);

  std::string kind() const override;
  Json args() const override;
  Shape build(const Shape& input_shape) override;

  const std::vector<index_t>& pool_size() const { return pool_; }
  const std::vector<index_t>& strides() const { return strides_; }
  const std::string& padding() const { return padding_; }

 private:
  std::vector<index_t> pool_, strides_;
  std::string padding_;
};

// The maximum or mean of each channel over all its positions:
// (n, C, L) -> (n, C) for D = 1, (n, C, H, W) -> (n, C) for D = 2.
//
// Config: {} (no arguments).
template <class T, PoolMode M, int D>
class GlobalPooling : public PoolingBase<T, M> {
 public:
  static std::unique_ptr<Layer<T>> from_config(Options&) { return std::make_unique<GlobalPooling>(); }
  std::string kind() const override;
  Shape build(const Shape& input_shape) override;
};

template <class T>
using MaxPool1D = Pooling<T, PoolMode::Max, 1>;
template <class T>
using MaxPool2D = Pooling<T, PoolMode::Max, 2>;
template <class T>
using AvgPool1D = Pooling<T, PoolMode::Average, 1>;
template <class T>
using AvgPool2D = Pooling<T, PoolMode::Average, 2>;
template <class T>
using GlobalMaxPooling1D = GlobalPooling<T, PoolMode::Max, 1>;
template <class T>
using GlobalMaxPooling2D = GlobalPooling<T, PoolMode::Max, 2>;
template <class T>
using GlobalAveragePooling1D = GlobalPooling<T, PoolMode::Average, 1>;
template <class T>
using GlobalAveragePooling2D = GlobalPooling<T, PoolMode::Average, 2>;

}  // namespace entrena
