// Activation kernels and the vector math under them, exposed for tests
// against the NumPy reference. Element-wise kernels take arrays of any
// shape; softmax/log_softmax take 2-D (rows, cols) arrays.
#include "common.hpp"

namespace entrena::bind {

namespace {

template <class T>
using Unary = void (*)(const T*, T*, index_t);
template <class T>
using Binary = void (*)(const T*, const T*, T*, index_t);

template <class T>
void def_unary(py::module_& m, const char* name, Unary<T> fn, const char* doc) {
  m.def(name, [fn](const Array<T>& x) {
    Array<T> y = like(x);
    {
      py::gil_scoped_release nogil;
      fn(x.data(), y.mutable_data(), x.size());
    }
    return y;
  }, py::arg("x"), doc);
}

// backward(a, dy): a is x or y of the forward, as the kernel states.
template <class T>
void def_binary(py::module_& m, const char* name, const char* aname, Binary<T> fn) {
  m.def(name, [fn, aname](const Array<T>& a, const Array<T>& dy) {
    check_same(a, aname, dy, "dy");
    Array<T> dx = like(a);
    {
      py::gil_scoped_release nogil;
      fn(a.data(), dy.data(), dx.mutable_data(), a.size());
    }
    return dx;
  }, py::arg(aname), py::arg("dy"));
}

template <class T>
T check_alpha(double alpha) {
  if (!std::isfinite(alpha)) throw ValueError(cat("alpha: expected a finite number, got ", alpha));
  return static_cast<T>(alpha);
}

template <class T>
void bind_typed(py::module_& m) {
  def_unary<T>(m, "math_exp", &math_exp<T>, "e^x, SIMD");
  def_unary<T>(m, "math_expm1", &math_expm1<T>, "e^x - 1, SIMD");
  def_unary<T>(m, "math_log", &math_log<T>, "natural log, SIMD");
  def_unary<T>(m, "math_log1p", &math_log1p<T>, "log(1 + x), SIMD");
  def_unary<T>(m, "math_tanh", &math_tanh<T>, "tanh, SIMD");
  def_unary<T>(m, "math_erf", &math_erf<T>, "erf, SIMD");
  def_unary<T>(m, "math_erfc", &math_erfc<T>, "erfc = 1 - erf, SIMD");

  def_unary<T>(m, "identity_forward", &identity_forward<T>, "y = x");
  m.def("identity_backward", [](const Array<T>& dy) {
    Array<T> dx = like(dy);
    identity_backward<T>(dy.data(), dx.mutable_data(), dy.size());
    return dx;
  }, py::arg("dy"));
  def_unary<T>(m, "sigmoid_forward", &sigmoid_forward<T>, "y = 1/(1+e^-x)");
  def_binary<T>(m, "sigmoid_backward", "y", &sigmoid_backward<T>);
  def_unary<T>(m, "tanh_forward", &tanh_forward<T>, "y = tanh x");
  def_binary<T>(m, "tanh_backward", "y", &tanh_backward<T>);
  def_unary<T>(m, "relu_forward", &relu_forward<T>, "y = max(x, 0)");
  def_binary<T>(m, "relu_backward", "x", &relu_backward<T>);
  def_unary<T>(m, "gelu_forward", &gelu_forward<T>, "y = x Phi(x)");
  def_binary<T>(m, "gelu_backward", "x", &gelu_backward<T>);
  def_unary<T>(m, "gelu_tanh_forward", &gelu_tanh_forward<T>, "tanh-approximated GELU");
  def_binary<T>(m, "gelu_tanh_backward", "x", &gelu_tanh_backward<T>);
  def_unary<T>(m, "silu_forward", &silu_forward<T>, "y = x sigmoid(x)");
  def_binary<T>(m, "silu_backward", "x", &silu_backward<T>);
  def_unary<T>(m, "softplus_forward", &softplus_forward<T>, "y = log(1 + e^x), x beyond 20");
  def_binary<T>(m, "softplus_backward", "x", &softplus_backward<T>);

  m.def("leaky_relu_forward", [](const Array<T>& x, double alpha) {
    const T a = check_alpha<T>(alpha);
    Array<T> y = like(x);
    leaky_relu_forward<T>(x.data(), y.mutable_data(), x.size(), a);
    return y;
  }, py::arg("x"), py::arg("alpha") = 0.01);
  m.def("leaky_relu_backward", [](const Array<T>& x, const Array<T>& dy, double alpha) {
    const T a = check_alpha<T>(alpha);
    check_same(x, "x", dy, "dy");
    Array<T> dx = like(x);
    leaky_relu_backward<T>(x.data(), dy.data(), dx.mutable_data(), x.size(), a);
    return dx;
  }, py::arg("x"), py::arg("dy"), py::arg("alpha") = 0.01);
  m.def("elu_forward", [](const Array<T>& x, double alpha) {
    const T a = check_alpha<T>(alpha);
    Array<T> y = like(x);
    elu_forward<T>(x.data(), y.mutable_data(), x.size(), a);
    return y;
  }, py::arg("x"), py::arg("alpha") = 1.0);
  m.def("elu_backward", [](const Array<T>& x, const Array<T>& dy, double alpha) {
    const T a = check_alpha<T>(alpha);
    check_same(x, "x", dy, "dy");
    Array<T> dx = like(x);
    elu_backward<T>(x.data(), dy.data(), dx.mutable_data(), x.size(), a);
    return dx;
  }, py::arg("x"), py::arg("dy"), py::arg("alpha") = 1.0);

  m.def("softmax_forward", [](const Array<T>& x) {
    require_ndim(x, "x", 2);
    Array<T> y = like(x);
    softmax_forward<T>(x.data(), y.mutable_data(), x.shape(0), x.shape(1));
    return y;
  }, py::arg("x"), "Row-wise softmax of x: (rows, cols).");
  m.def("softmax_backward", [](const Array<T>& y, const Array<T>& dy) {
    require_ndim(y, "y", 2);
    check_same(y, "y", dy, "dy");
    Array<T> dx = like(y);
    softmax_backward<T>(y.data(), dy.data(), dx.mutable_data(), y.shape(0), y.shape(1));
    return dx;
  }, py::arg("y"), py::arg("dy"), "dx = y (dy - rowsum(dy y)), y the forward output.");
  m.def("log_softmax_forward", [](const Array<T>& x) {
    require_ndim(x, "x", 2);
    Array<T> y = like(x);
    log_softmax_forward<T>(x.data(), y.mutable_data(), x.shape(0), x.shape(1));
    return y;
  }, py::arg("x"), "Row-wise log-softmax of x: (rows, cols).");
  m.def("log_softmax_backward", [](const Array<T>& y, const Array<T>& dy) {
    require_ndim(y, "y", 2);
    check_same(y, "y", dy, "dy");
    Array<T> dx = like(y);
    log_softmax_backward<T>(y.data(), dy.data(), dx.mutable_data(), y.shape(0), y.shape(1));
    return dx;
  }, py::arg("y"), py::arg("dy"), "dx = dy - exp(y) rowsum(dy), y the forward output.");
}

}  // namespace

void bind_activation_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
