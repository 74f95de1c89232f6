// The kernel dispatcher: the table of an ISA, and of the active one
// (kernel_table.hpp explains the mechanism).
#include "kernel_table.hpp"

namespace entrena::kernels {

const IsaTable& isa_table(Isa isa) {
  switch (isa) {
#if defined(ENTRENA_X86)
    case Isa::AVX512: return isa_avx512::isa_table();
    case Isa::AVX2: return isa_avx2::isa_table();
#endif
    default: return isa_generic::isa_table();
  }
}

template <>
const Table<float>& table<float>() {
  return isa_table(active_isa()).f32;
}

template <>
const Table<double>& table<double>() {
  return isa_table(active_isa()).f64;
}

}  // namespace entrena::kernels
