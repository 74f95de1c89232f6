// Shape and regularisation layers without parameters: Dropout, Flatten.
#pragma once

#include "entrena/nn/layer.hpp"

namespace entrena {

// Inverted dropout: in training each element is kept with probability
// 1 - rate and scaled by 1 / (1 - rate), so the expected activation is
// unchanged; in inference the layer is the identity.
template <class T>
class Dropout : public Layer<T> {
 public:
  explicit Dropout(double rate);
  std::string kind() const override { return "Dropout"; }
  Json config() const override { return Json::object({{"type", "Dropout"}, {"rate", rate_}}); }
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;
  double rate() const { return rate_; }

 private:
  double rate_;
  bool last_training_ = false;
  AlignedBuffer<T> mask_;  // 0 or 1/(1-rate) per element of the last training forward
};

// (n, d1, d2, ...) -> (n, d1·d2·...). Data is not moved: row-major layout
// is already flat.
template <class T>
class Flatten : public Layer<T> {
 public:
  std::string kind() const override { return "Flatten"; }
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;
};

}  // namespace entrena
