// CPU features and the kernel variant in use.
#include "common.hpp"

namespace entrena::bind {

void bind_cpu(py::module_& m) {
  m.def("cpu_info", []() {
    py::dict d;
    d["model"] = cpu_model_name();
    py::dict features;
    for (const auto& [name, on] : cpu_features()) features[py::str(name)] = on;
    d["features"] = features;
    d["isa"] = isa_name(active_isa());
    d["best_isa"] = isa_name(best_supported_isa());
    d["openmp"] = built_with_openmp();
    d["hardware_threads"] = max_hardware_threads();
    d["threads"] = get_num_threads();
    return d;
  }, "CPU model name, instruction-set features, the kernel variant in use ('isa') and the\n"
     "best one available ('best_isa'), whether OpenMP is on, and the thread counts.");
  m.def("set_isa", [](const std::string& name) { set_isa(isa_from_name(name)); }, py::arg("name"),
        "Chooses the kernel variant (generic, avx2, avx512); for tests and benchmarks.");
  m.def("get_isa", []() { return std::string(isa_name(active_isa())); });
}

}  // namespace entrena::bind
