// Windows sliding along the spatial axes of (n, C, ...) inputs (pooling
// layers): the output length and padding of one axis for "valid" and
// "same", as Keras and TensorFlow define them.
#pragma once

#include <string>
#include <vector>

#include "entrena/common.hpp"

namespace entrena {

// One spatial axis: `out` windows, the first starting `pad_begin`
// positions before the input (the padding after it is implied).
struct WindowAxis {
  index_t out = 0;
  index_t pad_begin = 0;
};

// A window of `size` moved by `stride` along an axis of length `in`:
//   "valid": no padding, out = (in - size) / stride + 1 (0 when in < size);
//   "same":  out = ceil(in / stride), padded by
//            max((out - 1) * stride + size - in, 0) in all, half of it
//            (rounded down) before the input and the rest after it.
WindowAxis window_axis(index_t in, index_t size, index_t stride, bool same);

// The values of a `padding` argument.
inline const std::vector<std::string>& padding_modes() {
  static const std::vector<std::string> modes{"valid", "same"};
  return modes;
}

}  // namespace entrena
