#include "entrena/nn/factory.hpp"

#include <algorithm>
#include <cmath>

#include "entrena/nn/activation.hpp"
#include "entrena/nn/initializer.hpp"
#include "entrena/nn/metrics.hpp"

namespace entrena {

namespace {

// --------------------------------------------------------------- losses
template <class T>
using LossMaker = std::unique_ptr<Loss<T>> (*)(Options&);

// Every loss takes reduction: "mean" (default) or "sum".
Reduction reduction(Options& o) { return reduction_from_name(o.choice("reduction", "mean", {"mean", "sum"})); }

// One line per loss class: its Loss::name() and how to make it from options.
template <class T>
const std::vector<std::pair<std::string, LossMaker<T>>>& loss_table() {
  static const std::vector<std::pair<std::string, LossMaker<T>>> table = {
      {"mse", [](Options& o) -> std::unique_ptr<Loss<T>> { return std::make_unique<MeanSquaredError<T>>(reduction(o)); }},
      {"half_mse", [](Options& o) -> std::unique_ptr<Loss<T>> { return std::make_unique<HalfMeanSquaredError<T>>(reduction(o)); }},
      {"mae", [](Options& o) -> std::unique_ptr<Loss<T>> { return std::make_unique<MeanAbsoluteError<T>>(reduction(o)); }},
      {"huber", [](Options& o) -> std::unique_ptr<Loss<T>> {
         const double delta = o.number("delta", 1.0);
         return std::make_unique<Huber<T>>(delta, reduction(o));
       }},
      {"binary_crossentropy", [](Options& o) -> std::unique_ptr<Loss<T>> { return std::make_unique<BinaryCrossentropy<T>>(reduction(o)); }},
      {"binary_crossentropy_with_logits", [](Options& o) -> std::unique_ptr<Loss<T>> { return std::make_unique<BinaryCrossentropyWithLogits<T>>(reduction(o)); }},
      {"hinge", [](Options& o) -> std::unique_ptr<Loss<T>> { return std::make_unique<Hinge<T>>(reduction(o)); }},
      {"categorical_crossentropy", [](Options& o) -> std::unique_ptr<Loss<T>> {
         const double smoothing = o.number("label_smoothing", 0.0);
         return std::make_unique<CategoricalCrossentropy<T>>(smoothing, reduction(o));
       }},
      {"multiclass_hinge", [](Options& o) -> std::unique_ptr<Loss<T>> {
         const double margin = o.number("margin", 1.0);
         return std::make_unique<MulticlassHinge<T>>(margin, reduction(o));
       }},
  };
  return table;
}

const NameTable& loss_name_table() {
  static const NameTable t("loss",
                           [] {
                             std::vector<std::string> n;
                             for (const auto& e : loss_table<float>()) n.push_back(e.first);
                             return n;
                           }(),
                           {{"mean_squared_error", "mse"},
                            {"half_squared_error", "half_mse"},
                            {"mean_absolute_error", "mae"},
                            {"bce", "binary_crossentropy"},
                            {"bce_with_logits", "binary_crossentropy_with_logits"},
                            {"cross_entropy", "categorical_crossentropy"},
                            {"sparse_categorical_crossentropy", "categorical_crossentropy"},
                            {"categorical_hinge", "multiclass_hinge"}});
  return t;
}

// ----------------------------------------------------------- optimizers
template <class T>
using OptimizerMaker = std::unique_ptr<Optimizer<T>> (*)(Options&);

// Adam's betas as betas: [b1, b2] (PyTorch's spelling) or beta1/beta2.
std::pair<double, double> adam_betas(Options& o, double d1, double d2) {
  const std::vector<double> b = o.numbers("betas", {o.number("beta1", d1), o.number("beta2", d2)}, 2);
  return {b[0], b[1]};
}

template <class T, class Cls>
std::unique_ptr<Optimizer<T>> adam_like(Options& o, double default_wd) {
  const AdamConfig d;
  const double lr = o.number("lr", d.lr);
  const auto [b1, b2] = adam_betas(o, d.beta1, d.beta2);
  const double eps = o.number("eps", d.eps);
  const double wd = o.number("weight_decay", default_wd);
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
         const double lr = o.number("lr", d.lr), momentum = o.number("momentum", d.momentum);
         const double dampening = o.number("dampening", d.dampening);
         const double wd = o.number("weight_decay", d.weight_decay);
         return std::make_unique<SGD<T>>(lr, momentum, dampening, wd, o.flag("nesterov", d.nesterov));
       }},
      {"adam", [](Options& o) { return adam_like<T, Adam<T>>(o, AdamConfig{}.weight_decay); }},
      {"adamw", [](Options& o) { return adam_like<T, AdamW<T>>(o, 1e-2); }},
      {"rmsprop", [](Options& o) -> std::unique_ptr<Optimizer<T>> {
         const RmspropConfig d;
         const double lr = o.number("lr", d.lr), alpha = o.number("alpha", d.alpha), eps = o.number("eps", d.eps);
         const double wd = o.number("weight_decay", d.weight_decay), momentum = o.number("momentum", d.momentum);
         return std::make_unique<RMSprop<T>>(lr, alpha, eps, wd, momentum, o.flag("centered", d.centered));
       }},
      {"adagrad", [](Options& o) -> std::unique_ptr<Optimizer<T>> {
         const AdagradConfig d;
         const double lr = o.number("lr", d.lr), lr_decay = o.number("lr_decay", d.lr_decay);
         const double wd = o.number("weight_decay", d.weight_decay);
         const double init = o.number("initial_accumulator_value", d.initial_accumulator_value);
         return std::make_unique<Adagrad<T>>(lr, lr_decay, wd, init, o.number("eps", d.eps));
       }},
  };
  return table;
}

const NameTable& optimizer_name_table() {
  static const NameTable t("optimizer",
                           [] {
                             std::vector<std::string> n;
                             for (const auto& e : optimizer_table<float>()) n.push_back(e.first);
                             return n;
                           }(),
                           {{"momentum", "sgd"}});
  return t;
}

// Aliases that stand for an optimizer with some options set.
Json preset_options(const std::string& name, const Json& options) {
  std::string key = name;
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  if (key != "momentum") return options;
  Json o = options.is_object() ? options : Json::object();
  if (!o.contains("momentum") || o.at("momentum").is_null()) o["momentum"] = 0.9;
  return o;
}

// a * b, or ValueError when it would exceed kMaxElements.
index_t checked_size(const Shape& s, const std::string& what) { return checked_shape_size(s, what); }

}  // namespace

// --------------------------------------------------------------- public
template <class T>
std::unique_ptr<Loss<T>> make_loss(const std::string& name, const Json& options) {
  const std::string canonical = loss_name_table().canonical(name, "loss");
  for (const auto& e : loss_table<T>())
    if (e.first == canonical) {
      Options o(options, canonical);
      auto loss = e.second(o);
      o.finish();
      return loss;
    }
  throw ValueError(cat("loss: unknown name '", name, "'"));
}

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& name, const Json& options) {
  const std::string canonical = optimizer_name_table().canonical(name, "optimizer");
  const Json opts = preset_options(name, options);
  for (const auto& e : optimizer_table<T>())
    if (e.first == canonical) {
      Options o(opts, canonical);
      auto opt = e.second(o);
      opt->set_clip_norm(o.number("clip_norm", 0.0));
      opt->set_clip_value(o.number("clip_value", 0.0));
      o.finish();
      return opt;
    }
  throw ValueError(cat("optimizer: unknown name '", name, "'"));
}

NameTable names(const std::string& kind) {
  if (kind == "activation") return activation_names();
  if (kind == "initializer") return Initializer::names();
  if (kind == "loss") return loss_name_table();
  if (kind == "optimizer") return optimizer_name_table();
  if (kind == "metric") return metric_names();
  if (kind == "layer") return NameTable("layer", layer_types());
  throw ValueError(cat("kind: expected one of activation, initializer, loss, optimizer, metric, layer; got '",
                       kind, "'"));
}

std::vector<std::string> loss_names() { return loss_name_table().names(); }
std::vector<std::string> optimizer_names() { return optimizer_name_table().names(); }

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
    if (!d.is_integer() || d.as_int() < 1 || d.as_int() > kMaxElements)
      throw ValueError(cat("architecture.input_shape[", i, "]: expected an integer >= 1, got ",
                           d.is_number() ? d.dump() : d.type_name()));
    plan.input_shape.push_back(static_cast<index_t>(d.as_int()));
  }
  checked_size(plan.input_shape, "architecture.input_shape");
  const Json* layers = arch.find("layers");
  if (!layers || !layers->is_array() || layers->size() == 0)
    throw ValueError("architecture.layers: expected a non-empty array of layer configs");
  Shape s = plan.input_shape;
  index_t buffers = 0;
  for (std::size_t i = 0; i < layers->size(); ++i) {
    const std::string where = cat("architecture.layers[", i, "]");
    try {
      auto layer = make_layer<T>(layers->at(i));
      s = layer->build(s);
      checked_size(s, "output shape");
      for (const auto& ps : layer->param_specs())
        plan.num_params = checked_add(plan.num_params, checked_size(ps.shape, cat("parameter ", ps.name)),
                                      "the model's parameters");
      for (const auto& bs : layer->buffer_specs())
        buffers = checked_add(buffers, checked_size(bs.shape, cat("buffer ", bs.name)), "the model's buffers");
      plan.layers.push_back(std::move(layer));
    } catch (const Error& e) {
      throw ValueError(cat(where, ": ", e.what()));
    }
  }
  return plan;
}

template <class T>
std::unique_ptr<Sequential<T>> model_from_architecture(const Json& arch, std::uint64_t seed) {
  ArchitecturePlan<T> plan = plan_architecture<T>(arch);  // checks before anything is allocated
  auto model = std::make_unique<Sequential<T>>(seed);
  for (auto& layer : plan.layers) model->add(std::move(layer));
  // The layers were built for the plan; a model builds them again from the input shape.
  model->build(plan.input_shape);
  return model;
}

#define ENTRENA_INSTANTIATE(T)                                                              \
  template std::unique_ptr<Loss<T>> make_loss<T>(const std::string&, const Json&);          \
  template std::unique_ptr<Optimizer<T>> make_optimizer<T>(const std::string&, const Json&); \
  template Json architecture<T>(Sequential<T>&);                                            \
  template ArchitecturePlan<T> plan_architecture<T>(const Json&);                           \
  template std::unique_ptr<Sequential<T>> model_from_architecture<T>(const Json&, std::uint64_t);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
