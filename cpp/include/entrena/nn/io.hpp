// Model files: what entrena stores in a safetensors file (the container is
// entrena/safetensors.hpp). An entrena model file has these tensors and
// metadata keys:
//   layers.{k}.{tensor} the parameters and buffers (Layer::param_specs,
//                       buffer_specs) of layer k of the model, e.g.
//                       layers.0.W (in, out), layers.0.b (out,),
//                       layers.2.mean (features,)
//   optimizer.{name}    optional: the optimizer's state buffers
//                       (Optimizer::state(), e.g. optimizer.exp_avg), flat
//   format              "entrena"
//   entrena_version     the version that wrote the file, e.g. "0.1.0"
//   dtype               "float32" | "float64" (every tensor has this dtype)
//   architecture        JSON {"input_shape": [...], "layers": [configs]}
//                       (schema in nn/factory.hpp)
//   param_options       optional JSON {"layers.0.b": {"weight_decay": false}, ...}:
//                       the parameter tensors whose options are not the defaults
//   optimizer_state     only with optimizer tensors: JSON {"name": "adam", "steps": 120}
//   rng_state           the model's random generator (shuffles, dropout masks), so
//                       training resumes exactly; optional when reading
//   any other keys      the caller's (Python stores its loss and optimizer config)
//
// Errors: IOError when the file system fails; FormatError (a ValueError)
// when the content is not an entrena model or does not fit its own
// architecture.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "entrena/common.hpp"
#include "entrena/nn/model.hpp"
#include "entrena/nn/optimizer.hpp"
#include "entrena/safetensors.hpp"

namespace entrena {

// A flat array with a shape.
template <class T>
struct TensorData {
  Shape shape;
  std::vector<T> data;
};

// An optimizer's state as stored in a model file.
template <class T>
struct OptimizerState {
  std::string name;   // Optimizer::name(), e.g. "adam"
  index_t steps = 0;  // Optimizer::steps()
  std::map<std::string, TensorData<T>> buffers;  // "exp_avg" → (n,) values
};

// Copies an optimizer's name, step count and state buffers.
template <class T>
OptimizerState<T> optimizer_state(Optimizer<T>& opt);
// Puts a saved state into `opt` (same name; buffers sized for n_params
// parameters; every buffer of `opt` present). ValueError if it does not fit.
template <class T>
void restore_optimizer_state(Optimizer<T>& opt, const OptimizerState<T>& state, index_t n_params);

// The metadata keys entrena writes itself; save rejects them in `metadata`.
const std::vector<std::string>& reserved_metadata_keys();

// Saves a built model's architecture and parameters, the caller's string
// metadata, and optionally an optimizer state, to `path`.
template <class T>
void save(Sequential<T>& model, const std::string& path,
          const std::map<std::string, std::string>& metadata = {},
          const OptimizerState<T>* optimizer = nullptr);

// What load returns.
template <class T>
struct LoadedModel {
  std::unique_ptr<Sequential<T>> model;         // built; parameters from the file
  std::map<std::string, std::string> metadata;  // every metadata key, entrena's included
  std::optional<OptimizerState<T>> optimizer;   // when the file holds one
  DType file_dtype = dtype_of<T>();             // the dtype stored in the file
};

// Loads a model saved by entrena (from C++ or Python). A file of the other
// dtype is converted to T when convert_dtype is true (float64 → float32
// rounds to nearest) and rejected with a FormatError otherwise. `seed`
// seeds the model's generator (dropout, shuffling of further training).
template <class T>
LoadedModel<T> load(const std::string& path, bool convert_dtype = true, std::uint64_t seed = 0);

// The two halves of load, for callers that look at the file before choosing
// T (the Python bindings load a model of the file's dtype):
// read_model_file reads and checks the file and its entrena metadata;
// model_file_dtype is the dtype it declares; build_loaded makes the model.
SafetensorsFile read_model_file(const std::string& path);
DType model_file_dtype(const SafetensorsFile& file, const std::string& path);
template <class T>
LoadedModel<T> build_loaded(const SafetensorsFile& file, const std::string& path,
                            bool convert_dtype = true, std::uint64_t seed = 0);

}  // namespace entrena
