// Private to the optimizer kernels: the coefficient blocks the dispatcher
// (optimizers.cpp) prepares and the table of element loops each ISA variant
// provides. Nothing here but plain types, so every variant sees the same
// definitions.
#pragma once

#include <cstdint>

namespace entrena::opt_detail {

using idx = std::int64_t;

// Elements per block of the update loops: threads take whole blocks, so the
// split between SIMD body and remainder never depends on the thread count.
constexpr idx kBlock = 4096;

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

template <class T>
struct Table {
  using Sgd = void (*)(T*, const T*, T*, idx, const SgdCoef<T>&, int);
  using Adam = void (*)(T*, const T*, T*, T*, T*, idx, const AdamCoef<T>&, int);
  using Rmsprop = void (*)(T*, const T*, T*, T*, T*, idx, const RmspropCoef<T>&, int);
  using Adagrad = void (*)(T*, const T*, T*, idx, const AdagradCoef<T>&, int);
  Sgd sgd_plain, sgd_momentum;
  Adam adam, adam_amsgrad;
  Rmsprop rmsprop[2][2];  // [centered][momentum]
  Adagrad adagrad;
  void (*sum_squares)(const T*, idx, idx block, double* partial, int nt);
  void (*scale)(T*, idx, T, int);
  void (*clamp)(T*, idx, T, int);
};

template <class T>
const Table<T>& table_generic();
template <class T>
const Table<T>& table_avx2();
template <class T>
const Table<T>& table_avx512();

}  // namespace entrena::opt_detail
