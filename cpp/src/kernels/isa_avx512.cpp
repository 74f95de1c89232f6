// Every kernel compiled for AVX-512 (F, DQ, BW, VL) + FMA (CMakeLists.txt
// builds files named *_avx512.cpp with -mavx512f -mavx512dq -mavx512bw
// -mavx512vl -mavx2 -mfma -mf16c). The dispatcher (kernel_table.cpp) hands
// out this table only when active_isa() is AVX512.
#define ENTRENA_ISA_AVX512 1
#include "isa_kernels.hpp"

namespace entrena::isa_avx512 {
namespace {

struct Tuning {
  // GEMM: 24 of the 32 zmm registers hold a 6×4 tile of vectors (6 rows × 64
  // floats or 32 doubles), 4 more the B row, one the broadcast A value. Per
  // k: 4 loads and 6 broadcasts feed 24 FMAs. Block sizes for a core with
  // 32-48 KiB L1d and 1-2 MiB L2 (Zen 4, Ice Lake / Sapphire Rapids): the A
  // micro-panel MR×KC (9 KiB) stays in L1 beside the B rows streaming through
  // it, the B block KC×NC (576 KiB) in L2.
  // gemm::Blocking<T, MR, NV, KC, MC, NC, WIDE, WIDE_ROWS> (gemm_driver.hpp)
  using GemmF = gemm::Blocking<float, 6, 4, 384, 960, 384, 2, 1>;   // 6×64 floats
  using GemmD = gemm::Blocking<double, 6, 4, 192, 960, 384, 2, 1>;  // 6×32 doubles

  // 16 independent FMA chains, more than FMA latency × throughput.
  static constexpr int kFmaChains = 16;
};

}  // namespace

const kernels::IsaTable& isa_table() { return isa_table_of<Tuning>(); }

}  // namespace entrena::isa_avx512
