// Loss kernels: value and gradient with respect to the prediction.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// Categorical cross-entropy from logits with class-index targets.
// logits: (n, c), labels: (n,) class indices stored as T (0 <= label < c).
// Returns the mean over the n rows of -log softmax(logits)[label].
template <class T>
T softmax_cross_entropy_forward(const T* logits, const T* labels, index_t n, index_t c);
// grad: (n, c) = (softmax(logits) - onehot(labels)) * scale (scale = 1/n for the mean).
template <class T>
void softmax_cross_entropy_backward(const T* logits, const T* labels, T* grad, index_t n,
                                    index_t c, T scale);

}  // namespace entrena
