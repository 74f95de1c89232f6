// How a layer's parameter tensor gets its initial values.
#pragma once

#include <string>

#include "entrena/common.hpp"
#include "entrena/json.hpp"
#include "entrena/nn/options.hpp"
#include "entrena/random.hpp"

namespace entrena {

struct Initializer {
  enum class Kind {
    Zeros, Ones, Constant, Uniform, Normal,
    GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal
  };
  Kind kind = Kind::GlorotUniform;
  double a = 0.0;  // Constant: value; Uniform: low; Normal: mean
  double b = 0.0;  // Uniform: high; Normal: std

  // The names (zeros, ones, constant, uniform, normal, glorot_uniform,
  // glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal) and
  // their aliases (xavier_* = glorot_*, kaiming_* = he_*).
  static const NameTable& names();
  // From a name and its arguments; ValueError for an unknown name.
  static Initializer from_name(const std::string& name, double a = 0.0, double b = 0.0);
  // From a config: a plain name ("he_normal") or an object {"name": ...,
  // and the kind's arguments: "value" (constant), "low"/"high" (uniform,
  // default -0.05/0.05), "mean"/"std" (normal, default 0/0.05)}. Files of
  // entrena 0.1 wrote "a"/"b" instead; they are read too. `arg` names the
  // argument in messages ("kernel_init").
  static Initializer from_config(const Json& config, const char* arg);
  std::string name() const;
  // {"name": name(), <the kind's arguments>}.
  Json config() const;
  // Fills p[0..count) for a tensor with the given fan-in and fan-out.
  template <class T>
  void fill(T* p, index_t count, index_t fan_in, index_t fan_out, Rng& rng) const;
};

}  // namespace entrena
