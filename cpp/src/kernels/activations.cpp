// The activation kernels' entry points: choose a thread count, then run the
// active ISA's kernel from the kernel table (kernel_table.hpp). The kernels
// themselves are in activations_impl.hpp and vmath.hpp.
#include "entrena/kernels/activations.hpp"

#include "entrena/parallel.hpp"
#include "kernel_table.hpp"

namespace entrena {

namespace {
// Rough cost per element, in flops, used for the thread count.
constexpr double kCheap = 1.0;
constexpr double kTranscendental = 24.0;

int nt_for(index_t n, double cost) { return threads_for(static_cast<double>(n) * cost); }
}  // namespace

#define ENTRENA_DISPATCH(fn, ...) kernels::table<T>().fn(__VA_ARGS__);

#define ENTRENA_MATH(fn)                                             \
  template <class T>                                                 \
  void fn(const T* x, T* y, index_t n) {                             \
    ENTRENA_DISPATCH(fn, x, y, n, nt_for(n, kTranscendental))        \
  }
ENTRENA_MATH(math_exp)
ENTRENA_MATH(math_expm1)
ENTRENA_MATH(math_log)
ENTRENA_MATH(math_log1p)
ENTRENA_MATH(math_tanh)
ENTRENA_MATH(math_erf)
ENTRENA_MATH(math_erfc)
#undef ENTRENA_MATH

// Element-wise kernels: forward(x, y, n), backward(a, dy, dx, n).
#define ENTRENA_UNARY(name, cost)                                                \
  template <class T>                                                             \
  void name##_forward(const T* x, T* y, index_t n) {                             \
    ENTRENA_DISPATCH(name##_forward, x, y, n, nt_for(n, cost))                   \
  }                                                                              \
  template <class T>                                                             \
  void name##_backward(const T* a, const T* dy, T* dx, index_t n) {              \
    ENTRENA_DISPATCH(name##_backward, a, dy, dx, n, nt_for(n, cost))             \
  }
ENTRENA_UNARY(sigmoid, kTranscendental)
ENTRENA_UNARY(tanh, kTranscendental)
ENTRENA_UNARY(relu, kCheap)
ENTRENA_UNARY(gelu, 2 * kTranscendental)
ENTRENA_UNARY(gelu_tanh, kTranscendental)
ENTRENA_UNARY(silu, kTranscendental)
ENTRENA_UNARY(softplus, 2 * kTranscendental)
#undef ENTRENA_UNARY

template <class T>
void identity_forward(const T* x, T* y, index_t n) {
  ENTRENA_DISPATCH(identity_forward, x, y, n, nt_for(n, kCheap))
}
template <class T>
void identity_backward(const T* dy, T* dx, index_t n) {
  ENTRENA_DISPATCH(identity_backward, dy, dx, n, nt_for(n, kCheap))
}

template <class T>
void leaky_relu_forward(const T* x, T* y, index_t n, T alpha) {
  ENTRENA_DISPATCH(leaky_relu_forward, x, y, n, alpha, nt_for(n, kCheap))
}
template <class T>
void leaky_relu_backward(const T* x, const T* dy, T* dx, index_t n, T alpha) {
  ENTRENA_DISPATCH(leaky_relu_backward, x, dy, dx, n, alpha, nt_for(n, kCheap))
}
template <class T>
void elu_forward(const T* x, T* y, index_t n, T alpha) {
  ENTRENA_DISPATCH(elu_forward, x, y, n, alpha, nt_for(n, kTranscendental))
}
template <class T>
void elu_backward(const T* x, const T* dy, T* dx, index_t n, T alpha) {
  ENTRENA_DISPATCH(elu_backward, x, dy, dx, n, alpha, nt_for(n, kTranscendental))
}

#define ENTRENA_ROWS(name)                                                            \
  template <class T>                                                                  \
  void name##_forward(const T* x, T* y, index_t rows, index_t cols) {                 \
    ENTRENA_DISPATCH(name##_forward, x, y, rows, cols,                                \
                     nt_for(rows * cols, kTranscendental))                            \
  }                                                                                   \
  template <class T>                                                                  \
  void name##_backward(const T* y, const T* dy, T* dx, index_t rows, index_t cols) {  \
    ENTRENA_DISPATCH(name##_backward, y, dy, dx, rows, cols,                          \
                     nt_for(rows * cols, kTranscendental))                            \
  }
ENTRENA_ROWS(softmax)
ENTRENA_ROWS(log_softmax)
#undef ENTRENA_ROWS
#undef ENTRENA_DISPATCH

#define ENTRENA_INSTANTIATE(T)                                                         \
  template void math_exp<T>(const T*, T*, index_t);                                    \
  template void math_expm1<T>(const T*, T*, index_t);                                  \
  template void math_log<T>(const T*, T*, index_t);                                    \
  template void math_log1p<T>(const T*, T*, index_t);                                  \
  template void math_tanh<T>(const T*, T*, index_t);                                   \
  template void math_erf<T>(const T*, T*, index_t);                                    \
  template void math_erfc<T>(const T*, T*, index_t);                                   \
  template void identity_forward<T>(const T*, T*, index_t);                            \
  template void identity_backward<T>(const T*, T*, index_t);                           \
  template void sigmoid_forward<T>(const T*, T*, index_t);                             \
  template void sigmoid_backward<T>(const T*, const T*, T*, index_t);                  \
  template void tanh_forward<T>(const T*, T*, index_t);                                \
  template void tanh_backward<T>(const T*, const T*, T*, index_t);                     \
  template void relu_forward<T>(const T*, T*, index_t);                                \
  template void relu_backward<T>(const T*, const T*, T*, index_t);                     \
  template void leaky_relu_forward<T>(const T*, T*, index_t, T);                       \
  template void leaky_relu_backward<T>(const T*, const T*, T*, index_t, T);            \
  template void elu_forward<T>(const T*, T*, index_t, T);                              \
  template void elu_backward<T>(const T*, const T*, T*, index_t, T);                   \
  template void gelu_forward<T>(const T*, T*, index_t);                                \
  template void gelu_backward<T>(const T*, const T*, T*, index_t);                     \
  template void gelu_tanh_forward<T>(const T*, T*, index_t);                           \
  template void gelu_tanh_backward<T>(const T*, const T*, T*, index_t);                \
  template void silu_forward<T>(const T*, T*, index_t);                                \
  template void silu_backward<T>(const T*, const T*, T*, index_t);                     \
  template void softplus_forward<T>(const T*, T*, index_t);                            \
  template void softplus_backward<T>(const T*, const T*, T*, index_t);                 \
  template void softmax_forward<T>(const T*, T*, index_t, index_t);                    \
  template void softmax_backward<T>(const T*, const T*, T*, index_t, index_t);         \
  template void log_softmax_forward<T>(const T*, T*, index_t, index_t);                \
  template void log_softmax_backward<T>(const T*, const T*, T*, index_t, index_t);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
