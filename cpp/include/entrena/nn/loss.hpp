// Losses over a batch: value and gradient with respect to the prediction.
// A loss sees the prediction as rows of `width` values: for outputs of
// shape (n, ..., width) there are n·(product of the middle sizes) rows, so
// per-position losses (e.g. a class per timestep of (n, T, C)) average over
// every position. Targets are stored as T: either one value per row (class
// indices or binary labels; target width 1) or rows of the prediction's
// width (one-hot rows, probabilities, values). Formulas follow PyTorch's
// loss modules; see entrena/kernels/losses.hpp for each one.
#pragma once

#include <string>

#include "entrena/common.hpp"
#include "entrena/json.hpp"
#include "entrena/kernels/losses.hpp"

namespace entrena {

// "mean" | "sum"; ValueError otherwise.
Reduction reduction_from_name(const std::string& name);
std::string reduction_name(Reduction r);

// What a model's raw outputs are under a loss: plain values (regression),
// probabilities, logits (the loss applies softmax or sigmoid), or margins
// (hinge losses). Metrics read classes from them accordingly.
enum class OutputKind { Values, Probabilities, Logits, Margins };

template <class T>
class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;
  // The constructor arguments as a JSON object (what make_loss takes).
  virtual Json config() const { return Json::object({{"reduction", reduction_name(reduction())}}); }
  virtual OutputKind output_kind() const { return OutputKind::Values; }
  // For one output column: the output above which the predicted class is 1
  // (0 for logits and margins, 0.5 otherwise).
  double decision_threshold() const {
    const OutputKind k = output_kind();
    return k == OutputKind::Logits || k == OutputKind::Margins ? 0.0 : 0.5;
  }
  // p: (rows, width) = the outputs as probabilities where the loss gives
  // them a meaning (softmax or sigmoid of logits); a copy otherwise.
  virtual void probabilities(const T* out, T* p, index_t rows, index_t width) const;
  // pred: (rows, width); target: (rows, target_width); weight: (rows,) or
  // null. Returns the reduced loss: with weights, the weighted mean
  // sum_r w_r l_r / sum_r w_r (or the weighted sum); see kernels/losses.hpp.
  virtual T forward(const T* pred, const T* target, index_t n, index_t width,
                    index_t target_width, const T* weight = nullptr) = 0;
  // grad: (rows, width) = dL/dpred for the same arguments.
  virtual void backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                        index_t target_width, const T* weight = nullptr) = 0;
  // Throws ValueError when the target width does not fit the prediction width.
  virtual void check_target(index_t width, index_t target_width) const = 0;
  // Throws ValueError when a target value is not acceptable (e.g. a class
  // index out of range). Called once per fit/evaluate over all targets
  // (n = rows).
  virtual void check_target_values(const T* /*target*/, index_t /*n*/, index_t /*width*/,
                                   index_t /*target_width*/) const {}
  // How batch losses combine over a data set: "mean" losses give the mean
  // over all samples, "sum" losses the sum (whatever the batch size).
  virtual Reduction reduction() const { return Reduction::Mean; }
};

// Base of the element-wise losses: targets have the prediction's shape and
// "mean" averages over all n * width elements.
template <class T>
class ElementwiseLoss : public Loss<T> {
 public:
  explicit ElementwiseLoss(Reduction reduction) : red_(reduction) {}
  Reduction reduction() const override { return red_; }
  void check_target(index_t width, index_t target_width) const override;
  // Finite values (subclasses check their ranges too).
  void check_target_values(const T* target, index_t n, index_t width,
                           index_t target_width) const override;

 protected:
  Reduction red_;
};

// (pred - target)^2 (PyTorch MSELoss).
template <class T>
class MeanSquaredError : public ElementwiseLoss<T> {
 public:
  explicit MeanSquaredError(Reduction r = Reduction::Mean) : ElementwiseLoss<T>(r) {}
  std::string name() const override { return "mse"; }
  T forward(const T* pred, const T* target, index_t n, index_t width, index_t tw,
            const T* weight = nullptr) override;
  void backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                index_t tw, const T* weight = nullptr) override;
};

// (pred - target)^2 / 2: the textbook's error, whose gradient is pred - target.
template <class T>
class HalfMeanSquaredError : public ElementwiseLoss<T> {
 public:
  explicit HalfMeanSquaredError(Reduction r = Reduction::Mean) : ElementwiseLoss<T>(r) {}
  std::string name() const override { return "half_mse"; }
  T forward(const T* pred, const T* target, index_t n, index_t width, index_t tw,
            const T* weight = nullptr) override;
  void backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                index_t tw, const T* weight = nullptr) override;
};

// |pred - target| (PyTorch L1Loss).
template <class T>
class MeanAbsoluteError : public ElementwiseLoss<T> {
 public:
  explicit MeanAbsoluteError(Reduction r = Reduction::Mean) : ElementwiseLoss<T>(r) {}
  std::string name() const override { return "mae"; }
  T forward(const T* pred, const T* target, index_t n, index_t width, index_t tw,
            const T* weight = nullptr) override;
  void backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                index_t tw, const T* weight = nullptr) override;
};

// PyTorch HuberLoss(delta); delta > 0 (ValueError otherwise).
template <class T>
class Huber : public ElementwiseLoss<T> {
 public:
  explicit Huber(double delta = 1.0, Reduction r = Reduction::Mean);
  std::string name() const override { return "huber"; }
  Json config() const override;
  double delta() const { return delta_; }
  T forward(const T* pred, const T* target, index_t n, index_t width, index_t tw,
            const T* weight = nullptr) override;
  void backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                index_t tw, const T* weight = nullptr) override;

 private:
  double delta_;
};

// Binary cross-entropy on probabilities (PyTorch BCELoss). Targets in
// [0, 1]; predictions must be in [0, 1] (ValueError otherwise).
template <class T>
class BinaryCrossentropy : public ElementwiseLoss<T> {
 public:
  explicit BinaryCrossentropy(Reduction r = Reduction::Mean) : ElementwiseLoss<T>(r) {}
  std::string name() const override { return "binary_crossentropy"; }
  OutputKind output_kind() const override { return OutputKind::Probabilities; }
  void check_target_values(const T* target, index_t n, index_t width,
                           index_t target_width) const override;
  T forward(const T* pred, const T* target, index_t n, index_t width, index_t tw,
            const T* weight = nullptr) override;
  void backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                index_t tw, const T* weight = nullptr) override;
};

// Binary cross-entropy from logits (PyTorch BCEWithLogitsLoss). Targets in [0, 1].
template <class T>
class BinaryCrossentropyWithLogits : public ElementwiseLoss<T> {
 public:
  explicit BinaryCrossentropyWithLogits(Reduction r = Reduction::Mean) : ElementwiseLoss<T>(r) {}
  std::string name() const override { return "binary_crossentropy_with_logits"; }
  OutputKind output_kind() const override { return OutputKind::Logits; }
  void probabilities(const T* out, T* p, index_t rows, index_t width) const override;
  void check_target_values(const T* target, index_t n, index_t width,
                           index_t target_width) const override;
  T forward(const T* pred, const T* target, index_t n, index_t width, index_t tw,
            const T* weight = nullptr) override;
  void backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                index_t tw, const T* weight = nullptr) override;
};

// Binary hinge max(0, 1 - t pred) with targets in {-1, +1}.
template <class T>
class Hinge : public ElementwiseLoss<T> {
 public:
  explicit Hinge(Reduction r = Reduction::Mean) : ElementwiseLoss<T>(r) {}
  std::string name() const override { return "hinge"; }
  OutputKind output_kind() const override { return OutputKind::Margins; }
  void check_target_values(const T* target, index_t n, index_t width,
                           index_t target_width) const override;
  T forward(const T* pred, const T* target, index_t n, index_t width, index_t tw,
            const T* weight = nullptr) override;
  void backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                index_t tw, const T* weight = nullptr) override;
};

// Categorical cross-entropy from logits (softmax inside), PyTorch's
// CrossEntropyLoss: targets are class indices (width 1) or class
// probabilities (the prediction's width); optional label smoothing in
// [0, 1]; "mean" averages over rows.
template <class T>
class CategoricalCrossentropy : public Loss<T> {
 public:
  explicit CategoricalCrossentropy(double label_smoothing = 0.0, Reduction r = Reduction::Mean);
  std::string name() const override { return "categorical_crossentropy"; }
  Json config() const override;
  OutputKind output_kind() const override { return OutputKind::Logits; }
  void probabilities(const T* out, T* p, index_t rows, index_t width) const override;
  double label_smoothing() const { return smoothing_; }
  Reduction reduction() const override { return red_; }
  T forward(const T* pred, const T* target, index_t n, index_t width,
            index_t target_width, const T* weight = nullptr) override;
  void backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                index_t target_width, const T* weight = nullptr) override;
  void check_target(index_t width, index_t target_width) const override;
  void check_target_values(const T* target, index_t n, index_t width,
                           index_t target_width) const override;

 private:
  double smoothing_;
  Reduction red_;
};

// Multi-class hinge, PyTorch's MultiMarginLoss (p = 1): targets are class
// indices (width 1); "mean" averages over rows. margin > 0.
template <class T>
class MulticlassHinge : public Loss<T> {
 public:
  explicit MulticlassHinge(double margin = 1.0, Reduction r = Reduction::Mean);
  std::string name() const override { return "multiclass_hinge"; }
  Json config() const override;
  OutputKind output_kind() const override { return OutputKind::Margins; }
  double margin() const { return margin_; }
  Reduction reduction() const override { return red_; }
  T forward(const T* pred, const T* target, index_t n, index_t width,
            index_t target_width, const T* weight = nullptr) override;
  void backward(const T* pred, const T* target, T* grad, index_t n, index_t width,
                index_t target_width, const T* weight = nullptr) override;
  void check_target(index_t width, index_t target_width) const override;
  void check_target_values(const T* target, index_t n, index_t width,
                           index_t target_width) const override;

 private:
  double margin_;
  Reduction red_;
};

}  // namespace entrena
