// Embedding lookup: integer ids (stored as T) -> rows of a table.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// ids: (count,) values that must be integers in [0, V) (ValueError naming the
// first bad one otherwise; nothing is written then). W: (V, D), y: (count, D)
// = W[ids].
template <class T>
void embedding_forward(const T* ids, const T* W, T* y, index_t count, index_t V, index_t D);

// The same check alone.
template <class T>
void embedding_check_ids(const T* ids, index_t count, index_t V);

// dW: (V, D) += the rows of dy (count, D) added at their ids, in the order of
// the ids (the same for any thread count: threads split D); the row
// padding_idx (if >= 0) gets nothing, as in PyTorch.
template <class T>
void embedding_backward(const T* ids, const T* dy, T* dW, index_t count, index_t V, index_t D,
                        index_t padding_idx = -1);

}  // namespace entrena
