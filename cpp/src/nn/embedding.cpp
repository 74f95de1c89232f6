#include "entrena/nn/embedding.hpp"

#include <cstring>

#include "entrena/kernels/embedding.hpp"
#include "entrena/nn/initializer.hpp"

namespace entrena {

// --------------------------------------------------------------- Embedding
template <class T>
Embedding<T>::Embedding(index_t num_embeddings, index_t embedding_dim, index_t padding_idx)
    : V_(check_integer("num_embeddings", num_embeddings, 1)),
      D_(check_integer("embedding_dim", embedding_dim, 1)),
      padding_idx_(padding_idx) {
  if (padding_idx < -1 || padding_idx >= V_)
    throw ValueError(cat("padding_idx: expected None or an integer in [0, ", V_, "), got ", padding_idx));
  // Ids arrive as T: float32 holds every integer up to 2^24 exactly, no more.
  if (sizeof(T) == 4 && V_ > (index_t(1) << 24))
    throw ValueError(cat("num_embeddings: at most 16777216 in a float32 model (ids are float32 values, exact up "
                         "to 2^24), got ", V_, "; use a float64 model"));
}

template <class T>
std::unique_ptr<Layer<T>> Embedding<T>::from_config(Options& o) {
  if (!o.has("num_embeddings")) throw ValueError("num_embeddings: missing (the size of the vocabulary)");
  if (!o.has("embedding_dim")) throw ValueError("embedding_dim: missing (the size of each vector)");
  const index_t V = o.integer("num_embeddings", 0, 1);
  const index_t D = o.integer("embedding_dim", 0, 1);
  index_t pad = -1;
  const Json* p = o.get("padding_idx");
  if (p && !p->is_null()) pad = o.integer("padding_idx", 0, 0);
  auto layer = std::make_unique<Embedding<T>>(V, D, pad);
  const Json* init = o.get("embeddings_init");
  if (init && !init->is_null()) {
    Initializer::from_config(*init, "embeddings_init");
    layer->set_embeddings_init(*init);
  }
  return layer;
}

template <class T>
Json Embedding<T>::args() const {
  return Json::object({{"num_embeddings", V_},
                       {"embedding_dim", D_},
                       {"padding_idx", padding_idx_ < 0 ? Json() : Json(padding_idx_)},
                       {"embeddings_init", init_}});
}

template <class T>
Shape Embedding<T>::build(const Shape& input_shape) {
  if (input_shape.empty())
    throw ValueError(cat("Embedding: expected ids of shape (n, ...), got per-sample shape ", shape_str(input_shape)));
  this->in_shape_ = input_shape;
  this->out_shape_ = input_shape;
  this->out_shape_.push_back(D_);
  return this->out_shape_;
}

template <class T>
std::vector<TensorSpec> Embedding<T>::param_specs() const {
  return {{"W", {V_, D_}}};
}

template <class T>
void Embedding<T>::bind(const TensorPointers<T>& t) {
  W_ = t.params[0];
  dW_ = t.grads[0];
}

template <class T>
void Embedding<T>::init(Rng& rng) {
  const Initializer init = init_.is_null() ? Initializer{Initializer::Kind::Normal, 0.0, 1.0}
                                           : Initializer::from_config(init_, "embeddings_init");
  init.fill(W_, V_ * D_, V_, D_, rng);
  if (padding_idx_ >= 0) std::memset(W_ + padding_idx_ * D_, 0, sizeof(T) * static_cast<std::size_t>(D_));
}

template <class T>
void Embedding<T>::check_input(const T* x, index_t n) const {
  embedding_check_ids(x, n * shape_size(this->in_shape_), V_);
}

template <class T>
void Embedding<T>::forward(const T* x, T* y, index_t n, bool, Rng&) {
  embedding_forward(x, W_, y, n * shape_size(this->in_shape_), V_, D_);
}

template <class T>
void Embedding<T>::backward(const T* x, const T*, const T* dy, T* dx, index_t n) {
  const index_t count = n * shape_size(this->in_shape_);
  embedding_backward(x, dy, dW_, count, V_, D_, padding_idx_);
  // The ids are not differentiable.
  if (dx) std::memset(dx, 0, sizeof(T) * static_cast<std::size_t>(count));
}

template <class T>
MaskUse Embedding<T>::mask_use() const {
  return padding_idx_ >= 0 && this->in_shape_.size() == 1 ? MaskUse::Make : MaskUse::Drop;
}

template <class T>
void Embedding<T>::compute_mask(const T* x, const std::uint8_t*, std::uint8_t* out, index_t n) {
  const index_t count = n * shape_size(this->in_shape_);
  const T pad = static_cast<T>(padding_idx_);
  for (index_t i = 0; i < count; ++i) out[i] = x[i] != pad;
}

// ----------------------------------------------------------------- Masking
template <class T>
std::unique_ptr<Layer<T>> Masking<T>::from_config(Options& o) {
  return std::make_unique<Masking<T>>(o.number("mask_value", 0.0));
}

template <class T>
Shape Masking<T>::build(const Shape& input_shape) {
  if (input_shape.size() != 2)
    throw ValueError(cat("Masking: expected sequences of shape (n, steps, features), got per-sample shape ",
                         shape_str(input_shape)));
  this->in_shape_ = this->out_shape_ = input_shape;
  return input_shape;
}

template <class T>
bool Masking<T>::real_step(const T* x, index_t r, const std::uint8_t* in_mask) const {
  if (in_mask && !in_mask[r]) return false;
  const index_t F = this->in_shape_[1];
  const T v = static_cast<T>(value_);
  for (index_t f = 0; f < F; ++f)
    if (x[r * F + f] != v) return true;
  return false;
}

template <class T>
void Masking<T>::copy_real_steps(const T* x, const T* src, T* dst, index_t n) const {
  const index_t steps = this->in_shape_[0], F = this->in_shape_[1];
  for (index_t r = 0; r < n * steps; ++r) {
    const bool keep = real_step(x, r, this->in_mask_);
    for (index_t f = 0; f < F; ++f) dst[r * F + f] = keep ? src[r * F + f] : T(0);
  }
}

template <class T>
void Masking<T>::compute_mask(const T* x, const std::uint8_t* in_mask, std::uint8_t* out, index_t n) {
  for (index_t r = 0; r < n * this->in_shape_[0]; ++r) out[r] = real_step(x, r, in_mask);
}

template <class T>
void Masking<T>::forward(const T* x, T* y, index_t n, bool, Rng&) {
  copy_real_steps(x, x, y, n);
}

template <class T>
void Masking<T>::backward(const T* x, const T*, const T* dy, T* dx, index_t n) {
  if (dx) copy_real_steps(x, dy, dx, n);
}

template class Embedding<float>;
template class Embedding<double>;
template class Masking<float>;
template class Masking<double>;

}  // namespace entrena
