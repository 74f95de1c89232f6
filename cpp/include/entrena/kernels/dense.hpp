// Fully connected layer kernels: y = x·W + b.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// x: (n, in), W: (in, out), b: (out,) or null, y: (n, out)
// y = x·W + b, or max(x·W + b, 0) when relu. The bias add and the ReLU run
// in the GEMM epilogue, while each tile of y is still in registers.
template <class T>
void dense_forward(const T* x, const T* W, const T* b, T* y, index_t n, index_t in,
                   index_t out, bool relu = false);

// x: (n, in), W: (in, out), dy: (n, out)
// dW: (in, out) += xᵀ·dy, db: (out,) += column sums of dy (skipped if null),
// dx: (n, in) = dy·Wᵀ (skipped if null). Gradients accumulate, as in PyTorch.
template <class T>
void dense_backward(const T* x, const T* W, const T* dy, T* dW, T* db, T* dx, index_t n,
                    index_t in, index_t out);

// g: (n, out), sums: (out,) += column sums of g, each column adding its
// rows in ascending order (the same result for any thread count).
template <class T>
void column_sums(const T* g, T* sums, index_t n, index_t out);

}  // namespace entrena
