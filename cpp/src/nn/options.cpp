#include "entrena/nn/options.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace entrena {

namespace {

// How a JSON value reads in a message: `string "abc"`, `bool true`, `array`.
std::string given(const Json& v) {
  if (v.is_string()) return cat("string ", Json(v.as_string()).dump());
  if (v.is_bool()) return v.as_bool() ? "bool true" : "bool false";
  if (v.is_number()) return cat("number ", v.dump());
  return v.type_name();
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string bound_text(double lo, double hi, bool open_lo, bool open_hi) {
  const bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi) return cat(" in ", open_lo ? "(" : "[", lo, ", ", hi, open_hi ? ")" : "]");
  if (has_lo) return cat(open_lo ? " > " : " >= ", lo);
  if (has_hi) return cat(open_hi ? " < " : " <= ", hi);
  return "";
}

}  // namespace

std::string describe(const Json& v) { return given(v); }

std::string join_names(std::vector<std::string> names, bool sort) {
  if (sort) std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& s : names) out += (out.empty() ? "" : ", ") + s;
  return out;
}

double check_number(const char* key, double v, double lo, double hi, bool open_lo, bool open_hi) {
  const bool ok = std::isfinite(v) && (open_lo ? v > lo : v >= lo) && (open_hi ? v < hi : v <= hi);
  if (!ok) {
    const std::string range = bound_text(lo, hi, open_lo, open_hi);
    throw ValueError(cat(key, ": expected a finite number", range, ", got ", v));
  }
  return v;
}

index_t check_integer(const char* key, index_t v, index_t lo) {
  if (v < lo) throw ValueError(cat(key, ": expected an integer >= ", lo, ", got ", v));
  return v;
}

// ------------------------------------------------------------------ Options
Options::Options(const Json& j, std::string who, std::string prefix)
    : j_(j), who_(std::move(who)), prefix_(std::move(prefix)) {
  if (!j.is_null() && !j.is_object())
    throw TypeError(cat(who_, ": expected an object of arguments, got ", j.type_name()));
}

const Json* Options::get(const char* key) {
  if (std::find(asked_.begin(), asked_.end(), key) == asked_.end()) asked_.emplace_back(key);
  if (!j_.is_object()) return nullptr;
  const Json* v = j_.find(key);
  return v && !v->is_null() ? v : nullptr;
}

double Options::number(const char* key, double def, double lo, double hi, bool open_lo, bool open_hi) {
  const Json* v = get(key);
  if (!v) return def;
  if (!v->is_number()) throw TypeError(cat(this->key(key), ": expected a number, got ", given(*v)));
  return check_number(this->key(key).c_str(), v->as_double(), lo, hi, open_lo, open_hi);
}

index_t Options::integer(const char* key, index_t def, index_t lo) {
  const Json* v = get(key);
  if (!v) return def;
  if (!v->is_integer()) throw TypeError(cat(this->key(key), ": expected an integer, got ", given(*v)));
  return check_integer(this->key(key).c_str(), static_cast<index_t>(v->as_int()), lo);
}

bool Options::flag(const char* key, bool def) {
  const Json* v = get(key);
  if (!v) return def;
  if (!v->is_bool()) throw TypeError(cat(this->key(key), ": expected true or false, got ", given(*v)));
  return v->as_bool();
}

std::string Options::string(const char* key, const std::string& def) {
  const Json* v = get(key);
  if (!v) return def;
  if (!v->is_string()) throw TypeError(cat(this->key(key), ": expected a string, got ", given(*v)));
  return v->as_string();
}

std::string Options::choice(const char* key, const std::string& def, const std::vector<std::string>& allowed) {
  const std::string s = string(key, def);
  if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
    std::string quoted;
    for (const auto& a : allowed) quoted += (quoted.empty() ? "'" : ", '") + a + "'";
    throw ValueError(cat(this->key(key), ": expected one of ", quoted, "; got '", s, "'"));
  }
  return s;
}

std::vector<double> Options::numbers(const char* key, std::vector<double> def, std::size_t count) {
  const Json* v = get(key);
  if (!v) return def;
  if (!v->is_array() || v->size() != count)
    throw TypeError(cat(this->key(key), ": expected an array of ", count, " numbers, got ", given(*v)));
  std::vector<double> out;
  for (std::size_t i = 0; i < count; ++i) {
    if (!v->at(i).is_number())
      throw TypeError(cat(this->key(key), "[", i, "]: expected a number, got ", given(v->at(i))));
    out.push_back(v->at(i).as_double());
  }
  return out;
}

std::vector<index_t> Options::sizes(const char* key, std::vector<index_t> def, std::size_t count, index_t lo) {
  const Json* v = get(key);
  if (!v) return def;
  std::vector<index_t> out;
  if (v->is_integer()) {
    out.assign(count, check_integer(this->key(key).c_str(), static_cast<index_t>(v->as_int()), lo));
    return out;
  }
  if (!v->is_array() || v->size() != count)
    throw TypeError(cat(this->key(key), ": expected an integer or a list of ", count, " integers, got ",
                        v->is_array() ? cat("an array of ", v->size()) : given(*v)));
  for (std::size_t i = 0; i < count; ++i) {
    const std::string k = cat(this->key(key), "[", i, "]");
    if (!v->at(i).is_integer()) throw TypeError(cat(k, ": expected an integer, got ", given(v->at(i))));
    out.push_back(check_integer(k.c_str(), static_cast<index_t>(v->at(i).as_int()), lo));
  }
  return out;
}

void Options::finish() const {
  if (!j_.is_object()) return;
  for (const auto& m : j_.as_object())
    if (std::find(asked_.begin(), asked_.end(), m.first) == asked_.end())
      throw ValueError(cat(who_, ": unknown argument '", m.first, "'; expected ",
                           asked_.empty() ? std::string("none") : join_names(asked_, true)));
}

std::string value_text(const Json& v) { return given(v); }

// ---------------------------------------------------------------- NameTable
NameTable::NameTable(std::string what, std::vector<std::string> names,
                     std::vector<std::pair<std::string, std::string>> aliases)
    : what_(std::move(what)), names_(std::move(names)), aliases_(std::move(aliases)) {}

bool NameTable::contains(const std::string& name) const {
  const std::string key = lower(name);
  for (const auto& n : names_)
    if (lower(n) == key) return true;
  for (const auto& a : aliases_)
    if (lower(a.first) == key) return true;
  return false;
}

std::string NameTable::canonical(const std::string& name, const std::string& arg) const {
  const std::string key = lower(name);
  for (const auto& n : names_)
    if (lower(n) == key) return n;
  for (const auto& a : aliases_)
    if (lower(a.first) == key) return a.second;
  throw ValueError(cat(arg, ": expected one of ", join_names(names_), "; got '", name, "'"));
}

}  // namespace entrena
