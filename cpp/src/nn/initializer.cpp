#include "entrena/nn/initializer.hpp"

#include <cmath>

namespace entrena {

namespace {
struct InitName {
  const char* name;
  Initializer::Kind kind;
};
constexpr InitName kInitNames[] = {
    {"zeros", Initializer::Kind::Zeros},
    {"ones", Initializer::Kind::Ones},
    {"constant", Initializer::Kind::Constant},
    {"uniform", Initializer::Kind::Uniform},
    {"normal", Initializer::Kind::Normal},
    {"glorot_uniform", Initializer::Kind::GlorotUniform},
    {"glorot_normal", Initializer::Kind::GlorotNormal},
    {"he_uniform", Initializer::Kind::HeUniform},
    {"he_normal", Initializer::Kind::HeNormal},
    {"lecun_uniform", Initializer::Kind::LecunUniform},
    {"lecun_normal", Initializer::Kind::LecunNormal},
};

// The defaults of the kinds with arguments (Keras' RandomUniform and RandomNormal).
constexpr double kUniformLow = -0.05, kUniformHigh = 0.05, kNormalStd = 0.05;
}  // namespace

const NameTable& Initializer::names() {
  static const NameTable t = [] {
    std::vector<std::string> names;
    for (const auto& e : kInitNames) names.emplace_back(e.name);
    return NameTable("initializer", names,
                     {{"xavier_uniform", "glorot_uniform"}, {"xavier_normal", "glorot_normal"},
                      {"kaiming_uniform", "he_uniform"}, {"kaiming_normal", "he_normal"}});
  }();
  return t;
}

Initializer Initializer::from_name(const std::string& name, double a, double b) {
  const std::string c = names().canonical(name, "initializer");
  for (const auto& e : kInitNames)
    if (c == e.name) return Initializer{e.kind, a, b};
  throw ValueError(cat("initializer: unknown name '", name, "'"));
}

Initializer Initializer::from_config(const Json& j, const char* arg) {
  if (j.is_string()) {
    const std::string c = names().canonical(j.as_string(), arg);
    Initializer init = from_name(c);
    if (init.kind == Kind::Uniform) init.a = kUniformLow, init.b = kUniformHigh;
    if (init.kind == Kind::Normal) init.b = kNormalStd;
    return init;
  }
  if (!j.is_object())
    throw TypeError(cat(arg, ": expected an initializer name or {\"name\": ..., arguments}, got ", j.type_name()));
  const std::string where = std::string(arg) + " ";
  Options o(j, arg, where);
  const std::string name = names().canonical(o.string("name", ""), arg);
  Initializer init = from_name(name);
  // entrena 0.1 wrote the arguments as a and b.
  const double a = o.number("a", 0.0), b = o.number("b", 0.0);
  switch (init.kind) {
    case Kind::Constant:
      init.a = o.number("value", a);
      break;
    case Kind::Uniform:
      init.a = o.number("low", o.has("a") ? a : kUniformLow);
      init.b = o.number("high", o.has("b") ? b : kUniformHigh);
      if (!(init.a <= init.b))
        throw ValueError(cat(where, "high: expected a number >= low (", init.a, "), got ", init.b));
      break;
    case Kind::Normal:
      init.a = o.number("mean", a);
      init.b = o.number("std", o.has("b") ? b : kNormalStd, 0.0);
      break;
    default:
      break;
  }
  o.finish();
  return init;
}

std::string Initializer::name() const {
  for (const auto& e : kInitNames)
    if (kind == e.kind) return e.name;
  return "?";
}

Json Initializer::config() const {
  Json j = Json::object({{"name", name()}});
  switch (kind) {
    case Kind::Constant: j["value"] = a; break;
    case Kind::Uniform: j["low"] = a; j["high"] = b; break;
    case Kind::Normal: j["mean"] = a; j["std"] = b; break;
    default: break;
  }
  return j;
}

template <class T>
void Initializer::fill(T* p, index_t count, index_t fan_in, index_t fan_out, Rng& rng) const {
  const double fi = static_cast<double>(fan_in < 1 ? 1 : fan_in);
  const double fo = static_cast<double>(fan_out < 1 ? 1 : fan_out);
  auto uniform = [&](double lo, double hi) {
    for (index_t i = 0; i < count; ++i) p[i] = static_cast<T>(rng.uniform(lo, hi));
  };
  auto normal = [&](double mean, double std) {
    for (index_t i = 0; i < count; ++i) p[i] = static_cast<T>(mean + std * rng.normal());
  };
  switch (kind) {
    case Kind::Zeros: for (index_t i = 0; i < count; ++i) p[i] = T(0); break;
    case Kind::Ones: for (index_t i = 0; i < count; ++i) p[i] = T(1); break;
    case Kind::Constant: for (index_t i = 0; i < count; ++i) p[i] = static_cast<T>(a); break;
    case Kind::Uniform: uniform(a, b); break;
    case Kind::Normal: normal(a, b); break;
    // Glorot & Bengio (2010): Var = 2 / (fan_in + fan_out)
    case Kind::GlorotUniform: { double l = std::sqrt(6.0 / (fi + fo)); uniform(-l, l); break; }
    case Kind::GlorotNormal: normal(0.0, std::sqrt(2.0 / (fi + fo))); break;
    // He et al. (2015): Var = 2 / fan_in
    case Kind::HeUniform: { double l = std::sqrt(6.0 / fi); uniform(-l, l); break; }
    case Kind::HeNormal: normal(0.0, std::sqrt(2.0 / fi)); break;
    // LeCun (1998): Var = 1 / fan_in
    case Kind::LecunUniform: { double l = std::sqrt(3.0 / fi); uniform(-l, l); break; }
    case Kind::LecunNormal: normal(0.0, std::sqrt(1.0 / fi)); break;
  }
}

template void Initializer::fill<float>(float*, index_t, index_t, index_t, Rng&) const;
template void Initializer::fill<double>(double*, index_t, index_t, index_t, Rng&) const;

}  // namespace entrena
