// CPU features and the kernel variant (ISA path) in use. The kernels are
// compiled once per ISA and every kernel call runs the variant of
// active_isa() (see docs/kernels.md).
#pragma once

#include <string>
#include <vector>

namespace entrena {

enum class Isa : int { Generic = 0, AVX2 = 1, AVX512 = 2 };

// The best variant this CPU (and this build) supports.
Isa best_supported_isa();
bool isa_supported(Isa isa);
// The variant kernels use: the best supported one, unless the environment
// variable ENTRENA_ISA (generic | avx2 | avx512) asked for a lower one when
// the library was first used, or set_isa() chose one since.
Isa active_isa();
// Throws ValueError if this CPU does not support isa.
void set_isa(Isa isa);
const char* isa_name(Isa isa);
// Throws ValueError for an unknown name.
Isa isa_from_name(const std::string& name);

// The CPU's model name (/proc/cpuinfo, else the CPUID brand string), or
// "unknown".
std::string cpu_model_name();
// Instruction-set extensions relevant to entrena's kernels and whether this
// CPU (and its OS) supports them, in a fixed order: sse4.2, avx, avx2, fma,
// avx512f, avx512dq, avx512bw, avx512vl, ... on x86-64; neon on aarch64.
std::vector<std::pair<std::string, bool>> cpu_features();

}  // namespace entrena
