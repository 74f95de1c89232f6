#include "entrena/nn/window.hpp"

namespace entrena {

WindowAxis window_axis(index_t in, index_t size, index_t stride, bool same) {
  WindowAxis a;
  if (same) {
    a.out = (in + stride - 1) / stride;
    const index_t total = (a.out - 1) * stride + size - in;
    a.pad_begin = total > 0 ? total / 2 : 0;
  } else {
    a.out = in >= size ? (in - size) / stride + 1 : 0;
  }
  return a;
}

}  // namespace entrena
