// Losses over a batch: value and gradient with respect to the prediction.
// Targets are stored as T: either class indices (one value per row) or a
// tensor of the prediction's width (one-hot rows, probabilities, values).
#pragma once

#include <string>

#include "entrena/common.hpp"

namespace entrena {

template <class T>
class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;
  // pred: (n, width); target: (n, target_width). Returns the reduced loss.
  virtual T forward(const T* pred, const T* target, index_t n, index_t width,
                    index_t target_width) = 0;
  // grad: (n, width) = dL/dpred for the same arguments.
  virtual void backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                        index_t target_width) = 0;
  // Throws ValueError when the target width does not fit the prediction width.
  virtual void check_target(index_t width, index_t target_width) const = 0;
  // Throws ValueError when a target value is not acceptable (e.g. a class
  // index out of range). Called once per fit/evaluate over all targets.
  virtual void check_target_values(const T* /*target*/, index_t /*n*/, index_t /*width*/,
                                   index_t /*target_width*/) const {}
};

// Categorical cross-entropy from logits (softmax inside), mean over rows.
template <class T>
class SoftmaxCrossEntropy : public Loss<T> {
 public:
  std::string name() const override { return "categorical_crossentropy"; }
  T forward(const T* pred, const T* target, index_t n, index_t width,
            index_t target_width) override;
  void backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                index_t target_width) override;
  void check_target(index_t width, index_t target_width) const override;
  void check_target_values(const T* target, index_t n, index_t width,
                           index_t target_width) const override;
};

}  // namespace entrena
