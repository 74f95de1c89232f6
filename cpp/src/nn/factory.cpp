#include "entrena/nn/factory.hpp"

#include <algorithm>
#include <cmath>

#include "entrena/nn/activation.hpp"
#include "entrena/nn/dropout.hpp"

namespace entrena {

namespace {

constexpr index_t kMaxElements = index_t(1) << 40;

std::string join(std::vector<std::string> items, bool sort) {
  if (sort) std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Reads named options from a JSON object and remembers which names it was
// asked for, so that finish() can reject the ones nobody asked for.
class Options {
 public:
  Options(const Json& j, std::string who) : j_(j), who_(std::move(who)) {
    if (!j.is_null() && !j.is_object())
      throw ValueError(cat(who_, ": options must be a JSON object, got ", j.type_name()));
  }
  const std::string& who() const { return who_; }

  const Json* get(const char* key) {
    asked_.emplace_back(key);
    const Json* v = j_.find(key);
    return v && !v->is_null() ? v : nullptr;
  }
  double num(const char* key, double def) {
    const Json* v = get(key);
    if (!v) return def;
    if (!v->is_number()) throw ValueError(cat(who_, ": ", key, " must be a number, got ", v->type_name()));
    return v->as_double();
  }
  index_t integer(const char* key, index_t def) {
    const Json* v = get(key);
    if (!v) return def;
    if (!v->is_number()) throw ValueError(cat(who_, ": ", key, " must be an integer, got ", v->type_name()));
    return static_cast<index_t>(v->as_int());
  }
  bool flag(const char* key, bool def) {
    const Json* v = get(key);
    if (!v) return def;
    if (!v->is_bool()) throw ValueError(cat(who_, ": ", key, " must be true or false, got ", v->type_name()));
    return v->as_bool();
  }
  std::string str(const char* key, const std::string& def) {
    const Json* v = get(key);
    if (!v) return def;
    if (!v->is_string()) throw ValueError(cat(who_, ": ", key, " must be a string, got ", v->type_name()));
    return v->as_string();
  }
  // Rejects keys that no getter asked for.
  void finish() const {
    if (!j_.is_object()) return;
    for (const auto& m : j_.as_object())
      if (std::find(asked_.begin(), asked_.end(), m.first) == asked_.end())
        throw ValueError(cat(who_, ": unknown option '", m.first, "'; expected ",
                             asked_.empty() ? std::string("none") : join(asked_, true)));
  }

 private:
  const Json& j_;
  std::string who_;
  std::vector<std::string> asked_;
};

// --------------------------------------------------------------- layers
Initializer initializer_from(const Json& j, const char* who) {
  if (j.is_string()) return Initializer::from_name(j.as_string());
  if (!j.is_object())
    throw ValueError(cat(who, ": expected an initializer {\"name\", \"a\", \"b\"} or a name, got ",
                         j.type_name()));
  Options o(j, who);
  const Json* name = o.get("name");
  if (!name || !name->is_string()) throw ValueError(cat(who, ": expected a string \"name\""));
  const double a = o.num("a", 0.0), b = o.num("b", 0.0);
  if (!std::isfinite(a) || !std::isfinite(b))
    throw ValueError(cat(who, ": a and b must be finite, got ", a, " and ", b));
  return Initializer::from_name(name->as_string(), a, b);
}

// The activation of an "Activation" config, or of a Dense "activation"
// value (a config object or a plain name).
template <class T>
std::unique_ptr<ActivationLayer<T>> activation_from(const Json& j) {
  if (j.is_string()) return std::make_unique<ActivationLayer<T>>(activation_from_name(j.as_string()));
  if (!j.is_object())
    throw ValueError(cat("Activation: expected a config object or an activation name, got ", j.type_name()));
  const Json* type = j.find("type");
  if (type && !(type->is_string() && type->as_string() == "Activation"))
    throw ValueError("Activation: \"type\" must be \"Activation\"");
  const Json* name = j.find("activation");
  if (!name || !name->is_string())
    throw ValueError("Activation: expected a string \"activation\" (the activation's name)");
  const Activation act = activation_from_name(name->as_string());
  const Json* alpha = j.find("alpha");
  if (alpha && !alpha->is_null() && activation_has_alpha(act)) {
    if (!alpha->is_number()) throw ValueError(cat("Activation: alpha must be a number, got ", alpha->type_name()));
    return std::make_unique<ActivationLayer<T>>(act, alpha->as_double());
  }
  return std::make_unique<ActivationLayer<T>>(act);
}

template <class T>
std::unique_ptr<Layer<T>> dense_from(const Json& j) {
  Options o(j, "Dense");
  const Json* units = o.get("units");
  if (!units) throw ValueError("Dense: missing \"units\"");
  if (!units->is_number()) throw ValueError(cat("Dense: units must be an integer, got ", units->type_name()));
  const bool use_bias = o.flag("use_bias", true);
  const Json* act = o.get("activation");
  const Json* kinit = o.get("kernel_init");
  const Json* binit = o.get("bias_init");
  return std::make_unique<Dense<T>>(
      static_cast<index_t>(units->as_int()), use_bias,
      kinit ? initializer_from(*kinit, "Dense kernel_init") : Initializer{},
      binit ? initializer_from(*binit, "Dense bias_init") : Initializer{Initializer::Kind::Zeros},
      act ? activation_from<T>(*act) : nullptr);
}

template <class T>
using LayerMaker = std::unique_ptr<Layer<T>> (*)(const Json&);

// One line per layer class: its Layer::kind() and how to make it from a config.
template <class T>
const std::vector<std::pair<std::string, LayerMaker<T>>>& layer_table() {
  static const std::vector<std::pair<std::string, LayerMaker<T>>> table = {
      {"Dense", &dense_from<T>},
      {"Activation", [](const Json& j) -> std::unique_ptr<Layer<T>> { return activation_from<T>(j); }},
      {"Dropout", [](const Json& j) -> std::unique_ptr<Layer<T>> {
         Options o(j, "Dropout");
         return std::make_unique<Dropout<T>>(o.num("rate", 0.5));
       }},
      {"Flatten", [](const Json&) -> std::unique_ptr<Layer<T>> { return std::make_unique<Flatten<T>>(); }},
  };
  return table;
}

// --------------------------------------------------------------- losses
template <class T>
using LossMaker = std::unique_ptr<Loss<T>> (*)(Options&);

// Every loss takes reduction: "mean" (default) or "sum".
Reduction reduction(Options& o) { return reduction_from_name(o.str("reduction", "mean")); }

// One line per loss class: its Loss::name() and how to make it from options.
template <class T>
const std::vector<std::pair<std::string, LossMaker<T>>>& loss_table() {
  static const std::vector<std::pair<std::string, LossMaker<T>>> table = {
      {"mse", [](Options& o) -> std::unique_ptr<Loss<T>> { return std::make_unique<MeanSquaredError<T>>(reduction(o)); }},
      {"half_mse", [](Options& o) -> std::unique_ptr<Loss<T>> { return std::make_unique<HalfMeanSquaredError<T>>(reduction(o)); }},
      {"mae", [](Options& o) -> std::unique_ptr<Loss<T>> { return std::make_unique<MeanAbsoluteError<T>>(reduction(o)); }},
      {"huber", [](Options& o) -> std::unique_ptr<Loss<T>> {
         const double delta = o.num("delta", 1.0);
         return std::make_unique<Huber<T>>(delta, reduction(o));
       }},
      {"binary_crossentropy", [](Options& o) -> std::unique_ptr<Loss<T>> { return std::make_unique<BinaryCrossEntropy<T>>(reduction(o)); }},
      {"binary_crossentropy_with_logits", [](Options& o) -> std::unique_ptr<Loss<T>> { return std::make_unique<BinaryCrossEntropyWithLogits<T>>(reduction(o)); }},
      {"hinge", [](Options& o) -> std::unique_ptr<Loss<T>> { return std::make_unique<Hinge<T>>(reduction(o)); }},
      {"categorical_crossentropy", [](Options& o) -> std::unique_ptr<Loss<T>> {
         const double smoothing = o.num("label_smoothing", 0.0);
         return std::make_unique<SoftmaxCrossEntropy<T>>(smoothing, reduction(o));
       }},
      {"multiclass_hinge", [](Options& o) -> std::unique_ptr<Loss<T>> {
         const double margin = o.num("margin", 1.0);
         return std::make_unique<MultiMarginHinge<T>>(margin, reduction(o));
       }},
  };
  return table;
}

// ----------------------------------------------------------- optimizers
template <class T>
using OptimizerMaker = std::unique_ptr<Optimizer<T>> (*)(Options&);

// Adam's betas as beta1/beta2 or as betas: [b1, b2] (PyTorch's spelling).
std::pair<double, double> adam_betas(Options& o, double d1, double d2) {
  const Json* betas = o.get("betas");
  double b1 = o.num("beta1", d1), b2 = o.num("beta2", d2);
  if (betas) {
    if (!betas->is_array() || betas->size() != 2 || !betas->at(0).is_number() || !betas->at(1).is_number())
      throw ValueError(cat(o.who(), ": betas must be an array of two numbers"));
    b1 = betas->at(0).as_double();
    b2 = betas->at(1).as_double();
  }
  return {b1, b2};
}

template <class T, class Cls>
std::unique_ptr<Optimizer<T>> adam_like(Options& o, double default_wd) {
  const AdamConfig d;
  const double lr = o.num("lr", d.lr);
  const auto [b1, b2] = adam_betas(o, d.beta1, d.beta2);
  const double eps = o.num("eps", d.eps);
  const double wd = o.num("weight_decay", default_wd);
  const bool amsgrad = o.flag("amsgrad", d.amsgrad);
  return std::make_unique<Cls>(lr, b1, b2, eps, wd, amsgrad);
}

// One line per optimizer class: its Optimizer::name() and how to make it
// from options (defaults are the classes' own, i.e. PyTorch's).
template <class T>
const std::vector<std::pair<std::string, OptimizerMaker<T>>>& optimizer_table() {
  static const std::vector<std::pair<std::string, OptimizerMaker<T>>> table = {
      {"sgd", [](Options& o) -> std::unique_ptr<Optimizer<T>> {
         const SgdConfig d;
         const double lr = o.num("lr", d.lr), momentum = o.num("momentum", d.momentum);
         const double dampening = o.num("dampening", d.dampening);
         const double wd = o.num("weight_decay", d.weight_decay);
         return std::make_unique<SGD<T>>(lr, momentum, dampening, wd, o.flag("nesterov", d.nesterov));
       }},
      {"adam", [](Options& o) { return adam_like<T, Adam<T>>(o, AdamConfig{}.weight_decay); }},
      {"adamw", [](Options& o) { return adam_like<T, AdamW<T>>(o, 1e-2); }},
      {"rmsprop", [](Options& o) -> std::unique_ptr<Optimizer<T>> {
         const RmspropConfig d;
         const double lr = o.num("lr", d.lr), alpha = o.num("alpha", d.alpha), eps = o.num("eps", d.eps);
         const double wd = o.num("weight_decay", d.weight_decay), momentum = o.num("momentum", d.momentum);
         return std::make_unique<RMSprop<T>>(lr, alpha, eps, wd, momentum, o.flag("centered", d.centered));
       }},
      {"adagrad", [](Options& o) -> std::unique_ptr<Optimizer<T>> {
         const AdagradConfig d;
         const double lr = o.num("lr", d.lr), lr_decay = o.num("lr_decay", d.lr_decay);
         const double wd = o.num("weight_decay", d.weight_decay);
         const double init = o.num("initial_accumulator_value", d.initial_accumulator_value);
         return std::make_unique<Adagrad<T>>(lr, lr_decay, wd, init, o.num("eps", d.eps));
       }},
  };
  return table;
}

template <class Table>
std::vector<std::string> names_of(const Table& table) {
  std::vector<std::string> out;
  for (const auto& e : table) out.push_back(e.first);
  return out;
}

// a * b, or ValueError when it would exceed kMaxElements.
index_t checked_mul(index_t a, index_t b, const std::string& what) {
  if (a < 0 || b < 0 || (b != 0 && a > kMaxElements / b))
    throw ValueError(cat(what, ": more than 2^40 elements"));
  return a * b;
}

index_t checked_size(const Shape& s, const std::string& what) {
  index_t n = 1;
  for (index_t d : s) {
    if (d < 0) throw ValueError(cat(what, ": negative size in shape ", shape_str(s)));
    n = checked_mul(n, d, what);
  }
  return n;
}

}  // namespace

// --------------------------------------------------------------- public
Initializer make_initializer(const Json& config) { return initializer_from(config, "initializer"); }

template <class T>
std::unique_ptr<Layer<T>> make_layer(const Json& config) {
  if (!config.is_object()) throw ValueError(cat("layer config: expected a JSON object, got ", config.type_name()));
  const Json* type = config.find("type");
  if (!type || !type->is_string()) throw ValueError("layer config: expected a string \"type\" (e.g. \"Dense\")");
  for (const auto& e : layer_table<T>())
    if (e.first == type->as_string()) return e.second(config);
  throw ValueError(cat("layer config: unknown type '", type->as_string(), "'; expected one of ",
                       join(names_of(layer_table<T>()), false)));
}

template <class T>
std::unique_ptr<Loss<T>> make_loss(const std::string& name, const Json& options) {
  for (const auto& e : loss_table<T>())
    if (e.first == name) {
      Options o(options, name);
      auto loss = e.second(o);
      o.finish();
      return loss;
    }
  throw ValueError(cat("loss: unknown name '", name, "'; expected one of ",
                       join(names_of(loss_table<T>()), false)));
}

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& name, const Json& options) {
  for (const auto& e : optimizer_table<T>())
    if (e.first == name) {
      Options o(options, name);
      auto opt = e.second(o);
      opt->set_clip_norm(o.num("clip_norm", 0.0));
      opt->set_clip_value(o.num("clip_value", 0.0));
      o.finish();
      return opt;
    }
  throw ValueError(cat("optimizer: unknown name '", name, "'; expected one of ",
                       join(names_of(optimizer_table<T>()), false)));
}

std::vector<std::string> layer_types() { return names_of(layer_table<float>()); }
std::vector<std::string> loss_names() { return names_of(loss_table<float>()); }
std::vector<std::string> optimizer_names() { return names_of(optimizer_table<float>()); }

template <class T>
Json architecture(Sequential<T>& model) {
  if (!model.built()) throw StateError("architecture: the model is not built yet (call build or fit first)");
  Json shape = Json::array();
  for (index_t d : model.input_shape()) shape.push_back(d);
  Json layers = Json::array();
  for (index_t i = 0; i < model.num_layers(); ++i) layers.push_back(model.layer(i).config());
  return Json::object({{"input_shape", shape}, {"layers", layers}});
}

template <class T>
ArchitecturePlan<T> plan_architecture(const Json& arch) {
  if (!arch.is_object()) throw ValueError(cat("architecture: expected a JSON object, got ", arch.type_name()));
  const Json* in = arch.find("input_shape");
  if (!in || !in->is_array() || in->size() == 0)
    throw ValueError("architecture.input_shape: expected a non-empty array of sizes");
  ArchitecturePlan<T> plan;
  for (std::size_t i = 0; i < in->size(); ++i) {
    const Json& d = in->at(i);
    if (!d.is_number() || d.as_double() < 1 || d.as_double() > static_cast<double>(kMaxElements))
      throw ValueError(cat("architecture.input_shape[", i, "]: expected an integer >= 1, got ",
                           d.is_number() ? Json(d.as_double()).dump() : d.type_name()));
    plan.input_shape.push_back(static_cast<index_t>(d.as_int()));
  }
  checked_size(plan.input_shape, "architecture.input_shape");
  const Json* layers = arch.find("layers");
  if (!layers || !layers->is_array() || layers->size() == 0)
    throw ValueError("architecture.layers: expected a non-empty array of layer configs");
  Shape s = plan.input_shape;
  for (std::size_t i = 0; i < layers->size(); ++i) {
    const std::string where = cat("architecture.layers[", i, "]");
    try {
      auto layer = make_layer<T>(layers->at(i));
      s = layer->build(s);
      checked_size(s, "output shape");
      for (const auto& ps : layer->param_shapes())
        plan.num_params += checked_size(ps.second, cat("parameter ", ps.first));
      if (plan.num_params > kMaxElements) throw ValueError("more than 2^40 parameters");
      plan.layers.push_back(std::move(layer));
    } catch (const ValueError& e) {
      throw ValueError(cat(where, ": ", e.what()));
    }
  }
  return plan;
}

template <class T>
std::unique_ptr<Sequential<T>> model_from_architecture(const Json& arch, std::uint64_t seed) {
  ArchitecturePlan<T> plan = plan_architecture<T>(arch);  // checks before anything is allocated
  auto model = std::make_unique<Sequential<T>>(seed);
  const Json& layers = arch.at("layers");
  for (std::size_t i = 0; i < layers.size(); ++i) model->add(make_layer<T>(layers.at(i)));
  model->build(plan.input_shape);
  return model;
}

#define ENTRENA_INSTANTIATE(T)                                                              \
  template std::unique_ptr<Layer<T>> make_layer<T>(const Json&);                            \
  template std::unique_ptr<Loss<T>> make_loss<T>(const std::string&, const Json&);          \
  template std::unique_ptr<Optimizer<T>> make_optimizer<T>(const std::string&, const Json&); \
  template Json architecture<T>(Sequential<T>&);                                            \
  template ArchitecturePlan<T> plan_architecture<T>(const Json&);                           \
  template std::unique_ptr<Sequential<T>> model_from_architecture<T>(const Json&, std::uint64_t);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
