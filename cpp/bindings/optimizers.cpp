// Optimizer classes (entrena::Optimizer subclasses) for the f32 and f64 submodules.
#include "common.hpp"

namespace entrena::bind {

namespace {
template <class T>
void bind_typed(py::module_& m) {
  py::class_<SGD<T>, Optimizer<T>>(m, "SGD")
      .def(py::init<double, double>(), py::arg("lr") = 0.01, py::arg("weight_decay") = 0.0);
}
}  // namespace

void bind_optimizers(py::module_& f32, py::module_& f64) {
  bind_typed<float>(f32);
  bind_typed<double>(f64);
}

}  // namespace entrena::bind
