// The layer interface. Layers are shape-based and batch-first: a layer sees
// activations of shape (n, *sample_shape). The model owns every tensor (the
// parameters, their gradients, the buffers and the activations) and hands
// the layer pointers into them.
//
// A layer type is a plug-in: its class (this interface, with a static
// from_config), its kernels in their own files, and one line in the layer
// registry (nn/registry.hpp). docs/adding_a_layer.md has the recipe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "entrena/common.hpp"
#include "entrena/json.hpp"
#include "entrena/nn/initializer.hpp"
#include "entrena/nn/options.hpp"
#include "entrena/random.hpp"

namespace entrena {

using Shape = std::vector<index_t>;  // the shape of one sample (no batch dim)

inline index_t shape_size(const Shape& s) {
  index_t n = 1;
  for (index_t d : s) n *= d;
  return n;
}

// A tensor a layer owns: its name within the layer ("W", "running_mean") and shape.
struct TensorSpec {
  std::string name;
  Shape shape;
  bool operator==(const TensorSpec& o) const { return name == o.name && shape == o.shape; }
  bool operator!=(const TensorSpec& o) const { return !(*this == o); }
};

// Where the model put a layer's tensors, in the order of its specs.
template <class T>
struct TensorPointers {
  std::vector<T*> params;   // trained by the optimizer
  std::vector<T*> grads;    // the gradients of params, same order
  std::vector<T*> buffers;  // state that is not trained (e.g. running statistics)
};

// What a layer does with a mask over the steps of its input (n, steps, ...),
// one byte per step, 1 for a real step (see Sequential): Drop (the output has
// no mask: the default), Keep (the output has the input's mask: layers whose
// output keeps the steps axis, such as Dense on (n, steps, F)), or Make (the
// layer computes its output's mask with compute_mask: Embedding, Masking).
enum class MaskUse { Drop, Keep, Make };

template <class T>
class Layer {
 public:
  virtual ~Layer() = default;

  // The layer's type name, as registered (e.g. "Dense").
  virtual std::string kind() const = 0;
  // The constructor arguments as a JSON object (without "type" and "name").
  virtual Json args() const { return Json::object(); }
  // {"type": kind(), "name": name() if set, ...args()}: what model files
  // store and the registry rebuilds the layer from.
  Json config() const;
  // An optional display name (from the config's "name").
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  // Called once with the per-sample input shape; checks it (ValueError
  // naming the layer, the expected and the given shape) and returns the
  // per-sample output shape.
  virtual Shape build(const Shape& input_shape) = 0;
  // Parameter tensors (updated by the optimizer) and buffers (saved with
  // the model, never trained), known after build.
  virtual std::vector<TensorSpec> param_specs() const { return {}; }
  virtual std::vector<TensorSpec> buffer_specs() const { return {}; }
  // Where the tensors live (called after build, before init).
  virtual void bind(const TensorPointers<T>& /*tensors*/) {}
  // Initial values of the parameters and buffers, from the model's generator.
  virtual void init(Rng& /*rng*/) {}

  // x: (n, *input_shape) -> y: (n, *output_shape). Buffers may be updated
  // in training mode (e.g. running statistics).
  virtual void forward(const T* x, T* y, index_t n, bool training, Rng& rng) = 0;
  // Given x and y of the last forward and dy = dL/dy, accumulates the
  // parameter gradients and writes dx = dL/dx (dx may be null: not needed).
  virtual void backward(const T* x, const T* y, const T* dy, T* dx, index_t n) = 0;

  const Shape& input_shape() const { return in_shape_; }
  const Shape& output_shape() const { return out_shape_; }

  // Checks the values of the model's inputs when this is the first layer
  // (ValueError naming the problem), before fit, evaluate or predict uses
  // them: e.g. Embedding's ids. x: (n, *input_shape).
  virtual void check_input(const T* /*x*/, index_t /*n*/) const {}

  // ---- masks over steps
  virtual MaskUse mask_use() const { return MaskUse::Drop; }
  // For MaskUse::Make: the mask of the output (n, output_shape()[0]) from
  // the input x of this forward and the input's mask (or null).
  virtual void compute_mask(const T* /*x*/, const std::uint8_t* /*in_mask*/, std::uint8_t* /*out*/,
                            index_t /*n*/) {}
  // The model gives the mask of the input (n, input_shape()[0]), or null,
  // before each forward; it stays valid through the matching backward.
  void set_input_mask(const std::uint8_t* mask) { in_mask_ = mask; }

  // ---- recurrent state (SimpleRNN, LSTM, GRU, Bidirectional)
  // The state a layer carries from step to step, per sample ({"h", {H}},
  // {"c", {H}}); empty for layers without one.
  virtual std::vector<TensorSpec> state_specs() const { return {}; }
  // The initial state of the next forward pass (then zeros again): one
  // array of (n, size) per state spec, copied.
  virtual void set_initial_state(const std::vector<const T*>& /*state*/, index_t /*n*/) {}
  // The state after the last forward pass: one (n, size) array per spec.
  virtual std::vector<const T*> final_state() const { return {}; }
  // Gradients of the loss with respect to the final state, added in the
  // next backward pass (then none again); copied.
  virtual void set_final_state_grad(const std::vector<const T*>& /*grad*/, index_t /*n*/) {}
  // dL/d(initial state) of the last backward pass.
  virtual std::vector<const T*> initial_state_grad() const { return {}; }
  // Forgets an initial state or state gradient not used yet (the model
  // calls it when a forward or backward pass fails, so that none of them
  // outlives the call it was given for).
  virtual void clear_pending() {}

 protected:
  Shape in_shape_, out_shape_;
  const std::uint8_t* in_mask_ = nullptr;

 private:
  std::string name_;
};

template <class T>
Json Layer<T>::config() const {
  Json j = Json::object({{"type", kind()}});
  if (!name_.empty()) j["name"] = name_;
  const Json a = args();
  for (const auto& member : a.as_object()) j[member.first] = member.second;
  return j;
}

// The size of the last axis of (n, ..., features), for a layer (`who`)
// that acts on it; ValueError for a per-sample shape of rank 0.
inline index_t features_of(const std::string& who, const Shape& input_shape) {
  if (input_shape.empty())
    throw ValueError(cat(who, ": expected inputs of shape (n, ..., features), got per-sample shape ",
                         shape_str(input_shape)));
  return input_shape.back();
}

// The number of rows a kernel sees when a layer acts on the last axis of
// (n, ..., features): n times the product of the middle sizes.
inline index_t rows_of(index_t n, const Shape& sample_shape) {
  return sample_shape.empty() ? n : n * (shape_size(sample_shape) / sample_shape.back());
}

}  // namespace entrena
