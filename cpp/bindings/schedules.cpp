// Learning-rate schedules (nn/schedule.hpp) as module-level classes of
// entrena._core (they compute in double, whatever the model's dtype).
// Protocol: reset(base_lr), then lr_at(epoch, metric=nan) before each epoch.
#include <cmath>

#include "common.hpp"

namespace entrena::bind {

void bind_schedules(py::module_& m) {
  const double nan = std::nan("");
  using S = Schedule;
  py::class_<S, std::shared_ptr<S>>(m, "Schedule",
                                    "Base of the learning-rate schedules: reset(base_lr), then lr_at(epoch, metric).")
      .def_property_readonly("name", &S::name)
      .def("reset", &S::reset, py::arg("base_lr"), "Starts (or restarts) the schedule from base_lr.")
      .def("lr_at", &S::lr_at, py::arg("epoch"), py::arg("metric") = nan,
           "The learning rate for epoch (0-based); metric is the monitored value of the\n"
           "previous epoch (NaN if none). ReduceLROnPlateau updates its state on each call.")
      .def_property_readonly("uses_metric", &S::uses_metric)
      .def_property_readonly("started", &S::started)
      .def_property_readonly("base_lr", &S::base_lr);

  py::class_<ConstantSchedule, S, std::shared_ptr<ConstantSchedule>>(m, "ConstantSchedule")
      .def(py::init<>());

  py::class_<ExponentialDecay, S, std::shared_ptr<ExponentialDecay>>(m, "ExponentialDecay",
                                                                     "lr = base_lr * gamma**epoch")
      .def(py::init<double>(), py::arg("gamma"))
      .def_property_readonly("gamma", &ExponentialDecay::gamma);

  py::class_<StepDecay, S, std::shared_ptr<StepDecay>>(m, "StepDecay",
                                                       "lr = base_lr * gamma**(epoch // step_size)")
      .def(py::init<index_t, double>(), py::arg("step_size"), py::arg("gamma") = 0.1)
      .def_property_readonly("step_size", &StepDecay::step_size)
      .def_property_readonly("gamma", &StepDecay::gamma);

  py::class_<CosineAnnealing, S, std::shared_ptr<CosineAnnealing>>(
      m, "CosineAnnealing", "lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2")
      .def(py::init<index_t, double>(), py::arg("T_max"), py::arg("eta_min") = 0.0)
      .def_property_readonly("T_max", &CosineAnnealing::t_max)
      .def_property_readonly("eta_min", &CosineAnnealing::eta_min);

  py::class_<LambdaSchedule, S, std::shared_ptr<LambdaSchedule>>(m, "LambdaSchedule",
                                                                 "lr = base_lr * factor(epoch)")
      .def(py::init([](py::function factor) {
             // lr_at runs from Python or from fit's epoch loop (GIL released).
             return std::make_shared<LambdaSchedule>([factor](index_t e) {
               py::gil_scoped_acquire gil;
               return factor(e).cast<double>();
             });
           }),
           py::arg("factor"));

  using P = ReduceLROnPlateau;
  py::class_<P, S, std::shared_ptr<P>>(m, "ReduceLROnPlateau",
                                       "torch.optim.lr_scheduler.ReduceLROnPlateau, stepped by lr_at(epoch, metric)")
      .def(py::init([](const std::string& mode, double factor, index_t patience, double threshold,
                       const std::string& threshold_mode, index_t cooldown, double min_lr, double eps) {
             return std::make_shared<P>(P::mode_from_name(mode), factor, patience, threshold,
                                        P::threshold_mode_from_name(threshold_mode), cooldown, min_lr, eps);
           }),
           py::arg("mode") = "min", py::arg("factor") = 0.1, py::arg("patience") = 10,
           py::arg("threshold") = 1e-4, py::arg("threshold_mode") = "rel", py::arg("cooldown") = 0,
           py::arg("min_lr") = 0.0, py::arg("eps") = 1e-8)
      .def_property_readonly("current_lr", &P::current_lr)
      .def_property_readonly("best", &P::best)
      .def_property_readonly("num_bad_epochs", &P::num_bad_epochs)
      .def_property_readonly("cooldown_counter", &P::cooldown_counter)
      .def_property_readonly("mode", [](const P& p) { return p.mode() == P::Mode::Min ? "min" : "max"; })
      .def_property_readonly("factor", &P::factor)
      .def_property_readonly("patience", &P::patience)
      .def_property_readonly("threshold", &P::threshold)
      .def_property_readonly("threshold_mode",
                             [](const P& p) { return p.threshold_mode() == P::ThresholdMode::Rel ? "rel" : "abs"; })
      .def_property_readonly("cooldown", &P::cooldown)
      .def_property_readonly("min_lr", &P::min_lr)
      .def_property_readonly("eps", &P::eps);
}

}  // namespace entrena::bind
