// Optimizers for the f32 and f64 submodules: one class over
// entrena::Optimizer, made by name and options through the C++ factory
// (make_optimizer), with PyTorch's argument names and defaults.
#include "common.hpp"

namespace entrena::bind {

namespace {

template <class T>
void bind_typed(py::module_& m) {
  py::class_<Optimizer<T>>(m, "Optimizer")
      .def_property_readonly("name", &Optimizer<T>::name)
      .def_property_readonly("config", [](const Optimizer<T>& o) { return o.config().dump(); })
      .def_property("lr", &Optimizer<T>::lr, &Optimizer<T>::set_lr)
      .def_property("steps", &Optimizer<T>::steps, &Optimizer<T>::set_steps,
                    "Updates taken so far (settable, to restore a saved state).")
      .def_property("clip_norm", &Optimizer<T>::clip_norm, &Optimizer<T>::set_clip_norm,
                    "Clip the gradient to this global L2 norm before each update (0: off).")
      .def_property("clip_value", &Optimizer<T>::clip_value, &Optimizer<T>::set_clip_value,
                    "Clamp the gradient to [-v, v] before each update (0: off).")
      .def_property_readonly("last_grad_norm", &Optimizer<T>::last_grad_norm)
      .def_property_readonly("state_size", &Optimizer<T>::state_size)
      .def("init_state", &Optimizer<T>::init_state, py::arg("n"),
           "Allocates the state for n parameters, as the first step does.")
      .def("state", [](py::object self) {
        py::dict d;
        for (const StateBuffer<T>& b : self.cast<Optimizer<T>&>().state())
          d[py::str(b.name)] = view<T>(b.data, {b.size}, self);
        return d;
      }, "{name: writable view} of the state buffers (empty before the first step).")
      .def("step", [](Optimizer<T>& self, Sequential<T>& model) {
        if (!model.built()) throw StateError("step: the model is not built yet");
        py::gil_scoped_release nogil;
        auto guard = model.lock();
        self.step(model.params(), model.grads(), model.num_params(), model.param_segments());
      }, py::arg("model"), "One update of the model's parameters (honouring their options).")
      .def("step_arrays", [](Optimizer<T>& self, Array<T> params, Array<T> grads) {
        require_ndim(params, "params", 1);
        check_same(params, "params", grads, "grads");
        if (params.size() < 1) throw ValueError("params: expected at least one element, got 0");
        T* p = params.mutable_data();
        T* g = grads.mutable_data();
        py::gil_scoped_release nogil;
        self.step(p, g, params.size());
      }, py::arg("params").noconvert(), py::arg("grads").noconvert(),
         "One update of the flat arrays params from grads (clipped in place if configured).");

  m.def("make_optimizer", [](const std::string& name, const std::string& options) {
    return make_optimizer<T>(name, Json::parse(options));
  }, py::arg("name"), py::arg("options") = "{}", "An optimizer by name (aliases included) and JSON options.");
}

}  // namespace

void bind_optimizers(py::module_& f32, py::module_& f64) {
  bind_typed<float>(f32);
  bind_typed<double>(f64);
}

}  // namespace entrena::bind
