// Reading constructor arguments from JSON configs, and tables of names.
// Layers, losses, optimizers and metrics are built from JSON objects of
// their arguments (nn/factory.hpp); every maker reads them through Options,
// so that errors read the same everywhere:
//   "units: expected an integer >= 1, got 0"              (ValueError)
//   "units: expected an integer, got string \"3\""         (TypeError)
//   "Dense: unknown argument 'unit'; expected activation, ..."  (ValueError)
// A null value (Python's None) means "the default".
#pragma once

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "entrena/common.hpp"
#include "entrena/json.hpp"

namespace entrena {

class Options {
 public:
  // `who` names the object in messages about unknown arguments ("Dense",
  // "adam"); `prefix` goes before every key in messages ("kernel_init "
  // gives "kernel_init std: expected ...").
  Options(const Json& j, std::string who, std::string prefix = "");
  const std::string& who() const { return who_; }

  // The value of `key`, or null when it is absent or null. Marks key as known.
  const Json* get(const char* key);
  bool has(const char* key) { return get(key) != nullptr; }

  // A number (TypeError otherwise), finite and in [lo, hi] (ValueError
  // otherwise); open_lo / open_hi exclude the bound.
  double number(const char* key, double def, double lo = -std::numeric_limits<double>::infinity(),
                double hi = std::numeric_limits<double>::infinity(), bool open_lo = false,
                bool open_hi = false);
  // An integer >= lo (a number with a fraction is a TypeError).
  index_t integer(const char* key, index_t def, index_t lo = std::numeric_limits<index_t>::min());
  bool flag(const char* key, bool def);
  std::string string(const char* key, const std::string& def);
  // One of `allowed` (ValueError listing them otherwise).
  std::string choice(const char* key, const std::string& def, const std::vector<std::string>& allowed);
  // An array of `count` numbers (TypeError / ValueError otherwise); def when absent.
  std::vector<double> numbers(const char* key, std::vector<double> def, std::size_t count);
  // Sizes per axis: an integer (for every axis) or a list of `count`
  // integers, each >= lo; `count` values (def when absent). TypeError /
  // ValueError naming the key, or the key and index ("kernel_size[1]").
  std::vector<index_t> sizes(const char* key, std::vector<index_t> def, std::size_t count, index_t lo = 1);

  // ValueError for keys no getter asked for.
  void finish() const;

 private:
  std::string key(const char* k) const { return prefix_ + k; }
  const Json& j_;
  std::string who_, prefix_;
  std::vector<std::string> asked_;
};

// How a JSON value reads in messages: `string "abc"`, `number 2.5`,
// `bool true`, `array`.
std::string describe(const Json& v);

// Checks shared by makers and constructors; messages as above.
double check_number(const char* key, double v, double lo = -std::numeric_limits<double>::infinity(),
                    double hi = std::numeric_limits<double>::infinity(), bool open_lo = false,
                    bool open_hi = false);
index_t check_integer(const char* key, index_t v, index_t lo);

// How a JSON value reads in messages: `string "abc"`, `bool true`,
// `number 3`, `array`.
std::string value_text(const Json& v);

// A table of names: canonical names (in a fixed order) and aliases of them.
// Lookups ignore case. Python asks the engine for these tables
// (entrena._core.names) instead of keeping copies.
class NameTable {
 public:
  NameTable(std::string what, std::vector<std::string> names,
            std::vector<std::pair<std::string, std::string>> aliases = {});
  const std::string& what() const { return what_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<std::pair<std::string, std::string>>& aliases() const { return aliases_; }
  // The canonical name for `name` (a name or an alias); ValueError listing
  // the names when it is unknown: "<arg>: expected one of a, b, c; got 'x'".
  std::string canonical(const std::string& name, const std::string& arg) const;
  bool contains(const std::string& name) const;

 private:
  std::string what_;
  std::vector<std::string> names_;
  std::vector<std::pair<std::string, std::string>> aliases_;
};

// "a, b, c" (sorted when asked).
std::string join_names(std::vector<std::string> names, bool sort = false);

}  // namespace entrena
