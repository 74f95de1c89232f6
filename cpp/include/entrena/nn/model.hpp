// A sequential model. It owns the parameters, gradients, activations and
// the random generator; parameters and gradients are single contiguous
// 64-byte-aligned buffers that every layer views into.
#pragma once

#include <memory>
#include <type_traits>
#include <vector>

#include "entrena/common.hpp"
#include "entrena/nn/layer.hpp"
#include "entrena/random.hpp"

namespace entrena {

template <class T>
class Sequential {
 public:
  explicit Sequential(std::uint64_t seed = 0) : rng_(seed) {}

  void add(std::unique_ptr<Layer<T>> layer);
  // Adds a layer given by value: model.add(Dense<float>(64, "relu")).
  template <class L, class = std::enable_if_t<std::is_base_of_v<Layer<T>, L>>>
  Sequential& add(L&& layer) {
    add(std::unique_ptr<Layer<T>>(std::make_unique<std::decay_t<L>>(std::forward<L>(layer))));
    return *this;
  }
  index_t num_layers() const { return static_cast<index_t>(layers_.size()); }
  Layer<T>& layer(index_t i);

  // Builds every layer for per-sample inputs of this shape, allocates the
  // flat buffers and initialises the parameters from the model's generator.
  void build(const Shape& input_shape);
  bool built() const { return built_; }
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return output_shape_; }

  // x: (n, *input_shape). Returns y: (n, *output_shape), valid until the next forward.
  const T* forward(const T* x, index_t n, bool training);
  // dy: (n, *output_shape), for the n of the last forward. Accumulates into grads().
  void backward(const T* dy);
  void zero_grad() { grads_.zero(); }

  T* params() { return params_.data(); }
  T* grads() { return grads_.data(); }
  index_t num_params() const { return params_.size(); }
  // Offset of layer i's parameters in the flat buffer.
  index_t param_offset(index_t i) const { return offsets_.at(static_cast<std::size_t>(i)); }

  Rng& rng() { return rng_; }
  void seed(std::uint64_t s) { rng_.seed_with(s); }

  // n of the last forward pass (0 if none is available for backward).
  index_t last_batch() const { return last_n_; }

 private:
  void check_built(const char* what) const;
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  std::vector<index_t> offsets_;
  Shape input_shape_, output_shape_;
  bool built_ = false;
  AlignedBuffer<T> params_, grads_;
  std::vector<AlignedBuffer<T>> acts_;   // acts_[i]: input of layer i; acts_[L]: output
  AlignedBuffer<T> gbuf_[2];             // ping-pong buffers for dL/d(activation)
  index_t last_n_ = 0;
  bool last_training_ = false;
  Rng rng_;
};

}  // namespace entrena
