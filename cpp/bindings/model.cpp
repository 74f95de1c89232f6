// Models, losses, optimizers and the training loop, one set per dtype in
// the submodules f32 and f64. Long calls release the GIL.
#include "common.hpp"

namespace entrena::bind {

namespace {

// Checks X: (n, *input_shape) against a built model; returns n.
template <class T>
index_t check_inputs(Sequential<T>& model, const Array<T>& X, const char* name) {
  if (!model.built()) throw StateError("the model is not built yet");
  const Shape want = model.input_shape();
  const Shape got = shape_of<T>(X, 1);
  if (X.ndim() < 1 || got != want) {
    std::string expected = "(n";
    for (index_t d : want) expected += cat(", ", d);
    throw ValueError(cat(name, ": expected shape ", expected, "), got ", shape_str(shape_of<T>(X))));
  }
  const index_t bad = count_nonfinite(X.data(), static_cast<index_t>(X.size()));
  if (bad) throw ValueError(cat(name, ": expected finite values, got ", bad, " NaN or infinite value(s)"));
  return X.ndim() ? static_cast<index_t>(X.shape(0)) : 0;
}

// Checks Y: (n,) or (n, width) for n rows; returns the target width.
template <class T>
index_t check_targets(const Array<T>& Y, index_t n, const char* name) {
  if (Y.ndim() < 1 || Y.ndim() > 2)
    throw ValueError(cat(name, ": expected a 1-D or 2-D array, got ", Y.ndim(), "-D"));
  if (Y.shape(0) != n)
    throw ValueError(cat(name, ": expected ", n, " rows (one per sample of X), got ", Y.shape(0)));
  return Y.ndim() == 2 ? static_cast<index_t>(Y.shape(1)) : 1;
}

template <class T>
Array<T> new_output(Sequential<T>& model, index_t n) {
  std::vector<py::ssize_t> sh{static_cast<py::ssize_t>(n)};
  for (index_t d : model.output_shape()) sh.push_back(static_cast<py::ssize_t>(d));
  return Array<T>(sh);
}

template <class T>
void bind_typed(py::module_& m) {
  using Model = Sequential<T>;

  py::class_<Model>(m, "Sequential")
      .def(py::init<std::uint64_t>(), py::arg("seed") = 0)
      .def("add_dense",
           [](Model& self, index_t units, bool use_bias, const std::string& kinit, double ka,
              double kb, const std::string& binit, double ba, double bb,
              std::optional<std::string> activation, std::optional<double> alpha) {
             std::unique_ptr<ActivationLayer<T>> act;
             if (activation) {
               const Activation a = activation_from_name(*activation);
               if (alpha && !activation_has_alpha(a))
                 throw ValueError(cat("alpha: only leaky_relu and elu take alpha; got alpha = ", *alpha,
                                      " for '", *activation, "'"));
               act = alpha ? std::make_unique<ActivationLayer<T>>(a, *alpha) : std::make_unique<ActivationLayer<T>>(a);
             } else if (alpha) {
               throw ValueError(cat("alpha: given (", *alpha, ") without an activation that takes it"));
             }
             self.add(std::make_unique<Dense<T>>(units, use_bias, Initializer::from_name(kinit, ka, kb),
                                                 Initializer::from_name(binit, ba, bb), std::move(act)));
           },
           py::arg("units"), py::arg("use_bias") = true, py::arg("kernel_init") = "glorot_uniform",
           py::arg("kernel_a") = 0.0, py::arg("kernel_b") = 0.0, py::arg("bias_init") = "zeros",
           py::arg("bias_a") = 0.0, py::arg("bias_b") = 0.0, py::arg("activation") = py::none(),
           py::arg("alpha") = py::none())
      .def("add_activation",
           [](Model& self, const std::string& name, std::optional<double> alpha) {
             // alpha: LeakyReLU's negative slope / ELU's alpha (None: the default).
             const Activation a = activation_from_name(name);
             if (!alpha) {
               self.add(std::make_unique<ActivationLayer<T>>(a));
               return;
             }
             if (!activation_has_alpha(a))
               throw ValueError(cat("alpha: only leaky_relu and elu take alpha; got alpha = ", *alpha,
                                    " for '", name, "'"));
             self.add(std::make_unique<ActivationLayer<T>>(a, *alpha));
           },
           py::arg("name"), py::arg("alpha") = py::none())
      .def("add_dropout", [](Model& self, double rate) { self.add(std::make_unique<Dropout<T>>(rate)); },
           py::arg("rate"))
      .def("add_flatten", [](Model& self) { self.add(std::make_unique<Flatten<T>>()); })
      .def("build", [](Model& self, const Shape& s) { self.build(s); }, py::arg("input_shape"))
      .def_property_readonly("built", &Model::built)
      .def_property_readonly("num_layers", &Model::num_layers)
      .def_property_readonly("input_shape", [](Model& s) { return s.input_shape(); })
      .def_property_readonly("output_shape", [](Model& s) { return s.output_shape(); })
      .def_property_readonly("num_params", &Model::num_params)
      .def("seed", &Model::seed, py::arg("seed"))
      .def("layer_output_shape", [](Model& s, index_t i) { return s.layer(i).output_shape(); })
      .def("layer_kind", [](Model& s, index_t i) { return s.layer(i).kind(); })
      .def_property_readonly("params", [](py::object self) {
        Model& s = self.cast<Model&>();
        return view<T>(s.params(), {s.num_params()}, self);
      }, "The flat parameter buffer (a writable view).")
      .def_property_readonly("grads", [](py::object self) {
        Model& s = self.cast<Model&>();
        return view<T>(s.grads(), {s.num_params()}, self);
      }, "The flat gradient buffer (a writable view).")
      .def("layer_params", [](py::object self, index_t i) {
        // [(name, param view, grad view)] for layer i.
        Model& s = self.cast<Model&>();
        py::list out;
        index_t off = s.param_offset(i);
        for (auto& [name, shape] : s.layer(i).param_shapes()) {
          out.append(py::make_tuple(name, view<T>(s.params() + off, shape, self),
                                    view<T>(s.grads() + off, shape, self)));
          off += shape_size(shape);
        }
        return out;
      }, py::arg("i"))
      .def("forward", [](Model& self, const Array<T>& X, bool training) {
        const index_t n = check_inputs(self, X, "x");
        Array<T> out = new_output(self, n);
        {
          py::gil_scoped_release nogil;
          const T* y = self.forward(X.data(), n, training);
          std::memcpy(out.mutable_data(), y, sizeof(T) * static_cast<std::size_t>(out.size()));
        }
        return out;
      }, py::arg("x"), py::arg("training") = true)
      .def("backward", [](Model& self, const Array<T>& dy) {
        if (self.last_batch() < 1) throw StateError("backward: call the model on a batch first");
        Shape want{self.last_batch()};
        for (index_t d : self.output_shape()) want.push_back(d);
        if (shape_of<T>(dy) != want)
          throw ValueError(cat("grad: expected shape ", shape_str(want), " (the last output's), got ",
                               shape_str(shape_of<T>(dy))));
        py::gil_scoped_release nogil;
        self.backward(dy.data());
      }, py::arg("grad"))
      .def("zero_grad", &Model::zero_grad);

  py::class_<Loss<T>>(m, "Loss")
      .def_property_readonly("name", &Loss<T>::name)
      .def("forward", [](Loss<T>& self, const Array<T>& pred, const Array<T>& target) {
        if (pred.ndim() != 2) throw ValueError(cat("output: expected a 2-D array (n, width), got ", pred.ndim(), "-D"));
        const index_t n = pred.shape(0), w = pred.shape(1);
        const index_t tw = check_targets(target, n, "target");
        self.check_target_values(target.data(), n, w, tw);
        return self.forward(pred.data(), target.data(), n, w, tw);
      }, py::arg("output"), py::arg("target"))
      .def("backward", [](Loss<T>& self, const Array<T>& pred, const Array<T>& target) {
        if (pred.ndim() != 2) throw ValueError(cat("output: expected a 2-D array (n, width), got ", pred.ndim(), "-D"));
        const index_t n = pred.shape(0), w = pred.shape(1);
        const index_t tw = check_targets(target, n, "target");
        self.check_target_values(target.data(), n, w, tw);
        Array<T> g({n, w});
        self.backward(pred.data(), target.data(), g.mutable_data(), n, w, tw);
        return g;
      }, py::arg("output"), py::arg("target"));

  py::class_<Optimizer<T>>(m, "Optimizer")
      .def_property_readonly("name", &Optimizer<T>::name)
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
      .def("step", [](Optimizer<T>& self, Model& model) {
        if (!model.built()) throw StateError("step: the model is not built yet");
        py::gil_scoped_release nogil;
        self.step(model.params(), model.grads(), model.num_params());
      }, py::arg("model"))
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

  m.def("train_epoch",
        [](Model& model, Loss<T>& loss, Optimizer<T>& opt, const Array<T>& X, const Array<T>& Y,
           index_t batch_size, bool shuffle, bool drop_last, std::optional<py::function> progress,
           index_t every) {
          const index_t n = check_inputs(model, X, "X");
          const index_t tw = check_targets(Y, n, "y");
          ProgressFn fn;
          if (progress) {
            py::function cb = *progress;
            fn = [cb](index_t done, index_t total, double running) {
              py::gil_scoped_acquire gil;
              py::object r = cb(done, total, running);
              return r.is_none() || r.cast<bool>();
            };
          }
          EpochStats st;
          {
            py::gil_scoped_release nogil;
            st = train_epoch<T>(model, loss, opt, X.data(), Y.data(), n, tw, batch_size, shuffle,
                                drop_last, fn, every);
          }
          py::dict d;
          d["loss"] = st.loss;
          d["iterations"] = st.iterations;
          d["samples"] = st.samples;
          d["nonfinite_batch"] = st.nonfinite_batch;
          d["nonfinite_loss"] = st.nonfinite_loss;
          return d;
        },
        py::arg("model"), py::arg("loss"), py::arg("optimizer"), py::arg("X"), py::arg("y"),
        py::arg("batch_size"), py::arg("shuffle") = true, py::arg("drop_last") = false,
        py::arg("progress") = py::none(), py::arg("every") = 0,
        "Runs one epoch of mini-batch training in C++; returns {loss, iterations, samples}.");

  m.def("evaluate",
        [](Model& model, Loss<T>& loss, const Array<T>& X, const Array<T>& Y, index_t batch_size) {
          const index_t n = check_inputs(model, X, "X");
          const index_t tw = check_targets(Y, n, "y");
          Array<T> pred = new_output(model, n);
          double l;
          {
            py::gil_scoped_release nogil;
            l = evaluate<T>(model, loss, X.data(), Y.data(), n, tw, batch_size, pred.mutable_data());
          }
          return py::make_tuple(l, pred);
        },
        py::arg("model"), py::arg("loss"), py::arg("X"), py::arg("y"), py::arg("batch_size") = 1024,
        "Mean loss in inference mode, and the outputs.");

  m.def("predict",
        [](Model& model, const Array<T>& X, index_t batch_size) {
          const index_t n = check_inputs(model, X, "X");
          Array<T> out = new_output(model, n);
          {
            py::gil_scoped_release nogil;
            predict<T>(model, X.data(), n, out.mutable_data(), batch_size);
          }
          return out;
        },
        py::arg("model"), py::arg("X"), py::arg("batch_size") = 1024);
}

}  // namespace

void bind_model(py::module_& f32, py::module_& f64) {
  bind_typed<float>(f32);
  bind_typed<double>(f64);
}

}  // namespace entrena::bind
