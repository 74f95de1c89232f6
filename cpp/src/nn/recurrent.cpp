#include "entrena/nn/recurrent.hpp"

#include <cmath>
#include <cstring>

#include "entrena/nn/initializer.hpp"
#include "entrena/nn/registry.hpp"

namespace entrena {

namespace {

const char* cell_kind(RnnCell c) {
  switch (c) {
    case RnnCell::LSTM:
      return "LSTM";
    case RnnCell::GRU:
      return "GRU";
    default:
      return "SimpleRNN";
  }
}

template <class T>
void copy_rows(T* dst, const T* src, index_t count) {
  std::memcpy(dst, src, static_cast<std::size_t>(count) * sizeof(T));
}

// An initializer config: null (the layer's default) or what Initializer reads.
Json init_arg(Options& o, const char* key) {
  const Json* j = o.get(key);
  if (!j || j->is_null()) return Json();
  Initializer::from_config(*j, key);  // checks it now
  return *j;
}

}  // namespace

// --------------------------------------------------------------- Recurrent
template <class T>
Recurrent<T>::Recurrent(RnnCell cell, index_t units, bool return_sequences, bool return_state, bool go_backwards,
                        double dropout, bool use_bias)
    : cell_(cell),
      units_(check_integer("units", units, 1)),
      return_sequences_(return_sequences),
      return_state_(return_state),
      go_backwards_(go_backwards),
      dropout_(check_number("dropout", dropout, 0.0, 1.0, false, true)),
      use_bias_(use_bias) {}

template <class T>
std::unique_ptr<Recurrent<T>> Recurrent<T>::make(RnnCell cell, Options& o) {
  if (!o.has("units")) throw ValueError("units: missing (the size of the state)");
  const index_t units = o.integer("units", 0, 1);
  if (cell == RnnCell::Tanh || cell == RnnCell::ReLU)
    cell = o.choice("activation", "tanh", {"tanh", "relu"}) == "relu" ? RnnCell::ReLU : RnnCell::Tanh;
  const bool seq = o.flag("return_sequences", false);
  const bool state = o.flag("return_state", false);
  const bool back = o.flag("go_backwards", false);
  const double dropout = o.number("dropout", 0.0, 0.0, 1.0, false, true);
  const bool use_bias = o.flag("use_bias", true);
  std::unique_ptr<Recurrent<T>> layer;
  if (cell == RnnCell::LSTM)
    layer = std::make_unique<LSTM<T>>(units, seq, state, back, dropout, use_bias);
  else if (cell == RnnCell::GRU)
    layer = std::make_unique<GRU<T>>(units, seq, state, back, dropout, use_bias);
  else
    layer = std::make_unique<SimpleRNN<T>>(units, cell == RnnCell::ReLU ? "relu" : "tanh", seq, state, back,
                                           dropout, use_bias);
  const Json k = init_arg(o, "kernel_init"), r = init_arg(o, "recurrent_init"), b = init_arg(o, "bias_init");
  layer->set_initializers(k, r, b);
  return layer;
}

template <class T>
SimpleRNN<T>::SimpleRNN(index_t units, const std::string& activation, bool return_sequences, bool return_state,
                        bool go_backwards, double dropout, bool use_bias)
    : Recurrent<T>(activation == "relu" ? RnnCell::ReLU : RnnCell::Tanh, units, return_sequences, return_state,
                   go_backwards, dropout, use_bias) {
  if (activation != "tanh" && activation != "relu")
    throw ValueError(cat("activation: expected one of tanh, relu, got '", activation, "'"));
}

template <class T>
std::unique_ptr<Layer<T>> SimpleRNN<T>::from_config(Options& o) {
  return Recurrent<T>::make(RnnCell::Tanh, o);
}
template <class T>
std::unique_ptr<Layer<T>> LSTM<T>::from_config(Options& o) {
  return Recurrent<T>::make(RnnCell::LSTM, o);
}
template <class T>
std::unique_ptr<Layer<T>> GRU<T>::from_config(Options& o) {
  return Recurrent<T>::make(RnnCell::GRU, o);
}

template <class T>
void Recurrent<T>::set_initializers(const Json& kernel, const Json& recurrent, const Json& bias) {
  kernel_init_ = kernel;
  recurrent_init_ = recurrent;
  bias_init_ = bias;
}

template <class T>
std::string Recurrent<T>::kind() const {
  return cell_kind(cell_);
}

template <class T>
Json Recurrent<T>::args() const {
  Json j = Json::object({{"units", units_}});
  if (cell_ == RnnCell::Tanh || cell_ == RnnCell::ReLU) j["activation"] = cell_ == RnnCell::ReLU ? "relu" : "tanh";
  j["return_sequences"] = return_sequences_;
  j["return_state"] = return_state_;
  j["go_backwards"] = go_backwards_;
  j["dropout"] = dropout_;
  j["use_bias"] = use_bias_;
  j["kernel_init"] = kernel_init_;
  j["recurrent_init"] = recurrent_init_;
  j["bias_init"] = bias_init_;
  return j;
}

template <class T>
Shape Recurrent<T>::build(const Shape& input_shape) {
  if (input_shape.size() != 2)
    throw ValueError(cat(kind(), ": expected sequences of shape (n, steps, features), got per-sample shape ",
                         shape_str(input_shape)));
  steps_ = input_shape[0];
  in_ = input_shape[1];
  this->in_shape_ = input_shape;
  this->out_shape_ = return_sequences_ ? Shape{steps_, units_} : Shape{units_};
  return this->out_shape_;
}

template <class T>
std::vector<TensorSpec> Recurrent<T>::param_specs() const {
  const index_t GH = rnn_gates(cell_) * units_;
  std::vector<TensorSpec> s{{"W_ih", {in_, GH}}, {"W_hh", {units_, GH}}};
  if (use_bias_) {
    s.push_back({"b_ih", {GH}});
    s.push_back({"b_hh", {GH}});
  }
  return s;
}

template <class T>
void Recurrent<T>::bind(const TensorPointers<T>& t) {
  W_ih_ = t.params[0];
  W_hh_ = t.params[1];
  dW_ih_ = t.grads[0];
  dW_hh_ = t.grads[1];
  b_ih_ = use_bias_ ? t.params[2] : nullptr;
  b_hh_ = use_bias_ ? t.params[3] : nullptr;
  db_ih_ = use_bias_ ? t.grads[2] : nullptr;
  db_hh_ = use_bias_ ? t.grads[3] : nullptr;
}

template <class T>
void Recurrent<T>::init(Rng& rng) {
  const index_t GH = rnn_gates(cell_) * units_;
  const double k = 1.0 / std::sqrt(static_cast<double>(units_));
  const Initializer torch_default{Initializer::Kind::Uniform, -k, k};
  auto fill = [&](const Json& spec, const char* arg, T* p, index_t count, index_t fan_in) {
    const Initializer init = spec.is_null() ? torch_default : Initializer::from_config(spec, arg);
    init.fill(p, count, fan_in, GH, rng);
  };
  fill(kernel_init_, "kernel_init", W_ih_, in_ * GH, in_);
  fill(recurrent_init_, "recurrent_init", W_hh_, units_ * GH, units_);
  if (use_bias_) {
    fill(bias_init_, "bias_init", b_ih_, GH, units_);
    fill(bias_init_, "bias_init", b_hh_, GH, units_);
  }
}

template <class T>
RnnDims Recurrent<T>::dims(index_t n) const {
  RnnDims d;
  d.n = n;
  d.steps = steps_;
  d.features = in_;
  d.units = units_;
  d.cell = cell_;
  d.reverse = go_backwards_;
  return d;
}

template <class T>
void Recurrent<T>::times_dropout_mask(const T* src, T* dst, index_t n) const {
  const T* m = drop_.data();
  for (index_t b = 0; b < n; ++b)
    for (index_t t = 0; t < steps_; ++t) {
      const index_t r = (b * steps_ + t) * in_;
      for (index_t f = 0; f < in_; ++f) dst[r + f] = src[r + f] * m[b * in_ + f];
    }
}

template <class T>
void Recurrent<T>::forward(const T* x, T* y, index_t n, bool training, Rng& rng) {
  const RnnDims d = dims(n);
  const index_t H = units_, count = n * steps_ * in_;
  ws_.reserve_at_least(rnn_workspace_size(d));
  h_.reserve_at_least(n * H);
  c_.reserve_at_least(n * H);
  dropped_ = training && dropout_ > 0.0;
  const T* xin = x;
  if (dropped_) {
    // One mask per sequence and feature, the same at every step (Keras).
    drop_.reserve_at_least(n * in_);
    xd_.reserve_at_least(count);
    const T scale = static_cast<T>(1.0 / (1.0 - dropout_));
    T* m = drop_.data();
    for (index_t i = 0; i < n * in_; ++i) m[i] = rng.uniform() >= dropout_ ? scale : T(0);
    times_dropout_mask(x, xd_.data(), n);
    xin = xd_.data();
  }
  const bool h0 = has_h0_;
  has_h0_ = false;  // an initial state is used once
  if (h0 && state_n_ != n)
    throw ValueError(cat(kind(), ": the initial state has ", state_n_, " rows but the batch has ", n));
  rnn_forward<T>(d, xin, W_ih_, W_hh_, b_ih_, b_hh_, h0 ? h0_.data() : nullptr,
                 h0 && cell_ == RnnCell::LSTM ? c0_.data() : nullptr, this->in_mask_, ws_.data(),
                 return_sequences_ ? y : nullptr, h_.data(), cell_ == RnnCell::LSTM ? c_.data() : nullptr);
  if (!return_sequences_) copy_rows(y, h_.data(), n * H);
  last_n_ = n;
  has_dinit_ = false;
  backward_ready_ = true;
}

template <class T>
void Recurrent<T>::backward(const T*, const T*, const T* dy, T* dx, index_t n) {
  // The kernel's backward pass uses up what the forward pass saved (the
  // gate activations become their gradients): one backward per forward.
  if (!backward_ready_)
    throw StateError(cat(kind(), ": backward already ran for the last forward pass (its saved activations are "
                         "used up); run the model forward again before another backward"));
  const bool dstate = has_dstate_;
  has_dstate_ = false;
  if (dstate && dstate_n_ != n)
    throw ValueError(cat(kind(), ": the final state's gradient has ", dstate_n_, " rows but the batch has ", n));
  backward_ready_ = false;
  const RnnDims d = dims(n);
  const index_t H = units_;
  const bool lstm = cell_ == RnnCell::LSTM;
  // dL/d(final h): the output's gradient without return_sequences, plus
  // that of the returned state.
  const T* dh_last = nullptr;
  if (!return_sequences_ || dstate) {
    dh_.reserve_at_least(n * H);
    T* g = dh_.data();
    for (index_t i = 0; i < n * H; ++i) g[i] = T(0);
    if (!return_sequences_)
      for (index_t i = 0; i < n * H; ++i) g[i] += dy[i];
    if (dstate)
      for (index_t i = 0; i < n * H; ++i) g[i] += dhl_.data()[i];
    dh_last = g;
  }
  const T* dc_last = dstate && lstm ? dcl_.data() : nullptr;
  dh0_.reserve_at_least(n * H);
  dc0_.reserve_at_least(n * H);
  T* dxk = dx;
  if (dx && dropped_) {
    dxd_.reserve_at_least(n * steps_ * in_);
    dxk = dxd_.data();
  }
  has_dinit_ = true;
  rnn_backward<T>(d, W_ih_, W_hh_, this->in_mask_, ws_.data(), return_sequences_ ? dy : nullptr, dh_last,
                  dc_last, dW_ih_, dW_hh_, db_ih_, db_hh_, dxk, dh0_.data(), lstm ? dc0_.data() : nullptr);
  if (dx && dropped_) times_dropout_mask(dxk, dx, n);
}

template <class T>
std::vector<TensorSpec> Recurrent<T>::state_specs() const {
  std::vector<TensorSpec> s{{"h", {units_}}};
  if (cell_ == RnnCell::LSTM) s.push_back({"c", {units_}});
  return s;
}

template <class T>
void Recurrent<T>::set_initial_state(const std::vector<const T*>& state, index_t n) {
  const std::size_t want = state_specs().size();
  if (state.size() != want)
    throw ValueError(cat(kind(), ": expected ", want, " initial state arrays (", want == 2 ? "h, c" : "h", "), got ",
                         state.size()));
  h0_.reserve_at_least(n * units_);
  copy_rows(h0_.data(), state[0], n * units_);
  if (want == 2) {
    c0_.reserve_at_least(n * units_);
    copy_rows(c0_.data(), state[1], n * units_);
  }
  state_n_ = n;
  has_h0_ = true;
}

template <class T>
std::vector<const T*> Recurrent<T>::final_state() const {
  if (last_n_ == 0) return {};
  std::vector<const T*> s{h_.data()};
  if (cell_ == RnnCell::LSTM) s.push_back(c_.data());
  return s;
}

template <class T>
void Recurrent<T>::set_final_state_grad(const std::vector<const T*>& grad, index_t n) {
  const std::size_t want = state_specs().size();
  if (grad.size() != want)
    throw ValueError(cat(kind(), ": expected ", want, " state gradient arrays, got ", grad.size()));
  // Kept until the backward pass reads them.
  dhl_.reserve_at_least(n * units_);
  copy_rows(dhl_.data(), grad[0], n * units_);
  if (want == 2) {
    dcl_.reserve_at_least(n * units_);
    copy_rows(dcl_.data(), grad[1], n * units_);
  }
  dstate_n_ = n;
  has_dstate_ = true;
}

template <class T>
std::vector<const T*> Recurrent<T>::initial_state_grad() const {
  if (!has_dinit_) return {};
  std::vector<const T*> s{dh0_.data()};
  if (cell_ == RnnCell::LSTM) s.push_back(dc0_.data());
  return s;
}

// ----------------------------------------------------------- Bidirectional
template <class T>
Bidirectional<T>::Bidirectional(std::unique_ptr<Recurrent<T>> forward_layer, const std::string& merge_mode)
    : fwd_(std::move(forward_layer)) {
  if (!fwd_) throw ValueError("layer: expected a SimpleRNN, LSTM or GRU layer, got null");
  if (merge_mode == "concat")
    merge_ = Merge::Concat;
  else if (merge_mode == "sum")
    merge_ = Merge::Sum;
  else if (merge_mode == "mul")
    merge_ = Merge::Mul;
  else if (merge_mode == "ave")
    merge_ = Merge::Ave;
  else
    throw ValueError(cat("merge_mode: expected one of concat, sum, mul, ave, got '", merge_mode, "'"));
  // The backward layer: the same config, running the other way.
  Json cfg = fwd_->config();
  cfg["go_backwards"] = !fwd_->go_backwards();
  std::unique_ptr<Layer<T>> b = make_layer<T>(cfg);
  bwd_.reset(static_cast<Recurrent<T>*>(b.release()));
}

template <class T>
std::unique_ptr<Layer<T>> Bidirectional<T>::from_config(Options& o) {
  const Json* inner = o.get("layer");
  if (!inner) throw ValueError("layer: missing (the SimpleRNN, LSTM or GRU config to run both ways)");
  if (!inner->is_object())
    throw TypeError(cat("layer: expected a layer config (an object), got ", describe(*inner)));
  std::unique_ptr<Layer<T>> l = make_layer<T>(*inner);
  auto* r = dynamic_cast<Recurrent<T>*>(l.get());
  if (!r) throw ValueError(cat("layer: expected a SimpleRNN, LSTM or GRU layer, got ", l->kind()));
  std::unique_ptr<Recurrent<T>> layer(r);
  l.release();  // owned by `layer` now
  const std::string merge = o.choice("merge_mode", "concat", {"concat", "sum", "mul", "ave"});
  return std::make_unique<Bidirectional<T>>(std::move(layer), merge);
}

template <class T>
Json Bidirectional<T>::args() const {
  static const char* names[] = {"concat", "sum", "mul", "ave"};
  return Json::object({{"layer", fwd_->config()}, {"merge_mode", names[static_cast<int>(merge_)]}});
}

template <class T>
Shape Bidirectional<T>::build(const Shape& input_shape) {
  Shape s = fwd_->build(input_shape);
  bwd_->build(input_shape);
  this->in_shape_ = input_shape;
  if (merge_ == Merge::Concat) s.back() *= 2;
  this->out_shape_ = s;
  return s;
}

template <class T>
std::vector<TensorSpec> Bidirectional<T>::param_specs() const {
  std::vector<TensorSpec> s;
  for (auto spec : fwd_->param_specs()) s.push_back({"forward_" + spec.name, spec.shape});
  for (auto spec : bwd_->param_specs()) s.push_back({"backward_" + spec.name, spec.shape});
  return s;
}

template <class T>
void Bidirectional<T>::bind(const TensorPointers<T>& t) {
  const std::size_t nf = fwd_->param_specs().size();
  TensorPointers<T> f, b;
  f.params.assign(t.params.begin(), t.params.begin() + nf);
  f.grads.assign(t.grads.begin(), t.grads.begin() + nf);
  b.params.assign(t.params.begin() + nf, t.params.end());
  b.grads.assign(t.grads.begin() + nf, t.grads.end());
  fwd_->bind(f);
  bwd_->bind(b);
}

template <class T>
void Bidirectional<T>::init(Rng& rng) {
  fwd_->init(rng);
  bwd_->init(rng);
}

template <class T>
void Bidirectional<T>::forward(const T* x, T* y, index_t n, bool training, Rng& rng) {
  const index_t part = shape_size(fwd_->output_shape());
  const index_t rows = n * part / fwd_->units(), H = fwd_->units();
  yf_.reserve_at_least(n * part);
  yb_.reserve_at_least(n * part);
  fwd_->use_mask(this->in_mask_);
  bwd_->use_mask(this->in_mask_);
  fwd_->forward(x, yf_.data(), n, training, rng);
  bwd_->forward(x, yb_.data(), n, training, rng);
  const T *a = yf_.data(), *b = yb_.data();
  for (index_t r = 0; r < rows; ++r) {
    const T *ar = a + r * H, *br = b + r * H;
    switch (merge_) {
      case Merge::Concat:
        copy_rows(y + r * 2 * H, ar, H);
        copy_rows(y + r * 2 * H + H, br, H);
        break;
      case Merge::Sum:
        for (index_t j = 0; j < H; ++j) y[r * H + j] = ar[j] + br[j];
        break;
      case Merge::Mul:
        for (index_t j = 0; j < H; ++j) y[r * H + j] = ar[j] * br[j];
        break;
      case Merge::Ave:
        for (index_t j = 0; j < H; ++j) y[r * H + j] = (ar[j] + br[j]) * T(0.5);
        break;
    }
  }
}

template <class T>
void Bidirectional<T>::backward(const T* x, const T*, const T* dy, T* dx, index_t n) {
  const index_t part = shape_size(fwd_->output_shape());
  const index_t rows = n * part / fwd_->units(), H = fwd_->units();
  dyf_.reserve_at_least(n * part);
  dyb_.reserve_at_least(n * part);
  const T *a = yf_.data(), *b = yb_.data();
  T *ga = dyf_.data(), *gb = dyb_.data();
  for (index_t r = 0; r < rows; ++r) {
    for (index_t j = 0; j < H; ++j) {
      const index_t o = r * H + j;
      switch (merge_) {
        case Merge::Concat:
          ga[o] = dy[r * 2 * H + j];
          gb[o] = dy[r * 2 * H + H + j];
          break;
        case Merge::Sum:
          ga[o] = gb[o] = dy[o];
          break;
        case Merge::Mul:
          ga[o] = dy[o] * b[o];
          gb[o] = dy[o] * a[o];
          break;
        case Merge::Ave:
          ga[o] = gb[o] = dy[o] * T(0.5);
          break;
      }
    }
  }
  T* dxb = nullptr;
  if (dx) {
    dxb_.reserve_at_least(n * shape_size(this->in_shape_));
    dxb = dxb_.data();
  }
  fwd_->backward(x, yf_.data(), ga, dx, n);
  bwd_->backward(x, yb_.data(), gb, dxb, n);
  if (dx) {
    const index_t count = n * shape_size(this->in_shape_);
    for (index_t i = 0; i < count; ++i) dx[i] += dxb[i];
  }
}

template <class T>
std::vector<TensorSpec> Bidirectional<T>::state_specs() const {
  std::vector<TensorSpec> s;
  for (auto spec : fwd_->state_specs()) s.push_back({"forward_" + spec.name, spec.shape});
  for (auto spec : bwd_->state_specs()) s.push_back({"backward_" + spec.name, spec.shape});
  return s;
}

namespace {
template <class T>
std::pair<std::vector<const T*>, std::vector<const T*>> halves(const std::vector<const T*>& v, const char* what) {
  if (v.size() % 2 != 0 || v.empty())
    throw ValueError(cat("Bidirectional: expected ", what, " for both directions (forward then backward), got ",
                         v.size(), " arrays"));
  const std::size_t h = v.size() / 2;
  return {std::vector<const T*>(v.begin(), v.begin() + h), std::vector<const T*>(v.begin() + h, v.end())};
}
template <class T>
std::vector<const T*> joined(std::vector<const T*> a, const std::vector<const T*>& b) {
  if (a.empty() || b.empty()) return {};
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
}  // namespace

template <class T>
void Bidirectional<T>::set_initial_state(const std::vector<const T*>& state, index_t n) {
  auto p = halves(state, "initial states");
  fwd_->set_initial_state(p.first, n);
  bwd_->set_initial_state(p.second, n);
}

template <class T>
std::vector<const T*> Bidirectional<T>::final_state() const {
  return joined(fwd_->final_state(), bwd_->final_state());
}

template <class T>
void Bidirectional<T>::set_final_state_grad(const std::vector<const T*>& grad, index_t n) {
  auto p = halves(grad, "state gradients");
  fwd_->set_final_state_grad(p.first, n);
  bwd_->set_final_state_grad(p.second, n);
}

template <class T>
std::vector<const T*> Bidirectional<T>::initial_state_grad() const {
  return joined(fwd_->initial_state_grad(), bwd_->initial_state_grad());
}

template class Recurrent<float>;
template class Recurrent<double>;
template class SimpleRNN<float>;
template class SimpleRNN<double>;
template class LSTM<float>;
template class LSTM<double>;
template class GRU<float>;
template class GRU<double>;
template class Bidirectional<float>;
template class Bidirectional<double>;

}  // namespace entrena
