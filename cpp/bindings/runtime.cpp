#include "common.hpp"

namespace entrena::bind {

void bind_runtime(py::module_& m) {
  m.def("set_num_threads", &set_num_threads, py::arg("n"),
        "Sets how many threads entrena's kernels may use (>= 1).");
  m.def("get_num_threads", &get_num_threads, "The number of threads entrena's kernels use.");
  m.def("kernel_threads", &kernel_threads,
        "The threads a kernel may use now: get_num_threads(), capped by the cores other processes keep busy.");
  m.def("max_hardware_threads", &max_hardware_threads);
  m.def("built_with_openmp", &built_with_openmp);
  m.def("set_seed", &set_seed, py::arg("seed"),
        "Seeds the generator that gives models created without a seed their seeds.");
  m.def("next_seed", &next_seed, "The seed of the next model created without one.");
  m.def("names", [](const std::string& kind) {
    const NameTable t = names(kind);
    py::dict aliases;
    for (const auto& [a, c] : t.aliases()) aliases[py::str(a)] = c;
    return py::make_tuple(t.names(), aliases);
  }, py::arg("kind"),
     "(names, {alias: name}) of 'activation', 'initializer', 'loss', 'optimizer', 'metric' or 'layer'.");
  m.def("layer_config", [](const std::string& config) {
    // The config as the engine's registry reads and writes it back, after
    // every check (raises for a bad one): what Python layers validate with.
    return make_layer<double>(Json::parse(config))->config().dump();
  }, py::arg("config"));
  m.def("loss_config", [](const std::string& name, const std::string& options) {
    auto l = make_loss<double>(name, Json::parse(options));
    return py::make_tuple(l->name(), l->config().dump());
  }, py::arg("name"), py::arg("options") = "{}", "(canonical name, full options) after every check.");
  m.def("optimizer_config", [](const std::string& name, const std::string& options) {
    auto o = make_optimizer<double>(name, Json::parse(options));
    return py::make_tuple(o->name(), o->config().dump());
  }, py::arg("name"), py::arg("options") = "{}", "(canonical name, full options) after every check.");
}

}  // namespace entrena::bind
