// Loss classes (entrena::Loss subclasses) for the f32 and f64 submodules.
// reduction is "mean" or "sum".
#include "common.hpp"

namespace entrena::bind {

namespace {

template <class T, class L>
void def_simple(py::module_& m, const char* name) {
  py::class_<L, Loss<T>>(m, name)
      .def(py::init([](const std::string& reduction) {
             return std::make_unique<L>(reduction_from_name(reduction));
           }),
           py::arg("reduction") = "mean")
      .def_property_readonly("reduction", [](const L& l) { return reduction_name(l.reduction()); });
}

template <class T>
void bind_typed(py::module_& m) {
  def_simple<T, MeanSquaredError<T>>(m, "MeanSquaredError");
  def_simple<T, HalfMeanSquaredError<T>>(m, "HalfMeanSquaredError");
  def_simple<T, MeanAbsoluteError<T>>(m, "MeanAbsoluteError");
  def_simple<T, BinaryCrossEntropy<T>>(m, "BinaryCrossEntropy");
  def_simple<T, BinaryCrossEntropyWithLogits<T>>(m, "BinaryCrossEntropyWithLogits");
  def_simple<T, Hinge<T>>(m, "Hinge");

  py::class_<Huber<T>, Loss<T>>(m, "Huber")
      .def(py::init([](double delta, const std::string& reduction) {
             return std::make_unique<Huber<T>>(delta, reduction_from_name(reduction));
           }),
           py::arg("delta") = 1.0, py::arg("reduction") = "mean")
      .def_property_readonly("delta", &Huber<T>::delta)
      .def_property_readonly("reduction", [](const Huber<T>& l) { return reduction_name(l.reduction()); });

  py::class_<SoftmaxCrossEntropy<T>, Loss<T>>(m, "SoftmaxCrossEntropy")
      .def(py::init([](double label_smoothing, const std::string& reduction) {
             return std::make_unique<SoftmaxCrossEntropy<T>>(label_smoothing,
                                                             reduction_from_name(reduction));
           }),
           py::arg("label_smoothing") = 0.0, py::arg("reduction") = "mean")
      .def_property_readonly("label_smoothing", &SoftmaxCrossEntropy<T>::label_smoothing)
      .def_property_readonly("reduction",
                             [](const SoftmaxCrossEntropy<T>& l) { return reduction_name(l.reduction()); });

  py::class_<MultiMarginHinge<T>, Loss<T>>(m, "MultiMarginHinge")
      .def(py::init([](double margin, const std::string& reduction) {
             return std::make_unique<MultiMarginHinge<T>>(margin, reduction_from_name(reduction));
           }),
           py::arg("margin") = 1.0, py::arg("reduction") = "mean")
      .def_property_readonly("margin", &MultiMarginHinge<T>::margin)
      .def_property_readonly("reduction",
                             [](const MultiMarginHinge<T>& l) { return reduction_name(l.reduction()); });
}

}  // namespace

void bind_losses(py::module_& f32, py::module_& f64) {
  bind_typed<float>(f32);
  bind_typed<double>(f64);
}

}  // namespace entrena::bind
