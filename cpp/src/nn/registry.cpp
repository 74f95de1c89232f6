#include "entrena/nn/registry.hpp"

#include <mutex>

#include "entrena/nn/activation.hpp"
#include "entrena/nn/augment.hpp"
#include "entrena/nn/dense.hpp"
#include "entrena/nn/dropout.hpp"
#include "entrena/nn/flatten.hpp"
#include "entrena/nn/normalization.hpp"
#include "entrena/nn/batch_norm.hpp"
#include "entrena/nn/layer_norm.hpp"
#include "entrena/nn/pooling.hpp"
#include "entrena/nn/reshape.hpp"
#include "entrena/nn/zero_padding.hpp"
#include "entrena/nn/conv.hpp"
#include "entrena/nn/embedding.hpp"
#include "entrena/nn/recurrent.hpp"

namespace entrena {

namespace {

struct Entry {
  std::string type;
  LayerMaker<float> f32;
  LayerMaker<double> f64;
};

struct Registry {
  std::mutex mu;
  std::vector<Entry> entries;
};

template <template <class> class L>
Entry builtin(const char* type) {
  return Entry{type, &L<float>::from_config, &L<double>::from_config};
}

Registry& registry() {
  // One line per built-in layer type.
  static Registry r{{},
                    {
                        builtin<Dense>("Dense"),
                        builtin<ActivationLayer>("Activation"),
                        builtin<Dropout>("Dropout"),
                        builtin<Flatten>("Flatten"),
                        builtin<Normalization>("Normalization"),
                        builtin<RandomFlip>("RandomFlip"),
                        builtin<RandomTranslation>("RandomTranslation"),
                        builtin<RandomCrop>("RandomCrop"),
                        builtin<RandomRotation>("RandomRotation"),
                        builtin<GaussianNoise>("GaussianNoise"),
                        builtin<MaxPool1D>("MaxPool1D"),
                        builtin<MaxPool2D>("MaxPool2D"),
                        builtin<AvgPool1D>("AvgPool1D"),
                        builtin<AvgPool2D>("AvgPool2D"),
                        builtin<GlobalMaxPooling1D>("GlobalMaxPooling1D"),
                        builtin<GlobalMaxPooling2D>("GlobalMaxPooling2D"),
                        builtin<GlobalAveragePooling1D>("GlobalAveragePooling1D"),
                        builtin<GlobalAveragePooling2D>("GlobalAveragePooling2D"),
                        builtin<BatchNormalization>("BatchNormalization"),
                        builtin<LayerNormalization>("LayerNormalization"),
                        builtin<Reshape>("Reshape"),
                        builtin<ZeroPadding2D>("ZeroPadding2D"),
                        builtin<Conv1D>("Conv1D"),
                        builtin<Conv2D>("Conv2D"),
                        builtin<Embedding>("Embedding"),
                        builtin<Masking>("Masking"),
                        builtin<SimpleRNN>("SimpleRNN"),
                        builtin<LSTM>("LSTM"),
                        builtin<GRU>("GRU"),
                        builtin<Bidirectional>("Bidirectional"),
                    }};
  return r;
}

template <class T>
LayerMaker<T> maker_of(const Entry& e) {
  if constexpr (sizeof(T) == 4) return e.f32;
  else return e.f64;
}

}  // namespace

void register_layer(const std::string& type, LayerMaker<float> make_f32, LayerMaker<double> make_f64) {
  if (type.empty()) throw ValueError("register_layer: type must not be empty");
  if (!make_f32 || !make_f64) throw ValueError(cat("register_layer: '", type, "' needs a maker for float and double"));
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (Entry& e : r.entries)
    if (e.type == type) {
      e.f32 = std::move(make_f32);
      e.f64 = std::move(make_f64);
      return;
    }
  r.entries.push_back(Entry{type, std::move(make_f32), std::move(make_f64)});
}

std::vector<std::string> layer_types() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> out;
  for (const Entry& e : r.entries) out.push_back(e.type);
  return out;
}

template <class T>
std::unique_ptr<Layer<T>> make_layer(const Json& config) {
  if (!config.is_object())
    throw TypeError(cat("layer config: expected a JSON object, got ", config.type_name()));
  const Json* type = config.find("type");
  if (!type || !type->is_string())
    throw ValueError("layer config: expected a string \"type\" (e.g. \"Dense\")");
  LayerMaker<T> make;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    for (const Entry& e : r.entries)
      if (e.type == type->as_string()) make = maker_of<T>(e);
  }
  if (!make)
    throw ValueError(cat("layer config: unknown type '", type->as_string(), "'; expected one of ",
                         join_names(layer_types())));
  Options o(config, type->as_string());
  o.get("type");
  const std::string name = o.string("name", "");
  std::unique_ptr<Layer<T>> layer = make(o);
  o.finish();
  layer->set_name(name);
  return layer;
}

template std::unique_ptr<Layer<float>> make_layer<float>(const Json&);
template std::unique_ptr<Layer<double>> make_layer<double>(const Json&);

}  // namespace entrena
