// Dropout: inverted dropout, identity in inference.
#pragma once

#include "entrena/nn/layer.hpp"

namespace entrena {

// In training each element is kept with probability 1 - rate and scaled by
// 1 / (1 - rate), so the expected activation is unchanged; in inference the
// layer is the identity. Masks come from the model's generator.
//
// Config: {"rate": number in [0, 1)}.
template <class T>
class Dropout : public Layer<T> {
 public:
  explicit Dropout(double rate);
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "Dropout"; }
  // Acts on each step alone: the output keeps the input's mask over steps.
  MaskUse mask_use() const override { return MaskUse::Keep; }
  Json args() const override { return Json::object({{"rate", rate_}}); }
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;
  double rate() const { return rate_; }

 private:
  double rate_;
  bool masked_ = false;    // whether the last forward applied a mask
  AlignedBuffer<T> mask_;  // 0 or 1/(1-rate) per element of the last training forward
};

}  // namespace entrena
