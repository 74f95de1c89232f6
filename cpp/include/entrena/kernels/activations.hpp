// Activation kernels, forward and backward, and the vector math under them.
// Element-wise kernels see flat arrays of n elements, whatever the layer's
// shape; row-wise kernels (softmax, log-softmax) see (rows, cols) and work
// along each row. Formulas follow PyTorch's definitions.
//
// Every kernel has an AVX-512, an AVX2 and a generic (portable) variant,
// chosen at run time by active_isa(). Results are bitwise identical for any
// thread count. In-place use (y == x, dx == dy) is allowed.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// ---------------------------------------------------------------- vector math
// x: (n,), y: (n,); y = f(x) element-wise, SIMD, at most a few ulp from the
// correctly rounded result in float32 (see tests/test_vmath.py). NaN in,
// NaN out; saturates without overflow: exp(-inf) = 0, tanh(+-inf) = +-1.
template <class T> void math_exp(const T* x, T* y, index_t n);
template <class T> void math_expm1(const T* x, T* y, index_t n);   // e^x - 1
template <class T> void math_log(const T* x, T* y, index_t n);     // natural log
template <class T> void math_log1p(const T* x, T* y, index_t n);   // log(1 + x)
template <class T> void math_tanh(const T* x, T* y, index_t n);
template <class T> void math_erf(const T* x, T* y, index_t n);
template <class T> void math_erfc(const T* x, T* y, index_t n);    // 1 - erf(x)

// ---------------------------------------------------------- element-wise
// x: (n,), y: (n,); y = x
template <class T>
void identity_forward(const T* x, T* y, index_t n);
// dy: (n,), dx: (n,); dx = dy
template <class T>
void identity_backward(const T* dy, T* dx, index_t n);

// x: (n,), y: (n,); y = 1 / (1 + e^-x)
template <class T>
void sigmoid_forward(const T* x, T* y, index_t n);
// y: (n,) forward output, dy: (n,), dx: (n,); dx = dy y (1 - y)
template <class T>
void sigmoid_backward(const T* y, const T* dy, T* dx, index_t n);

// x: (n,), y: (n,); y = tanh x
template <class T>
void tanh_forward(const T* x, T* y, index_t n);
// y: (n,) forward output, dy: (n,), dx: (n,); dx = dy (1 - y^2)
template <class T>
void tanh_backward(const T* y, const T* dy, T* dx, index_t n);

// x: (n,), y: (n,); y = max(x, 0)
template <class T>
void relu_forward(const T* x, T* y, index_t n);
// x: (n,), dy: (n,), dx: (n,); dx = dy where x > 0 else 0
template <class T>
void relu_backward(const T* x, const T* dy, T* dx, index_t n);

// x: (n,), y: (n,); y = x if x > 0 else alpha x
template <class T>
void leaky_relu_forward(const T* x, T* y, index_t n, T alpha);
// x: (n,), dy: (n,), dx: (n,); dx = dy if x > 0 else alpha dy
template <class T>
void leaky_relu_backward(const T* x, const T* dy, T* dx, index_t n, T alpha);

// x: (n,), y: (n,); y = x if x > 0 else alpha (e^x - 1)
template <class T>
void elu_forward(const T* x, T* y, index_t n, T alpha);
// x: (n,), dy: (n,), dx: (n,); dx = dy if x > 0 else dy alpha e^x
template <class T>
void elu_backward(const T* x, const T* dy, T* dx, index_t n, T alpha);

// x: (n,), y: (n,); y = x Phi(x), Phi(x) = (1 + erf(x/sqrt 2))/2 (exact GELU)
template <class T>
void gelu_forward(const T* x, T* y, index_t n);
// x: (n,), dy: (n,), dx: (n,); dx = dy (Phi(x) + x phi(x)), phi = e^(-x^2/2)/sqrt(2 pi)
template <class T>
void gelu_backward(const T* x, const T* dy, T* dx, index_t n);

// x: (n,), y: (n,); y = x (1 + tanh u)/2, u = sqrt(2/pi) (x + 0.044715 x^3)
// (PyTorch's approximate="tanh"), computed as x sigmoid(2u).
template <class T>
void gelu_tanh_forward(const T* x, T* y, index_t n);
// x: (n,), dy: (n,), dx: (n,); dx = dy (s + 2 x s (1 - s) u'), s = sigmoid(2u)
template <class T>
void gelu_tanh_backward(const T* x, const T* dy, T* dx, index_t n);

// x: (n,), y: (n,); y = x sigmoid(x) (SiLU, Swish with beta 1)
template <class T>
void silu_forward(const T* x, T* y, index_t n);
// x: (n,), dy: (n,), dx: (n,); dx = dy s (1 + x (1 - s)), s = sigmoid(x)
template <class T>
void silu_backward(const T* x, const T* dy, T* dx, index_t n);

// x: (n,), y: (n,); y = x if x > 20 else log(1 + e^x) (PyTorch beta=1, threshold=20)
template <class T>
void softplus_forward(const T* x, T* y, index_t n);
// x: (n,), dy: (n,), dx: (n,); dx = dy if x > 20 else dy sigmoid(x)
template <class T>
void softplus_backward(const T* x, const T* dy, T* dx, index_t n);

// -------------------------------------------------------------- row-wise
// x: (rows, cols), y: (rows, cols); y = exp(x - m) / sum_j exp(x_j - m), m = row max
template <class T>
void softmax_forward(const T* x, T* y, index_t rows, index_t cols);
// y: (rows, cols) forward output, dy, dx: (rows, cols);
// dx = y (dy - sum_j dy_j y_j)  (the vector-Jacobian product)
template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, index_t rows, index_t cols);

// x: (rows, cols), y: (rows, cols); y = (x - m) - log sum_j exp(x_j - m)
template <class T>
void log_softmax_forward(const T* x, T* y, index_t rows, index_t cols);
// y: (rows, cols) forward output, dy, dx: (rows, cols); dx = dy - exp(y) sum_j dy_j
template <class T>
void log_softmax_backward(const T* y, const T* dy, T* dx, index_t rows, index_t cols);

}  // namespace entrena
