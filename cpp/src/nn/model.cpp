#include "entrena/nn/model.hpp"

#include "entrena/kernels/gemm.hpp"

#include <algorithm>
#include <mutex>
#include <random>

namespace entrena {

// ----------------------------------------------------------- default seeds
namespace {
struct SeedSource {
  std::mutex mu;
  bool seeded = false;
  Rng rng{0};
};
SeedSource& seed_source() {
  static SeedSource s;
  return s;
}
}  // namespace

void set_seed(std::uint64_t seed) {
  SeedSource& s = seed_source();
  std::lock_guard<std::mutex> lock(s.mu);
  s.rng.seed_with(seed);
  s.seeded = true;
}

std::uint64_t next_seed() {
  SeedSource& s = seed_source();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.seeded) {
    std::random_device rd;
    s.rng.seed_with((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
    s.seeded = true;
  }
  return s.rng.next_u64() >> 1;  // < 2^63, so that it survives a round trip through Python and JSON
}

// ------------------------------------------------------------------- model
template <class T>
void Sequential<T>::add(std::unique_ptr<Layer<T>> layer) {
  auto guard = lock();
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
const Layer<T>& Sequential<T>::layer(index_t i) const {
  return const_cast<Sequential<T>*>(this)->layer(i);
}

template <class T>
void Sequential<T>::build(const Shape& input_shape) {
  auto guard = lock();
  if (built_) throw StateError("Sequential.build: the model is already built");
  if (layers_.empty()) throw ValueError("Sequential.build: the model has no layers");
  for (index_t d : input_shape)
    if (d < 1)
      throw ValueError(cat("Sequential.build: input_shape must have positive sizes, got ",
                           shape_str(input_shape)));
  checked_shape_size(input_shape, "input_shape");
  // Shapes and tensor sizes first, every size checked: nothing is allocated
  // for a model that does not fit.
  std::vector<TensorInfo> pinfo, binfo;
  std::vector<std::pair<index_t, index_t>> prange, brange;
  index_t ptotal = 0, btotal = 0;
  Shape s = input_shape;
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    Layer<T>& l = *layers_[k];
    s = l.build(s);
    checked_shape_size(s, cat("layer ", k, " (", l.kind(), ") output shape"));
    auto place = [&](const std::vector<TensorSpec>& specs, std::vector<TensorInfo>& info, index_t& total,
                     std::vector<std::pair<index_t, index_t>>& range) {
      const index_t first = static_cast<index_t>(info.size());
      for (const TensorSpec& spec : specs) {
        TensorInfo t;
        t.name = cat("layers.", k, ".", spec.name);
        t.layer = static_cast<index_t>(k);
        t.local = spec.name;
        t.shape = spec.shape;
        t.size = checked_shape_size(spec.shape, cat("layer ", k, " (", l.kind(), ") tensor ", spec.name));
        t.offset = total;
        total = checked_add(total, t.size, "the model's parameters");
        info.push_back(std::move(t));
      }
      range.emplace_back(first, static_cast<index_t>(info.size()));
    };
    place(l.param_specs(), pinfo, ptotal, prange);
    place(l.buffer_specs(), binfo, btotal, brange);
  }
  params_.resize(ptotal);
  grads_.resize(ptotal);
  buffers_.resize(btotal);
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    TensorPointers<T> tp;
    for (index_t i = prange[k].first; i < prange[k].second; ++i) {
      tp.params.push_back(params_.data() + pinfo[static_cast<std::size_t>(i)].offset);
      tp.grads.push_back(grads_.data() + pinfo[static_cast<std::size_t>(i)].offset);
    }
    for (index_t i = brange[k].first; i < brange[k].second; ++i)
      tp.buffers.push_back(buffers_.data() + binfo[static_cast<std::size_t>(i)].offset);
    layers_[k]->bind(tp);
    layers_[k]->init(rng_);
  }
  param_info_ = std::move(pinfo);
  buffer_info_ = std::move(binfo);
  layer_param_range_ = std::move(prange);
  layer_buffer_range_ = std::move(brange);
  options_.assign(param_info_.size(), ParamOptions{});
  update_segments();
  // Which boundaries carry a mask over steps, and of how many steps.
  mask_steps_.assign(layers_.size() + 1, 0);
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    const Layer<T>& l = *layers_[k];
    const Shape& out = l.output_shape();
    const MaskUse use = l.mask_use();
    if (use == MaskUse::Make && !out.empty())
      mask_steps_[k + 1] = out[0];
    else if (use == MaskUse::Keep && mask_steps_[k] > 0 && out.size() >= 2 && out[0] == mask_steps_[k])
      mask_steps_[k + 1] = mask_steps_[k];
  }
  masks_.resize(layers_.size() + 1);
  input_shape_ = input_shape;
  output_shape_ = s;
  acts_.resize(layers_.size() + 1);
  built_ = true;
}

template <class T>
std::pair<index_t, index_t> Sequential<T>::layer_params(index_t i) const {
  check_built("layer_params");
  layer(i);  // checks i
  return layer_param_range_[static_cast<std::size_t>(i)];
}

template <class T>
std::pair<index_t, index_t> Sequential<T>::layer_buffers(index_t i) const {
  check_built("layer_buffers");
  layer(i);
  return layer_buffer_range_[static_cast<std::size_t>(i)];
}

template <class T>
const ParamOptions& Sequential<T>::param_options(index_t i) const {
  check_built("param_options");
  if (i < 0 || i >= static_cast<index_t>(options_.size()))
    throw ValueError(cat("param_options: index must be in [0, ", options_.size(), "), got ", i));
  return options_[static_cast<std::size_t>(i)];
}

template <class T>
void Sequential<T>::set_param_options(index_t i, const ParamOptions& options) {
  auto guard = lock();
  param_options(i);  // checks i
  options_[static_cast<std::size_t>(i)] = options;
  update_segments();
}

template <class T>
void Sequential<T>::update_segments() {
  segments_.clear();
  for (std::size_t i = 0; i < param_info_.size(); ++i) {
    const TensorInfo& t = param_info_[i];
    if (t.size == 0) continue;
    if (!segments_.empty() && segments_.back().options == options_[i] &&
        segments_.back().offset + segments_.back().size == t.offset) {
      segments_.back().size += t.size;
    } else {
      segments_.push_back(ParamSegment{t.offset, t.size, options_[i]});
    }
  }
}

template <class T>
void Sequential<T>::check_built(const char* what) const {
  if (!built_) throw StateError(cat("Sequential.", what, ": the model is not built yet (call build or fit first)"));
}

template <class T>
void Sequential<T>::set_bf16(bool on) {
  if (on && !std::is_same_v<T, float>)
    throw ValueError("precision: bfloat16 products are for float32 models (float64 models compute in float64)");
  auto guard = lock();
  bf16_ = on;
}

template <class T>
const T* Sequential<T>::forward(const T* x, index_t n, bool training) {
  auto guard = lock();
  check_built("forward");
  const Bf16Scope precision(bf16_products_model());
  if (n < 1) throw ValueError(cat("Sequential.forward: n must be >= 1, got ", n));
  const std::size_t L = layers_.size();
  const index_t in_size = shape_size(input_shape_);
  acts_[0].reserve_at_least(checked_mul(n, in_size, "the batch's inputs"));
  std::memcpy(acts_[0].data(), x, static_cast<std::size_t>(n * in_size) * sizeof(T));
  last_n_ = 0;  // no backward through a forward that failed
  const std::uint8_t* mask = nullptr;
  try {
  for (std::size_t i = 0; i < L; ++i) {
    const index_t out_size = shape_size(layers_[i]->output_shape());
    acts_[i + 1].reserve_at_least(checked_mul(n, out_size, "a layer's outputs"));
    Layer<T>& l = *layers_[i];
    l.set_input_mask(mask);
    l.forward(acts_[i].data(), acts_[i + 1].data(), n, training, rng_);
    const index_t steps = mask_steps_[i + 1];
    if (steps == 0) {
      mask = nullptr;
    } else if (l.mask_use() == MaskUse::Make) {
      std::vector<std::uint8_t>& m = masks_[i + 1];
      if (static_cast<index_t>(m.size()) < n * steps) m.resize(static_cast<std::size_t>(n * steps));
      l.compute_mask(acts_[i].data(), mask, m.data(), n);
      mask = m.data();
    }
  }
  } catch (...) {
    clear_pending();
    throw;
  }
  output_mask_ = mask;
  last_n_ = n;
  return acts_[L].data();
}

template <class T>
void Sequential<T>::check_input(const T* x, index_t n) const {
  check_built("check_input");
  layers_.front()->check_input(x, n);
}

template <class T>
void Sequential<T>::backward(const T* dy) {
  auto guard = lock();
  check_built("backward");
  const Bf16Scope precision(bf16_products_model());
  if (last_n_ < 1) throw StateError("Sequential.backward: call forward before backward");
  const index_t n = last_n_;
  const std::size_t L = layers_.size();
  index_t widest = shape_size(input_shape_);
  for (auto& l : layers_) widest = std::max(widest, shape_size(l->output_shape()));
  gbuf_[0].reserve_at_least(n * widest);
  gbuf_[1].reserve_at_least(n * widest);
  const T* g = dy;
  try {
    for (std::size_t k = L; k-- > 0;) {
      // The first layer's input gradient is not needed.
      T* dx = k > 0 ? gbuf_[k % 2].data() : nullptr;
      layers_[k]->backward(acts_[k].data(), acts_[k + 1].data(), g, dx, n);
      g = dx;
    }
  } catch (...) {
    clear_pending();
    throw;
  }
}

template <class T>
void Sequential<T>::clear_pending() {
  auto guard = lock();
  for (auto& l : layers_) l->clear_pending();
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace entrena
