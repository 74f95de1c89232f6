// Everything an ISA translation unit compiles: the SIMD mapping, every
// kernel implementation, and make_isa_table(), which fills the kernel table
// (kernel_table.hpp) with them. Included once, first, by each of
// isa_avx512.cpp, isa_avx2.cpp and isa_generic.cpp after it defines its
// ENTRENA_ISA_* macro (see simd.hpp); the code lands in that ISA's namespace
// (entrena::isa_avx512, ...) with internal linkage.
#pragma once

#include "kernel_table.hpp"
#include "simd.hpp"
// The kernels.
#include "activations_impl.hpp"
#include "conv_direct_impl.hpp"
#include "conv_impl.hpp"
#include "gemm_driver.hpp"
#include "optimizers_loops.hpp"
#include "pool_impl.hpp"
#include "rnn_impl.hpp"
#include "vmath.hpp"

namespace entrena::ENTRENA_ISA_NS {
namespace {

// The table for element type T; Gemm: the GEMM blocking (gemm::Blocking).
template <class T, class Gemm>
constexpr kernels::Table<T> make_table() {
  kernels::Table<T> t{};
  t.gemm = &gemm::run<Gemm>;
  t.gemm_pack_b = &gemm::pack_b<Gemm>;
  t.gemm_packed_b_size = &gemm::packed_b_size<Gemm>;
  t.im2col = &conv::im2col<T>;
  t.col2im = &conv::col2im<T>;
  t.conv_direct_forward = &conv::direct_forward<T>;
  t.conv_direct_backward = &conv::direct_backward<T>;
  t.pool_row_max = &pool::row_maxima<T>;
  t.pool_row_argmax = &pool::row_argmax<T>;
  t.rnn_step_forward = &rnn::step_forward<T>;
  t.rnn_step_backward = &rnn::step_backward<T>;

  t.math_exp = &math_exp<T>;
  t.math_expm1 = &math_expm1<T>;
  t.math_log = &math_log<T>;
  t.math_log1p = &math_log1p<T>;
  t.math_tanh = &math_tanh<T>;
  t.math_erf = &math_erf<T>;
  t.math_erfc = &math_erfc<T>;
  t.identity_forward = &identity_forward<T>;
  t.identity_backward = &identity_backward<T>;
  t.sigmoid_forward = &sigmoid_forward<T>;
  t.sigmoid_backward = &sigmoid_backward<T>;
  t.tanh_forward = &tanh_forward<T>;
  t.tanh_backward = &tanh_backward<T>;
  t.relu_forward = &relu_forward<T>;
  t.relu_backward = &relu_backward<T>;
  t.leaky_relu_forward = &leaky_relu_forward<T>;
  t.leaky_relu_backward = &leaky_relu_backward<T>;
  t.elu_forward = &elu_forward<T>;
  t.elu_backward = &elu_backward<T>;
  t.gelu_forward = &gelu_forward<T>;
  t.gelu_backward = &gelu_backward<T>;
  t.gelu_tanh_forward = &gelu_tanh_forward<T>;
  t.gelu_tanh_backward = &gelu_tanh_backward<T>;
  t.silu_forward = &silu_forward<T>;
  t.silu_backward = &silu_backward<T>;
  t.softplus_forward = &softplus_forward<T>;
  t.softplus_backward = &softplus_backward<T>;
  t.softmax_forward = &softmax_forward<T>;
  t.softmax_backward = &softmax_backward<T>;
  t.log_softmax_forward = &log_softmax_forward<T>;
  t.log_softmax_backward = &log_softmax_backward<T>;

  t.sgd_plain = &opt::sgd<T, false>;
  t.sgd_momentum = &opt::sgd<T, true>;
  t.adam = &opt::adam<T, false>;
  t.adam_amsgrad = &opt::adam<T, true>;
  t.rmsprop[0][0] = &opt::rmsprop<T, false, false>;
  t.rmsprop[0][1] = &opt::rmsprop<T, false, true>;
  t.rmsprop[1][0] = &opt::rmsprop<T, true, false>;
  t.rmsprop[1][1] = &opt::rmsprop<T, true, true>;
  t.adagrad = &opt::adagrad<T>;
  t.sum_squares = &opt::sum_squares<T>;
  t.scale = &opt::scale<T>;
  t.clamp = &opt::clamp<T>;
  return t;
}

// This ISA's table. Tuning (defined by the ISA file) provides GemmF and
// GemmD, the GEMM blocking for float and double, and kFmaChains, the number
// of independent FMA chains that saturate the FMA units (fma_peak_gflops).
// Constant-initialised: no code runs to fill it.
template <class Tuning>
const kernels::IsaTable& isa_table_of() {
  static constexpr kernels::IsaTable table{make_table<float, typename Tuning::GemmF>(),
                                           make_table<double, typename Tuning::GemmD>(),
                                           &gemm::fma_chains<Tuning::kFmaChains>};
  return table;
}

}  // namespace
}  // namespace entrena::ENTRENA_ISA_NS
