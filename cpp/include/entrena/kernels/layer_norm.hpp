// Layer normalization kernels (the LayerNormalization layer), with
// PyTorch's layer_norm semantics over the last axis.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// x, y: (rows, F); gamma, beta: (F,) or null (1 and 0); save_mean,
// save_invstd: (rows,)
// Per row: mean and the biased variance var of its F values (in double,
// two passes), invstd = 1 / sqrt(var + eps), y = (x - mean)·invstd·gamma + beta.
// save_mean and save_invstd receive mean and invstd (for backward).
template <class T>
void layer_norm_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean, T* save_invstd,
                        index_t rows, index_t F, double eps);

// x, dy, dx: (rows, F); gamma, dgamma, dbeta: (F,); save_mean, save_invstd: (rows,)
// With xhat = (x - mean)·invstd and g = dy·gamma:
//   dx = invstd·(g - mean(g) - xhat·mean(g·xhat)) (means over the row);
//   dgamma += sum over rows of dy·xhat, dbeta += sum over rows of dy.
// dx, dgamma and dbeta may be null (not wanted).
template <class T>
void layer_norm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean, const T* save_invstd,
                         T* dx, T* dgamma, T* dbeta, index_t rows, index_t F);

}  // namespace entrena
