// Losses for the f32 and f64 submodules: one class over entrena::Loss, made
// by name and options through the C++ factory (make_loss).
#include "common.hpp"

namespace entrena::bind {

namespace {

const char* kind_name(OutputKind k) {
  switch (k) {
    case OutputKind::Probabilities: return "probabilities";
    case OutputKind::Logits: return "logits";
    case OutputKind::Margins: return "margins";
    default: return "values";
  }
}

// (rows, width, target width) of outputs (n, ..., width) and targets (n, ...)
// or of the outputs' shape, after checking them.
template <class T>
std::tuple<index_t, index_t, index_t> rows_of_batch(const Loss<T>& loss, const Array<T>& pred,
                                                    const Array<T>& target) {
  if (pred.ndim() < 1) throw ValueError("output: expected an array with a batch dimension, got a scalar");
  const Shape out = shape_of<T>(pred, 1);
  if (target.ndim() < 1 || target.shape(0) != pred.shape(0))
    throw ValueError(cat("target: expected ", pred.shape(0), " rows (one per output row), got ",
                         target.ndim() < 1 ? std::string("a scalar") : cat(target.shape(0))));
  const index_t width = out.empty() ? 1 : out.back();
  const index_t rows = static_cast<index_t>(pred.size()) / (width > 0 ? width : 1);
  const index_t tw = target_width_for(out, shape_size(shape_of<T>(target, 1)));
  loss.check_target(width, tw);
  loss.check_target_values(target.data(), rows, width, tw);
  return {rows, width, tw};
}

template <class T>
void bind_typed(py::module_& m) {
  py::class_<Loss<T>>(m, "Loss")
      .def_property_readonly("name", &Loss<T>::name)
      .def_property_readonly("config", [](const Loss<T>& l) { return l.config().dump(); })
      .def_property_readonly("output_kind", [](const Loss<T>& l) { return kind_name(l.output_kind()); })
      .def_property_readonly("reduction", [](const Loss<T>& l) { return reduction_name(l.reduction()); })
      .def("forward", [](Loss<T>& self, const Array<T>& pred, const Array<T>& target,
                         const std::optional<Array<T>>& weight) {
        const auto [rows, w, tw] = rows_of_batch(self, pred, target);
        return self.forward(pred.data(), target.data(), rows, w, tw, row_weights(weight, rows, "sample_weight"));
      }, py::arg("output"), py::arg("target"), py::arg("weight") = py::none(),
      "The reduced loss; weight: one per row of the output's last axis (the weighted mean).")
      .def("backward", [](Loss<T>& self, const Array<T>& pred, const Array<T>& target,
                          const std::optional<Array<T>>& weight) {
        const auto [rows, w, tw] = rows_of_batch(self, pred, target);
        Array<T> g = like(pred);
        self.backward(pred.data(), target.data(), g.mutable_data(), rows, w, tw, row_weights(weight, rows, "sample_weight"));
        return g;
      }, py::arg("output"), py::arg("target"), py::arg("weight") = py::none())
      .def("probabilities", [](const Loss<T>& self, const Array<T>& pred) {
        if (pred.ndim() < 1) throw ValueError("output: expected an array with a batch dimension, got a scalar");
        const index_t w = pred.ndim() > 1 ? static_cast<index_t>(pred.shape(pred.ndim() - 1)) : 1;
        Array<T> p = like(pred);
        if (pred.size() > 0) self.probabilities(pred.data(), p.mutable_data(), static_cast<index_t>(pred.size()) / w, w);
        return p;
      }, py::arg("output"), "The outputs as probabilities where the loss gives them a meaning.");

  m.def("make_loss", [](const std::string& name, const std::string& options) {
    return make_loss<T>(name, Json::parse(options));
  }, py::arg("name"), py::arg("options") = "{}", "A loss by name (aliases included) and JSON options.");
}

}  // namespace

void bind_losses(py::module_& f32, py::module_& f64) {
  bind_typed<float>(f32);
  bind_typed<double>(f64);
}

}  // namespace entrena::bind
