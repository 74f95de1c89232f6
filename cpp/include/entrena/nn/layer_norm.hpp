// LayerNormalization: normalizes each sample over its last axis, as
// PyTorch's LayerNorm(features).
#pragma once

#include "entrena/nn/layer.hpp"
#include "entrena/nn/scale_shift.hpp"

namespace entrena {

// y = (x - mean) / sqrt(var + eps)·gamma + beta over the last axis of
// (n, ..., features), with the mean and biased variance of each row (in
// training and inference alike). gamma (init 1) and beta (init 0) have
// the size of the last axis and are left out with scale=false and
// center=false.
//
// Config: {"eps": number > 0, "center": bool, "scale": bool}.
template <class T>
class LayerNormalization : public Layer<T> {
 public:
  explicit LayerNormalization(double eps = 1e-5, bool center = true, bool scale = true);
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "LayerNormalization"; }
  // Acts on each step alone: the output keeps the input's mask over steps.
  MaskUse mask_use() const override { return MaskUse::Keep; }
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  std::vector<TensorSpec> param_specs() const override;
  void bind(const TensorPointers<T>& t) override;
  void init(Rng& rng) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;

  double eps() const { return eps_; }
  bool center() const { return affine_.center; }
  bool scale() const { return affine_.scale; }

 private:
  double eps_;
  index_t features_ = 0;
  ScaleShift<T> affine_;
  AlignedBuffer<T> save_mean_, save_invstd_;  // (rows,) of the last forward
};

}  // namespace entrena
