// Model files. entrena saves models as safetensors files, readable by the
// `safetensors` Python package and by any safetensors reader:
//
//   8 bytes   N, the header length (unsigned, little-endian)
//   N bytes   the header: a JSON object (UTF-8, padded with spaces)
//               {"__metadata__": {string: string, ...},
//                "<tensor name>": {"dtype": "F32" | "F64", "shape": [...],
//                                  "data_offsets": [begin, end]}, ...}
//   the data  every tensor's bytes, little-endian, row-major; the offsets
//             are relative to the start of the data and cover it exactly
//
// An entrena model file has these tensors and metadata keys:
//   layers.{k}.{param}  parameter `param` (Layer::param_shapes) of layer k
//                       of the model, e.g. layers.0.W (in, out), layers.0.b (out,)
//   optimizer.{name}    optional: the optimizer's state buffers
//                       (Optimizer::state(), e.g. optimizer.exp_avg), flat
//   format              "entrena"
//   entrena_version     the version that wrote the file, e.g. "0.1.0"
//   dtype               "float32" | "float64" (every tensor has this dtype)
//   architecture        JSON {"input_shape": [...], "layers": [configs]}
//                       (schema in nn/factory.hpp)
//   optimizer_state     only with optimizer tensors: JSON {"name": "adam", "steps": 120}
//   rng_state           the model's random generator (shuffles, dropout masks), so
//                       training resumes exactly; optional when reading
//   any other keys      the caller's (Python stores its loss and optimizer config)
//
// Files are written atomically: to a temporary file in the same directory,
// flushed, then renamed over the destination, so a failed save never leaves
// a partial file behind.
//
// Errors: entrena::IOError when the file system fails (cannot open, read,
// write or rename; Python: OSError); FormatError (a ValueError; Python:
// ValueError) when the content is not a valid safetensors file, not an
// entrena model, or does not fit its own architecture. Every size and offset
// is checked against the file's length before anything is allocated.
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

namespace entrena {

// The content of a file does not fit the format (a ValueError).
class FormatError : public ValueError {
 public:
  using ValueError::ValueError;
};

// Element types of the tensors entrena reads and writes.
enum class DType { F32, F64 };
const char* dtype_code(DType d);        // "F32", "F64" (safetensors' names)
const char* dtype_name(DType d);        // "float32", "float64"
std::size_t dtype_size(DType d);        // 4, 8
template <class T>
constexpr DType dtype_of() {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "entrena tensors are float or double");
  return sizeof(T) == 4 ? DType::F32 : DType::F64;
}

// One tensor of a safetensors file, as little-endian bytes.
struct RawTensor {
  DType dtype = DType::F32;
  Shape shape;
  std::vector<unsigned char> bytes;  // shape_size(shape) * dtype_size(dtype) bytes

  index_t numel() const { return shape_size(shape); }
  // The values as T (float64 → float32 rounds to nearest), into out[0..numel).
  template <class T>
  void copy_to(T* out) const;
  template <class T>
  std::vector<T> values() const;
  // A tensor of T's dtype holding data[0..shape_size(shape)).
  template <class T>
  static RawTensor from(const T* data, const Shape& shape);
};

// A whole safetensors file: tensors in file order, and the metadata.
struct SafetensorsFile {
  std::vector<std::pair<std::string, RawTensor>> tensors;
  std::map<std::string, std::string> metadata;

  const RawTensor* find(const std::string& name) const;
};

// Reads and checks any safetensors file whose tensors are F32 or F64.
SafetensorsFile read_safetensors(const std::string& path);
// Only the header: tensors come with dtype and shape, and no bytes.
SafetensorsFile read_safetensors_header(const std::string& path);
// Writes atomically (see above). Tensor names must be unique and not
// "__metadata__"; each tensor's bytes must match its shape and dtype.
void write_safetensors(const std::string& path, const SafetensorsFile& file);

// ---------------------------------------------------------------- models

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
