#include "entrena/cpu.hpp"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <utility>

#if defined(ENTRENA_X86) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

#include "entrena/common.hpp"

namespace entrena {

namespace {
Isa detect() {
#if defined(ENTRENA_X86) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma"))
    return Isa::AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::AVX2;
#endif
  return Isa::Generic;
}

Isa initial() {
  const Isa best = detect();
  if (const char* env = std::getenv("ENTRENA_ISA")) {
    if (*env) {
      // An unknown or unsupported request falls back to the best variant
      // rather than failing at import; cpu_info() shows what is in use.
      try {
        Isa want = isa_from_name(env);
        if (static_cast<int>(want) <= static_cast<int>(best)) return want;
      } catch (const ValueError&) {
      }
    }
  }
  return best;
}

std::atomic<int>& active() {
  static std::atomic<int> a{static_cast<int>(initial())};
  return a;
}
}  // namespace

Isa best_supported_isa() {
  static const Isa best = detect();
  return best;
}

bool isa_supported(Isa isa) {
  return static_cast<int>(isa) <= static_cast<int>(best_supported_isa());
}

Isa active_isa() { return static_cast<Isa>(active().load(std::memory_order_relaxed)); }

void set_isa(Isa isa) {
  if (!isa_supported(isa))
    throw ValueError(cat("isa: this CPU supports up to ", isa_name(best_supported_isa()),
                         ", got a request for ", isa_name(isa)));
  active().store(static_cast<int>(isa));
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Generic: return "generic";
    case Isa::AVX2: return "avx2";
    case Isa::AVX512: return "avx512";
  }
  return "?";
}

std::string cpu_model_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        const auto start = line.find_first_not_of(" \t", colon + 1);
        if (start != std::string::npos) return line.substr(start);
      }
    }
  }
#if defined(ENTRENA_X86) && (defined(__GNUC__) || defined(__clang__))
  unsigned regs[12] = {};
  unsigned top = __get_cpuid_max(0x80000000u, nullptr);
  if (top >= 0x80000004u) {
    for (unsigned i = 0; i < 3; ++i)
      __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
    char brand[49] = {};
    std::memcpy(brand, regs, 48);
    std::string s(brand);
    const auto start = s.find_first_not_of(' ');
    if (start != std::string::npos) return s.substr(start);
  }
#endif
  return "unknown";
}

std::vector<std::pair<std::string, bool>> cpu_features() {
  std::vector<std::pair<std::string, bool>> f;
#if defined(ENTRENA_X86) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the vector state.
#define ENTRENA_FEATURE(name) f.emplace_back(name, __builtin_cpu_supports(name) != 0)
  ENTRENA_FEATURE("sse4.2");
  ENTRENA_FEATURE("avx");
  ENTRENA_FEATURE("avx2");
  ENTRENA_FEATURE("fma");
  ENTRENA_FEATURE("avx512f");
  ENTRENA_FEATURE("avx512dq");
  ENTRENA_FEATURE("avx512bw");
  ENTRENA_FEATURE("avx512vl");
  ENTRENA_FEATURE("avx512cd");
  ENTRENA_FEATURE("avx512vnni");
  ENTRENA_FEATURE("avx512bf16");
  ENTRENA_FEATURE("amx-tile");
  ENTRENA_FEATURE("amx-bf16");
#undef ENTRENA_FEATURE
#elif defined(__aarch64__)
  f.emplace_back("neon", true);
#endif
  return f;
}

Isa isa_from_name(const std::string& name) {
  if (name == "generic") return Isa::Generic;
  if (name == "avx2") return Isa::AVX2;
  if (name == "avx512") return Isa::AVX512;
  throw ValueError(cat("isa: expected one of generic, avx2, avx512; got '", name, "'"));
}

}  // namespace entrena
