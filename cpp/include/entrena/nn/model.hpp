// A sequential model. It owns the parameters, gradients, buffers,
// activations and the random generator. Parameters, gradients and buffers
// are single contiguous 64-byte-aligned arrays; every tensor of every layer
// is a view into them, laid out layer after layer in the order of the
// layers' specs.
//
// Threads: calls that use the activation buffers (forward, backward, and
// fit, train_epoch, evaluate and predict for their whole duration) take the
// model's lock, so one model used from several threads serializes them
// instead of corrupting them; different models run concurrently. The lock
// is recursive: a fit callback may predict with the same model.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "entrena/common.hpp"
#include "entrena/nn/layer.hpp"
#include "entrena/nn/params.hpp"
#include "entrena/random.hpp"

namespace entrena {

// One tensor of a built model.
struct TensorInfo {
  std::string name;  // "layers.{k}.{spec name}", as in model files
  index_t layer = 0;
  std::string local;  // the spec name within the layer ("W")
  Shape shape;
  index_t offset = 0;  // into params() / grads() or into buffers()
  index_t size = 0;
};

// The seed of the next model created without one: drawn from a generator
// that set_seed(s) seeds (like torch.manual_seed), or from the operating
// system's entropy before any set_seed. Thread-safe.
void set_seed(std::uint64_t seed);
std::uint64_t next_seed();

template <class T>
class Sequential {
 public:
  // A model whose generator starts from next_seed().
  Sequential() : Sequential(next_seed()) {}
  explicit Sequential(std::uint64_t seed) : rng_(seed) {}

  void add(std::unique_ptr<Layer<T>> layer);
  // Adds a layer given by value: model.add(Dense<float>(64, "relu")).
  template <class L, class = std::enable_if_t<std::is_base_of_v<Layer<T>, L>>>
  Sequential& add(L&& layer) {
    add(std::unique_ptr<Layer<T>>(std::make_unique<std::decay_t<L>>(std::forward<L>(layer))));
    return *this;
  }
  index_t num_layers() const { return static_cast<index_t>(layers_.size()); }
  Layer<T>& layer(index_t i);
  const Layer<T>& layer(index_t i) const;

  // Builds every layer for per-sample inputs of this shape, allocates the
  // flat arrays and initialises parameters and buffers from the model's
  // generator.
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
  T* buffers() { return buffers_.data(); }
  index_t num_buffer_elements() const { return buffers_.size(); }

  // Every parameter tensor and every buffer, in buffer order.
  const std::vector<TensorInfo>& param_info() const { return param_info_; }
  const std::vector<TensorInfo>& buffer_info() const { return buffer_info_; }
  // Layer i's parameter tensors: indices [first, last) into param_info().
  std::pair<index_t, index_t> layer_params(index_t i) const;
  std::pair<index_t, index_t> layer_buffers(index_t i) const;

  // Options of parameter tensor i (an index into param_info()).
  const ParamOptions& param_options(index_t i) const;
  void set_param_options(index_t i, const ParamOptions& options);
  // The parameter buffer cut into maximal runs of tensors with equal options
  // (one segment when every tensor has the defaults).
  const std::vector<ParamSegment>& param_segments() const { return segments_; }

  Rng& rng() { return rng_; }

  // The precision policy: with bf16 set (float32 models only), the matrix
  // products of every layer (Dense, convolutions through GEMM, recurrent
  // layers) take bfloat16 operands with float32 accumulation, in training,
  // evaluation and prediction (Keras' "mixed_bfloat16"). Parameters,
  // gradients, optimizer state, losses and normalizations stay float32.
  // Throws ValueError for a float64 model.
  void set_bf16(bool on);
  bool bf16() const { return bf16_; }
  void seed(std::uint64_t s) { rng_.seed_with(s); }

  // The mask over the steps of the last forward's output (n,
  // output_mask_steps()), 1 for a real step, or null when the output has
  // none. A layer that makes a mask (Embedding with padding_idx, Masking)
  // starts one; layers acting on each step alone keep it; recurrent layers
  // read it (and keep it with return_sequences); other layers drop it.
  const std::uint8_t* output_mask() const { return output_mask_; }
  index_t output_mask_steps() const { return mask_steps_.empty() ? 0 : mask_steps_.back(); }
  // Checks the values of inputs x (n, *input_shape) as the first layer
  // requires (ValueError): fit, evaluate and predict call it first.
  void check_input(const T* x, index_t n) const;

  // Forgets the initial states and state gradients set on layers and not
  // used yet (forward and backward do it when they fail).
  void clear_pending();

  // n of the last forward pass (0 if none is available for backward).
  index_t last_batch() const { return last_n_; }

  // Holds the model's lock (see above) until the returned guard goes away.
  std::unique_lock<std::recursive_mutex> lock() const { return std::unique_lock<std::recursive_mutex>(mu_); }

 private:
  void check_built(const char* what) const;
  void update_segments();
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  Shape input_shape_, output_shape_;
  bool built_ = false;
  AlignedBuffer<T> params_, grads_, buffers_;
  std::vector<TensorInfo> param_info_, buffer_info_;
  std::vector<std::pair<index_t, index_t>> layer_param_range_, layer_buffer_range_;
  std::vector<ParamOptions> options_;
  std::vector<ParamSegment> segments_;
  std::vector<AlignedBuffer<T>> acts_;  // acts_[i]: input of layer i; acts_[L]: output
  AlignedBuffer<T> gbuf_[2];            // ping-pong buffers for dL/d(activation)
  std::vector<index_t> mask_steps_;     // mask_steps_[i]: steps of the mask of layer i's input (0: none)
  std::vector<std::vector<std::uint8_t>> masks_;  // masks_[i]: the mask layer i-1 made
  const std::uint8_t* output_mask_ = nullptr;
  index_t last_n_ = 0;
  Rng rng_;
  bool bf16_ = false;
  bool bf16_products_model() const { return bf16_ && std::is_same_v<T, float>; }
  mutable std::recursive_mutex mu_;
};

}  // namespace entrena
