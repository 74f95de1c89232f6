// Every kernel compiled for the baseline ISA (SSE2 on x86-64, NEON on
// aarch64): 16-byte vectors. The dispatcher (kernel_table.cpp) hands out
// this table when active_isa() is Generic, and on CPUs other than x86-64,
// where it is the only one built.
#define ENTRENA_ISA_GENERIC 1
#include "isa_kernels.hpp"

namespace entrena::isa_generic {
namespace {

struct Tuning {
  // GEMM: a 4×2 tile of vectors (4 rows × 8 floats or 4 doubles) fits 16
  // vector registers with the B row and the broadcast A value.
  // gemm::Blocking<T, MR, NV, KC, MC, NC, WIDE, WIDE_ROWS> (gemm_driver.hpp)
  using GemmF = gemm::Blocking<float, 4, 2, 256, 256, 512, 1, 0>;
  using GemmD = gemm::Blocking<double, 4, 2, 256, 256, 256, 1, 0>;

  // 16 independent chains of 4-wide multiply-adds.
  static constexpr int kFmaChains = 16;
};

}  // namespace

const kernels::IsaTable& isa_table() { return isa_table_of<Tuning>(); }

}  // namespace entrena::isa_generic
