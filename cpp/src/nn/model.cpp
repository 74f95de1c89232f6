#include "entrena/nn/model.hpp"

#include <algorithm>

namespace entrena {

template <class T>
void Sequential<T>::add(std::unique_ptr<Layer<T>> layer) {
  if (built_) throw StateError("Sequential.add: the model is already built; add layers before the first fit or call");
  if (!layer) throw ValueError("Sequential.add: layer must not be null");
  layers_.push_back(std::move(layer));
}

template <class T>
Layer<T>& Sequential<T>::layer(index_t i) {
  if (i < 0 || i >= num_layers())
    throw ValueError(cat("Sequential.layer: index must be in [0, ", num_layers(), "), got ", i));
  return *layers_[static_cast<std::size_t>(i)];
}

template <class T>
void Sequential<T>::build(const Shape& input_shape) {
  if (built_) throw StateError("Sequential.build: the model is already built");
  if (layers_.empty()) throw ValueError("Sequential.build: the model has no layers");
  for (index_t d : input_shape)
    if (d < 1)
      throw ValueError(cat("Sequential.build: input_shape must have positive sizes, got ",
                           shape_str(input_shape)));
  Shape s = input_shape;
  index_t total = 0;
  offsets_.clear();
  for (auto& l : layers_) {
    s = l->build(s);
    offsets_.push_back(total);
    total += l->num_params();
  }
  params_.resize(total);
  grads_.resize(total);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    layers_[i]->bind(params_.data() + offsets_[i], grads_.data() + offsets_[i]);
    layers_[i]->init_params(rng_);
  }
  input_shape_ = input_shape;
  output_shape_ = s;
  acts_.resize(layers_.size() + 1);
  built_ = true;
}

template <class T>
void Sequential<T>::check_built(const char* what) const {
  if (!built_) throw StateError(cat("Sequential.", what, ": the model is not built yet (call build or fit first)"));
}

template <class T>
const T* Sequential<T>::forward(const T* x, index_t n, bool training) {
  check_built("forward");
  if (n < 1) throw ValueError(cat("Sequential.forward: n must be >= 1, got ", n));
  const std::size_t L = layers_.size();
  index_t in_size = shape_size(input_shape_);
  acts_[0].reserve_at_least(n * in_size);
  std::memcpy(acts_[0].data(), x, static_cast<std::size_t>(n * in_size) * sizeof(T));
  for (std::size_t i = 0; i < L; ++i) {
    const index_t out_size = shape_size(layers_[i]->output_shape());
    acts_[i + 1].reserve_at_least(n * out_size);
    layers_[i]->forward(acts_[i].data(), acts_[i + 1].data(), n, training, rng_);
  }
  last_n_ = n;
  last_training_ = training;
  return acts_[L].data();
}

template <class T>
void Sequential<T>::backward(const T* dy) {
  check_built("backward");
  if (last_n_ < 1) throw StateError("Sequential.backward: call forward before backward");
  const index_t n = last_n_;
  const std::size_t L = layers_.size();
  index_t widest = shape_size(input_shape_);
  for (auto& l : layers_) widest = std::max(widest, shape_size(l->output_shape()));
  gbuf_[0].reserve_at_least(n * widest);
  gbuf_[1].reserve_at_least(n * widest);
  const T* g = dy;
  for (std::size_t k = L; k-- > 0;) {
    // The first layer's input gradient is not needed.
    T* dx = k > 0 ? gbuf_[k % 2].data() : nullptr;
    layers_[k]->backward(acts_[k].data(), acts_[k + 1].data(), g, dx, n);
    g = dx;
  }
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace entrena
