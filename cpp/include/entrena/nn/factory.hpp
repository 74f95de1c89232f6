// Building layers, losses, optimizers and whole models from names and JSON
// configs: what model files (nn/io.hpp) store, and what the Python layer
// sends. Unknown names and bad options are ValueErrors that list what is
// accepted.
//
// ============================ the config schema ============================
// Python's get_config produces the same dicts; keep both sides in step.
//
// Architecture (metadata key "architecture" of a model file):
//   {"input_shape": [d1, ...],          per-sample shape, no batch dimension
//    "layers": [<layer config>, ...]}   in model order (index k of layers.{k}.*)
//
// Layer configs; "type" is Layer::kind():
//   {"type": "Dense", "units": int >= 1, "use_bias": bool,
//    "activation": null | <Activation config below; its "type" may be left out>,
//    "kernel_init": <initializer>, "bias_init": <initializer>}
//   {"type": "Activation", "activation": <name of activation_from_name:
//    "identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu",
//    "gelu_tanh", "silu", "softplus", "softmax", "log_softmax">,
//    "alpha": number    only for leaky_relu and elu (default 0.01 / 1)}
//   {"type": "Dropout", "rate": number in [0, 1)}
//   {"type": "Flatten"}
// <initializer>:
//   {"name": "zeros" | "ones" | "constant" | "uniform" | "normal" |
//            "glorot_uniform" | "glorot_normal" | "he_uniform" | "he_normal" |
//            "lecun_uniform" | "lecun_normal",
//    "a": number, "b": number}
//   a, b: constant → a = value; uniform → a = low, b = high; normal → a =
//   mean, b = std; 0 (ignored) for the others.
// Writers (Layer::config) always write every key. Readers (make_layer) also
// accept: missing "use_bias" (true), "activation" (null), "kernel_init"
// ("glorot_uniform"), "bias_init" ("zeros"), "a"/"b" (0); a plain string for
// an initializer ("he_normal") or for a Dense activation ("relu"); and keys
// they do not know (e.g. a Python-side "name"), which they ignore.
//
// Loss and optimizer options are JSON objects of constructor arguments with
// PyTorch's names; unknown keys are rejected, null (Python's None) means
// the default:
//   losses:     every loss takes reduction ("mean" | "sum"), and
//               "categorical_crossentropy" {label_smoothing}, "huber" {delta},
//               "multiclass_hinge" {margin}; the others ("mse", "half_mse",
//               "mae", "binary_crossentropy", "binary_crossentropy_with_logits",
//               "hinge") nothing else
//   optimizers: "sgd"     {lr, momentum, dampening, weight_decay, nesterov}
//               "adam"    {lr, beta1, beta2 (or betas: [b1, b2]), eps, weight_decay, amsgrad}
//               "adamw"   {same as adam; weight_decay defaults to 1e-2}
//               "rmsprop" {lr, alpha, eps, weight_decay, momentum, centered}
//               "adagrad" {lr, lr_decay, weight_decay, initial_accumulator_value, eps}
//               every optimizer also takes clip_norm and clip_value (0: off).
// ===========================================================================
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "entrena/json.hpp"
#include "entrena/nn/layer.hpp"
#include "entrena/nn/loss.hpp"
#include "entrena/nn/model.hpp"
#include "entrena/nn/optimizer.hpp"

namespace entrena {

// A layer from its config (see the schema above).
template <class T>
std::unique_ptr<Layer<T>> make_layer(const Json& config);

// An initializer from {"name", "a", "b"} or a plain name.
Initializer make_initializer(const Json& config);

// A loss by name (Loss::name(), e.g. "categorical_crossentropy") with options
// (a JSON object, or null for none).
template <class T>
std::unique_ptr<Loss<T>> make_loss(const std::string& name, const Json& options = Json());

// An optimizer by name (Optimizer::name(), e.g. "adam") with options.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& name, const Json& options = Json());

// What the factories accept, in registration order.
std::vector<std::string> layer_types();
std::vector<std::string> loss_names();
std::vector<std::string> optimizer_names();

// {"input_shape": [...], "layers": [config of each layer]} of a built model.
template <class T>
Json architecture(Sequential<T>& model);

// An architecture read and checked without allocating parameters: each
// layer made from its config and built for its input shape, so that
// param_shapes() and output_shape() are known. Sizes are checked against
// overflow (at most 2^40 elements per tensor or per sample).
template <class T>
struct ArchitecturePlan {
  Shape input_shape;
  std::vector<std::unique_ptr<Layer<T>>> layers;
  index_t num_params = 0;
};
template <class T>
ArchitecturePlan<T> plan_architecture(const Json& arch);

// A new model with the architecture's layers, built for its input_shape;
// the parameters are initialised from `seed`. ValueError (naming the place,
// e.g. "architecture.layers[2].units") when the architecture does not fit
// the schema or the layers do not fit together.
template <class T>
std::unique_ptr<Sequential<T>> model_from_architecture(const Json& arch, std::uint64_t seed = 0);

}  // namespace entrena
