// A small test harness for entrena's C++ tests: TEST(name) { ... } defines a
// test case; CHECK, CHECK_EQ, CHECK_NEAR and CHECK_THROWS record failures
// (with file and line) and let the case continue; ENTRENA_TEST_MAIN runs
// every case and returns non-zero if any failed.
#pragma once

#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace check {

struct Case {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}

inline int& failures() {
  static int n = 0;
  return n;
}

struct Register {
  Register(const char* name, std::function<void()> fn) { cases().push_back({name, std::move(fn)}); }
};

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::fprintf(stderr, "  %s:%d: FAILED %s\n", file, line, what.c_str());
}

template <class A>
std::string show(const A& a) {
  std::ostringstream os;
  os.precision(17);
  os << a;
  return os.str();
}

template <class A>
std::string show(const std::vector<A>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + show(v[i]);
  return out + "]";
}

inline int run_all() {
  int failed_cases = 0;
  for (const Case& c : cases()) {
    const int before = failures();
    try {
      c.fn();
    } catch (const std::exception& e) {
      fail(__FILE__, __LINE__, std::string("uncaught exception: ") + e.what());
    }
    const bool ok = failures() == before;
    failed_cases += ok ? 0 : 1;
    std::printf("[%s] %s\n", ok ? " ok " : "FAIL", c.name);
  }
  std::printf("%zu cases, %d failed\n", cases().size(), failed_cases);
  return failed_cases ? 1 : 0;
}

}  // namespace check

#define CHECK_CAT2(a, b) a##b
#define CHECK_CAT(a, b) CHECK_CAT2(a, b)
#define TEST(name)                                                   \
  static void name();                                                \
  static const check::Register CHECK_CAT(reg_, name){#name, &name}; \
  static void name()

#define CHECK(cond) \
  do { if (!(cond)) check::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); } while (0)

// (Values are copied: `a` may be a member of a temporary, such as
// layer.param_specs()[0].shape, which a reference would outlive.)
#define CHECK_EQ(a, b)                                                                        \
  do {                                                                                        \
    const auto va_ = (a);                                                                     \
    const auto vb_ = (b);                                                                     \
    if (!(va_ == vb_))                                                                        \
      check::fail(__FILE__, __LINE__,                                                         \
                  "CHECK_EQ(" #a ", " #b "): " + check::show(va_) + " != " + check::show(vb_)); \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                     \
  do {                                                                                            \
    const double va_ = static_cast<double>(a), vb_ = static_cast<double>(b);                      \
    if (!(std::fabs(va_ - vb_) <= (tol)))                                                         \
      check::fail(__FILE__, __LINE__, "CHECK_NEAR(" #a ", " #b "): " + check::show(va_) + " vs " + \
                                          check::show(vb_) + " (tolerance " #tol ")");           \
  } while (0)

// Checks that expr throws Exc; `contains` (may be "") must occur in what().
#define CHECK_THROWS(Exc, expr, contains)                                                        \
  do {                                                                                           \
    bool thrown_ = false;                                                                        \
    try {                                                                                        \
      (void)(expr);                                                                              \
    } catch (const Exc& e_) {                                                                    \
      thrown_ = true;                                                                            \
      if (std::string(e_.what()).find(contains) == std::string::npos)                            \
        check::fail(__FILE__, __LINE__, std::string(#expr " threw '") + e_.what() +              \
                                            "', which does not mention '" + (contains) + "'");   \
    } catch (const std::exception& e_) {                                                         \
      thrown_ = true;                                                                            \
      check::fail(__FILE__, __LINE__, std::string(#expr " threw another exception: ") + e_.what()); \
    }                                                                                            \
    if (!thrown_) check::fail(__FILE__, __LINE__, #expr " did not throw " #Exc);                 \
  } while (0)

#define ENTRENA_TEST_MAIN \
  int main() { return check::run_all(); }
