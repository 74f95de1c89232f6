// Optimizer step kernels, exposed for tests against the NumPy reference.
#include "common.hpp"

namespace entrena::bind {

namespace {

template <class T>
void bind_typed(py::module_& m) {
  m.def("sgd_step", [](Array<T> p, const Array<T>& grad, T lr, T weight_decay) {
    check_same(p, "p", grad, "grad");
    sgd_step<T>(p.mutable_data(), grad.data(), p.size(), lr, weight_decay);
  }, py::arg("p").noconvert(), py::arg("grad").noconvert(), py::arg("lr"), py::arg("weight_decay") = T(0),
     "Updates p in place.");
}

}  // namespace

void bind_optimizer_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
