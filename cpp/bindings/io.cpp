// Model files (nn/io.hpp) for Python: save, load, inspect. Python's
// model.save / entrena.load are thin layers over these. Unreadable files
// raise OSError, invalid content ValueError.
#include <map>
#include <optional>

#include "common.hpp"

namespace entrena::bind {

namespace {

using Metadata = std::map<std::string, std::string>;

// str(os.fspath(path)): accepts str and os.PathLike.
std::string path_arg(const py::object& path) {
  py::object p = py::module_::import("os").attr("fspath")(path);
  if (!py::isinstance<py::str>(p))
    throw TypeError(cat("path: expected a str or os.PathLike path, got ",
                        std::string(py::str(py::type::of(p).attr("__name__")))));
  return p.cast<std::string>();
}

template <class T>
py::array_t<T> to_array(const TensorData<T>& t) {
  std::vector<py::ssize_t> sh(t.shape.begin(), t.shape.end());
  py::array_t<T> a(sh);
  if (!t.data.empty()) std::memcpy(a.mutable_data(), t.data.data(), t.data.size() * sizeof(T));
  return a;
}

// {name: ndarray} (any float array, converted to T) -> buffers.
template <class T>
std::map<std::string, TensorData<T>> buffers_from(const py::dict& d) {
  std::map<std::string, TensorData<T>> out;
  for (auto item : d) {
    if (!py::isinstance<py::str>(item.first))
      throw TypeError("optimizer_state: keys must be str (buffer names)");
    const std::string name = item.first.cast<std::string>();
    auto arr = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(item.second);
    if (!arr)
      throw TypeError(cat("optimizer_state['", name, "']: expected an array of numbers"));
    TensorData<T> t;
    for (py::ssize_t i = 0; i < arr.ndim(); ++i) t.shape.push_back(static_cast<index_t>(arr.shape(i)));
    t.data.assign(arr.data(), arr.data() + arr.size());
    out[name] = std::move(t);
  }
  return out;
}

template <class T>
void save_typed(Sequential<T>& model, const py::object& path, const std::optional<Metadata>& metadata,
                const std::optional<py::dict>& optimizer_state, const std::optional<std::string>& optimizer_name,
                index_t optimizer_steps, Optimizer<T>* optimizer) {
  const std::string p = path_arg(path);
  if (optimizer && optimizer_state)
    throw ValueError("save: give optimizer or optimizer_state, not both");
  std::optional<OptimizerState<T>> st;
  if (optimizer) {
    st = entrena::optimizer_state(*optimizer);
  } else if (optimizer_state) {
    if (!optimizer_name || optimizer_name->empty())
      throw ValueError("save: optimizer_state needs optimizer_name (e.g. 'adam')");
    OptimizerState<T> s;
    s.name = *optimizer_name;
    s.steps = optimizer_steps;
    s.buffers = buffers_from<T>(*optimizer_state);
    st = std::move(s);
  }
  const Metadata md = metadata ? *metadata : Metadata{};
  py::gil_scoped_release nogil;
  entrena::save<T>(model, p, md, st ? &*st : nullptr);
}

template <class T>
py::tuple loaded_tuple(LoadedModel<T>&& l) {
  py::object state = py::none();
  if (l.optimizer) {
    py::dict d;
    for (const auto& [name, t] : l.optimizer->buffers) d[py::str(name)] = to_array<T>(t);
    state = d;
  }
  py::dict md;
  for (const auto& [k, v] : l.metadata) md[py::str(k)] = py::str(v);
  return py::make_tuple(py::cast(std::move(l.model)), md, state);
}

template <class T>
void bind_save_overloads(py::module_& m) {
  m.def("save",
        [](Sequential<T>& model, const py::object& path, const std::optional<Metadata>& metadata,
           const std::optional<py::dict>& optimizer_state, const std::optional<std::string>& optimizer_name,
           index_t optimizer_steps, Optimizer<T>* optimizer) {
          save_typed<T>(model, path, metadata, optimizer_state, optimizer_name, optimizer_steps, optimizer);
        },
        py::arg("model"), py::arg("path"), py::arg("metadata") = py::none(),
        py::arg("optimizer_state") = py::none(), py::arg("optimizer_name") = py::none(),
        py::arg("optimizer_steps") = 0, py::arg("optimizer") = py::none(),
        "Saves a built core model to a safetensors file (atomically).\n\n"
        "metadata: extra str -> str entries (the keys format, entrena_version, dtype,\n"
        "architecture and optimizer_state are entrena's). The optimizer state comes either\n"
        "from `optimizer` (a core optimizer of the model's dtype) or from\n"
        "`optimizer_state` ({buffer name: array}) with optimizer_name and optimizer_steps.");
}

}  // namespace

void bind_io(py::module_& m) {
  bind_save_overloads<float>(m);
  bind_save_overloads<double>(m);

  m.def("load",
        [](const py::object& path, const std::optional<std::string>& dtype) {
          const std::string p = path_arg(path);
          SafetensorsFile file;
          {
            py::gil_scoped_release nogil;
            file = read_model_file(p);
          }
          DType want = model_file_dtype(file, p);
          if (dtype) {
            if (*dtype == "float32") want = DType::F32;
            else if (*dtype == "float64") want = DType::F64;
            else throw ValueError(cat("dtype: expected 'float32', 'float64' or None, got '", *dtype, "'"));
          }
          if (want == DType::F32) {
            LoadedModel<float> l;
            {
              py::gil_scoped_release nogil;
              l = build_loaded<float>(file, p);
            }
            return loaded_tuple(std::move(l));
          }
          LoadedModel<double> l;
          {
            py::gil_scoped_release nogil;
            l = build_loaded<double>(file, p);
          }
          return loaded_tuple(std::move(l));
        },
        py::arg("path"), py::arg("dtype") = py::none(),
        "Loads an entrena model file: (core model, metadata dict, optimizer state dict or None).\n"
        "The model has the file's dtype unless dtype ('float32' or 'float64') asks for a\n"
        "conversion. The optimizer's name and step count are in metadata['optimizer_state'] (JSON).");

  m.def("inspect",
        [](const py::object& path) {
          const std::string p = path_arg(path);
          SafetensorsFile f;
          {
            py::gil_scoped_release nogil;
            f = read_safetensors_header(p);
          }
          py::dict md, tensors;
          for (const auto& [k, v] : f.metadata) md[py::str(k)] = py::str(v);
          for (const auto& [name, t] : f.tensors)
            tensors[py::str(name)] = py::make_tuple(dtype_name(t.dtype), py::tuple(py::cast(t.shape)));
          return py::make_tuple(md, tensors);
        },
        py::arg("path"),
        "Reads only the header of a safetensors file: (metadata, {name: (dtype, shape)}).");

  m.attr("RESERVED_METADATA_KEYS") = py::tuple(py::cast(reserved_metadata_keys()));
}

}  // namespace entrena::bind
