// Batch normalization kernels (the BatchNormalization layer), with
// PyTorch's semantics, over axis 1 of x: (n, C, S): the C channels of
// (n, C, H, W) with S = H·W, or the C features of (n, C) with S = 1.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// x, y: (n, C, S); gamma, beta, running_mean, running_var, save_mean,
// save_invstd: (C,). gamma and beta may be null (1 and 0).
//   training: mean and the biased variance var of each channel over its
//     N = n·S values (in double, two passes); y = (x - mean)·invstd·gamma + beta
//     with invstd = 1 / sqrt(var + eps); running statistics updated as
//     running = (1 - momentum)·running + momentum·batch, with the unbiased
//     variance var·N / (N - 1) (N must be > 1);
//   inference: the same with mean = running_mean, var = running_var; the
//     running statistics are left alone.
// save_mean and save_invstd receive the mean and invstd used (for backward).
template <class T>
void batch_norm_forward(const T* x, const T* gamma, const T* beta, T* running_mean, T* running_var, T* y,
                        T* save_mean, T* save_invstd, index_t n, index_t C, index_t S, double momentum,
                        double eps, bool training);

// x, dy, dx: (n, C, S); gamma, save_mean, save_invstd, dgamma, dbeta: (C,)
// With xhat = (x - mean)·invstd (save_mean, save_invstd of the forward pass):
//   dgamma += sum dy·xhat, dbeta += sum dy (each skipped when null);
//   training: dx = gamma·invstd·(dy - mean(dy) - xhat·mean(dy·xhat)), the
//     gradient through the batch statistics (means over each channel's N values);
//   inference: dx = gamma·invstd·dy.
// dx may be null (not wanted).
template <class T>
void batch_norm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean, const T* save_invstd,
                         T* dx, T* dgamma, T* dbeta, index_t n, index_t C, index_t S, bool training);

}  // namespace entrena
