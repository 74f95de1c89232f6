// Flatten: (n, d1, d2, ...) -> (n, d1·d2·...); ShapeOnlyLayer, the base of
// the layers that change only the per-sample shape (Flatten, Reshape).
#pragma once

#include <cstring>

#include "entrena/nn/layer.hpp"

namespace entrena {

// A layer whose output holds the input's elements in the same row-major
// order under another per-sample shape (set by build): forward and
// backward copy.
template <class T>
class ShapeOnlyLayer : public Layer<T> {
 public:
  void forward(const T* x, T* y, index_t n, bool, Rng&) override { copy(x, y, n); }
  void backward(const T*, const T*, const T* dy, T* dx, index_t n) override {
    if (dx) copy(dy, dx, n);
  }

 private:
  void copy(const T* from, T* to, index_t n) const {
    std::memcpy(to, from, static_cast<std::size_t>(n * shape_size(this->in_shape_)) * sizeof(T));
  }
};

// Data is not moved: the row-major layout is already flat.
//
// Config: {} (no arguments).
template <class T>
class Flatten : public ShapeOnlyLayer<T> {
 public:
  static std::unique_ptr<Layer<T>> from_config(Options&) { return std::make_unique<Flatten<T>>(); }
  std::string kind() const override { return "Flatten"; }
  Shape build(const Shape& input_shape) override;
};

}  // namespace entrena
