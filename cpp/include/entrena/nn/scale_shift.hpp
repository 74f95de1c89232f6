// The optional per-channel scale gamma (init 1) and shift beta (init 0) of
// the normalization layers (BatchNormalization, LayerNormalization):
// their tensor specs, where they live and their initial values.
#pragma once

#include <vector>

#include "entrena/nn/layer.hpp"

namespace entrena {

template <class T>
struct ScaleShift {
  bool scale = true, center = true;  // whether gamma, beta exist
  T *gamma = nullptr, *beta = nullptr, *dgamma = nullptr, *dbeta = nullptr;

  // {"gamma", {size}} and {"beta", {size}}, those that exist, in that order.
  std::vector<TensorSpec> specs(index_t size) const {
    std::vector<TensorSpec> s;
    if (scale) s.push_back({"gamma", {size}});
    if (center) s.push_back({"beta", {size}});
    return s;
  }
  // The tensors of specs(), the first of the layer's parameters.
  void bind(const TensorPointers<T>& t) {
    std::size_t k = 0;
    if (scale) {
      gamma = t.params[k];
      dgamma = t.grads[k++];
    }
    if (center) {
      beta = t.params[k];
      dbeta = t.grads[k];
    }
  }
  void init(index_t size) {
    for (index_t j = 0; j < size; ++j) {
      if (gamma) gamma[j] = T(1);
      if (beta) beta[j] = T(0);
    }
  }
};

}  // namespace entrena
