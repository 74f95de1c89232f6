// safetensors files: the container entrena's model files use, readable by
// the `safetensors` Python package and by any safetensors reader:
//
//   8 bytes   N, the header length (unsigned, little-endian)
//   N bytes   the header: a JSON object (UTF-8, padded with spaces)
//               {"__metadata__": {string: string, ...},
//                "<tensor name>": {"dtype": "F32" | "F64", "shape": [...],
//                                  "data_offsets": [begin, end]}, ...}
//   the data  every tensor's bytes, little-endian, row-major; the offsets
//             are relative to the start of the data and cover it exactly
//
// Files are written atomically: to a temporary file in the same directory,
// flushed, then renamed over the destination, so a failed save never leaves
// a partial file behind.
//
// Errors: entrena::IOError when the file system fails (cannot open, read,
// write or rename; Python: OSError); FormatError (a ValueError; Python:
// ValueError) when the content is not a valid safetensors file. Every size
// and offset is checked against the file's length before anything is
// allocated. What entrena stores in these files is in nn/io.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "entrena/common.hpp"

namespace entrena {

using Shape = std::vector<index_t>;

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

  index_t numel() const;
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
// `check`, if given, sees the header (tensors without bytes, and the
// metadata) before any tensor data is read, and may throw.
SafetensorsFile read_safetensors(const std::string& path,
                                 const std::function<void(const SafetensorsFile&)>& check = {});
// Only the header: tensors come with dtype and shape, and no bytes.
SafetensorsFile read_safetensors_header(const std::string& path);
// Writes atomically (see above). Tensor names must be unique and not
// "__metadata__"; each tensor's bytes must match its shape and dtype.
void write_safetensors(const std::string& path, const SafetensorsFile& file);

}  // namespace entrena
