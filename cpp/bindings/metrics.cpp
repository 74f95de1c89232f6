// Metrics (nn/metrics.hpp) for the f32 and f64 submodules: the built-in
// accumulators by name, and metrics computed by a Python function per batch.
#include "common.hpp"

namespace entrena::bind {

namespace {

template <class T>
void bind_typed(py::module_& m) {
  py::class_<Metric<T>, std::shared_ptr<Metric<T>>>(m, "Metric")
      .def_property_readonly("name", &Metric<T>::name)
      .def_property_readonly("higher_is_better", &Metric<T>::higher_is_better)
      .def("reset", &Metric<T>::reset)
      .def("update", [](Metric<T>& self, const Array<T>& out, const Array<T>& target, const Loss<T>& loss) {
        if (out.ndim() < 1 || target.ndim() < 1 || out.shape(0) != target.shape(0))
          throw ValueError("target: expected one row per output row");
        const Shape os = shape_of<T>(out, 1);
        const index_t w = os.empty() ? 1 : os.back();
        const index_t tw = target_width_for(os, shape_size(shape_of<T>(target, 1)));
        loss.check_target(w, tw);
        self.check(w, tw, loss);
        self.update(out.data(), target.data(), static_cast<index_t>(out.size()) / w, w, tw, loss);
      }, py::arg("output"), py::arg("target"), py::arg("loss"),
         "Adds a batch: raw outputs and targets as the loss takes them.")
      .def("result", &Metric<T>::result);

  m.def("make_metric", [](const std::string& name) { return std::shared_ptr<Metric<T>>(make_metric<T>(name)); },
        py::arg("name"));
  m.def("function_metric",
        [](const std::string& name, py::function fn, bool higher_is_better) {
          // fn(output, target) -> float, called with the batch (rows, width) and
          // (rows, target width) arrays, the GIL held.
          auto call = [fn](const T* out, const T* target, index_t rows, index_t width, index_t tw) {
            py::gil_scoped_acquire gil;
            Array<T> o({rows, width}), t({rows, tw});
            std::memcpy(o.mutable_data(), out, static_cast<std::size_t>(rows * width) * sizeof(T));
            std::memcpy(t.mutable_data(), target, static_cast<std::size_t>(rows * tw) * sizeof(T));
            return fn(o, t).template cast<double>();
          };
          return std::shared_ptr<Metric<T>>(std::make_shared<FunctionMetric<T>>(name, call, higher_is_better));
        },
        py::arg("name"), py::arg("fn"), py::arg("higher_is_better") = false,
        "A metric averaging fn(output, target) over batches, weighted by rows.");
}

}  // namespace

void bind_metrics(py::module_& f32, py::module_& f64) {
  bind_typed<float>(f32);
  bind_typed<double>(f64);
}

}  // namespace entrena::bind
