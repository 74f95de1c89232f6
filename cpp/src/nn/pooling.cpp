#include "entrena/nn/pooling.hpp"

#include <algorithm>

#include "entrena/nn/window.hpp"

namespace entrena {

namespace {

// One size for every axis, or D sizes; each >= 1.
std::vector<index_t> axis_sizes(const char* key, std::vector<index_t> v, int d) {
  if (v.size() == 1) v.assign(static_cast<std::size_t>(d), v[0]);
  if (v.size() != static_cast<std::size_t>(d))
    throw ValueError(cat(key, ": expected ", d == 1 ? std::string("1 size") : cat("1 or ", d, " sizes"), ", got ",
                         v.size()));
  for (index_t s : v) {
    check_integer(key, s, 1);
    if (s > kMaxElements) throw ValueError(cat(key, ": expected sizes of at most 2^40, got ", s));
  }
  return v;
}

Json size_array(const std::vector<index_t>& v) {
  Json a = Json::array();
  for (index_t s : v) a.push_back(Json(static_cast<long long>(s)));
  return a;
}

std::string check_padding(const std::string& padding) {
  const auto& modes = padding_modes();
  if (std::find(modes.begin(), modes.end(), padding) == modes.end())
    throw ValueError(cat("padding: expected one of 'valid', 'same'; got '", padding, "'"));
  return padding;
}

}  // namespace

PoolGeometry pool_geometry(index_t planes, const Shape& spatial, const std::vector<index_t>& pool_size,
                           const std::vector<index_t>& strides, bool same) {
  PoolGeometry g;
  g.planes = planes;
  const std::size_t w = spatial.size() - 1;
  const WindowAxis ax = window_axis(spatial[w], pool_size[w], strides[w], same);
  g.in_w = spatial[w];
  g.out_w = ax.out;
  g.pool_w = pool_size[w];
  g.stride_w = strides[w];
  g.pad_left = ax.pad_begin;
  if (w == 1) {
    const WindowAxis ay = window_axis(spatial[0], pool_size[0], strides[0], same);
    g.in_h = spatial[0];
    g.out_h = ay.out;
    g.pool_h = pool_size[0];
    g.stride_h = strides[0];
    g.pad_top = ay.pad_begin;
  }
  return g;
}

// -------------------------------------------------------------- PoolingBase
template <class T, PoolMode M>
void PoolingBase<T, M>::check_rank(const Shape& input_shape, int d) const {
  if (input_shape.size() != static_cast<std::size_t>(d) + 1)
    throw ValueError(cat(this->kind(), ": expected inputs of shape ",
                         d == 1 ? "(n, channels, length)" : "(n, channels, height, width)",
                         ", got per-sample shape ", shape_str(input_shape)));
}

template <class T, PoolMode M>
void PoolingBase<T, M>::forward(const T* x, T* y, index_t n, bool training, Rng&) {
  PoolGeometry g = geo_;
  g.planes = n * geo_.planes;
  argmax_valid_ = false;
  if constexpr (M == PoolMode::Max) {
    if (training && max_pool_indices_fit(g)) {
      argmax_.reserve_at_least(n * shape_size(this->out_shape_));
      max_pool_forward_indices(x, y, argmax_.data(), g);
      argmax_valid_ = true;
    } else {
      max_pool_forward(x, y, g);
    }
  } else {
    avg_pool_forward(x, y, g);
  }
}

template <class T, PoolMode M>
void PoolingBase<T, M>::backward(const T* x, const T*, const T* dy, T* dx, index_t n) {
  if (!dx) return;
  PoolGeometry g = geo_;
  g.planes = n * geo_.planes;
  if constexpr (M == PoolMode::Max) {
    if (argmax_valid_) max_pool_backward_indices(argmax_.data(), dy, dx, g);
    else max_pool_backward(x, dy, dx, g);
  } else {
    avg_pool_backward(dy, dx, g);
  }
}

// ------------------------------------------------------------------ Pooling
template <class T, PoolMode M, int D>
Pooling<T, M, D>::Pooling(index_t pool_size, index_t strides, const std::string& padding)
    : Pooling(std::vector<index_t>{pool_size}, strides == 0 ? std::vector<index_t>{} : std::vector<index_t>{strides},
              padding) {}

template <class T, PoolMode M, int D>
Pooling<T, M, D>::Pooling(std::vector<index_t> pool_size, std::vector<index_t> strides, const std::string& padding)
    : pool_(axis_sizes("pool_size", std::move(pool_size), D)),
      strides_(strides.empty() ? pool_ : axis_sizes("strides", std::move(strides), D)),
      padding_(check_padding(padding)) {}

template <class T, PoolMode M, int D>
std::unique_ptr<Layer<T>> Pooling<T, M, D>::from_config(Options& o) {
  std::vector<index_t> pool = o.sizes("pool_size", std::vector<index_t>(D, 2), D);
  std::vector<index_t> strides = o.sizes("strides", {}, D);
  const std::string padding = o.choice("padding", "valid", padding_modes());
  return std::make_unique<Pooling>(std::move(pool), std::move(strides), padding);
}

template <class T, PoolMode M, int D>
std::string Pooling<T, M, D>::kind() const {
  return cat(M == PoolMode::Max ? "Max" : "Avg", "Pool", D, "D");
}

template <class T, PoolMode M, int D>
Json Pooling<T, M, D>::args() const {
  return Json::object({{"pool_size", size_array(pool_)}, {"strides", size_array(strides_)}, {"padding", padding_}});
}

template <class T, PoolMode M, int D>
Shape Pooling<T, M, D>::build(const Shape& input_shape) {
  this->check_rank(input_shape, D);
  const Shape spatial(input_shape.begin() + 1, input_shape.end());
  const PoolGeometry g = pool_geometry(input_shape[0], spatial, pool_, strides_, padding_ == "same");
  if (g.out_h < 1 || g.out_w < 1)
    throw ValueError(cat(kind(), ": expected inputs at least as large as pool_size ", shape_str(pool_),
                         " along the spatial axes with padding 'valid', got per-sample shape ",
                         shape_str(input_shape)));
  this->geo_ = g;
  Shape out{input_shape[0]};
  if (D == 2) out.push_back(g.out_h);
  out.push_back(g.out_w);
  this->in_shape_ = input_shape;
  this->out_shape_ = out;
  return out;
}

// ------------------------------------------------------------ GlobalPooling
template <class T, PoolMode M, int D>
std::string GlobalPooling<T, M, D>::kind() const {
  return cat("Global", M == PoolMode::Max ? "Max" : "Average", "Pooling", D, "D");
}

template <class T, PoolMode M, int D>
Shape GlobalPooling<T, M, D>::build(const Shape& input_shape) {
  this->check_rank(input_shape, D);
  const index_t positions = shape_size(input_shape) / input_shape[0];
  PoolGeometry g;
  g.planes = input_shape[0];
  g.in_w = g.pool_w = g.stride_w = positions;
  this->geo_ = g;
  this->in_shape_ = input_shape;
  this->out_shape_ = {input_shape[0]};
  return this->out_shape_;
}

#define ENTRENA_INSTANTIATE(T)                           \
  template class PoolingBase<T, PoolMode::Max>;          \
  template class PoolingBase<T, PoolMode::Average>;      \
  template class Pooling<T, PoolMode::Max, 1>;           \
  template class Pooling<T, PoolMode::Max, 2>;           \
  template class Pooling<T, PoolMode::Average, 1>;       \
  template class Pooling<T, PoolMode::Average, 2>;       \
  template class GlobalPooling<T, PoolMode::Max, 1>;     \
  template class GlobalPooling<T, PoolMode::Max, 2>;     \
  template class GlobalPooling<T, PoolMode::Average, 1>; \
  template class GlobalPooling<T, PoolMode::Average, 2>;
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
