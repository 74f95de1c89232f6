// Building layers, losses, optimizers and whole models from names and JSON
// configs: what model files (nn/io.hpp) store, and what the Python layer
// sends. Unknown names and bad options are ValueErrors that list what is
// accepted.
//
// ============================ the config schema ============================
// Python's layer, loss and optimizer classes send these same objects.
//
// Architecture (metadata key "architecture" of a model file):
//   {"input_shape": [d1, ...],          per-sample shape, no batch dimension
//    "layers": [<layer config>, ...]}   in model order (index k of layers.{k}.*)
//
// Layer configs: {"type": <registered type>, "name": optional display
// name, <the layer's arguments>}; see nn/registry.hpp, and each layer's
// header for its arguments:
//   Dense          nn/dense.hpp           Activation   nn/activation.hpp
//   Dropout        nn/dropout.hpp         Flatten      nn/flatten.hpp
//   Normalization  nn/normalization.hpp
//   RandomFlip, RandomTranslation, RandomCrop, RandomRotation, GaussianNoise
//                  nn/augment.hpp
//   MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D, GlobalMaxPooling1D/2D,
//   GlobalAveragePooling1D/2D                         nn/pooling.hpp
//   BatchNormalization  nn/batch_norm.hpp      LayerNormalization  nn/layer_norm.hpp
//   Reshape        nn/reshape.hpp         ZeroPadding2D  nn/zero_padding.hpp
//   Conv1D, Conv2D nn/conv.hpp
//   Embedding, Masking  nn/embedding.hpp
//   SimpleRNN, LSTM, GRU, Bidirectional  nn/recurrent.hpp
// <initializer>: a name or {"name": ..., arguments}; see nn/initializer.hpp.
// Writers (Layer::config) write every argument; readers also accept the
// forms entrena 0.1 wrote, and reject unknown arguments.
//
// Loss and optimizer options are JSON objects of constructor arguments with
// PyTorch's names; unknown keys are rejected, null (Python's None) means
// the default. Names are looked up ignoring case, aliases included (see
// names()):
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
//               every optimizer also takes clip_norm and clip_value (null or 0: off).
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
#include "entrena/nn/options.hpp"
#include "entrena/nn/registry.hpp"

namespace entrena {

// A loss by name (or alias, e.g. "sparse_categorical_crossentropy") with
// options (a JSON object, or null for none).
template <class T>
std::unique_ptr<Loss<T>> make_loss(const std::string& name, const Json& options = Json());

// An optimizer by name (or alias; "momentum" is SGD with momentum 0.9)
// with options.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& name, const Json& options = Json());

// The name tables: "activation", "initializer", "loss", "optimizer",
// "metric" and "layer" (the registered layer types). ValueError otherwise.
NameTable names(const std::string& kind);
std::vector<std::string> loss_names();
std::vector<std::string> optimizer_names();

// {"input_shape": [...], "layers": [config of each layer]} of a built model.
template <class T>
Json architecture(Sequential<T>& model);

// An architecture read and checked without allocating tensors: each layer
// made from its config and built for its input shape, so that its specs
// and output shape are known. Sizes are checked against overflow (at most
// 2^40 elements per tensor, per sample or in all).
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
// e.g. "architecture.layers[2]: units: ...") when the architecture does not
// fit the schema or the layers do not fit together.
template <class T>
std::unique_ptr<Sequential<T>> model_from_architecture(const Json& arch, std::uint64_t seed = 0);

}  // namespace entrena
