// Feature standardization kernels (the Normalization layer): statistics of
// a data set per feature, and y = (x - mean) / std.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// x: (rows, features); mean, var: (features,) in double.
// mean_j = sum_i x_ij / rows; var_j = sum_i (x_ij - mean_j)^2 / rows (the
// population variance, two passes). Each column adds its rows in ascending
// order: the same result for any thread count.
template <class T>
void feature_moments(const T* x, index_t rows, index_t features, double* mean, double* var);

// x: (rows, features), mean, var: (features,), y: (rows, features)
// y_ij = (x_ij - mean_j) / max(sqrt(var_j), eps)
template <class T>
void standardize_forward(const T* x, const T* mean, const T* var, T* y, index_t rows, index_t features,
                         T eps);
// var: (features,), dy, dx: (rows, features); dx_ij = dy_ij / max(sqrt(var_j), eps)
template <class T>
void standardize_backward(const T* var, const T* dy, T* dx, index_t rows, index_t features, T eps);

}  // namespace entrena
