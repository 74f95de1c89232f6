#include "entrena/json.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <locale>
#include <set>
#include <sstream>

namespace entrena {

// -------------------------------------------------------------- building
Json::Json(unsigned long v) : Json(static_cast<unsigned long long>(v)) {}

Json::Json(unsigned long long v) : type_(Type::Number), num_(static_cast<double>(v)) {
  if (v <= static_cast<unsigned long long>(LLONG_MAX)) {
    is_int_ = true;
    int_ = static_cast<long long>(v);
  }
}

Json Json::array(Array items) {
  Json j;
  j.type_ = Type::Array;
  j.arr_ = std::move(items);
  return j;
}

Json Json::object(Object members) {
  Json j;
  j.type_ = Type::Object;
  j.obj_ = std::move(members);
  return j;
}

Json Json::object(std::initializer_list<std::pair<std::string, Json>> members) {
  Json j = object(Object{});
  for (const auto& m : members) j[m.first] = m.second;
  return j;
}

const char* Json::type_name() const {
  switch (type_) {
    case Type::Null: return "null";
    case Type::Bool: return "bool";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "?";
}

// ---------------------------------------------------------------- access
namespace {
// strtod with a '.' decimal point whatever the process locale (an embedding
// application may have called setlocale). text is a valid JSON number.
double c_strtod(std::string text) {
  const char* dp = std::localeconv()->decimal_point;
  if (dp && std::string(dp) != ".") {
    const std::size_t at = text.find('.');
    if (at != std::string::npos) text.replace(at, 1, dp);
  }
  return std::strtod(text.c_str(), nullptr);
}

[[noreturn]] void wrong_type(const char* want, const Json& j) {
  throw ValueError(cat("JSON: expected ", want, ", got ", j.type_name()));
}
}  // namespace

bool Json::as_bool() const {
  if (type_ != Type::Bool) wrong_type("a bool", *this);
  return bool_;
}

double Json::as_double() const {
  if (type_ != Type::Number) wrong_type("a number", *this);
  return num_;
}

long long Json::as_int() const {
  if (type_ != Type::Number) wrong_type("an integer", *this);
  if (is_int_) return int_;
  // Accept doubles with an exact integer value (e.g. 3.0 written by another tool).
  if (std::isfinite(num_) && num_ == std::floor(num_) && std::fabs(num_) < 9.2e18)
    return static_cast<long long>(num_);
  throw ValueError(cat("JSON: expected an integer, got ", num_));
}

const std::string& Json::as_string() const {
  if (type_ != Type::String) wrong_type("a string", *this);
  return str_;
}

const Json::Array& Json::as_array() const {
  if (type_ != Type::Array) wrong_type("an array", *this);
  return arr_;
}

Json::Array& Json::as_array() {
  if (type_ != Type::Array) wrong_type("an array", *this);
  return arr_;
}

const Json::Object& Json::as_object() const {
  if (type_ != Type::Object) wrong_type("an object", *this);
  return obj_;
}

Json::Object& Json::as_object() {
  if (type_ != Type::Object) wrong_type("an object", *this);
  return obj_;
}

std::size_t Json::size() const {
  if (type_ == Type::Array) return arr_.size();
  if (type_ == Type::Object) return obj_.size();
  return 0;
}

const Json* Json::find(std::string_view key) const {
  if (type_ != Type::Object) return nullptr;
  for (const auto& m : obj_)
    if (m.first == key) return &m.second;
  return nullptr;
}

const Json& Json::at(std::string_view key) const {
  if (type_ != Type::Object) wrong_type("an object", *this);
  const Json* j = find(key);
  if (!j) throw ValueError(cat("JSON: missing key '", key, "'"));
  return *j;
}

Json& Json::operator[](std::string_view key) {
  if (type_ == Type::Null) type_ = Type::Object;
  if (type_ != Type::Object) wrong_type("an object", *this);
  for (auto& m : obj_)
    if (m.first == key) return m.second;
  obj_.emplace_back(std::string(key), Json());
  return obj_.back().second;
}

const Json& Json::at(std::size_t i) const {
  if (type_ != Type::Array) wrong_type("an array", *this);
  if (i >= arr_.size())
    throw ValueError(cat("JSON: index ", i, " out of range for an array of ", arr_.size()));
  return arr_[i];
}

void Json::push_back(Json v) {
  if (type_ == Type::Null) type_ = Type::Array;
  if (type_ != Type::Array) wrong_type("an array", *this);
  arr_.push_back(std::move(v));
}

bool Json::operator==(const Json& o) const {
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::Null: return true;
    case Type::Bool: return bool_ == o.bool_;
    case Type::Number:
      if (is_int_ && o.is_int_) return int_ == o.int_;
      return num_ == o.num_;
    case Type::String: return str_ == o.str_;
    case Type::Array: return arr_ == o.arr_;
    case Type::Object: {
      if (obj_.size() != o.obj_.size()) return false;
      for (const auto& m : obj_) {
        const Json* other = o.find(m.first);
        if (!other || !(*other == m.second)) return false;
      }
      return true;
    }
  }
  return false;
}

// --------------------------------------------------------------- writing
namespace {
// Whether s is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF).
bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t len;
    unsigned cp;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

void write_string(std::string& out, const std::string& s) {
  static const char* hex = "0123456789abcdef";
  if (!valid_utf8(s)) throw ValueError("JSON: cannot write a string that is not valid UTF-8");
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// The shortest of %.15g / %.16g / %.17g that reads back as the same double,
// written with the "C" locale's decimal point whatever the process locale.
void write_double(std::string& out, double v) {
  if (!std::isfinite(v))
    throw ValueError(cat("JSON: cannot write the non-finite number ", v, " (JSON has no NaN or inf)"));
  std::string text;
  for (int prec = 15; prec <= 17; ++prec) {
    std::ostringstream os;
    os.imbue(std::locale::classic());
    os.precision(prec);
    os << v;
    text = os.str();
    if (c_strtod(text) == v) break;
  }
  // Keep it a JSON number that reads back as a float, not an integer.
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  out += text;
}

void newline(std::string& out, int indent, int level) {
  if (indent < 0) return;
  out += '\n';
  out.append(static_cast<std::size_t>(indent) * static_cast<std::size_t>(level), ' ');
}
}  // namespace

void Json::dump_to(std::string& out, int indent, int level) const {
  switch (type_) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += bool_ ? "true" : "false"; break;
    case Type::Number:
      if (is_int_) out += std::to_string(int_);
      else write_double(out, num_);
      break;
    case Type::String: write_string(out, str_); break;
    case Type::Array:
      out += '[';
      for (std::size_t i = 0; i < arr_.size(); ++i) {
        if (i) out += indent < 0 ? ", " : ",";
        newline(out, indent, level + 1);
        arr_[i].dump_to(out, indent, level + 1);
      }
      if (!arr_.empty()) newline(out, indent, level);
      out += ']';
      break;
    case Type::Object:
      out += '{';
      for (std::size_t i = 0; i < obj_.size(); ++i) {
        if (i) out += indent < 0 ? ", " : ",";
        newline(out, indent, level + 1);
        write_string(out, obj_[i].first);
        out += ": ";
        obj_[i].second.dump_to(out, indent, level + 1);
      }
      if (!obj_.empty()) newline(out, indent, level);
      out += '}';
      break;
  }
}

std::string Json::dump(int indent) const {
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

// --------------------------------------------------------------- parsing
namespace {

class Parser {
 public:
  Parser(std::string_view text, const Json::Limits& limits) : s_(text), lim_(limits) {}

  Json parse_document() {
    if (s_.size() > lim_.max_bytes)
      throw ValueError(cat("JSON: text of ", s_.size(), " bytes exceeds the limit of ",
                           lim_.max_bytes, " bytes"));
    skip_ws();
    Json v = value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string near;
    if (pos_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      near = (c >= 0x20 && c < 0x7f) ? cat(" near '", static_cast<char>(c), "'") : cat(" near byte ", int(c));
    } else {
      near = " at the end of the text";
    }
    throw ValueError(cat("JSON: ", what, " at line ", line, ", column ", col, " (offset ", pos_, ")", near));
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }

  void skip_ws() {
    while (!at_end()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') ++pos_;
      else break;
    }
  }

  void expect_word(const char* w) {
    const std::size_t n = std::char_traits<char>::length(w);
    if (s_.substr(pos_, n) != w) fail(cat("expected '", w, "'"));
    pos_ += n;
  }

  Json value(std::size_t depth) {
    if (at_end()) fail("expected a value");
    switch (peek()) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': return Json(string());
      case 't': expect_word("true"); return Json(true);
      case 'f': expect_word("false"); return Json(false);
      case 'n': expect_word("null"); return Json();
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return number();
        fail("expected a value (object, array, string, number, true, false or null)");
    }
  }

  void check_depth(std::size_t depth) {
    if (depth > lim_.max_depth)
      fail(cat("nesting deeper than the limit of ", lim_.max_depth, " levels"));
  }

  Json object(std::size_t depth) {
    check_depth(depth);
    ++pos_;  // '{'
    Json obj = Json::object();
    skip_ws();
    if (peek() == '}') {
      ++pos_;
      return obj;
    }
    // Duplicate keys are found with a set once an object has more than a
    // few members: parsing stays O(n log n) for headers with many entries.
    std::set<std::string> seen;
    for (;;) {
      skip_ws();
      if (peek() != '"') fail("expected a string key");
      const std::size_t key_pos = pos_;
      std::string key = string();
      Json::Object& members = obj.as_object();
      bool duplicate;
      if (members.size() < 16) {
        duplicate = obj.contains(key);
      } else {
        if (seen.empty())
          for (const auto& m : members) seen.insert(m.first);
        duplicate = !seen.insert(key).second;
      }
      if (duplicate) {
        pos_ = key_pos;
        fail(cat("duplicate key '", key, "'"));
      }
      skip_ws();
      if (peek() != ':') fail("expected ':' after an object key");
      ++pos_;
      skip_ws();
      Json v = value(depth);
      obj.as_object().emplace_back(std::move(key), std::move(v));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return obj;
      }
      fail("expected ',' or '}' in an object");
    }
  }

  Json array(std::size_t depth) {
    check_depth(depth);
    ++pos_;  // '['
    Json arr = Json::array();
    skip_ws();
    if (peek() == ']') {
      ++pos_;
      return arr;
    }
    for (;;) {
      skip_ws();
      arr.as_array().push_back(value(depth));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return arr;
      }
      fail("expected ',' or ']' in an array");
    }
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) fail("expected 4 hex digits after \\u");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else fail("expected a hex digit in a \\u escape");
      ++pos_;
    }
    return v;
  }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Copies one UTF-8 encoded character (validated) from the input.
  void copy_utf8(std::string& out) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s_[i]); };
    const unsigned char c = byte(pos_);
    std::size_t len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else fail("invalid UTF-8 in a string");
    if (pos_ + len > s_.size()) fail("truncated UTF-8 sequence in a string");
    for (std::size_t i = 1; i < len; ++i) {
      const unsigned char d = byte(pos_ + i);
      if ((d & 0xC0) != 0x80) fail("invalid UTF-8 in a string");
      cp = (cp << 6) | (d & 0x3F);
    }
    // No overlong forms, no surrogates, nothing above U+10FFFF.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      fail("invalid UTF-8 in a string");
    out.append(s_.data() + pos_, len);
    pos_ += len;
  }

  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("unescaped control character in a string");
      if (c >= 0x80) {
        copy_utf8(out);
        continue;
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (at_end()) fail("unterminated escape in a string");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") fail("expected a low surrogate after a high surrogate");
            pos_ += 2;
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("expected a low surrogate after a high surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("unpaired low surrogate in a \\u escape");
          }
          put_utf8(out, cp);
          break;
        }
        default:
          --pos_;
          fail("invalid escape in a string");
      }
    }
  }

  Json number() {
    const std::size_t start = pos_;
    bool integral = true;
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (peek() >= '1' && peek() <= '9') {
      while (peek() >= '0' && peek() <= '9') ++pos_;
    } else {
      fail("expected a digit");
    }
    if (peek() == '.') {
      integral = false;
      ++pos_;
      if (!(peek() >= '0' && peek() <= '9')) fail("expected a digit after the decimal point");
      while (peek() >= '0' && peek() <= '9') ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      integral = false;
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!(peek() >= '0' && peek() <= '9')) fail("expected a digit in the exponent");
      while (peek() >= '0' && peek() <= '9') ++pos_;
    }
    const std::string text(s_.substr(start, pos_ - start));
    if (integral) {
      // Exact int64 when it fits; otherwise fall through to double.
      const bool neg = text[0] == '-';
      unsigned long long mag = 0;
      bool fits = true;
      for (std::size_t i = neg ? 1 : 0; i < text.size(); ++i) {
        const unsigned d = static_cast<unsigned>(text[i] - '0');
        if (mag > (ULLONG_MAX - d) / 10) {
          fits = false;
          break;
        }
        mag = mag * 10 + d;
      }
      const unsigned long long limit = neg ? static_cast<unsigned long long>(LLONG_MAX) + 1ULL
                                           : static_cast<unsigned long long>(LLONG_MAX);
      if (fits && mag <= limit) {
        if (neg) return Json(mag == limit ? LLONG_MIN : -static_cast<long long>(mag));
        return Json(static_cast<long long>(mag));
      }
    }
    const double v = c_strtod(text);
    if (!std::isfinite(v)) {
      pos_ = start;
      fail("number out of the range of a double");
    }
    return Json(v);
  }

  std::string_view s_;
  Json::Limits lim_;
  std::size_t pos_ = 0;
};

}  // namespace

Json Json::parse(std::string_view text, const Limits& limits) {
  return Parser(text, limits).parse_document();
}

}  // namespace entrena
