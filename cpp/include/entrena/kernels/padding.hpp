// Zero padding of (n, C, H, W) planes (the ZeroPadding2D layer).
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// The rows and columns of zeros added around each (h, w) plane.
struct Padding2D {
  index_t top = 0, bottom = 0, left = 0, right = 0;
};

// x: (planes, h, w), y: (planes, top + h + bottom, left + w + right)
// y = x surrounded by zeros.
template <class T>
void zero_padding2d_forward(const T* x, T* y, index_t planes, index_t h, index_t w, const Padding2D& pad);
// dy: (planes, top + h + bottom, left + w + right), dx: (planes, h, w)
// dx = the part of dy that x went to.
template <class T>
void zero_padding2d_backward(const T* dy, T* dx, index_t planes, index_t h, index_t w, const Padding2D& pad);

}  // namespace entrena
