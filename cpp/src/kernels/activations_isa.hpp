// Declarations of the activation kernels of one ISA variant, in namespace
// entrena::ENTRENA_ISA_NS. Internal: included (without include guard) once
// per variant by activations.cpp (the dispatcher) and by
// activations_impl.hpp (the definitions). `nt` is the thread count the
// dispatcher chose with threads_for(); the variants never call into the
// rest of the library.

#ifndef ENTRENA_ISA_NS
#error "activations_isa.hpp: define ENTRENA_ISA_NS before including"
#endif

#include <cstdint>

namespace entrena {
namespace ENTRENA_ISA_NS {

using idx = std::int64_t;

// Raw vector math, y = f(x) element-wise.
template <class T> void math_exp(const T* x, T* y, idx n, int nt);
template <class T> void math_expm1(const T* x, T* y, idx n, int nt);
template <class T> void math_log(const T* x, T* y, idx n, int nt);
template <class T> void math_log1p(const T* x, T* y, idx n, int nt);
template <class T> void math_tanh(const T* x, T* y, idx n, int nt);
template <class T> void math_erf(const T* x, T* y, idx n, int nt);
template <class T> void math_erfc(const T* x, T* y, idx n, int nt);

template <class T> void identity_forward(const T* x, T* y, idx n, int nt);
template <class T> void identity_backward(const T* dy, T* dx, idx n, int nt);
template <class T> void sigmoid_forward(const T* x, T* y, idx n, int nt);
template <class T> void sigmoid_backward(const T* y, const T* dy, T* dx, idx n, int nt);
template <class T> void tanh_forward(const T* x, T* y, idx n, int nt);
template <class T> void tanh_backward(const T* y, const T* dy, T* dx, idx n, int nt);
template <class T> void relu_forward(const T* x, T* y, idx n, int nt);
template <class T> void relu_backward(const T* x, const T* dy, T* dx, idx n, int nt);
template <class T> void leaky_relu_forward(const T* x, T* y, idx n, T alpha, int nt);
template <class T> void leaky_relu_backward(const T* x, const T* dy, T* dx, idx n, T alpha, int nt);
template <class T> void elu_forward(const T* x, T* y, idx n, T alpha, int nt);
template <class T> void elu_backward(const T* x, const T* dy, T* dx, idx n, T alpha, int nt);
template <class T> void gelu_forward(const T* x, T* y, idx n, int nt);
template <class T> void gelu_backward(const T* x, const T* dy, T* dx, idx n, int nt);
template <class T> void gelu_tanh_forward(const T* x, T* y, idx n, int nt);
template <class T> void gelu_tanh_backward(const T* x, const T* dy, T* dx, idx n, int nt);
template <class T> void silu_forward(const T* x, T* y, idx n, int nt);
template <class T> void silu_backward(const T* x, const T* dy, T* dx, idx n, int nt);
template <class T> void softplus_forward(const T* x, T* y, idx n, int nt);
template <class T> void softplus_backward(const T* x, const T* dy, T* dx, idx n, int nt);

template <class T> void softmax_forward(const T* x, T* y, idx rows, idx cols, int nt);
template <class T> void softmax_backward(const T* y, const T* dy, T* dx, idx rows, idx cols, int nt);
template <class T> void log_softmax_forward(const T* x, T* y, idx rows, idx cols, int nt);
template <class T> void log_softmax_backward(const T* y, const T* dy, T* dx, idx rows, idx cols, int nt);

}  // namespace ENTRENA_ISA_NS
}  // namespace entrena
