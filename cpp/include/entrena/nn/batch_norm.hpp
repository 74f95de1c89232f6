// BatchNormalization: normalizes each channel of (n, C, ...) (or each
// feature of (n, F)) with batch statistics in training and running
// statistics in inference, as PyTorch's BatchNorm1d/2d.
#pragma once

#include "entrena/nn/layer.hpp"
#include "entrena/nn/scale_shift.hpp"

namespace entrena {

// Over axis 1: y = (x - mean) / sqrt(var + eps)·gamma + beta per channel.
// Training: mean and the biased variance of the batch (over the samples
// and positions of each channel, which must be more than one value), and
// the running statistics updated as
//   running = (1 - momentum)·running + momentum·batch
// with the unbiased batch variance (PyTorch's momentum, not Keras': 0.1
// here is Keras' 0.9); the backward pass goes through the batch statistics.
// Inference: the running statistics, and the affine backward pass.
// gamma (init 1) and beta (init 0) are parameters, left out with
// scale=false and center=false; running_mean (0) and running_var (1) are
// buffers (saved with the model, never trained).
//
// Config: {"momentum": number in [0, 1], "eps": number > 0, "center": bool,
// "scale": bool}.
template <class T>
class BatchNormalization : public Layer<T> {
 public:
  explicit BatchNormalization(double momentum = 0.1, double eps = 1e-5, bool center = true, bool scale = true);
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "BatchNormalization"; }
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  std::vector<TensorSpec> param_specs() const override;
  std::vector<TensorSpec> buffer_specs() const override;
  void bind(const TensorPointers<T>& t) override;
  void init(Rng& rng) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;

  double momentum() const { return momentum_; }
  double eps() const { return eps_; }
  bool center() const { return affine_.center; }
  bool scale() const { return affine_.scale; }

 private:
  double momentum_, eps_;
  index_t channels_ = 0, positions_ = 1;  // C and S of (n, C, S)
  bool trained_ = false;                  // whether the last forward used batch statistics
  ScaleShift<T> affine_;
  T *running_mean_ = nullptr, *running_var_ = nullptr;
  AlignedBuffer<T> save_mean_, save_invstd_;  // (C,): the statistics of the last forward
};

}  // namespace entrena
