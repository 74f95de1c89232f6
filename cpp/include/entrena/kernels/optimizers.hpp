// Optimizer steps over a flat parameter buffer: one fused loop each.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// Plain SGD with optional (coupled) weight decay, PyTorch's torch.optim.SGD
// with momentum = 0:   g = grad + weight_decay * p;   p = p - lr * g
// p: (n,), grad: (n,)
template <class T>
void sgd_step(T* p, const T* grad, index_t n, T lr, T weight_decay);

}  // namespace entrena
