// Fully connected layer kernels: y = x·W + b.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// x: (n, in), W: (in, out), b: (out,) or null, y: (n, out)
template <class T>
void dense_forward(const T* x, const T* W, const T* b, T* y, index_t n, index_t in,
                   index_t out);

// x: (n, in), W: (in, out), dy: (n, out)
// dW: (in, out) += xᵀ·dy, db: (out,) += column sums of dy (skipped if null),
// dx: (n, in) = dy·Wᵀ (skipped if null). Gradients accumulate, as in PyTorch.
template <class T>
void dense_backward(const T* x, const T* W, const T* dy, T* dW, T* db, T* dx, index_t n,
                    index_t in, index_t out);

// sums: (out,) += column sums of g: (n, out), in a fixed order (rows ascending).
template <class T>
void column_sums(const T* g, T* sums, index_t n, index_t out);

}  // namespace entrena
