// Recurrent layers: SimpleRNN, LSTM, GRU and Bidirectional, on sequences
// (n, steps, features). Kernels and equations: entrena/kernels/recurrent.hpp.
#pragma once

#include <memory>
#include <string>

#include "entrena/kernels/recurrent.hpp"
#include "entrena/nn/layer.hpp"

namespace entrena {

// One recurrent layer over (n, steps, F): (n, steps, units) with
// return_sequences, else (n, units), the output after each sequence's last
// real step. Tensors (PyTorch's gate order, entrena's (in, out) layout):
// W_ih (F, G·units), W_hh (units, G·units), b_ih and b_hh (G·units,), G = 1
// (SimpleRNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n); PyTorch's
// weight_ih_l0 is W_ihᵀ. Initial values as PyTorch's: uniform in ±1/√units,
// unless an initializer is given. `dropout` drops input features in
// training, with one mask per sequence for all its steps (Keras' rule).
// `go_backwards` runs from the last step to the first (outputs stay at their
// steps). The input mask (Embedding's padding_idx, Masking) makes padded
// steps keep the state, output zeros and get no gradient.
// The state (h, and c for LSTM) can be set before a forward pass and read
// after it (return_state marks layers whose final state a model returns).
//
// Config: {"units": int >= 1, "activation": "tanh" | "relu" (SimpleRNN
// only), "return_sequences": bool, "return_state": bool, "go_backwards":
// bool, "dropout": number in [0, 1), "use_bias": bool, "kernel_init",
// "recurrent_init", "bias_init": null (PyTorch's uniform) | initializer}.
template <class T>
class Recurrent : public Layer<T> {
 public:
  Recurrent(RnnCell cell, index_t units, bool return_sequences = false, bool return_state = false,
            bool go_backwards = false, double dropout = 0.0, bool use_bias = true);
  // A SimpleRNN (cell Tanh: the config's activation decides), LSTM or GRU
  // from its config.
  static std::unique_ptr<Recurrent<T>> make(RnnCell cell, Options& o);

  std::string kind() const override;
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  std::vector<TensorSpec> param_specs() const override;
  void bind(const TensorPointers<T>& t) override;
  void init(Rng& rng) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;
  MaskUse mask_use() const override { return return_sequences_ ? MaskUse::Keep : MaskUse::Drop; }

  std::vector<TensorSpec> state_specs() const override;
  void set_initial_state(const std::vector<const T*>& state, index_t n) override;
  std::vector<const T*> final_state() const override;
  void set_final_state_grad(const std::vector<const T*>& grad, index_t n) override;
  std::vector<const T*> initial_state_grad() const override;
  void clear_pending() override { has_h0_ = has_dstate_ = false; }

  RnnCell cell() const { return cell_; }
  index_t units() const { return units_; }
  bool return_sequences() const { return return_sequences_; }
  bool return_state() const { return return_state_; }
  bool go_backwards() const { return go_backwards_; }
  // For Bidirectional: the mask of the input, set by the wrapper.
  void use_mask(const std::uint8_t* m) { this->in_mask_ = m; }
  // The initializers (null: PyTorch's default).
  void set_initializers(const Json& kernel, const Json& recurrent, const Json& bias);

 private:
  RnnDims dims(index_t n) const;
  // dst = src (n, steps, F) times the dropout mask of each sequence (n, F).
  void times_dropout_mask(const T* src, T* dst, index_t n) const;
  RnnCell cell_;
  index_t units_, in_ = 0, steps_ = 0;
  bool return_sequences_, return_state_, go_backwards_;
  double dropout_;
  bool use_bias_;
  Json kernel_init_, recurrent_init_, bias_init_;
  T *W_ih_ = nullptr, *W_hh_ = nullptr, *b_ih_ = nullptr, *b_hh_ = nullptr;
  T *dW_ih_ = nullptr, *dW_hh_ = nullptr, *db_ih_ = nullptr, *db_hh_ = nullptr;
  AlignedBuffer<T> ws_, h_, c_, h0_, c0_, dh_, dhl_, dcl_, dh0_, dc0_, drop_, xd_, dxd_;
  bool has_h0_ = false, has_dstate_ = false, has_dinit_ = false, dropped_ = false, backward_ready_ = false;
  index_t last_n_ = 0, state_n_ = 0, dstate_n_ = 0;
};

// SimpleRNN(units, "tanh" | "relu", ...), LSTM(units, ...), GRU(units, ...):
// the arguments after units as Recurrent's.
template <class T>
class SimpleRNN : public Recurrent<T> {
 public:
  explicit SimpleRNN(index_t units, const std::string& activation = "tanh", bool return_sequences = false,
                     bool return_state = false, bool go_backwards = false, double dropout = 0.0,
                     bool use_bias = true);
  static std::unique_ptr<Layer<T>> from_config(Options& o);
};
template <class T>
class LSTM : public Recurrent<T> {
 public:
  explicit LSTM(index_t units, bool return_sequences = false, bool return_state = false, bool go_backwards = false,
                double dropout = 0.0, bool use_bias = true)
      : Recurrent<T>(RnnCell::LSTM, units, return_sequences, return_state, go_backwards, dropout, use_bias) {}
  static std::unique_ptr<Layer<T>> from_config(Options& o);
};
template <class T>
class GRU : public Recurrent<T> {
 public:
  explicit GRU(index_t units, bool return_sequences = false, bool return_state = false, bool go_backwards = false,
               double dropout = 0.0, bool use_bias = true)
      : Recurrent<T>(RnnCell::GRU, units, return_sequences, return_state, go_backwards, dropout, use_bias) {}
  static std::unique_ptr<Layer<T>> from_config(Options& o);
};

// Bidirectional(layer): the recurrent layer run forward and a copy of it
// run from the last step to the first (separate weights), their outputs
// merged: "concat" (on the last axis: (..., 2·units)), "sum", "mul" or
// "ave". Tensors: the inner layer's, prefixed forward_ and backward_. The
// state is the forward layer's then the backward layer's (h_f, c_f, h_b, c_b).
//
// Config: {"layer": a SimpleRNN, LSTM or GRU config, "merge_mode": "concat"
// | "sum" | "mul" | "ave"}.
template <class T>
class Bidirectional : public Layer<T> {
 public:
  Bidirectional(std::unique_ptr<Recurrent<T>> forward_layer, const std::string& merge_mode = "concat");
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "Bidirectional"; }
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  std::vector<TensorSpec> param_specs() const override;
  void bind(const TensorPointers<T>& t) override;
  void init(Rng& rng) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;
  MaskUse mask_use() const override { return fwd_->mask_use(); }

  std::vector<TensorSpec> state_specs() const override;
  void set_initial_state(const std::vector<const T*>& state, index_t n) override;
  std::vector<const T*> final_state() const override;
  void set_final_state_grad(const std::vector<const T*>& grad, index_t n) override;
  std::vector<const T*> initial_state_grad() const override;
  void clear_pending() override {
    fwd_->clear_pending();
    bwd_->clear_pending();
  }
  bool return_state() const { return fwd_->return_state(); }

 private:
  enum class Merge { Concat, Sum, Mul, Ave } merge_;
  std::unique_ptr<Recurrent<T>> fwd_, bwd_;
  AlignedBuffer<T> yf_, yb_, dyf_, dyb_, dxb_;
};

}  // namespace entrena
