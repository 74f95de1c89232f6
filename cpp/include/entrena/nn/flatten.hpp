// Flatten: (n, d1, d2, ...) -> (n, d1·d2·...).
#pragma once

#include "entrena/nn/layer.hpp"

namespace entrena {

// Data is not moved: the row-major layout is already flat.
//
// Config: {} (no arguments).
template <class T>
class Flatten : public Layer<T> {
 public:
  static std::unique_ptr<Layer<T>> from_config(Options&) { return std::make_unique<Flatten<T>>(); }
  std::string kind() const override { return "Flatten"; }
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;
};

}  // namespace entrena
