// CPU features and the kernel variant in use.
#include "common.hpp"

namespace entrena::bind {

void bind_cpu(py::module_& m) {
  m.def("cpu_info", []() {
    py::dict d;
    d["openmp"] = built_with_openmp();
    d["hardware_threads"] = max_hardware_threads();
    d["threads"] = get_num_threads();
    return d;
  }, "CPU features, the kernel variant in use and the thread counts.");
}

}  // namespace entrena::bind
