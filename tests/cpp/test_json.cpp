// entrena::Json: parse, write, errors with positions, limits.
#include <clocale>
#include <string>

#include "check.hpp"
#include "entrena/json.hpp"

using entrena::Json;
using entrena::ValueError;

TEST(parses_every_kind_of_value) {
  const Json j = Json::parse(R"( {"a": [1, -2, 3.5, -0.25e2, 1E3], "b": {"c": null, "d": true, "e": false},
                                  "s": "x\"y\\z\/\b\f\n\r\t\u00e9\ud83d\ude00"} )");
  CHECK(j.is_object());
  CHECK_EQ(j.size(), 3u);
  const Json& a = j.at("a");
  CHECK_EQ(a.size(), 5u);
  CHECK(a.at(0).is_integer());
  CHECK_EQ(a.at(0).as_int(), 1);
  CHECK_EQ(a.at(1).as_int(), -2);
  CHECK(!a.at(2).is_integer());
  CHECK_EQ(a.at(2).as_double(), 3.5);
  CHECK_EQ(a.at(3).as_double(), -25.0);
  CHECK_EQ(a.at(4).as_double(), 1000.0);
  CHECK(j.at("b").at("c").is_null());
  CHECK_EQ(j.at("b").at("d").as_bool(), true);
  CHECK_EQ(j.at("b").at("e").as_bool(), false);
  CHECK_EQ(j.at("s").as_string(), std::string("x\"y\\z/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80"));
}

TEST(keeps_int64_exact_and_big_numbers_as_double) {
  CHECK_EQ(Json::parse("9223372036854775807").as_int(), 9223372036854775807LL);
  CHECK_EQ(Json::parse("-9223372036854775808").as_int(), (-9223372036854775807LL - 1));
  const Json big = Json::parse("18446744073709551616");
  CHECK(!big.is_integer());
  CHECK_EQ(big.as_double(), 18446744073709551616.0);
  CHECK_EQ(Json::parse("3.0").as_int(), 3);
  CHECK_THROWS(ValueError, Json::parse("3.5").as_int(), "integer");
}

TEST(writes_and_reads_back) {
  Json j = Json::object({{"name", "dense"}, {"units", 64}, {"rate", 0.1}, {"flag", true}, {"none", nullptr}});
  j["list"] = Json::array({Json(1), Json(2.5), Json("three"), Json::object()});
  j["text"] = "line\nbreak \"quoted\" \x01 tab\t";
  const std::string compact = j.dump();
  CHECK_EQ(compact.find('\n'), std::string::npos);
  CHECK(Json::parse(compact) == j);
  CHECK(Json::parse(j.dump(2)) == j);
  CHECK_EQ(Json(0.1).dump(), std::string("0.1"));
  CHECK_EQ(Json(2.0).dump(), std::string("2.0"));
  CHECK_EQ(Json(1e300).dump(), std::string("1e+300"));
  CHECK_EQ(Json(7).dump(), std::string("7"));
  // Every double survives a round trip.
  for (double v : {1.0 / 3.0, 123456.789e-30, -2.5e-308, 4.9406564584124654e-324, 1.7976931348623157e308}) {
    CHECK_EQ(Json::parse(Json(v).dump()).as_double(), v);
  }
  // Member order is kept.
  CHECK_EQ(Json::parse(R"({"z": 1, "a": 2})").dump(), std::string(R"({"z": 1, "a": 2})"));
}

TEST(writes_numbers_with_a_dot_whatever_the_locale) {
  // Only meaningful where a comma locale is installed; harmless elsewhere.
  const char* old = std::setlocale(LC_NUMERIC, nullptr);
  const std::string saved = old ? old : "C";
  if (std::setlocale(LC_NUMERIC, "de_DE.UTF-8") || std::setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
    CHECK_EQ(Json(0.5).dump(), std::string("0.5"));
    CHECK_EQ(Json::parse("0.25").as_double(), 0.25);
  }
  std::setlocale(LC_NUMERIC, saved.c_str());
}

TEST(rejects_bad_json_with_a_position) {
  CHECK_THROWS(ValueError, Json::parse(""), "expected a value");
  CHECK_THROWS(ValueError, Json::parse("{\"a\": 1,}"), "line 1, column 9");
  CHECK_THROWS(ValueError, Json::parse("{\"a\" 1}"), "expected ':'");
  CHECK_THROWS(ValueError, Json::parse("[1, 2"), "expected ',' or ']'");
  CHECK_THROWS(ValueError, Json::parse("{\n  \"a\": tru\n}"), "line 2, column 8");
  CHECK_THROWS(ValueError, Json::parse("01"), "unexpected text");
  CHECK_THROWS(ValueError, Json::parse("1."), "after the decimal point");
  CHECK_THROWS(ValueError, Json::parse("-"), "expected a digit");
  CHECK_THROWS(ValueError, Json::parse("1e999"), "out of the range");
  CHECK_THROWS(ValueError, Json::parse("NaN"), "expected a value");
  CHECK_THROWS(ValueError, Json::parse("\"abc"), "unterminated string");
  CHECK_THROWS(ValueError, Json::parse("\"a\nb\""), "control character");
  CHECK_THROWS(ValueError, Json::parse("\"\\x\""), "invalid escape");
  CHECK_THROWS(ValueError, Json::parse("\"\\u12G4\""), "hex digit");
  CHECK_THROWS(ValueError, Json::parse("\"\\ud83d\""), "low surrogate");
  CHECK_THROWS(ValueError, Json::parse("\"\\ude00\""), "unpaired");
  CHECK_THROWS(ValueError, Json::parse("\"\xff\""), "UTF-8");
  CHECK_THROWS(ValueError, Json::parse("\"\xc0\xaf\""), "UTF-8");
  CHECK_THROWS(ValueError, Json::parse("\"\xe2\x82\""), "UTF-8");
  CHECK_THROWS(ValueError, Json::parse("{\"a\": 1, \"a\": 2}"), "duplicate key 'a'");
  CHECK_THROWS(ValueError, Json::parse("[1] [2]"), "unexpected text");
  CHECK_THROWS(ValueError, Json::parse(std::string("[1\0]", 4)), "near byte 0");
}

TEST(enforces_depth_and_size_limits) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  CHECK_THROWS(ValueError, Json::parse(deep), "nesting deeper than the limit of 64");
  Json::Limits lim;
  lim.max_depth = 200;
  CHECK(Json::parse(deep, lim).is_array());
  lim.max_bytes = 10;
  CHECK_THROWS(ValueError, Json::parse("[1, 2, 3, 4, 5]", lim), "exceeds the limit of 10 bytes");
  // A very deep document does not overflow the stack: it stops at the limit.
  const std::string huge(1000000, '[');
  CHECK_THROWS(ValueError, Json::parse(huge), "nesting");
}

TEST(typed_access_errors_name_the_types) {
  const Json j = Json::parse(R"({"a": "text", "n": 1.5})");
  CHECK_THROWS(ValueError, j.at("a").as_double(), "expected a number, got string");
  CHECK_THROWS(ValueError, j.at("missing"), "missing key 'missing'");
  CHECK_THROWS(ValueError, j.at("n").as_string(), "expected a string, got number");
  CHECK_THROWS(ValueError, j.at(0), "expected an array, got object");
  CHECK_THROWS(ValueError, Json::parse("[1]").at(3), "index 3 out of range");
  CHECK(j.find("nope") == nullptr);
  CHECK_THROWS(ValueError, Json(std::nan("")).dump(), "non-finite");
  CHECK_THROWS(ValueError, Json(std::string("\xff")).dump(), "UTF-8");
}

ENTRENA_TEST_MAIN
