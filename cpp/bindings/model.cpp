// Models and the training loop, one set per dtype in the submodules f32 and
// f64: Sequential (layers added by config), fit (the C++ epoch loop with
// Python callbacks at its boundaries), evaluate and predict. Long calls
// release the GIL; Python callbacks take it back.
#include <chrono>

#include "common.hpp"

namespace entrena::bind {

namespace {

// Checks X: (n, *input_shape) against a built model; returns n.
template <class T>
index_t check_inputs(Sequential<T>& model, const Array<T>& X, const char* name) {
  if (!model.built()) throw StateError("the model is not built yet");
  const Shape want = model.input_shape();
  const Shape got = shape_of<T>(X, 1);
  if (X.ndim() < 1 || got != want)
    throw ValueError(cat(name, ": expected shape ", batch_shape_str(want), ", got ", shape_str(shape_of<T>(X))));
  const index_t bad = count_nonfinite(X.data(), static_cast<index_t>(X.size()));
  if (bad) throw ValueError(cat(name, ": expected finite values, got ", bad, " NaN or infinite value(s)"));
  return X.ndim() ? static_cast<index_t>(X.shape(0)) : 0;
}

// Checks Y for n samples of a model's outputs: (n, *output_shape) or one
// target per position (n, *output_shape[:-1]); returns the values per sample.
template <class T>
index_t check_targets(Sequential<T>& model, const Array<T>& Y, index_t n, const char* name) {
  if (Y.ndim() < 1 || Y.shape(0) != n)
    throw ValueError(cat(name, ": expected ", n, " rows (one per sample of X), got ",
                         Y.ndim() < 1 ? std::string("a scalar") : cat(Y.shape(0))));
  const Shape& out = model.output_shape();
  const Shape got = shape_of<T>(Y, 1);
  const Shape per_position(out.begin(), out.empty() ? out.end() : out.end() - 1);
  // (n, 1) targets for one output column are the output's own shape.
  if (got != out && got != per_position)
    throw ValueError(cat(name, ": expected shape ", batch_shape_str(out), " (the output's) or ",
                         batch_shape_str(per_position), " (one target per position), got ",
                         shape_str(shape_of<T>(Y))));
  return shape_size(got);
}

// Sample weights for n samples: (n,) or (n, ...) with one weight per output
// position; returns the weights per sample (1 without weights). Values are
// checked by the engine.
template <class T>
index_t weights_per_sample(const std::optional<Array<T>>& w, index_t n, const char* name) {
  if (!w) return 1;
  if (w->ndim() < 1 || w->shape(0) != n)
    throw ValueError(cat(name, ": expected ", n, " weights (one per sample), got ",
                         w->ndim() < 1 ? std::string("a scalar") : cat("shape ", shape_str(shape_of<T>(*w)))));
  return n > 0 ? static_cast<index_t>(w->size()) / n : 1;
}

template <class T>
Array<T> new_output(Sequential<T>& model, index_t n) {
  std::vector<py::ssize_t> sh{static_cast<py::ssize_t>(n)};
  for (index_t d : model.output_shape()) sh.push_back(static_cast<py::ssize_t>(d));
  return Array<T>(sh);
}

py::dict logs_dict(const std::vector<std::pair<std::string, double>>& values) {
  py::dict d;
  for (const auto& [k, v] : values) d[py::str(k)] = v;
  return d;
}

// Ctrl-C between batches: at most every 20 ms, Python's signal handlers
// run; a KeyboardInterrupt stops fit between two batches (the model has the
// weights of the last finished batch) and is raised again, with how far
// training got, once fit has returned. Other exceptions from a handler
// propagate at once.
// What the Python callbacks of one fit did: a Ctrl-C, or (in data-parallel
// training) an exception kept until every rank has stopped, so that no
// rank is left waiting in a collective.
struct CallbackState {
  bool interrupted = false;
  bool distributed = false;
  std::unique_ptr<py::error_already_set> error;
};

InterruptFn interrupt_check(std::shared_ptr<CallbackState> state) {
  auto last = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [last, state]() {
    if (state->interrupted || state->error) return true;  // Ctrl-C (or an error) came during a Python callback
    const auto now = std::chrono::steady_clock::now();
    if (now - *last < std::chrono::milliseconds(20)) return false;
    *last = now;
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() == 0) return false;
    if (!PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) throw py::error_already_set();
    PyErr_Clear();
    state->interrupted = true;
    return true;
  };
}

// Calls a Python callback of fit (with the GIL). A KeyboardInterrupt in it
// stops training like one between batches (the flag is set, the error
// cleared; returns false). Other exceptions propagate, except in
// data-parallel training, where they stop every rank first and are raised
// when fit returns.
template <class F>
bool call_callback(const std::shared_ptr<CallbackState>& state, F&& f) {
  py::gil_scoped_acquire gil;
  try {
    return f();
  } catch (py::error_already_set& e) {
    if (e.matches(PyExc_KeyboardInterrupt)) {
      state->interrupted = true;
      return false;
    }
    if (!state->distributed) throw;
    if (!state->error) state->error = std::make_unique<py::error_already_set>(std::move(e));
    return false;
  }
}

EarlyStopping early_stopping_from(const py::dict& d) {
  EarlyStopping es;
  for (auto item : d) {
    const std::string k = py::str(item.first);
    const py::handle v = item.second;
    if (k == "monitor") es.monitor = v.cast<std::string>();
    else if (k == "patience") es.patience = v.cast<index_t>();
    else if (k == "min_delta") es.min_delta = v.cast<double>();
    else if (k == "restore_best_weights") es.restore_best_weights = v.cast<bool>();
    else if (k == "mode") es.mode = v.cast<std::string>();
    else if (k == "baseline") { if (!v.is_none()) es.baseline = v.cast<double>(); }
    else if (k == "start_from_epoch") es.start_from_epoch = v.cast<index_t>();
    else throw ValueError(cat("early_stopping: unknown key '", k, "'"));
  }
  return es;
}

py::dict history_dict(const History& h) {
  py::dict d;
  d["epoch"] = h.epoch;
  py::dict logs;
  for (const std::string& k : h.keys) logs[py::str(k)] = h.values.at(k);
  d["logs"] = logs;
  d["stop_reason"] = h.stop_reason;
  py::list es;
  for (const EarlyStoppingResult& r : h.early_stopping) {
    py::dict e;
    e["best_epoch"] = r.best_epoch;
    e["best"] = r.best;
    e["stopped_epoch"] = r.stopped_epoch;
    e["wait"] = r.wait;
    e["restored_best_weights"] = r.restored_best_weights;
    es.append(e);
  }
  d["early_stopping"] = es;
  return d;
}

template <class T>
std::vector<Metric<T>*> metric_ptrs(const std::vector<std::shared_ptr<Metric<T>>>& ms) {
  std::vector<Metric<T>*> out;
  for (const auto& m : ms) out.push_back(m.get());
  return out;
}

// State arrays of a recurrent layer given from Python: one (n, size) array
// per state spec; returns the pointers and n.
template <class T>
std::pair<std::vector<const T*>, index_t> state_arrays(Layer<T>& l, const std::vector<Array<T>>& arrays,
                                                      const char* name) {
  const std::vector<TensorSpec> specs = l.state_specs();
  if (specs.empty()) throw ValueError(cat(name, ": layer ", l.kind(), " has no recurrent state"));
  if (arrays.size() != specs.size()) {
    std::string names;
    for (const TensorSpec& s : specs) names += (names.empty() ? "" : ", ") + s.name;
    throw ValueError(cat(name, ": expected ", specs.size(), " arrays (", names, ") for layer ", l.kind(), ", got ",
                         arrays.size()));
  }
  std::vector<const T*> ptrs;
  const index_t n = arrays[0].ndim() == 2 ? arrays[0].shape(0) : -1;
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    const Shape want{n < 1 ? 1 : n, specs[i].shape[0]};
    if (n < 1 || shape_of<T>(arrays[i]) != want)
      throw ValueError(cat(name, "[", i, "] (", specs[i].name, "): expected shape (n, ", specs[i].shape[0],
                           ") with the same n for every array, got ", shape_str(shape_of<T>(arrays[i]))));
    ptrs.push_back(arrays[i].data());
  }
  return {ptrs, n};
}

template <class T>
py::list state_copies(Layer<T>& l, const std::vector<const T*>& ptrs, index_t n) {
  py::list out;
  const std::vector<TensorSpec> specs = l.state_specs();
  for (std::size_t i = 0; i < ptrs.size() && i < specs.size(); ++i) {
    Array<T> a({n, specs[i].shape[0]});
    std::memcpy(a.mutable_data(), ptrs[i], sizeof(T) * static_cast<std::size_t>(a.size()));
    out.append(a);
  }
  return out;
}

template <class T>
void bind_typed(py::module_& m) {
  using Model = Sequential<T>;

  py::class_<Model>(m, "Sequential")
      .def(py::init<std::uint64_t>(), py::arg("seed"))
      // Calls that take the model's lock release the GIL first: a thread
      // waiting for the lock must not hold what a fit in another thread
      // needs for its Python callbacks.
      .def("add", [](Model& self, const std::string& config) {
        auto layer = make_layer<T>(Json::parse(config));
        py::gil_scoped_release nogil;
        self.add(std::move(layer));
      }, py::arg("config"), "Adds a layer made by the registry from its config (a JSON string).")
      .def("build", [](Model& self, const Shape& s) {
        py::gil_scoped_release nogil;
        self.build(s);
      }, py::arg("input_shape"))
      .def_property_readonly("built", &Model::built)
      .def_property_readonly("num_layers", &Model::num_layers)
      .def_property_readonly("input_shape", [](Model& s) { return s.input_shape(); })
      .def_property_readonly("output_shape", [](Model& s) { return s.output_shape(); })
      .def_property_readonly("num_params", &Model::num_params)
      .def_property_readonly("num_buffer_elements", &Model::num_buffer_elements)
      .def("seed", &Model::seed, py::arg("seed"))
      .def("layer_output_shape", [](Model& s, index_t i) { return s.layer(i).output_shape(); })
      .def("layer_kind", [](Model& s, index_t i) { return s.layer(i).kind(); })
      .def("layer_config", [](Model& s, index_t i) { return s.layer(i).config().dump(); })
      .def("architecture", [](Model& s) { return architecture(s).dump(); })
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
        const auto [first, last] = s.layer_params(i);
        for (index_t k = first; k < last; ++k) {
          const TensorInfo& t = s.param_info()[static_cast<std::size_t>(k)];
          out.append(py::make_tuple(t.local, view<T>(s.params() + t.offset, t.shape, self),
                                    view<T>(s.grads() + t.offset, t.shape, self)));
        }
        return out;
      }, py::arg("i"))
      .def("layer_buffers", [](py::object self, index_t i) {
        // [(name, view)] for layer i.
        Model& s = self.cast<Model&>();
        py::list out;
        const auto [first, last] = s.layer_buffers(i);
        for (index_t k = first; k < last; ++k) {
          const TensorInfo& t = s.buffer_info()[static_cast<std::size_t>(k)];
          out.append(py::make_tuple(t.local, view<T>(s.buffers() + t.offset, t.shape, self)));
        }
        return out;
      }, py::arg("i"))
      .def("param_weight_decay", [](Model& s) {
        std::vector<bool> out;
        for (std::size_t k = 0; k < s.param_info().size(); ++k)
          out.push_back(s.param_options(static_cast<index_t>(k)).weight_decay);
        return out;
      }, "Whether weight decay applies, per parameter tensor (in order).")
      .def("set_param_weight_decay", [](Model& s, index_t k, bool on) {
        ParamOptions o = s.param_options(k);
        o.weight_decay = on;
        py::gil_scoped_release nogil;
        s.set_param_options(k, o);
      }, py::arg("index"), py::arg("weight_decay"))
      .def("num_param_segments", [](Model& s) { return s.param_segments().size(); })
      .def("adapt", [](Model& self, index_t i, const Array<T>& X) {
        auto* norm = dynamic_cast<Normalization<T>*>(&self.layer(i));
        if (!norm) throw TypeError(cat("adapt: layer ", i, " is a ", self.layer(i).kind(), ", not a Normalization"));
        const Shape want = self.layer(i).input_shape();
        if (X.ndim() < 1 || shape_of<T>(X, 1) != want)
          throw ValueError(cat("data: expected shape ", batch_shape_str(want), ", got ", shape_str(shape_of<T>(X))));
        py::gil_scoped_release nogil;
        auto guard = self.lock();
        norm->adapt(X.data(), static_cast<index_t>(X.shape(0)));
      }, py::arg("layer"), py::arg("data"))
      .def("forward", [](Model& self, const Array<T>& X, bool training) {
        const index_t n = check_inputs(self, X, "x");
        Array<T> out = new_output(self, n);
        {
          py::gil_scoped_release nogil;
          auto guard = self.lock();  // until the outputs are copied
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
      .def("state_names", [](Model& self, index_t i) {
        std::vector<std::string> names;
        for (const TensorSpec& s : self.layer(i).state_specs()) names.push_back(s.name);
        return names;
      }, py::arg("layer"))
      .def("set_initial_state", [](Model& self, index_t i, const std::vector<Array<T>>& state) {
        auto guard = self.lock();
        Layer<T>& l = self.layer(i);
        auto [ptrs, n] = state_arrays(l, state, "initial_state");
        l.set_initial_state(ptrs, n);
      }, py::arg("layer"), py::arg("state"))
      .def("final_state", [](Model& self, index_t i) {
        auto guard = self.lock();
        Layer<T>& l = self.layer(i);
        if (self.last_batch() < 1) throw StateError("final_state: call the model on a batch first");
        return state_copies(l, l.final_state(), self.last_batch());
      }, py::arg("layer"))
      .def("set_final_state_grad", [](Model& self, index_t i, const std::vector<Array<T>>& grads) {
        auto guard = self.lock();
        Layer<T>& l = self.layer(i);
        auto [ptrs, n] = state_arrays(l, grads, "state_grads");
        if (n != self.last_batch())
          throw ValueError(cat("state_grads: expected ", self.last_batch(), " rows (the last batch), got ", n));
        l.set_final_state_grad(ptrs, n);
      }, py::arg("layer"), py::arg("grads"))
      .def("initial_state_grad", [](Model& self, index_t i) {
        auto guard = self.lock();
        Layer<T>& l = self.layer(i);
        const auto g = l.initial_state_grad();
        if (g.empty()) throw StateError("initial_state_grad: call backward after the model's forward pass first");
        return state_copies(l, g, self.last_batch());
      }, py::arg("layer"))
      .def("clear_pending_state", [](Model& self) { self.clear_pending(); })
      .def("output_mask", [](Model& self) -> py::object {
        auto guard = self.lock();
        const std::uint8_t* mask = self.output_mask();
        if (!mask || self.last_batch() < 1) return py::none();
        const index_t n = self.last_batch(), steps = self.output_mask_steps();
        py::array_t<bool> a({n, steps});
        for (index_t i = 0; i < n * steps; ++i) a.mutable_data()[i] = mask[i] != 0;
        return a;
      })
      .def_property("bf16", [](const Model& self) { return self.bf16(); },
                    [](Model& self, bool on) { self.set_bf16(on); },
                    "The precision policy: bfloat16 products with float32 accumulation (float32 models).")
      .def("zero_grad", [](Model& self) {
        py::gil_scoped_release nogil;
        auto guard = self.lock();
        self.zero_grad();
      });

  m.def("fit",
        [](Model& model, Loss<T>& loss, Optimizer<T>& opt, const Array<T>& X, const Array<T>& Y,
           index_t epochs, index_t batch_size, bool shuffle, bool drop_last, index_t initial_epoch,
           std::optional<std::uint64_t> seed, std::optional<py::tuple> validation, index_t eval_batch_size,
           const std::vector<std::pair<std::string, std::shared_ptr<Metric<T>>>>& metrics,
           std::shared_ptr<Schedule> schedule, const std::string& schedule_monitor,
           const std::vector<py::dict>& early_stopping, std::optional<py::function> on_epoch_begin,
           std::optional<py::function> on_epoch_end, std::optional<py::function> progress, index_t progress_every,
           bool terminate_on_nonfinite, bool check_interrupt, std::optional<Array<T>> sample_weight,
           std::shared_ptr<Communicator> communicator) {
          const index_t n = check_inputs(model, X, "X");
          const index_t ts = check_targets(model, Y, n, "y");
          FitOptions<T> o;
          o.communicator = communicator.get();
          o.sample_weight_size = weights_per_sample(sample_weight, n, "sample_weight");
          if (sample_weight) o.sample_weight = sample_weight->data();
          o.epochs = epochs;
          o.batch_size = batch_size;
          o.shuffle = shuffle;
          o.drop_last = drop_last;
          o.initial_epoch = initial_epoch;
          o.seed = seed;
          o.eval_batch_size = eval_batch_size;
          for (const auto& [name, metric] : metrics) o.metrics.emplace_back(name, metric);
          o.schedule = std::move(schedule);
          o.schedule_monitor = schedule_monitor;
          for (const py::dict& d : early_stopping) o.early_stopping.push_back(early_stopping_from(d));
          o.terminate_on_nonfinite = terminate_on_nonfinite;
          o.progress_every = progress_every;
          Array<T> Xv, Yv;
          std::optional<Array<T>> Wv;
          if (validation) {
            if (validation->size() != 2 && validation->size() != 3)
              throw ValueError("validation: expected (X_val, y_val) or (X_val, y_val, sample_weight_val)");
            Xv = (*validation)[0].cast<Array<T>>();
            Yv = (*validation)[1].cast<Array<T>>();
            const index_t nv = check_inputs(model, Xv, "validation_data X");
            if (check_targets(model, Yv, nv, "validation_data y") != ts)
              throw ValueError("validation_data y: expected the training targets' layout");
            o.validation = {Xv.data(), Yv.data(), nv};
            if (validation->size() == 3 && !(*validation)[2].is_none()) {
              Wv = (*validation)[2].cast<Array<T>>();
              const index_t ws = weights_per_sample(Wv, nv, "validation_data sample_weight");
              if (!sample_weight) {
                o.sample_weight_size = ws;
              } else if (ws != o.sample_weight_size) {
                throw ValueError(cat("validation_data sample_weight: expected ", o.sample_weight_size,
                                     " weights per sample (as sample_weight), got ", ws));
              }
              o.validation.sample_weight = Wv->data();
            }
          }
          auto interrupted = std::make_shared<CallbackState>();
          interrupted->distributed = o.communicator && o.communicator->size() > 1;
          if (on_epoch_begin) {
            py::function f = *on_epoch_begin;
            o.on_epoch_begin = [f, interrupted](index_t e) {
              call_callback(interrupted, [&] {
                f(e);
                return true;
              });
            };
          }
          if (on_epoch_end) {
            py::function f = *on_epoch_end;
            o.on_epoch = [f, interrupted](const EpochLogs& logs) {
              return call_callback(interrupted, [&] {
                py::object r = f(logs.epoch, logs_dict(logs.values));
                return r.is_none() || r.cast<bool>();
              });
            };
          }
          if (progress) {
            py::function f = *progress;
            o.progress = [f, interrupted](index_t done, index_t total, const RunningLogs& logs) {
              return call_callback(interrupted, [&] {
                py::object r = f(done, total, logs_dict(logs));
                return r.is_none() || r.cast<bool>();
              });
            };
          }
          if (check_interrupt || interrupted->distributed) o.interrupted = interrupt_check(interrupted);
          History h;
          {
            py::gil_scoped_release nogil;
            h = fit<T>(model, loss, opt, X.data(), Y.data(), n, ts, o);
          }
          if (interrupted->distributed) {
            // Every rank leaves fit at the same batch or epoch; they learn here
            // whether another one failed or was interrupted, and all raise.
            double why[2] = {interrupted->error ? 1.0 : 0.0, interrupted->interrupted ? 1.0 : 0.0};
            {
              py::gil_scoped_release nogil;
              o.communicator->allreduce_sum(why, 2);
            }
            if (!interrupted->error && !interrupted->interrupted && (why[0] > 0 || why[1] > 0))
              throw StateError(cat("fit: training stopped because another rank ", why[0] > 0 ? "failed" : "was interrupted",
                                   " (its error is raised there); this rank has the same weights"));
          }
          if (interrupted->error) {
            py::error_already_set e = *interrupted->error;
            interrupted->error.reset();
            throw e;
          }
          if (interrupted->interrupted) {
            const std::string where =
                h.interrupted_epoch >= 0
                    ? cat("at epoch ", h.interrupted_epoch + 1, ", batch ", h.interrupted_batch + 1, " of ",
                          h.interrupted_batches)
                    : cat("at the end of epoch ", h.epochs());
            const std::string msg = cat("training stopped ", where, " (", h.epochs(), " epoch(s) completed); the model "
                                        "has the weights of the last finished batch");
            PyErr_SetString(PyExc_KeyboardInterrupt, msg.c_str());
            throw py::error_already_set();
          }
          return history_dict(h);
        },
        py::arg("model"), py::arg("loss"), py::arg("optimizer"), py::arg("X"), py::arg("y"), py::kw_only(),
        py::arg("epochs") = 1, py::arg("batch_size") = 32, py::arg("shuffle") = true, py::arg("drop_last") = false,
        py::arg("initial_epoch") = 0, py::arg("seed") = py::none(), py::arg("validation") = py::none(),
        py::arg("eval_batch_size") = 1024,
        py::arg("metrics") = std::vector<std::pair<std::string, std::shared_ptr<Metric<T>>>>{},
        py::arg("schedule") = py::none(), py::arg("schedule_monitor") = "",
        py::arg("early_stopping") = std::vector<py::dict>{}, py::arg("on_epoch_begin") = py::none(),
        py::arg("on_epoch_end") = py::none(), py::arg("progress") = py::none(), py::arg("progress_every") = 0,
        py::arg("terminate_on_nonfinite") = false, py::arg("check_interrupt") = true,
        py::arg("sample_weight") = py::none(), py::arg("communicator") = py::none(),
        "Trains with entrena::fit (the C++ epoch loop); returns the history as a dict.\n"
        "on_epoch_end(epoch, logs) -> False stops; progress(done, total, running_logs) -> False\n"
        "ends the epoch. Ctrl-C raises KeyboardInterrupt between batches.");

  m.def("evaluate",
        [](Model& model, Loss<T>& loss, const Array<T>& X, const Array<T>& Y, index_t batch_size,
           const std::vector<std::shared_ptr<Metric<T>>>& metrics, std::optional<Array<T>> sample_weight) {
          const index_t n = check_inputs(model, X, "X");
          const index_t ts = check_targets(model, Y, n, "y");
          const index_t ws = weights_per_sample(sample_weight, n, "sample_weight");
          const std::vector<Metric<T>*> ptrs = metric_ptrs(metrics);
          double l;
          {
            py::gil_scoped_release nogil;
            l = evaluate<T>(model, loss, X.data(), Y.data(), n, ts, batch_size, nullptr, ptrs,
                            sample_weight ? sample_weight->data() : nullptr, ws);
          }
          std::vector<double> values;
          for (Metric<T>* mt : ptrs) values.push_back(mt->result());
          return py::make_tuple(l, values);
        },
        py::arg("model"), py::arg("loss"), py::arg("X"), py::arg("y"), py::arg("batch_size") = 1024,
        py::arg("metrics") = std::vector<std::shared_ptr<Metric<T>>>{}, py::arg("sample_weight") = py::none(),
        "(loss, [metric values]) over the data set in inference mode.");

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
