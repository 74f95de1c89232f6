// Layers: shape-based, batch-first. A layer sees activations of shape
// (n, *sample_shape); the model owns every buffer and hands pointers in.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "entrena/common.hpp"
#include "entrena/json.hpp"
#include "entrena/random.hpp"

namespace entrena {

using Shape = std::vector<index_t>;  // the shape of one sample (no batch dim)

inline index_t shape_size(const Shape& s) {
  index_t n = 1;
  for (index_t d : s) n *= d;
  return n;
}

// How a layer's parameter tensor is initialised.
struct Initializer {
  enum class Kind {
    Zeros, Ones, Constant, Uniform, Normal,
    GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal
  };
  Kind kind = Kind::GlorotUniform;
  double a = 0.0;  // Constant: value; Uniform: low; Normal: mean
  double b = 0.0;  // Uniform: high; Normal: std

  static Initializer from_name(const std::string& name, double a = 0.0, double b = 0.0);
  std::string name() const;
  // {"name": name(), "a": a, "b": b} (the schema is in nn/factory.hpp).
  Json config() const;
  // Fills p[0..count) for a tensor with the given fan-in and fan-out.
  template <class T>
  void fill(T* p, index_t count, index_t fan_in, index_t fan_out, Rng& rng) const;
};

template <class T>
class Layer {
 public:
  virtual ~Layer() = default;

  // The layer's type name, e.g. "Dense".
  virtual std::string kind() const = 0;
  // The layer's constructor arguments as a JSON object with "type": kind()
  // (what model files store; make_layer in nn/factory.hpp rebuilds the layer
  // from it). Layers with constructor arguments must override this.
  virtual Json config() const { return Json::object({{"type", kind()}}); }
  // Called once with the per-sample input shape; returns the output shape.
  virtual Shape build(const Shape& input_shape) = 0;
  virtual index_t num_params() const { return 0; }
  // Names and shapes of the parameter tensors, in buffer order.
  virtual std::vector<std::pair<std::string, Shape>> param_shapes() const { return {}; }
  // Views of this layer's slice of the model's flat parameter and gradient buffers.
  virtual void bind(T* /*params*/, T* /*grads*/) {}
  virtual void init_params(Rng& /*rng*/) {}

  // x: (n, *input_shape) -> y: (n, *output_shape).
  virtual void forward(const T* x, T* y, index_t n, bool training, Rng& rng) = 0;
  // Given x and y of the last forward and dy = dL/dy, accumulates parameter
  // gradients and writes dx = dL/dx (dx may be null: not needed).
  virtual void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) = 0;

  const Shape& input_shape() const { return in_shape_; }
  const Shape& output_shape() const { return out_shape_; }

 protected:
  Shape in_shape_, out_shape_;
};

template <class T>
class ActivationLayer;

// y = act(x·W + b) for x of shape (n, in). W: (in, out), b: (out,). The
// activation is optional (null: y = x·W + b).
template <class T>
class Dense : public Layer<T> {
 public:
  Dense(index_t units, bool use_bias = true, Initializer kernel_init = {},
        Initializer bias_init = {Initializer::Kind::Zeros},
        std::unique_ptr<ActivationLayer<T>> activation = nullptr);
  // As Python's Dense(units, activation): an activation name ("" or
  // "identity" for none) and initializer names.
  Dense(index_t units, const std::string& activation, const std::string& kernel_init = "glorot_uniform",
        const std::string& bias_init = "zeros", bool use_bias = true);
  // (A string literal must not fall through to the bool use_bias overload.)
  Dense(index_t units, const char* activation, const std::string& kernel_init = "glorot_uniform",
        const std::string& bias_init = "zeros", bool use_bias = true)
      : Dense(units, std::string(activation ? activation : ""), kernel_init, bias_init, use_bias) {}
  Dense(Dense&&) noexcept;
  ~Dense() override;
  std::string kind() const override { return "Dense"; }
  Json config() const override;
  Shape build(const Shape& input_shape) override;
  index_t num_params() const override;
  std::vector<std::pair<std::string, Shape>> param_shapes() const override;
  void bind(T* params, T* grads) override;
  void init_params(Rng& rng) override;
  void forward(const T* x, T* y, index_t n, bool training, Rng& rng) override;
  void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) override;

  index_t units() const { return units_; }
  index_t in_features() const { return in_; }
  bool use_bias() const { return use_bias_; }
  const Initializer& kernel_init() const { return kernel_init_; }
  const Initializer& bias_init() const { return bias_init_; }
  // The fused activation, or null.
  const ActivationLayer<T>* activation() const { return act_.get(); }

 private:
  index_t units_, in_ = 0;
  bool use_bias_;
  Initializer kernel_init_, bias_init_;
  std::unique_ptr<ActivationLayer<T>> act_;
  AlignedBuffer<T> z_, dz_;  // pre-activation and its gradient (only with an activation)
  T *W_ = nullptr, *b_ = nullptr, *dW_ = nullptr, *db_ = nullptr;
};

}  // namespace entrena
