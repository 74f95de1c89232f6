// Reshape: (n, *input_shape) -> (n, *target_shape).
#pragma once

#include "entrena/nn/flatten.hpp"

namespace entrena {

// The per-sample shape becomes target_shape (the same elements in the same
// row-major order; data is not moved). One size may be -1: it is what the
// others leave. The element counts must match.
//
// Config: {"target_shape": an integer or an array of integers >= 1, one of
// them may be -1}. The config written has an array.
template <class T>
class Reshape : public ShapeOnlyLayer<T> {
 public:
  explicit Reshape(Shape target_shape);
  static std::unique_ptr<Layer<T>> from_config(Options& o);
  std::string kind() const override { return "Reshape"; }
  Json args() const override;
  Shape build(const Shape& input_shape) override;
  const Shape& target_shape() const { return target_; }

 private:
  Shape target_;
};

}  // namespace entrena
