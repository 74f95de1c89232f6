// Activation kernels, exposed for tests against the NumPy reference.
#include "common.hpp"

namespace entrena::bind {

namespace {

template <class T>
void bind_typed(py::module_& m) {
  m.def("relu_forward", [](const Array<T>& x) {
    Array<T> y = like(x);
    relu_forward<T>(x.data(), y.mutable_data(), x.size());
    return y;
  }, py::arg("x"));
  m.def("relu_backward", [](const Array<T>& x, const Array<T>& dy) {
    check_same(x, "x", dy, "dy");
    Array<T> dx = like(x);
    relu_backward<T>(x.data(), dy.data(), dx.mutable_data(), x.size());
    return dx;
  }, py::arg("x"), py::arg("dy"));
  m.def("softmax_forward", [](const Array<T>& x) {
    require_ndim(x, "x", 2);
    Array<T> y = like(x);
    softmax_forward<T>(x.data(), y.mutable_data(), x.shape(0), x.shape(1));
    return y;
  }, py::arg("x"));

}

}  // namespace

void bind_activation_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
