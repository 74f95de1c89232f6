// The layer registry: every layer is made from its config here, whether the
// request comes from C++, from Python or from a model file. Built-in layers
// are registered in registry.cpp, one line each; an application can
// register its own layer types the same way (before loading files that use
// them).
//
//   {"type": "Dense", "name": "hidden", "units": 64, "activation": "relu"}
//
// "type" picks the layer; "name" (optional) is its display name; the other
// keys are the layer's arguments (each layer's header documents them).
// Unknown arguments are errors.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "entrena/json.hpp"
#include "entrena/nn/layer.hpp"
#include "entrena/nn/options.hpp"

namespace entrena {

// Makes a layer from its arguments (read them with `o`; the registry
// checks for unknown ones afterwards).
template <class T>
using LayerMaker = std::function<std::unique_ptr<Layer<T>>(Options& o)>;

// Adds (or replaces) a layer type. Thread-safe.
void register_layer(const std::string& type, LayerMaker<float> make_f32, LayerMaker<double> make_f64);
// For a layer class template L<T> with a static from_config(Options&).
template <template <class> class L>
void register_layer(const std::string& type) {
  register_layer(type, &L<float>::from_config, &L<double>::from_config);
}

// A layer from its config. ValueError (TypeError for values of the wrong
// kind) naming the argument, what was expected and what was given.
template <class T>
std::unique_ptr<Layer<T>> make_layer(const Json& config);

// The registered type names, built-ins first in registration order.
std::vector<std::string> layer_types();

}  // namespace entrena
