// Data augmentation layers: random flips, shifts, crops, rotations and
// noise, applied to each sample in training only (fit), with choices drawn
// from the model's generator in sample order (the same seed gives the same
// augmentations for any thread count). In evaluate and predict they are
// the identity (RandomCrop: a centre crop). Images are (n, C, H, W).
// Their backward passes are the transposed maps, so they may sit anywhere
// in a model.
#pragma once

#include <cstdint>
#include <vector>

#include "entrena/nn/layer.hpp"

namespace entrena {

// Config: {"mode": "horizontal" | "vertical" | "horizontal_and_vertical"}
// (default the last, as Keras): each direction flipped with probability 1/2.
template <class T>
class RandomFlip : public Layer<T> {
 public:
  explicit RandomFlip(const std::string& mode = "horizontal_and_vertical");
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "RandomFlip"; }
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;

 private:
  std::string mode_;
  bool horizontal_, vertical_, augmented_ = false;
  std::vector<std::uint8_t> fh_, fv_;
};

// Config: {"height_factor": f or [lo, hi], "width_factor": f or [lo, hi]}:
// each sample shifted by round(u·H) rows and round(v·W) columns, u and v
// uniform in [lo, hi] ([-f, f] for one number, |f| <= 1), zero fill.
template <class T>
class RandomTranslation : public Layer<T> {
 public:
  RandomTranslation(double h_lo, double h_hi, double w_lo, double w_hi);
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "RandomTranslation"; }
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;

 private:
  double h_lo_, h_hi_, w_lo_, w_hi_;
  bool augmented_ = false;
  std::vector<index_t> dh_, dw_;
};

// Config: {"height": int, "width": int, "padding": int >= 0 (default 0)}:
// the image padded with zeros by `padding` on every side, then a random
// height x width window of it in training (as torchvision's RandomCrop),
// the centre window in evaluate and predict. (C, H, W) -> (C, height, width).
template <class T>
class RandomCrop : public Layer<T> {
 public:
  RandomCrop(index_t height, index_t width, index_t padding);
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "RandomCrop"; }
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;

 private:
  index_t height_, width_, padding_;
  std::vector<index_t> dh_, dw_;
};

// Config: {"factor": f or [lo, hi]}: each sample rotated by an angle
// uniform in [lo·2π, hi·2π] ([-f, f] for one number, as Keras' factor),
// about the image centre, bilinear, zero fill.
template <class T>
class RandomRotation : public Layer<T> {
 public:
  RandomRotation(double lo, double hi);
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "RandomRotation"; }
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;

 private:
  double lo_, hi_;
  bool augmented_ = false;
  std::vector<double> angle_;
};

// Config: {"stddev": number >= 0}: adds N(0, stddev²) noise to every
// element in training (any shape).
template <class T>
class GaussianNoise : public Layer<T> {
 public:
  explicit GaussianNoise(double stddev);
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "GaussianNoise"; }
  // Acts on each step alone: the output keeps the input's mask over steps.
  MaskUse mask_use() const override { return MaskUse::Keep; }
  Json args() const override { return Json::object({{"stddev", stddev_}}); }
  Shape build(const Shape& input_shape) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;

 private:
  double stddev_;
};

}  // namespace entrena
