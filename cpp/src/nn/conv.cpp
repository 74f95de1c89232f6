#include "entrena/nn/conv.hpp"

#include <cmath>

#include "entrena/kernels/activations.hpp"

namespace entrena {

namespace {

// values: one value for every axis, or one per axis; each >= lo.
template <int R>
std::array<index_t, R> per_axis(const char* key, const std::vector<index_t>& values, index_t lo) {
  if (values.size() != 1 && values.size() != static_cast<std::size_t>(R))
    throw ValueError(cat(key, ": expected 1 or ", R, " values (one per spatial axis), got ", values.size()));
  std::array<index_t, R> out{};
  for (int a = 0; a < R; ++a) {
    out[a] = values[values.size() == 1 ? 0 : a];
    if (out[a] < lo)
      throw ValueError(cat(key, values.size() == 1 ? "" : cat("[", a, "]"), ": expected an integer >= ", lo,
                           ", got ", out[a]));
  }
  return out;
}

template <std::size_t R>
Json json_list(const std::array<index_t, R>& a) {
  Json::Array items;
  for (index_t v : a) items.emplace_back(v);
  return Json::array(std::move(items));
}

template <std::size_t R>
std::string sizes_str(const std::array<index_t, R>& a) {
  std::string out;
  for (index_t v : a) out += (out.empty() ? "" : " × ") + std::to_string(v);
  return out;
}

Activation conv_activation(const std::string& name) {
  return name.empty() ? Activation::Identity : activation_from_name(name);
}

}  // namespace

template <class T, int R>
Conv<T, R>::Conv(index_t filters, std::vector<index_t> kernel_size, const std::string& activation,
                 const ConvArgs& args)
    : filters_(check_integer("filters", filters, 1)),
      groups_(check_integer("groups", args.groups, 1)),
      kernel_(per_axis<R>("kernel_size", kernel_size, 1)),
      strides_(per_axis<R>("strides", args.strides, 1)),
      dilation_(per_axis<R>("dilation_rate", args.dilation_rate, 1)),
      pads_{},
      padding_(Padding::Valid),
      use_bias_(args.use_bias),
      kernel_init_(args.kernel_init),
      bias_init_(args.bias_init),
      act_(conv_activation(activation)),
      alpha_(resolve_alpha(act_, args.alpha)) {
  if (!args.pads.empty()) {
    pads_ = per_axis<R>("padding", args.pads, 0);
    padding_ = Padding::Explicit;
  } else if (args.padding == "same") {
    padding_ = Padding::Same;
  } else if (args.padding != "valid") {
    throw ValueError(cat("padding: expected 'valid', 'same', an integer >= 0 or a list of ", R,
                         " of them, got '", args.padding, "'"));
  }
  if (filters_ % groups_ != 0)
    throw ValueError(cat("groups: expected a divisor of filters (", filters_, "), got ", groups_));
}

template <class T, int R>
std::unique_ptr<Layer<T>> Conv<T, R>::from_config(Options& o) {
  if (!o.get("filters")) throw ValueError("filters: missing (the number of output channels)");
  const index_t filters = o.integer("filters", 0, 1);
  if (!o.get("kernel_size")) throw ValueError("kernel_size: missing (the size of the convolution window)");
  std::vector<index_t> kernel = o.sizes("kernel_size", {}, R, 1);
  ConvArgs a;
  a.strides = o.sizes("strides", {1}, R, 1);
  if (const Json* v = o.get("padding")) {
    if (v->is_string())
      a.padding = v->as_string();
    else if (v->is_integer() || v->is_array())
      a.pads = o.sizes("padding", {}, R, 0);
    else
      throw TypeError(cat("padding: expected 'valid', 'same', an integer or a list of ", R,
                          " integers, got ", describe(*v)));
  }
  a.dilation_rate = o.sizes("dilation_rate", {1}, R, 1);
  a.groups = o.integer("groups", 1, 1);
  std::string act;
  if (const Json* v = o.get("activation")) {
    if (!v->is_string())
      throw TypeError(cat("activation: expected an activation name or None, got ", v->type_name()));
    act = v->as_string();
  }
  a.alpha = o.number("alpha", std::nan(""));
  a.use_bias = o.flag("use_bias", true);
  if (const Json* v = o.get("kernel_init")) a.kernel_init = Initializer::from_config(*v, "kernel_init");
  if (const Json* v = o.get("bias_init")) a.bias_init = Initializer::from_config(*v, "bias_init");
  return std::make_unique<Conv<T, R>>(filters, std::move(kernel), act, a);
}

template <class T, int R>
Json Conv<T, R>::args() const {
  Json j = Json::object({{"filters", filters_}, {"kernel_size", json_list(kernel_)}, {"strides", json_list(strides_)}});
  j["padding"] = padding_ == Padding::Valid  ? Json("valid")
                 : padding_ == Padding::Same ? Json("same")
                                             : json_list(pads_);
  j["dilation_rate"] = json_list(dilation_);
  j["groups"] = groups_;
  j["activation"] = act_ == Activation::Identity ? Json() : Json(activation_name(act_));
  if (activation_has_alpha(act_)) j["alpha"] = alpha_;
  j["use_bias"] = use_bias_;
  j["kernel_init"] = kernel_init_.config();
  j["bias_init"] = bias_init_.config();
  return j;
}

template <class T, int R>
Shape Conv<T, R>::build(const Shape& input_shape) {
  const char* layout = R == 1 ? "(n, channels, length)" : "(n, channels, height, width)";
  if (input_shape.size() != static_cast<std::size_t>(R + 1))
    throw ValueError(cat(kind(), ": expected inputs of shape ", layout, ", got ", batch_shape_str(input_shape)));
  const index_t C = input_shape[0];
  if (C % groups_ != 0)
    throw ValueError(cat("groups: expected a divisor of the input channels (", C, ") and of filters (", filters_,
                         "), got ", groups_));
  std::array<index_t, R> size{}, reach{};
  for (int a = 0; a < R; ++a) {
    size[a] = input_shape[a + 1];
    reach[a] = checked_add(checked_mul(dilation_[a], kernel_[a] - 1, "the kernel's reach"), 1, "the kernel's reach");
    if (padding_ == Padding::Same) {
      // out = ceil(size / stride); the extra element of an odd total goes after.
      const index_t out = (size[a] + strides_[a] - 1) / strides_[a];
      const index_t total = std::max<index_t>(
          checked_add((out - 1) * strides_[a], reach[a], "the padded input") - size[a], 0);
      pad0_[a] = total / 2;
      pad1_[a] = total - pad0_[a];
    } else {
      pad0_[a] = pad1_[a] = pads_[a];
    }
  }
  // Only explicit padding can leave no output position ("same" never does).
  for (int a = 0; a < R; ++a)
    if (size[a] + pad0_[a] + pad1_[a] < reach[a])
      throw ValueError(cat(kind(), ": the input ", batch_shape_str(input_shape), " padded by ", json_list(pad0_).dump(),
                           " on each side is smaller than the dilated kernel (", sizes_str(reach),
                           "): no output position"));
  if (R == 1)
    shape_ = conv2d_shape(C, 1, size[0], filters_, 1, kernel_[0], groups_, 1, strides_[0], 1, dilation_[0], 0, 0,
                          pad0_[0], pad1_[0]);
  else
    shape_ = conv2d_shape(C, size[0], size[1], filters_, kernel_[0], kernel_[R - 1], groups_, strides_[0],
                          strides_[R - 1], dilation_[0], dilation_[R - 1], pad0_[0], pad1_[0], pad0_[R - 1],
                          pad1_[R - 1]);
  this->in_shape_ = input_shape;
  this->out_shape_ = R == 1 ? Shape{filters_, shape_.Wo} : Shape{filters_, shape_.Ho, shape_.Wo};
  return this->out_shape_;
}

template <class T, int R>
std::vector<TensorSpec> Conv<T, R>::param_specs() const {
  Shape w{filters_, shape_.C / groups_};
  for (index_t k : kernel_) w.push_back(k);
  std::vector<TensorSpec> s{{"W", w}};
  if (use_bias_) s.push_back({"b", {filters_}});
  return s;
}

template <class T, int R>
void Conv<T, R>::bind(const TensorPointers<T>& t) {
  W_ = t.params[0];
  dW_ = t.grads[0];
  b_ = use_bias_ ? t.params[1] : nullptr;
  db_ = use_bias_ ? t.grads[1] : nullptr;
}

template <class T, int R>
void Conv<T, R>::init(Rng& rng) {
  index_t field = 1;
  for (index_t k : kernel_) field *= k;
  const index_t fan_in = shape_.C / groups_ * field, fan_out = filters_ * field;
  kernel_init_.fill(W_, filters_ * fan_in, fan_in, fan_out, rng);
  if (use_bias_) bias_init_.fill(b_, filters_, fan_in, fan_out, rng);
}

template <class T, int R>
void Conv<T, R>::forward(const T* x, T* y, index_t n, bool, Rng&) {
  work_.reserve_at_least(conv2d_workspace(shape_, n, false));
  if (act_ == Activation::Identity || act_ == Activation::ReLU) {
    // With ReLU the bias add and the activation are fused into the GEMM
    // epilogue; y > 0 exactly where the pre-activation is.
    conv2d_forward(shape_, n, x, W_, b_, y, act_ == Activation::ReLU, work_.data(), work_.size());
    return;
  }
  const index_t size = n * shape_size(this->out_shape_), cols = shape_.Wo;
  z_.reserve_at_least(size);
  conv2d_forward(shape_, n, x, W_, b_, z_.data(), false, work_.data(), work_.size());
  activation_forward<T>(act_, static_cast<T>(alpha_), z_.data(), y, size / cols, cols);
}

template <class T, int R>
void Conv<T, R>::backward(const T* x, const T* y, const T* dy, T* dx, index_t n) {
  work_.reserve_at_least(conv2d_workspace(shape_, n, true));
  // ReLU's backward pass is fused into the kernel (dy counts where y > 0).
  const T* relu_y = act_ == Activation::ReLU ? y : nullptr;
  const T* g = dy;
  if (act_ != Activation::Identity && act_ != Activation::ReLU) {
    const index_t size = n * shape_size(this->out_shape_), cols = shape_.Wo;
    dz_.reserve_at_least(size);
    activation_backward<T>(act_, static_cast<T>(alpha_), z_.data(), y, dy, dz_.data(), size / cols, cols);
    g = dz_.data();
  }
  conv2d_backward(shape_, n, x, W_, relu_y, g, dW_, db_, dx, work_.data(), work_.size());
}

template class Conv<float, 1>;
template class Conv<double, 1>;
template class Conv<float, 2>;
template class Conv<double, 2>;

}  // namespace entrena
