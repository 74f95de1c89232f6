// Loss classes (entrena::Loss subclasses) for the f32 and f64 submodules.
#include "common.hpp"

namespace entrena::bind {

namespace {
template <class T>
void bind_typed(py::module_& m) {
  py::class_<SoftmaxCrossEntropy<T>, Loss<T>>(m, "SoftmaxCrossEntropy").def(py::init<>());
}
}  // namespace

void bind_losses(py::module_& f32, py::module_& f64) {
  bind_typed<float>(f32);
  bind_typed<double>(f64);
}

}  // namespace entrena::bind
