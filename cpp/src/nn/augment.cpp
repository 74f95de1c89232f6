#include "entrena/nn/augment.hpp"

#include <cmath>
#include <cstring>

#include "entrena/kernels/augment.hpp"

namespace entrena {

namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

// A factor given as f (meaning [-f, f]) or as [lo, hi], each in [-1, 1].
std::pair<double, double> factor_range(Options& o, const char* key) {
  const Json* v = o.get(key);
  if (!v) return {0.0, 0.0};
  double lo, hi;
  if (v->is_number()) {
    const double f = check_number(key, v->as_double(), -1.0, 1.0);
    lo = -std::fabs(f), hi = std::fabs(f);
  } else {
    const std::vector<double> r = o.numbers(key, {}, 2);
    lo = check_number(key, r[0], -1.0, 1.0), hi = check_number(key, r[1], -1.0, 1.0);
    if (lo > hi) throw ValueError(cat(key, ": expected [lower, upper] with lower <= upper, got [", lo, ", ", hi, "]"));
  }
  return {lo, hi};
}

Json range_json(double lo, double hi) { return Json::array({Json(lo), Json(hi)}); }

// Checks (C, H, W) images; returns the shape.
Shape image_shape(const char* who, const Shape& s) {
  if (s.size() != 3)
    throw ValueError(cat(who, ": expected images of shape (n, C, H, W), got per-sample shape ", shape_str(s)));
  return s;
}

template <class T>
void copy(const T* x, T* y, index_t count) {
  std::memcpy(y, x, static_cast<std::size_t>(count) * sizeof(T));
}

}  // namespace

// -------------------------------------------------------------- RandomFlip
template <class T>
RandomFlip<T>::RandomFlip(const std::string& mode)
    : mode_(mode), horizontal_(mode != "vertical"), vertical_(mode != "horizontal") {
  if (mode != "horizontal" && mode != "vertical" && mode != "horizontal_and_vertical")
    throw ValueError(cat("mode: expected one of 'horizontal', 'vertical', 'horizontal_and_vertical'; got '", mode,
                         "'"));
}

template <class T>
std::unique_ptr<Layer<T>> RandomFlip<T>::from_config(Options& o) {
  return std::make_unique<RandomFlip<T>>(
      o.choice("mode", "horizontal_and_vertical", {"horizontal", "vertical", "horizontal_and_vertical"}));
}

template <class T>
Json RandomFlip<T>::args() const {
  return Json::object({{"mode", mode_}});
}

template <class T>
Shape RandomFlip<T>::build(const Shape& s) {
  this->in_shape_ = this->out_shape_ = image_shape("RandomFlip", s);
  return s;
}

template <class T>
void RandomFlip<T>::forward(const T* x, T* y, index_t n, bool training, Rng& rng) {
  augmented_ = training;
  if (!training) return copy(x, y, n * shape_size(this->in_shape_));
  fh_.resize(static_cast<std::size_t>(n));
  fv_.resize(static_cast<std::size_t>(n));
  for (index_t s = 0; s < n; ++s) {
    fh_[static_cast<std::size_t>(s)] = horizontal_ && rng.uniform() < 0.5;
    fv_[static_cast<std::size_t>(s)] = vertical_ && rng.uniform() < 0.5;
  }
  const Shape& sh = this->in_shape_;
  flip_forward(x, y, n, sh[0], sh[1], sh[2], fh_.data(), fv_.data());
}

template <class T>
void RandomFlip<T>::backward(const T*, const T*, const T* dy, T* dx, index_t n) {
  if (!dx) return;
  if (!augmented_) return copy(dy, dx, n * shape_size(this->in_shape_));
  const Shape& sh = this->in_shape_;
  flip_forward(dy, dx, n, sh[0], sh[1], sh[2], fh_.data(), fv_.data());  // a flip is its own inverse
}

// -------------------------------------------------------- RandomTranslation
template <class T>
RandomTranslation<T>::RandomTranslation(double h_lo, double h_hi, double w_lo, double w_hi)
    : h_lo_(h_lo), h_hi_(h_hi), w_lo_(w_lo), w_hi_(w_hi) {}

template <class T>
std::unique_ptr<Layer<T>> RandomTranslation<T>::from_config(Options& o) {
  if (!o.has("height_factor") && !o.has("width_factor"))
    throw ValueError("height_factor, width_factor: expected at least one of them");
  const auto [hl, hh] = factor_range(o, "height_factor");
  const auto [wl, wh] = factor_range(o, "width_factor");
  return std::make_unique<RandomTranslation<T>>(hl, hh, wl, wh);
}

template <class T>
Json RandomTranslation<T>::args() const {
  return Json::object({{"height_factor", range_json(h_lo_, h_hi_)}, {"width_factor", range_json(w_lo_, w_hi_)}});
}

template <class T>
Shape RandomTranslation<T>::build(const Shape& s) {
  this->in_shape_ = this->out_shape_ = image_shape("RandomTranslation", s);
  return s;
}

template <class T>
void RandomTranslation<T>::forward(const T* x, T* y, index_t n, bool training, Rng& rng) {
  augmented_ = training;
  if (!training) return copy(x, y, n * shape_size(this->in_shape_));
  const Shape& sh = this->in_shape_;
  dh_.resize(static_cast<std::size_t>(n));
  dw_.resize(static_cast<std::size_t>(n));
  for (index_t s = 0; s < n; ++s) {
    // Shifting the content down by k rows reads row i - k: the offset is -k.
    dh_[static_cast<std::size_t>(s)] = -static_cast<index_t>(std::lround(rng.uniform(h_lo_, h_hi_) * static_cast<double>(sh[1])));
    dw_[static_cast<std::size_t>(s)] = -static_cast<index_t>(std::lround(rng.uniform(w_lo_, w_hi_) * static_cast<double>(sh[2])));
  }
  shift_forward(x, y, n, sh[0], sh[1], sh[2], sh[1], sh[2], dh_.data(), dw_.data());
}

template <class T>
void RandomTranslation<T>::backward(const T*, const T*, const T* dy, T* dx, index_t n) {
  if (!dx) return;
  if (!augmented_) return copy(dy, dx, n * shape_size(this->in_shape_));
  const Shape& sh = this->in_shape_;
  shift_backward(dy, dx, n, sh[0], sh[1], sh[2], sh[1], sh[2], dh_.data(), dw_.data());
}

// --------------------------------------------------------------- RandomCrop
template <class T>
RandomCrop<T>::RandomCrop(index_t height, index_t width, index_t padding)
    : height_(check_integer("height", height, 1)),
      width_(check_integer("width", width, 1)),
      padding_(check_integer("padding", padding, 0)) {}

template <class T>
std::unique_ptr<Layer<T>> RandomCrop<T>::from_config(Options& o) {
  if (!o.has("height") || !o.has("width")) throw ValueError("height, width: missing (the size of the crop)");
  return std::make_unique<RandomCrop<T>>(o.integer("height", 1, 1), o.integer("width", 1, 1),
                                         o.integer("padding", 0, 0));
}

template <class T>
Json RandomCrop<T>::args() const {
  return Json::object({{"height", height_}, {"width", width_}, {"padding", padding_}});
}

template <class T>
Shape RandomCrop<T>::build(const Shape& s) {
  image_shape("RandomCrop", s);
  if (height_ > s[1] + 2 * padding_ || width_ > s[2] + 2 * padding_)
    throw ValueError(cat("RandomCrop: a ", height_, " x ", width_, " crop does not fit ", s[1], " x ", s[2],
                         " images padded by ", padding_));
  this->in_shape_ = s;
  this->out_shape_ = {s[0], height_, width_};
  return this->out_shape_;
}

template <class T>
void RandomCrop<T>::forward(const T* x, T* y, index_t n, bool training, Rng& rng) {
  const Shape& sh = this->in_shape_;
  const index_t room_h = sh[1] + 2 * padding_ - height_, room_w = sh[2] + 2 * padding_ - width_;
  dh_.resize(static_cast<std::size_t>(n));
  dw_.resize(static_cast<std::size_t>(n));
  for (index_t s = 0; s < n; ++s) {
    // The window's corner in the padded image, minus the padding: its offset in x.
    const index_t ch = training ? static_cast<index_t>(rng.below(static_cast<std::uint64_t>(room_h) + 1)) : room_h / 2;
    const index_t cw = training ? static_cast<index_t>(rng.below(static_cast<std::uint64_t>(room_w) + 1)) : room_w / 2;
    dh_[static_cast<std::size_t>(s)] = ch - padding_;
    dw_[static_cast<std::size_t>(s)] = cw - padding_;
  }
  shift_forward(x, y, n, sh[0], sh[1], sh[2], height_, width_, dh_.data(), dw_.data());
}

template <class T>
void RandomCrop<T>::backward(const T*, const T*, const T* dy, T* dx, index_t n) {
  if (!dx) return;
  const Shape& sh = this->in_shape_;
  shift_backward(dy, dx, n, sh[0], sh[1], sh[2], height_, width_, dh_.data(), dw_.data());
}

// ----------------------------------------------------------- RandomRotation
template <class T>
RandomRotation<T>::RandomRotation(double lo, double hi) : lo_(lo), hi_(hi) {}

template <class T>
std::unique_ptr<Layer<T>> RandomRotation<T>::from_config(Options& o) {
  if (!o.has("factor")) throw ValueError("factor: missing (the largest rotation, a fraction of a full turn)");
  const auto [lo, hi] = factor_range(o, "factor");
  return std::make_unique<RandomRotation<T>>(lo, hi);
}

template <class T>
Json RandomRotation<T>::args() const {
  return Json::object({{"factor", range_json(lo_, hi_)}});
}

template <class T>
Shape RandomRotation<T>::build(const Shape& s) {
  this->in_shape_ = this->out_shape_ = image_shape("RandomRotation", s);
  return s;
}

template <class T>
void RandomRotation<T>::forward(const T* x, T* y, index_t n, bool training, Rng& rng) {
  augmented_ = training;
  if (!training) return copy(x, y, n * shape_size(this->in_shape_));
  angle_.resize(static_cast<std::size_t>(n));
  for (index_t s = 0; s < n; ++s) angle_[static_cast<std::size_t>(s)] = rng.uniform(lo_, hi_) * kTwoPi;
  const Shape& sh = this->in_shape_;
  rotate_forward(x, y, n, sh[0], sh[1], sh[2], angle_.data());
}

template <class T>
void RandomRotation<T>::backward(const T*, const T*, const T* dy, T* dx, index_t n) {
  if (!dx) return;
  if (!augmented_) return copy(dy, dx, n * shape_size(this->in_shape_));
  const Shape& sh = this->in_shape_;
  rotate_backward(dy, dx, n, sh[0], sh[1], sh[2], angle_.data());
}

// ------------------------------------------------------------ GaussianNoise
template <class T>
GaussianNoise<T>::GaussianNoise(double stddev) : stddev_(check_number("stddev", stddev, 0.0)) {}

template <class T>
std::unique_ptr<Layer<T>> GaussianNoise<T>::from_config(Options& o) {
  if (!o.has("stddev")) throw ValueError("stddev: missing (the standard deviation of the noise)");
  return std::make_unique<GaussianNoise<T>>(o.number("stddev", 0.0));
}

template <class T>
Shape GaussianNoise<T>::build(const Shape& s) {
  this->in_shape_ = this->out_shape_ = s;
  return s;
}

template <class T>
void GaussianNoise<T>::forward(const T* x, T* y, index_t n, bool training, Rng& rng) {
  const index_t count = n * shape_size(this->in_shape_);
  if (!training || stddev_ == 0.0) return copy(x, y, count);
  // Drawn in element order from the model's generator: the same for any thread count.
  for (index_t i = 0; i < count; ++i) y[i] = x[i] + static_cast<T>(stddev_ * rng.normal());
}

template <class T>
void GaussianNoise<T>::backward(const T*, const T*, const T* dy, T* dx, index_t n) {
  if (dx) copy(dy, dx, n * shape_size(this->in_shape_));
}

#define ENTRENA_INSTANTIATE(T)          \
  template class RandomFlip<T>;         \
  template class RandomTranslation<T>;  \
  template class RandomCrop<T>;         \
  template class RandomRotation<T>;     \
  template class GaussianNoise<T>;
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
