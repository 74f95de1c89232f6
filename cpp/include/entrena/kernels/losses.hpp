// Loss kernels: the reduced loss value and its gradient with respect to the
// prediction. Formulas and reductions follow PyTorch's loss modules.
//
// Element-wise losses see pred and target as flat arrays of n elements
// (the same shape); their "mean" is over all n elements. Row-wise losses
// (categorical_crossentropy, multiclass_hinge) see (rows, classes) and their "mean" is over
// the rows. "sum" adds everything up. Forward sums run in index order in a
// double accumulator, so values do not depend on the thread count.
// Gradients are of the reduced loss (they include the 1/n of the mean).
//
// Weights (sample_weight, class_weight): every kernel takes an optional
// weight per row, w: (rows,) or null (every weight 1). Element-wise kernels
// see their n elements as rows of `width` (n / width rows; element k has the
// weight of row k / width). The reduced loss is then a weighted mean,
//   mean: sum_r w_r l_r / (width sum_r w_r)   (0 when every weight is 0)
//   sum:  sum_r w_r l_r
// with l_r the sum of row r's element losses (PyTorch's CrossEntropyLoss
// with class weights divides the same way). All weights 1 give bitwise the
// unweighted values.
//
// The kernels trust their inputs (e.g. class indices in range); the nn loss
// classes and the Python bindings check them first.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

enum class Reduction : int { Mean = 0, Sum = 1 };

// pred, target: (n,); L = red (pred - target)^2
template <class T>
T mse_forward(const T* pred, const T* target, index_t n, Reduction red,
              const T* weight = nullptr, index_t width = 1);
// grad: (n,) = 2 (pred - target) s, s = 1/n (mean) or 1 (sum)
template <class T>
void mse_backward(const T* pred, const T* target, T* grad, index_t n, Reduction red,
              const T* weight = nullptr, index_t width = 1);

// pred, target: (n,); L = red (pred - target)^2 / 2  (the textbook's error E)
template <class T>
T half_mse_forward(const T* pred, const T* target, index_t n, Reduction red,
              const T* weight = nullptr, index_t width = 1);
// grad: (n,) = (pred - target) s
template <class T>
void half_mse_backward(const T* pred, const T* target, T* grad, index_t n, Reduction red,
              const T* weight = nullptr, index_t width = 1);

// pred, target: (n,); L = red |pred - target|
template <class T>
T mae_forward(const T* pred, const T* target, index_t n, Reduction red,
              const T* weight = nullptr, index_t width = 1);
// grad: (n,) = sign(pred - target) s  (0 where equal)
template <class T>
void mae_backward(const T* pred, const T* target, T* grad, index_t n, Reduction red,
              const T* weight = nullptr, index_t width = 1);

// pred, target: (n,); d = pred - target;
// L = red (d^2 / 2 if |d| < delta else delta (|d| - delta / 2))   (PyTorch HuberLoss)
template <class T>
T huber_forward(const T* pred, const T* target, index_t n, T delta, Reduction red,
              const T* weight = nullptr, index_t width = 1);
// grad: (n,) = clamp(d, -delta, delta) s
template <class T>
void huber_backward(const T* pred, const T* target, T* grad, index_t n, T delta, Reduction red,
              const T* weight = nullptr, index_t width = 1);

// prob, target: (n,), prob in [0, 1];
// L = red -(t max(log p, -100) + (1 - t) max(log(1 - p), -100))   (PyTorch BCELoss)
template <class T>
T binary_crossentropy_forward(const T* prob, const T* target, index_t n, Reduction red,
              const T* weight = nullptr, index_t width = 1);
// grad: (n,) = (p - t) / max(p (1 - p), 1e-12) s   (PyTorch's clamp of the denominator)
template <class T>
void binary_crossentropy_backward(const T* prob, const T* target, T* grad, index_t n, Reduction red,
              const T* weight = nullptr, index_t width = 1);

// logits, target: (n,);
// L = red (max(z, 0) - z t + log(1 + e^-|z|))   (PyTorch BCEWithLogitsLoss, stable)
template <class T>
T binary_crossentropy_with_logits_forward(const T* logits, const T* target, index_t n, Reduction red,
              const T* weight = nullptr, index_t width = 1);
// grad: (n,) = (sigmoid(z) - t) s
template <class T>
void binary_crossentropy_with_logits_backward(const T* logits, const T* target, T* grad, index_t n,
                              Reduction red,
              const T* weight = nullptr, index_t width = 1);

// pred, target: (n,), target in {-1, +1}; L = red max(0, 1 - t pred)
template <class T>
T hinge_forward(const T* pred, const T* target, index_t n, Reduction red,
              const T* weight = nullptr, index_t width = 1);
// grad: (n,) = -t s where 1 - t pred > 0, else 0
template <class T>
void hinge_backward(const T* pred, const T* target, T* grad, index_t n, Reduction red,
              const T* weight = nullptr, index_t width = 1);

// Categorical cross-entropy from logits (softmax inside), PyTorch's
// CrossEntropyLoss. logits: (rows, c); target: (rows,) class indices
// (target_width 1) or (rows, c) class probabilities (target_width c).
// With label smoothing e the target distribution is q = (1 - e) t + e / c
// (t one-hot for indices). L_i = -sum_j q_ij log softmax(z_i)_j;
// L = mean_i L_i (over rows) or sum_i L_i.
template <class T>
T categorical_crossentropy_forward(const T* logits, const T* target, index_t rows, index_t c,
                        index_t target_width, T label_smoothing, Reduction red,
                        const T* weight = nullptr);
// grad: (rows, c) = (softmax(z_i) sum_j q_ij - q_i) w_i s, s = 1/sum w or 1
template <class T>
void categorical_crossentropy_backward(const T* logits, const T* target, T* grad, index_t rows, index_t c,
                            index_t target_width, T label_smoothing, Reduction red,
                        const T* weight = nullptr);

// Multi-class hinge, PyTorch's MultiMarginLoss (p = 1, no class weights) -- not
// Crammer-Singer's max over classes: every wrong class that comes within
// `margin` of the true one adds to the loss.
// scores: (rows, c), labels: (rows,) class indices;
// L_i = sum_{j != y_i} max(0, margin - z_{i,y_i} + z_ij) / c; L = mean_i L_i or sum_i L_i
template <class T>
T multiclass_hinge_forward(const T* scores, const T* labels, index_t rows, index_t c, T margin,
                       Reduction red, const T* weight = nullptr);
// grad: (rows, c): +s/c at each active j != y_i, -(number active) s/c at y_i
template <class T>
void multiclass_hinge_backward(const T* scores, const T* labels, T* grad, index_t rows, index_t c,
                           T margin, Reduction red, const T* weight = nullptr);

}  // namespace entrena
