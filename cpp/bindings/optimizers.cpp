// Optimizer classes (entrena::Optimizer subclasses) for the f32 and f64
// submodules, with PyTorch's keyword names and defaults. The base class
// (lr, steps, clipping, state, step) is bound in model.cpp.
#include "common.hpp"

namespace entrena::bind {

namespace {

// betas=(beta1, beta2) as PyTorch spells it.
std::pair<double, double> betas_of(const py::sequence& betas) {
  if (py::isinstance<py::str>(betas) || py::len(betas) != 2)
    throw ValueError(cat("betas: expected a pair (beta1, beta2), got ",
                         std::string(py::repr(betas))));
  return {betas[0].cast<double>(), betas[1].cast<double>()};
}

template <class T>
void bind_typed(py::module_& m) {
  py::class_<SGD<T>, Optimizer<T>>(m, "SGD")
      .def(py::init<double, double, double, double, bool>(), py::arg("lr") = 0.01,
           py::arg("momentum") = 0.0, py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0,
           py::arg("nesterov") = false);

  py::class_<Adam<T>, Optimizer<T>>(m, "Adam")
      .def(py::init([](double lr, const py::sequence& betas, double eps, double weight_decay,
                       bool amsgrad) {
             auto [b1, b2] = betas_of(betas);
             return new Adam<T>(lr, b1, b2, eps, weight_decay, amsgrad);
           }),
           py::arg("lr") = 1e-3, py::arg("betas") = py::make_tuple(0.9, 0.999),
           py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0, py::arg("amsgrad") = false);

  py::class_<AdamW<T>, Adam<T>>(m, "AdamW")
      .def(py::init([](double lr, const py::sequence& betas, double eps, double weight_decay,
                       bool amsgrad) {
             auto [b1, b2] = betas_of(betas);
             return new AdamW<T>(lr, b1, b2, eps, weight_decay, amsgrad);
           }),
           py::arg("lr") = 1e-3, py::arg("betas") = py::make_tuple(0.9, 0.999),
           py::arg("eps") = 1e-8, py::arg("weight_decay") = 1e-2, py::arg("amsgrad") = false);

  py::class_<RMSprop<T>, Optimizer<T>>(m, "RMSprop")
      .def(py::init<double, double, double, double, double, bool>(), py::arg("lr") = 1e-2,
           py::arg("alpha") = 0.99, py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0,
           py::arg("momentum") = 0.0, py::arg("centered") = false);

  py::class_<Adagrad<T>, Optimizer<T>>(m, "Adagrad")
      .def(py::init<double, double, double, double, double>(), py::arg("lr") = 1e-2,
           py::arg("lr_decay") = 0.0, py::arg("weight_decay") = 0.0,
           py::arg("initial_accumulator_value") = 0.0, py::arg("eps") = 1e-10);
}

}  // namespace

void bind_optimizers(py::module_& f32, py::module_& f64) {
  bind_typed<float>(f32);
  bind_typed<double>(f64);
}

}  // namespace entrena::bind
