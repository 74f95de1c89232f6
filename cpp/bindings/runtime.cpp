#include "common.hpp"

namespace entrena::bind {

void bind_runtime(py::module_& m) {
  m.def("set_num_threads", &set_num_threads, py::arg("n"),
        "Sets how many threads entrena's kernels may use (>= 1).");
  m.def("get_num_threads", &get_num_threads, "The number of threads entrena's kernels use.");
  m.def("max_hardware_threads", &max_hardware_threads);
  m.def("built_with_openmp", &built_with_openmp);
}

}  // namespace entrena::bind
