// ZeroPadding2D: rows and columns of zeros around the (h, w) planes of
// (n, C, H, W).
#pragma once

#include "entrena/kernels/padding.hpp"
#include "entrena/nn/layer.hpp"

namespace entrena {

// (n, C, H, W) -> (n, C, top + H + bottom, left + W + right).
//
// Config: {"padding": int >= 0 (on every side), [ph, pw] (ph rows above and
// below, pw columns left and right) or [[top, bottom], [left, right]];
// default 1}. The config written has the last form.
template <class T>
class ZeroPadding2D : public Layer<T> {
 public:
  explicit ZeroPadding2D(index_t padding = 1) : ZeroPadding2D(padding, padding) {}
  ZeroPadding2D(index_t rows, index_t cols) : ZeroPadding2D(Padding2D{rows, rows, cols, cols}) {}
  explicit ZeroPadding2D(const Padding2D& padding);
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "ZeroPadding2D"; }
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;
  const Padding2D& padding() const { return pad_; }

 private:
  Padding2D pad_;
};

}  // namespace entrena
