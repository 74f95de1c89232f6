// The kernel table: how the public kernel functions (gemm.cpp,
// activations.cpp, optimizers.cpp; built for the baseline ISA) reach the
// SIMD implementations compiled once per ISA.
//
// Each ISA translation unit (isa_avx512.cpp, isa_avx2.cpp, isa_generic.cpp,
// built with that ISA's flags by their file-name suffix, see CMakeLists.txt)
// compiles every kernel implementation inside its own namespace
// (entrena::isa_avx512, ...) with internal linkage, and exports one function,
// isa_table(), returning a table of pointers to them. table<T>() returns the
// table of active_isa(), so set_isa() and ENTRENA_ISA take effect at the
// next call. Nothing compiled for an ISA is reachable any other way: no
// function built with AVX instructions can be picked by the linker for
// baseline code (tests/test_isa_isolation.py checks this).
//
// How to add a kernel (say conv2d_forward):
//   1. Write its implementation once, as templates over the SIMD mapping
//      (simd.hpp), in a header of its own (e.g. conv_impl.hpp) whose code
//      lives in `namespace entrena::ENTRENA_ISA_NS { namespace { ... } }`,
//      and include that header in isa_kernels.hpp.
//   2. Add an entry (a function pointer) to Table<T> below, with any
//      argument struct it needs (plain data only: no member functions, no
//      inline code, which the ISA files would otherwise compile too).
//   3. Set the entry in make_table() (isa_kernels.hpp). Every ISA
//      translation unit then compiles and registers it for its ISA.
//   4. Write the public function in a baseline file (conv.cpp): check the
//      arguments, choose the thread count, then call
//      kernels::table<T>().conv2d_forward(...).
// Tests: the kernel's tests run on every ISA the CPU has (the `isa` fixture
// of tests/conftest.py). docs/kernels.md describes the whole mechanism.
#pragma once

#include <cstdint>

#include "entrena/cpu.hpp"
#include "entrena/kernels/conv.hpp"
#include "entrena/kernels/gemm.hpp"
#include "entrena/kernels/pooling.hpp"
#include "entrena/kernels/recurrent.hpp"

namespace entrena::kernels {

using idx = std::int64_t;

// ------------------------------------------------------------ argument blocks


// One GEMM call, already validated: C = act(alpha·op(A)·op(B) + beta·C + bias).
// M, N, K >= 1 and alpha != 0 (the dispatcher handles the degenerate cases).
template <class T>
struct GemmArgs {
  Trans ta, tb;
  index_t M, N, K;
  T alpha;
  const T* A;
  index_t lda;
  const T* B;
  index_t ldb;
  T beta;
  T* C;
  index_t ldc;
  const T* bias;  // (N,), or (M,) when bias_rows; or null
  bool relu;
  bool bias_rows;  // the bias holds one value per row of C (else one per column)
  int threads;     // chosen by the dispatcher (threads_for), >= 1
  // op(B) already packed by gemm_pack_b of the same ISA (B, ldb and tb are
  // then not read), or null: for a B multiplied many times (a recurrent
  // layer's W_hh, once per step).
  const T* bpacked = nullptr;
  // Mixed precision (float only): both operands are rounded to bfloat16
  // (round to nearest even) as they are packed; products are then exact in
  // float32 and accumulate in float32. Both operands are always packed.
  bool bf16 = false;
};

// A 64-byte-aligned scratch buffer of at least n elements owned by the
// calling thread; slot 0 holds packed A, slot 1 packed B. Allocated once and
// grown on demand, so a steady state allocates nothing. Defined in gemm.cpp
// (baseline ISA): the ISA files call it, never the other way round.
template <class T>
T* gemm_workspace(int slot, index_t n);

// The size of this core's L2 cache in bytes, as the system reports it
// (1 MiB where it does not). Defined in gemm.cpp (baseline ISA); GEMM's
// packing choice reads it.
index_t l2_cache_bytes();

// Optimizer coefficients, prepared per call by optimizers.cpp in T.
template <class T>
struct SgdCoef {
  T lr, wd, momentum, one_minus_dampening;
  bool nesterov, first;
};

template <class T>
struct AdamCoef {
  T keep;        // 1 - lr * weight_decay (AdamW), 1 (Adam)
  T coupled_wd;  // weight_decay (Adam), 0 (AdamW)
  T beta1, one_minus_beta1, beta2, one_minus_beta2;
  T inv_sqrt_bc2;  // 1 / sqrt(1 - beta2^t)
  T step_size;     // lr / (1 - beta1^t)
  T eps;
};

template <class T>
struct RmspropCoef {
  T lr, wd, alpha, one_minus_alpha, eps, momentum;
};

template <class T>
struct AdagradCoef {
  T clr, wd, eps;
};

// One step of a recurrent cell (rnn_impl.hpp) over `rows` sequences; every
// pointer is that step's first row, with its row stride (*_ld, elements).
// Forward: g holds the gate pre-activations (x-part with its bias; for LSTM
// and SimpleRNN also h·W_hh and b_hh) and receives the activations; r is
// h·W_hh + b_hh (GRU only), whose n part goes to hn; the new state goes to
// h (and c, tc = tanh(c) for LSTM) and the output to y (or nowhere when null).
// Backward: g holds the activations and receives dL/d(pre-activations) of
// the x-part; dgh (GRU) those of the h-part; dh holds dL/dh' (dy, when not
// null, is added where the step is real) and receives the part of dL/dh that
// does not go through W_hh; dc holds dL/dc' and receives dL/dc (LSTM); sx
// (and sh, GRU) accumulate each row's x-part (h-part) gradients over the
// steps, for the bias gradients.
// mask: one byte per row (stride mask_ld), 1 for a real step, or null.
template <class T>
struct RnnStep {
  RnnCell cell;
  idx rows, H;
  T* g;
  idx g_ld;
  const T* r;
  idx r_ld;
  T* hn;
  idx hn_ld;
  const T* h_prev;
  idx hp_ld;
  T* h;
  idx h_ld;
  const T* c_prev;
  idx cp_ld;
  T* c;
  idx c_ld;
  T* tc;
  idx tc_ld;
  T* y;
  idx y_ld;
  const std::uint8_t* mask;
  idx mask_ld;
  const T* dy;
  idx dy_ld;
  T* dh;
  idx dh_ld;
  T* dc;
  idx dc_ld;
  T* dgh;
  idx dgh_ld;
  T* sx;
  idx sx_ld;
  T* sh;
  idx sh_ld;
};

// ---------------------------------------------------------------- the table

// One ISA's kernels for element type T. `nt` is the thread count the public
// function chose (threads_for); the kernels never call into the rest of the
// library (but for gemm_workspace). Shapes and formulas are those of the
// public functions (entrena/kernels/*.hpp).
template <class T>
struct Table {
  using Map = void (*)(const T* x, T* y, idx n, int nt);                          // y = f(x)
  using Map2 = void (*)(const T* a, const T* b, T* out, idx n, int nt);           // out = f(a, b)
  using MapA = void (*)(const T* x, T* y, idx n, T alpha, int nt);
  using Map2A = void (*)(const T* a, const T* b, T* out, idx n, T alpha, int nt);
  using Rows = void (*)(const T* x, T* y, idx rows, idx cols, int nt);
  using Rows2 = void (*)(const T* a, const T* b, T* out, idx rows, idx cols, int nt);

  // GEMM (gemm_driver.hpp)
  void (*gemm)(const GemmArgs<T>& g);
  // op(B) of g (K, N) packed whole for later calls with g.bpacked: into
  // out, gemm_packed_b_size(K, N) elements (at most round_up(N, 64)·K).
  void (*gemm_pack_b)(const GemmArgs<T>& g, T* out);
  idx (*gemm_packed_b_size)(idx K, idx N);

  // Convolution data movement (conv_impl.hpp): one sample's Cg channels of
  // a group to columns (row stride ld), and columns back to the image
  // (overwriting dx; dcol is used as scratch).
  void (*im2col)(const Conv2dShape& s, idx Cg, const T* x, T* col, idx ld);
  void (*col2im)(const Conv2dShape& s, idx Cg, T* dcol, idx ld, T* dx);
  // Max pooling (pool_impl.hpp): the windows of output row oh, outputs
  // [o0, o0 + m) (m <= 64), all inside the plane xp: their maxima into best,
  // and where they are (offsets in the plane) into where.
  void (*pool_row_max)(const PoolGeometry& g, const T* xp, idx oh, idx o0, idx m, T* best);
  void (*pool_row_argmax)(const PoolGeometry& g, const T* xp, idx oh, idx o0, idx m, T* best, std::int32_t* where);
  // Direct convolution (conv_direct_impl.hpp), one sample and one group:
  // x (Cg, H, W), w (Fg, Cg·kh·kw), y, relu_y (or null) and dy (Fg, Ho, Wo),
  // dWt (Cg·kh·kw, Fg) and db (Fg,) set when first, else added to.
  void (*conv_direct_forward)(const Conv2dShape& s, idx Fg, const T* x, const T* w, const T* b, T* y, bool relu,
                              T* scratch);
  void (*conv_direct_backward)(const Conv2dShape& s, idx Fg, const T* x, const T* w, const T* relu_y, const T* dy,
                               T* dWt, T* db, bool first, T* dx, T* scratch);

  // Recurrent cells (rnn_impl.hpp), one step; see RnnStep.
  void (*rnn_step_forward)(const RnnStep<T>& s);
  void (*rnn_step_backward)(const RnnStep<T>& s);

  // Vector math (vmath.hpp) and activations (activations_impl.hpp)
  Map math_exp, math_expm1, math_log, math_log1p, math_tanh, math_erf, math_erfc;
  Map identity_forward, identity_backward;  // identity_backward(dy, dx, n, nt)
  Map sigmoid_forward, tanh_forward, relu_forward, gelu_forward, gelu_tanh_forward,
      silu_forward, softplus_forward;
  Map2 sigmoid_backward, tanh_backward, relu_backward, gelu_backward, gelu_tanh_backward,
      silu_backward, softplus_backward;
  MapA leaky_relu_forward, elu_forward;
  Map2A leaky_relu_backward, elu_backward;
  Rows softmax_forward, log_softmax_forward;
  Rows2 softmax_backward, log_softmax_backward;

  // Optimizer element loops (optimizers_loops.hpp)
  void (*sgd_plain)(T* p, const T* grad, T* buf, idx n, const SgdCoef<T>& c, int nt);
  void (*sgd_momentum)(T* p, const T* grad, T* buf, idx n, const SgdCoef<T>& c, int nt);
  using Adam = void (*)(T* p, const T* grad, T* m, T* v, T* vmax, idx n, const AdamCoef<T>& c,
                        int nt);
  Adam adam, adam_amsgrad;
  // [centered][momentum]
  void (*rmsprop[2][2])(T* p, const T* grad, T* s, T* a, T* buf, idx n, const RmspropCoef<T>& c,
                        int nt);
  void (*adagrad)(T* p, const T* grad, T* sum, idx n, const AdagradCoef<T>& c, int nt);
  // partial[b] = sum of g_i^2 over block b (blocks of `block` elements), in double.
  void (*sum_squares)(const T* g, idx n, idx block, double* partial, int nt);
  void (*scale)(T* g, idx n, T s, int nt);  // g = g * s
  void (*clamp)(T* g, idx n, T v, int nt);  // g = min(max(g, -v), v)
};

// Everything one ISA provides.
struct IsaTable {
  Table<float> f32;
  Table<double> f64;
  // Runs `iters` rounds of independent float FMA chains; returns the flops
  // of one round. For fma_peak_gflops.
  double (*fma_chains)(long iters, float* sink);
};

// The table of `isa` (which this CPU must support).
const IsaTable& isa_table(Isa isa);
// The table of active_isa() for element type T (float or double).
template <class T>
const Table<T>& table();
template <>
const Table<float>& table<float>();
template <>
const Table<double>& table<double>();

}  // namespace entrena::kernels

// The ISA translation units; each defines only this function.
namespace entrena::isa_generic {
const kernels::IsaTable& isa_table();
}
#if defined(ENTRENA_X86)
namespace entrena::isa_avx2 {
const kernels::IsaTable& isa_table();
}
namespace entrena::isa_avx512 {
const kernels::IsaTable& isa_table();
}
#endif
