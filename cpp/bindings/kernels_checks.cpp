// Input-check kernels, exposed for tests against the NumPy reference.
#include "common.hpp"

namespace entrena::bind {

namespace {
template <class T>
void bind_typed(py::module_& m) {
  m.def("count_nonfinite", [](const Array<T>& x) {
    return count_nonfinite<T>(x.data(), static_cast<index_t>(x.size()));
  }, py::arg("x"), "The number of NaN or infinite values in x.");
}
}  // namespace

void bind_check_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
