// Embedding and Masking: the layers that start a sequence model.
#pragma once

#include <memory>
#include <string>

#include "entrena/nn/layer.hpp"

namespace entrena {

// Integer ids (n, ...) -> (n, ..., embedding_dim): row W[id] of the table W
// (num_embeddings, embedding_dim), PyTorch's nn.Embedding. The ids are the
// model's inputs as numbers; a value that is not an integer in
// [0, num_embeddings) is a ValueError (checked before anything is read).
// With padding_idx, that row starts at zero and is never trained (PyTorch),
// and on (n, steps) ids the layer masks the steps holding it (Keras'
// mask_zero for padding_idx = 0), so that recurrent layers and losses skip
// them. Initial values: standard normal (PyTorch) unless embeddings_init.
//
// Config: {"num_embeddings": int >= 1, "embedding_dim": int >= 1,
// "padding_idx": null | int in [0, num_embeddings), "embeddings_init": null |
// initializer}.
template <class T>
class Embedding : public Layer<T> {
 public:
  Embedding(index_t num_embeddings, index_t embedding_dim, index_t padding_idx = -1);
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "Embedding"; }
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  std::vector<TensorSpec> param_specs() const override;
  void bind(const TensorPointers<T>& t) override;
  void init(Rng& rng) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;
  void check_input(const T* x, index_t n) const override;
  MaskUse mask_use() const override;
  void compute_mask(const T* x, const std::uint8_t* in_mask, std::uint8_t* out, index_t n) override;
  void set_embeddings_init(const Json& init) { init_ = init; }

 private:
  index_t V_, D_, padding_idx_;
  Json init_;
  T *W_ = nullptr, *dW_ = nullptr;
};

// Masking(mask_value): on (n, steps, features), a step whose features all
// equal mask_value is masked (Keras): its output is zeros and the layers
// after it (recurrent layers, losses) skip it.
//
// Config: {"mask_value": number}.
template <class T>
class Masking : public Layer<T> {
 public:
  explicit Masking(double mask_value = 0.0) : value_(mask_value) {}
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "Masking"; }
  Json args() const override { return Json::object({{"mask_value", value_}}); }
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;
  MaskUse mask_use() const override { return MaskUse::Make; }
  void compute_mask(const T* x, const std::uint8_t* in_mask, std::uint8_t* out, index_t n) override;

 private:
  // Whether step r (of n·steps) of x is real: masked neither by the input's
  // mask nor by having every feature equal to mask_value.
  bool real_step(const T* x, index_t r, const std::uint8_t* in_mask) const;
  // dst = src at the real steps of x, zeros elsewhere (n, steps, features).
  void copy_real_steps(const T* x, const T* src, T* dst, index_t n) const;
  double value_;
};

}  // namespace entrena
