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
    // bfloat16 products (the model precision "bf16"): the portable kernel
    // (operands rounded to bfloat16 while packed, float32 FMAs) runs on every
    // CPU; AMX and AVX512-BF16 micro-kernels are not part of this build.
    d["bf16_kernel"] = "emulated";
    return d;
  }, "CPU model name, instruction-set features, the kernel variant in use ('isa') and the\n"
     "best one available ('best_isa'), whether OpenMP is on, the thread counts, and the kernel\n"
     "bfloat16 products run on ('bf16_kernel').");
  m.def("set_isa", [](const std::string& name) { set_isa(isa_from_name(name)); }, py::arg("name"),
        "Chooses the kernel variant (generic, avx2, avx512); for tests and benchmarks.");
  m.def("get_isa", []() { return std::string(isa_name(active_isa())); });
}

}  // namespace entrena::bind
