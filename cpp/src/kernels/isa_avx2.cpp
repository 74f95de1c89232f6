// Every kernel compiled for AVX2 + FMA (CMakeLists.txt builds files named
// *_avx2.cpp with -mavx2 -mfma -mf16c). The dispatcher (kernel_table.cpp)
// hands out this table only when active_isa() is AVX2.
#define ENTRENA_ISA_AVX2 1
#include "isa_kernels.hpp"

namespace entrena::isa_avx2 {
namespace {

struct Tuning {
  // GEMM: 16 ymm registers hold a 6×2 tile of vectors (6 rows × 16 floats or
  // 8 doubles) plus the B row and the broadcast A value. The A micro-panel
  // MR×KC is about half of a 32 KiB L1d, the B block KC×NC about half of a
  // 1 MiB L2.
  // gemm::Blocking<T, MR, NV, KC, MC, NC, WIDE, WIDE_ROWS> (gemm_driver.hpp)
  using GemmF = gemm::Blocking<float, 6, 2, 512, 960, 256, 2, 2>;
  using GemmD = gemm::Blocking<double, 6, 2, 256, 960, 256, 2, 2>;

  // 12 independent FMA chains, more than FMA latency × throughput.
  static constexpr int kFmaChains = 12;
};

}  // namespace

const kernels::IsaTable& isa_table() { return isa_table_of<Tuning>(); }

}  // namespace entrena::isa_avx2
