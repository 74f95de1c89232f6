#include "entrena/nn/loss.hpp"

#include <cmath>

#include "entrena/kernels/activations.hpp"
#include "entrena/kernels/losses.hpp"
#include "entrena/nn/options.hpp"

namespace entrena {

Reduction reduction_from_name(const std::string& name) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  throw ValueError(cat("reduction: expected 'mean' or 'sum', got '", name, "'"));
}

std::string reduction_name(Reduction r) { return r == Reduction::Sum ? "sum" : "mean"; }

namespace {
// Throws unless every target value satisfies ok(v); `want` describes them.
template <class T, class Ok>
void check_values(const T* target, index_t count, index_t width, const char* loss,
                  const char* want, Ok ok) {
  for (index_t k = 0; k < count; ++k)
    if (!ok(target[k]))
      throw ValueError(cat("y: ", loss, " expected ", want, ", got ", target[k], " at row ",
                           k / (width > 0 ? width : 1)));
}

// Class indices: integral values in [0, c).
template <class T>
void check_class_indices(const T* target, index_t n, index_t c, const char* loss) {
  for (index_t i = 0; i < n; ++i) {
    const T v = target[i];
    if (!(v >= T(0) && v < static_cast<T>(c) && v == std::floor(v)))
      throw ValueError(cat("y: ", loss, " expected class indices in [0, ", c, "), got ", v,
                           " at row ", i));
  }
}
}  // namespace

template <class T>
void Loss<T>::probabilities(const T* out, T* p, index_t rows, index_t width) const {
  std::memcpy(p, out, static_cast<std::size_t>(rows * width) * sizeof(T));
}

// ------------------------------------------------------- element-wise base
template <class T>
void ElementwiseLoss<T>::check_target(index_t width, index_t target_width) const {
  if (target_width != width)
    throw ValueError(cat(this->name(), ": expected targets of the output's shape (n, ", width,
                         ")", width == 1 ? " or (n,)" : "", ", got targets of width ",
                         target_width));
}

template <class T>
void ElementwiseLoss<T>::check_target_values(const T* target, index_t n, index_t width,
                                             index_t target_width) const {
  check_target(width, target_width);
  const std::string nm = this->name();
  check_values(target, n * width, width, nm.c_str(), "finite values",
               [](T v) { return std::isfinite(v); });
}

#define ENTRENA_ELEMENTWISE(Class, kernel)                                                    \
  template <class T>                                                                          \
  T Class<T>::forward(const T* pred, const T* target, index_t n, index_t width, index_t tw, \
                      const T* weight) {                                                      \
    this->check_target(width, tw);                                                            \
    return kernel##_forward(pred, target, n * width, this->red_, weight, width);              \
  }                                                                                           \
  template <class T>                                                                          \
  void Class<T>::backward(const T* pred, const T* target, T* grad, index_t n, index_t width,  \
                          index_t tw, const T* weight) {                                      \
    this->check_target(width, tw);                                                            \
    kernel##_backward(pred, target, grad, n * width, this->red_, weight, width);              \
  }
ENTRENA_ELEMENTWISE(MeanSquaredError, mse)
ENTRENA_ELEMENTWISE(HalfMeanSquaredError, half_mse)
ENTRENA_ELEMENTWISE(MeanAbsoluteError, mae)
ENTRENA_ELEMENTWISE(BinaryCrossentropyWithLogits, binary_crossentropy_with_logits)
ENTRENA_ELEMENTWISE(Hinge, hinge)
#undef ENTRENA_ELEMENTWISE

// ----------------------------------------------------------------- Huber
template <class T>
Huber<T>::Huber(double delta, Reduction r)
    : ElementwiseLoss<T>(r), delta_(check_number("delta", delta, 0.0, HUGE_VAL, true)) {}

template <class T>
Json Huber<T>::config() const {
  return Json::object({{"delta", delta_}, {"reduction", reduction_name(this->red_)}});
}

template <class T>
T Huber<T>::forward(const T* pred, const T* target, index_t n, index_t width, index_t tw,
                    const T* weight) {
  this->check_target(width, tw);
  return huber_forward(pred, target, n * width, static_cast<T>(delta_), this->red_, weight, width);
}

template <class T>
void Huber<T>::backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                        index_t tw, const T* weight) {
  this->check_target(width, tw);
  huber_backward(pred, target, grad, n * width, static_cast<T>(delta_), this->red_, weight, width);
}

// ------------------------------------------------------------------- BCE
template <class T>
void BinaryCrossentropy<T>::check_target_values(const T* target, index_t n, index_t width,
                                                index_t target_width) const {
  this->check_target(width, target_width);
  check_values(target, n * width, width, "binary_crossentropy", "targets in [0, 1]",
               [](T v) { return v >= T(0) && v <= T(1); });
}

namespace {
// BCE needs probabilities; NaN passes (the loss is then NaN, as for any loss).
template <class T>
void check_probabilities(const T* p, index_t count, index_t width) {
  for (index_t k = 0; k < count; ++k)
    if (p[k] < T(0) || p[k] > T(1))
      throw ValueError(cat("output: binary_crossentropy expected probabilities in [0, 1] (e.g. a "
                           "sigmoid output), got ", p[k], " at row ", k / (width > 0 ? width : 1),
                           "; for raw scores use binary_crossentropy_with_logits"));
}
}  // namespace

template <class T>
T BinaryCrossentropy<T>::forward(const T* pred, const T* target, index_t n, index_t width,
                                 index_t tw, const T* weight) {
  this->check_target(width, tw);
  check_probabilities(pred, n * width, width);
  return binary_crossentropy_forward(pred, target, n * width, this->red_, weight, width);
}

template <class T>
void BinaryCrossentropy<T>::backward(const T* pred, const T* target, T* grad, index_t n,
                                     index_t width, index_t tw, const T* weight) {
  this->check_target(width, tw);
  check_probabilities(pred, n * width, width);
  binary_crossentropy_backward(pred, target, grad, n * width, this->red_, weight, width);
}

template <class T>
void BinaryCrossentropyWithLogits<T>::check_target_values(const T* target, index_t n,
                                                          index_t width,
                                                          index_t target_width) const {
  this->check_target(width, target_width);
  check_values(target, n * width, width, "binary_crossentropy_with_logits", "targets in [0, 1]",
               [](T v) { return v >= T(0) && v <= T(1); });
}

template <class T>
void BinaryCrossentropyWithLogits<T>::probabilities(const T* out, T* p, index_t rows, index_t width) const {
  sigmoid_forward(out, p, rows * width);
}

template <class T>
void Hinge<T>::check_target_values(const T* target, index_t n, index_t width,
                                   index_t target_width) const {
  this->check_target(width, target_width);
  check_values(target, n * width, width, "hinge", "targets -1 or +1",
               [](T v) { return v == T(-1) || v == T(1); });
}

// ---------------------------------------------------- CategoricalCrossentropy
template <class T>
CategoricalCrossentropy<T>::CategoricalCrossentropy(double label_smoothing, Reduction r)
    : smoothing_(check_number("label_smoothing", label_smoothing, 0.0, 1.0)), red_(r) {}

template <class T>
Json CategoricalCrossentropy<T>::config() const {
  return Json::object({{"label_smoothing", smoothing_}, {"reduction", reduction_name(red_)}});
}

template <class T>
void CategoricalCrossentropy<T>::probabilities(const T* out, T* p, index_t rows, index_t width) const {
  softmax_forward(out, p, rows, width);
}

template <class T>
void CategoricalCrossentropy<T>::check_target(index_t width, index_t target_width) const {
  if (target_width != 1 && target_width != width)
    throw ValueError(cat("categorical_crossentropy: expected class-index targets of shape (n,) "
                         "or probability rows of shape (n, ", width, "), got targets of width ",
                         target_width, " for ", width, " classes"));
}

template <class T>
void CategoricalCrossentropy<T>::check_target_values(const T* target, index_t n, index_t width,
                                                 index_t target_width) const {
  check_target(width, target_width);
  if (target_width == 1) {
    check_class_indices(target, n, width, "categorical_crossentropy");
  } else {
    check_values(target, n * width, width, "categorical_crossentropy",
                 "class probabilities in [0, 1]", [](T v) { return v >= T(0) && v <= T(1); });
  }
}

template <class T>
T CategoricalCrossentropy<T>::forward(const T* pred, const T* target, index_t n, index_t width,
                                  index_t target_width, const T* weight) {
  check_target(width, target_width);
  return categorical_crossentropy_forward(pred, target, n, width, target_width, static_cast<T>(smoothing_),
                               red_, weight);
}

template <class T>
void CategoricalCrossentropy<T>::backward(const T* pred, const T* target, T* grad, index_t n,
                                      index_t width, index_t target_width, const T* weight) {
  check_target(width, target_width);
  categorical_crossentropy_backward(pred, target, grad, n, width, target_width, static_cast<T>(smoothing_),
                         red_, weight);
}

// ------------------------------------------------------ MulticlassHinge
template <class T>
MulticlassHinge<T>::MulticlassHinge(double margin, Reduction r)
    : margin_(check_number("margin", margin, 0.0, HUGE_VAL, true)), red_(r) {}

template <class T>
Json MulticlassHinge<T>::config() const {
  return Json::object({{"margin", margin_}, {"reduction", reduction_name(red_)}});
}

template <class T>
void MulticlassHinge<T>::check_target(index_t width, index_t target_width) const {
  if (target_width != 1)
    throw ValueError(cat("multiclass_hinge: expected class-index targets of shape (n,), got "
                         "targets of width ", target_width, " for ", width, " classes"));
}

template <class T>
void MulticlassHinge<T>::check_target_values(const T* target, index_t n, index_t width,
                                              index_t target_width) const {
  check_target(width, target_width);
  check_class_indices(target, n, width, "multiclass_hinge");
}

template <class T>
T MulticlassHinge<T>::forward(const T* pred, const T* target, index_t n, index_t width,
                               index_t target_width, const T* weight) {
  check_target(width, target_width);
  return multiclass_hinge_forward(pred, target, n, width, static_cast<T>(margin_), red_, weight);
}

template <class T>
void MulticlassHinge<T>::backward(const T* pred, const T* target, T* grad, index_t n,
                                   index_t width, index_t target_width, const T* weight) {
  check_target(width, target_width);
  multiclass_hinge_backward(pred, target, grad, n, width, static_cast<T>(margin_), red_, weight);
}

#define ENTRENA_INSTANTIATE(T)                     \
  template class Loss<T>;                          \
  template class ElementwiseLoss<T>;               \
  template class MeanSquaredError<T>;              \
  template class HalfMeanSquaredError<T>;          \
  template class MeanAbsoluteError<T>;             \
  template class Huber<T>;                         \
  template class BinaryCrossentropy<T>;            \
  template class BinaryCrossentropyWithLogits<T>;  \
  template class Hinge<T>;                         \
  template class CategoricalCrossentropy<T>;           \
  template class MulticlassHinge<T>;
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
