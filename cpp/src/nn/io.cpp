#include "entrena/nn/io.hpp"

#include <algorithm>

#include "entrena/json.hpp"
#include "entrena/nn/factory.hpp"
#include "entrena/nn/options.hpp"

namespace entrena {

// ------------------------------------------------------------------ models
namespace {
const char* const kFormat = "entrena";
}

const std::vector<std::string>& reserved_metadata_keys() {
  static const std::vector<std::string> keys = {"format",          "entrena_version", "dtype",    "architecture",
                                                "optimizer_state", "rng_state",       "param_options"};
  return keys;
}

template <class T>
OptimizerState<T> optimizer_state(Optimizer<T>& opt) {
  OptimizerState<T> s;
  s.name = opt.name();
  s.steps = opt.steps();
  for (const StateBuffer<T>& b : opt.state()) {
    TensorData<T> t;
    t.shape = {b.size};
    t.data.assign(b.data, b.data + b.size);
    s.buffers[b.name] = std::move(t);
  }
  return s;
}

template <class T>
void restore_optimizer_state(Optimizer<T>& opt, const OptimizerState<T>& state, index_t n_params) {
  if (state.name != opt.name())
    throw ValueError(cat("optimizer state: saved for '", state.name, "', cannot restore into '", opt.name(), "'"));
  if (state.steps < 0) throw ValueError(cat("optimizer state: steps must be >= 0, got ", state.steps));
  if (state.buffers.empty() && state.steps == 0) return;  // nothing was taken yet
  opt.init_state(n_params);
  std::vector<StateBuffer<T>> bufs = opt.state();
  for (const auto& [name, t] : state.buffers) {
    const bool known = std::any_of(bufs.begin(), bufs.end(), [&](const StateBuffer<T>& b) { return b.name == name; });
    if (!known)
      throw ValueError(cat("optimizer state: buffer '", name, "' is not part of this ", opt.name(),
                           " optimizer's state (other settings than when it was saved?)"));
  }
  // Check everything before changing anything.
  for (const StateBuffer<T>& b : bufs) {
    auto it = state.buffers.find(b.name);
    if (it == state.buffers.end())
      throw ValueError(cat("optimizer state: missing buffer '", b.name, "' of the ", opt.name(), " optimizer"));
    if (static_cast<index_t>(it->second.data.size()) != b.size)
      throw ValueError(cat("optimizer state: buffer '", b.name, "' has ", it->second.data.size(),
                           " values, expected ", b.size, " (one per model parameter)"));
  }
  for (const StateBuffer<T>& b : bufs) {
    const auto& v = state.buffers.at(b.name).data;
    std::copy(v.begin(), v.end(), b.data);
  }
  opt.set_steps(state.steps);
}

namespace {

// Every tensor of a model in file order: parameters then buffers, layer by layer.
template <class T>
void model_tensors(Sequential<T>& m, SafetensorsFile& f) {
  for (const TensorInfo& t : m.param_info()) f.tensors.emplace_back(t.name, RawTensor::from(m.params() + t.offset, t.shape));
  for (const TensorInfo& t : m.buffer_info())
    f.tensors.emplace_back(t.name, RawTensor::from(m.buffers() + t.offset, t.shape));
}

// {"layers.0.b": {"weight_decay": false}, ...} for tensors without the default options.
template <class T>
Json param_options_json(const Sequential<T>& m) {
  Json j = Json::object();
  for (std::size_t i = 0; i < m.param_info().size(); ++i) {
    const ParamOptions& po = m.param_options(static_cast<index_t>(i));
    if (po != ParamOptions{}) j[m.param_info()[i].name] = Json::object({{"weight_decay", po.weight_decay}});
  }
  return j;
}

template <class T>
void apply_param_options(Sequential<T>& m, const std::string& text, const std::string& path) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const ValueError& e) {
    throw FormatError(cat(path, ": metadata 'param_options' is not valid JSON: ", e.what()));
  }
  if (!j.is_object()) throw FormatError(cat(path, ": metadata 'param_options' must be a JSON object"));
  for (const auto& [name, opts] : j.as_object()) {
    index_t found = -1;
    for (std::size_t i = 0; i < m.param_info().size(); ++i)
      if (m.param_info()[i].name == name) found = static_cast<index_t>(i);
    if (found < 0) throw FormatError(cat(path, ": param_options names '", name, "', which is not a parameter"));
    ParamOptions po;
    try {
      Options o(opts, name);
      po.weight_decay = o.flag("weight_decay", true);
      o.finish();
    } catch (const Error& e) {
      throw FormatError(cat(path, ": param_options: ", e.what()));
    }
    m.set_param_options(found, po);
  }
}

}  // namespace

template <class T>
void save(Sequential<T>& model, const std::string& path, const std::map<std::string, std::string>& metadata,
          const OptimizerState<T>* optimizer) {
  auto guard = model.lock();  // the tensors are read as of one moment
  if (!model.built()) throw StateError("save: the model is not built yet (call build or fit first)");
  for (const auto& kv : metadata) {
    const auto& r = reserved_metadata_keys();
    if (std::find(r.begin(), r.end(), kv.first) != r.end())
      throw ValueError(cat("save: metadata key '", kv.first, "' is reserved for entrena (reserved: ",
                           join_names(r), ")"));
  }
  // The architecture must rebuild this very model, or the file could not be loaded.
  const Json arch = architecture(model);
  try {
    ArchitecturePlan<T> plan = plan_architecture<T>(arch);
    for (index_t k = 0; k < model.num_layers(); ++k) {
      Layer<T>& l = model.layer(k);
      const Layer<T>& p = *plan.layers[static_cast<std::size_t>(k)];
      if (p.param_specs() != l.param_specs() || p.buffer_specs() != l.buffer_specs() ||
          p.output_shape() != l.output_shape())
        throw ValueError(cat("layer ", k, " (", l.kind(), "): its config rebuilds a layer of other shapes"));
    }
  } catch (const ValueError& e) {
    throw ValueError(cat("save: the model's layer configs do not describe it (", e.what(),
                         "); does every layer with arguments return them from Layer::args()?"));
  }

  SafetensorsFile f;
  f.metadata = metadata;
  f.metadata["format"] = kFormat;
  f.metadata["entrena_version"] = ENTRENA_VERSION;
  f.metadata["dtype"] = dtype_name(dtype_of<T>());
  f.metadata["architecture"] = arch.dump();
  f.metadata["rng_state"] = model.rng().state_string();
  const Json po = param_options_json(model);
  if (po.size() > 0) f.metadata["param_options"] = po.dump();
  model_tensors(model, f);
  if (optimizer) {
    if (optimizer->name.empty()) throw ValueError("save: the optimizer state needs the optimizer's name");
    if (optimizer->steps < 0) throw ValueError(cat("save: optimizer steps must be >= 0, got ", optimizer->steps));
    f.metadata["optimizer_state"] =
        Json::object({{"name", optimizer->name}, {"steps", optimizer->steps}}).dump();
    for (const auto& [name, t] : optimizer->buffers) {
      if (name.empty()) throw ValueError("save: an optimizer state buffer has an empty name");
      if (static_cast<index_t>(t.data.size()) != shape_size(t.shape))
        throw ValueError(cat("save: optimizer buffer '", name, "' has ", t.data.size(), " values for shape ",
                             shape_str(t.shape)));
      f.tensors.emplace_back("optimizer." + name, RawTensor::from(t.data.data(), t.shape));
    }
  }
  write_safetensors(path, f);
}

SafetensorsFile read_model_file(const std::string& path) {
  // The metadata is checked before any tensor data is read.
  return read_safetensors(path, [&](const SafetensorsFile& head) {
    auto it = head.metadata.find("format");
    if (it == head.metadata.end())
      throw FormatError(cat(path, ": not an entrena model file: its metadata has no \"format\": \"entrena\" "
                            "(a safetensors file written by another program?)"));
    if (it->second != kFormat)
      throw FormatError(cat(path, ": not an entrena model file: its format is '", it->second, "', expected 'entrena'"));
    for (const char* key : {"dtype", "architecture"})
      if (!head.metadata.count(key))
        throw FormatError(cat(path, ": entrena model file without the metadata key '", key, "'"));
  });
}

DType model_file_dtype(const SafetensorsFile& file, const std::string& path) {
  auto it = file.metadata.find("dtype");
  if (it == file.metadata.end()) throw FormatError(cat(path, ": entrena model file without the metadata key 'dtype'"));
  if (it->second == "float32") return DType::F32;
  if (it->second == "float64") return DType::F64;
  throw FormatError(cat(path, ": metadata dtype must be 'float32' or 'float64', got '", it->second, "'"));
}

template <class T>
LoadedModel<T> build_loaded(const SafetensorsFile& file, const std::string& path, bool convert_dtype,
                            std::uint64_t seed) {
  const DType fd = model_file_dtype(file, path);
  if (fd != dtype_of<T>() && !convert_dtype)
    throw FormatError(cat(path, ": the file holds ", dtype_name(fd), " weights and a ", dtype_name(dtype_of<T>()),
                          " model was asked for (load it as ", dtype_name(fd), ", or allow the conversion)"));
  Json arch;
  try {
    arch = Json::parse(file.metadata.at("architecture"));
  } catch (const ValueError& e) {
    throw FormatError(cat(path, ": metadata 'architecture' is not valid JSON: ", e.what()));
  }
  ArchitecturePlan<T> plan;
  try {
    plan = plan_architecture<T>(arch);
  } catch (const ValueError& e) {
    throw FormatError(cat(path, ": ", e.what()));
  }

  // Every tensor present with its shape; nothing unexpected.
  std::map<std::string, Shape> expected;
  for (std::size_t k = 0; k < plan.layers.size(); ++k) {
    for (const auto& spec : plan.layers[k]->param_specs()) expected[cat("layers.", k, ".", spec.name)] = spec.shape;
    for (const auto& spec : plan.layers[k]->buffer_specs()) expected[cat("layers.", k, ".", spec.name)] = spec.shape;
  }
  std::map<std::string, const RawTensor*> by_name;
  bool has_opt_tensors = false;
  for (const auto& [name, t] : file.tensors) {
    if (t.dtype != fd)
      throw FormatError(cat(path, ": tensor '", name, "' is ", dtype_code(t.dtype), " but the file's dtype is ",
                            dtype_name(fd)));
    if (name.rfind("optimizer.", 0) == 0 && name.size() > 10) {
      has_opt_tensors = true;
      continue;
    }
    auto it = expected.find(name);
    if (it == expected.end())
      throw FormatError(cat(path, ": unexpected tensor '", name, "' (the architecture has no such parameter or buffer)"));
    if (it->second != t.shape)
      throw FormatError(cat(path, ": tensor '", name, "' has shape ", shape_str(t.shape), ", the architecture needs ",
                            shape_str(it->second)));
    by_name[name] = &t;
  }
  for (const auto& [name, shape] : expected)
    if (!by_name.count(name))
      throw FormatError(cat(path, ": missing tensor '", name, "' of shape ", shape_str(shape)));

  LoadedModel<T> out;
  out.file_dtype = fd;
  out.metadata = file.metadata;
  try {
    out.model = model_from_architecture<T>(arch, seed);
  } catch (const ValueError& e) {
    throw FormatError(cat(path, ": ", e.what()));
  }
  Sequential<T>& m = *out.model;
  for (const TensorInfo& t : m.param_info()) by_name.at(t.name)->copy_to(m.params() + t.offset);
  for (const TensorInfo& t : m.buffer_info()) by_name.at(t.name)->copy_to(m.buffers() + t.offset);
  auto po = file.metadata.find("param_options");
  if (po != file.metadata.end()) apply_param_options(m, po->second, path);

  // The generator continues where the saved model's stopped (files without
  // the key, e.g. written elsewhere, keep the generator seeded from `seed`).
  auto rs = file.metadata.find("rng_state");
  if (rs != file.metadata.end()) {
    try {
      m.rng().restore_state(rs->second);
    } catch (const ValueError& e) {
      throw FormatError(cat(path, ": ", e.what()));
    }
  }

  auto os = file.metadata.find("optimizer_state");
  if (os != file.metadata.end()) {
    OptimizerState<T> st;
    try {
      const Json j = Json::parse(os->second);
      st.name = j.at("name").as_string();
      st.steps = static_cast<index_t>(j.at("steps").as_int());
      if (st.steps < 0 || st.name.empty()) throw ValueError("expected a name and steps >= 0");
    } catch (const ValueError& e) {
      throw FormatError(cat(path, ": metadata 'optimizer_state' must be JSON {\"name\": ..., \"steps\": ...}: ",
                            e.what()));
    }
    for (const auto& [name, t] : file.tensors) {
      if (name.rfind("optimizer.", 0) != 0 || name.size() <= 10) continue;
      TensorData<T> td;
      td.shape = t.shape;
      td.data = t.template values<T>();
      st.buffers[name.substr(10)] = std::move(td);
    }
    out.optimizer = std::move(st);
  } else if (has_opt_tensors) {
    throw FormatError(cat(path, ": optimizer.* tensors without the metadata key 'optimizer_state'"));
  }
  return out;
}

template <class T>
LoadedModel<T> load(const std::string& path, bool convert_dtype, std::uint64_t seed) {
  return build_loaded<T>(read_model_file(path), path, convert_dtype, seed);
}

#define ENTRENA_INSTANTIATE(T)                                                                        \
  template OptimizerState<T> optimizer_state<T>(Optimizer<T>&);                                       \
  template void restore_optimizer_state<T>(Optimizer<T>&, const OptimizerState<T>&, index_t);         \
  template void save<T>(Sequential<T>&, const std::string&, const std::map<std::string, std::string>&, \
                        const OptimizerState<T>*);                                                    \
  template LoadedModel<T> build_loaded<T>(const SafetensorsFile&, const std::string&, bool, std::uint64_t); \
  template LoadedModel<T> load<T>(const std::string&, bool, std::uint64_t);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
