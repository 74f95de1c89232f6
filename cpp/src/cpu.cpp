#include "entrena/cpu.hpp"

#include <atomic>
#include <cstdlib>

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

Isa isa_from_name(const std::string& name) {
  if (name == "generic") return Isa::Generic;
  if (name == "avx2") return Isa::AVX2;
  if (name == "avx512") return Isa::AVX512;
  throw ValueError(cat("isa: expected one of generic, avx2, avx512; got '", name, "'"));
}

}  // namespace entrena
