// Normalization: standardizes features with fixed statistics (Keras'
// Normalization layer), so a model takes raw data.
#pragma once

#include "entrena/nn/layer.hpp"

namespace entrena {

// y = (x - mean) / max(sqrt(variance), 1e-7) over the last axis of
// (n, ..., features). mean and variance are buffers (saved with the model,
// never trained), starting at 0 and 1 (the identity); adapt() sets them
// from data. The backward pass is dx = dy / max(sqrt(variance), 1e-7).
//
// Config: {} (no arguments; the statistics are buffers, not arguments).
template <class T>
class Normalization : public Layer<T> {
 public:
  static constexpr double kEps = 1e-7;
  static std::unique_ptr<Layer<T>> from_config(Options&) { return std::make_unique<Normalization<T>>(); }
  std::string kind() const override { return "Normalization"; }
  // Acts on each step alone: the output keeps the input's mask over steps.
  MaskUse mask_use() const override { return MaskUse::Keep; }
  Shape build(const Shape& input_shape) override;
  std::vector<TensorSpec> buffer_specs() const override;
  void bind(const TensorPointers<T>& t) override;
  void init(Rng& rng) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;

  // Sets mean and variance to the statistics of x: (n, *input_shape)
  // (every position of every sample counts as one observation). The layer
  // must be built (it belongs to a built model).
  void adapt(const T* x, index_t n);
  index_t features() const { return features_; }

 private:
  index_t features_ = 0;
  T *mean_ = nullptr, *var_ = nullptr;
};

}  // namespace entrena
