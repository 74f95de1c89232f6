// Element-wise activations, forward and backward. Shapes are flat: the
// functions see n elements, whatever the layer's shape.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// x: (n,), y: (n,); y = max(x, 0)
template <class T>
void relu_forward(const T* x, T* y, index_t n);
// x: (n,), dy: (n,), dx: (n,); dx = dy where x > 0 else 0
template <class T>
void relu_backward(const T* x, const T* dy, T* dx, index_t n);

// x: (rows, cols), y: (rows, cols); row-wise softmax, numerically stable.
template <class T>
void softmax_forward(const T* x, T* y, index_t rows, index_t cols);

}  // namespace entrena
