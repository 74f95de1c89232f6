// A small JSON value: parse and write. entrena uses it for layer configs
// and for the header and metadata of model files.
//
// Objects keep their keys in insertion order (so written files are stable)
// and reject duplicate keys when parsed. Numbers written without a fraction
// or exponent that fit in int64 are kept as integers; the rest as double.
// Parsing enforces limits on nesting depth and text size; every parse error
// is a ValueError naming the position (line, column, byte offset). Asking a
// value for the wrong type (as_string on a number, ...) is a ValueError too,
// since it usually means the JSON came from a file that does not fit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "entrena/common.hpp"

namespace entrena {

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  // Limits applied by parse.
  struct Limits {
    std::size_t max_depth = 64;                // nested arrays/objects
    std::size_t max_bytes = 100u * 1024 * 1024;  // length of the text
  };

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::Bool), bool_(b) {}
  Json(int v) : Json(static_cast<long long>(v)) {}
  Json(long v) : Json(static_cast<long long>(v)) {}
  Json(long long v) : type_(Type::Number), is_int_(true), int_(v), num_(static_cast<double>(v)) {}
  Json(unsigned v) : Json(static_cast<long long>(v)) {}
  Json(unsigned long v);
  Json(unsigned long long v);
  Json(double v) : type_(Type::Number), num_(v) {}
  Json(float v) : Json(static_cast<double>(v)) {}
  Json(const char* s) : type_(Type::String), str_(s) {}
  Json(std::string s) : type_(Type::String), str_(std::move(s)) {}
  Json(std::string_view s) : type_(Type::String), str_(s) {}

  static Json array(Array items = {});
  static Json object(Object members = {});
  // An object from {{"key", value}, ...}.
  static Json object(std::initializer_list<std::pair<std::string, Json>> members);

  Type type() const { return type_; }
  const char* type_name() const;  // "null", "bool", "number", "string", "array", "object"
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  // A number that is an integer (written without fraction/exponent, or built from an integer).
  bool is_integer() const { return type_ == Type::Number && is_int_; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // Typed access; ValueError when the value is of another type.
  bool as_bool() const;
  double as_double() const;
  // The integer value; ValueError for a non-integral number.
  long long as_int() const;
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Object& as_object() const;
  Object& as_object();

  // Number of array items or object members (0 for scalars).
  std::size_t size() const;

  // Object access. find returns null when the key is absent; at throws a
  // ValueError naming the key; operator[] inserts a null member if absent
  // (the value must be an object, or null, which becomes an empty object).
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  const Json* find(std::string_view key) const;
  const Json& at(std::string_view key) const;
  Json& operator[](std::string_view key);
  // Array access (ValueError when out of range) and append (null becomes an array).
  const Json& at(std::size_t i) const;
  void push_back(Json v);

  // Compact text (indent < 0) or pretty-printed with `indent` spaces.
  // Strings are written as UTF-8 with control characters, '"' and '\'
  // escaped. Non-finite numbers have no JSON form: ValueError.
  std::string dump(int indent = -1) const;

  // Parses exactly one JSON value (surrounding whitespace allowed). Strings
  // must be valid UTF-8; \uXXXX escapes (with surrogate pairs) are decoded.
  static Json parse(std::string_view text, const Limits& limits);
  static Json parse(std::string_view text) { return parse(text, Limits{}); }

  // Structural equality (integers and doubles compare by value; object member order matters not).
  bool operator==(const Json& o) const;
  bool operator!=(const Json& o) const { return !(*this == o); }

 private:
  void dump_to(std::string& out, int indent, int level) const;
  Type type_ = Type::Null;
  bool bool_ = false;
  bool is_int_ = false;
  long long int_ = 0;
  double num_ = 0.0;
  std::string str_;
  Array arr_;
  Object obj_;
};

}  // namespace entrena
