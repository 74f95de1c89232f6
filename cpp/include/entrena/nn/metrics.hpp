// Metrics reported by fit and evaluate, accumulated batch by batch from the
// outputs the training or evaluation pass computes anyway (no second pass
// over the data). Values accumulate in double in batch order, so a metric
// over a data set does not depend on the batch size or the thread count,
// except for the running training values, which are averages over the
// batches of an epoch as the parameters change (as Keras reports them).
//
// Metrics read the raw outputs as the loss says (Loss::output_kind):
//  - the predicted class of an output row is its argmax when it has more
//    than one column, else 1 when the output is above the loss's decision
//    threshold (0 for logits and margins, 0.5 otherwise);
//  - the true class of a target row is the class index (one target per
//    row), the argmax of a one-hot or probability row, or for one column
//    1 when the target is above 0.5 (0/1 and -1/+1 labels alike);
//  - value metrics (mse, mae, r2) compare the loss's probabilities of the
//    outputs (Loss::probabilities) with targets of the output's shape
//    (not for margins: the outputs of hinge losses).
// Rows are as the loss sees them: outputs (n, ..., C) give n·(...) rows.
// The NumPy functions of entrena.metrics compute the same values.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "entrena/common.hpp"
#include "entrena/nn/loss.hpp"
#include "entrena/nn/options.hpp"

namespace entrena {

template <class T>
class Metric {
 public:
  virtual ~Metric() = default;
  // The canonical name (metric_names()).
  virtual std::string name() const = 0;
  // Whether a larger value is better (early stopping's mode "auto").
  virtual bool higher_is_better() const = 0;
  // ValueError when the metric does not apply to outputs of `width`
  // columns and targets of `target_width` under `loss`.
  virtual void check(index_t width, index_t target_width, const Loss<T>& loss) const;
  virtual void reset() = 0;
  // out: (rows, width) raw outputs; target: (rows, target_width) as the loss takes them.
  virtual void update(const T* out, const T* target, index_t rows, index_t width, index_t target_width,
                      const Loss<T>& loss) = 0;
  // The value over everything since reset (NaN before any update).
  virtual double result() const = 0;
  // A new metric of the same kind, reset.
  virtual std::unique_ptr<Metric<T>> fresh() const = 0;
  // Data-parallel training reports a training metric over every rank's
  // samples: each rank's accumulated state as numbers (state), merged into
  // a reset metric in rank order (merge, given another metric's state()).
  // The built-in metrics and FunctionMetric have them (mergeable); a metric
  // without them keeps each rank's own value.
  virtual bool mergeable() const { return false; }
  virtual std::vector<double> state() const { return {}; }
  virtual void merge(const double* /*state*/, std::size_t /*size*/) {}
};

// accuracy (alias acc), binary_accuracy, precision, recall, f1 (macro
// averages over the classes that occur), mse (mean_squared_error), mae
// (mean_absolute_error), r2, balanced_accuracy (the mean recall over the
// classes among the targets), top_k_accuracy (k = 5; top_<k>_accuracy for
// another k: the true class among the k highest outputs), log_loss (of the
// probabilities, clipped to [1e-15, 1 - 1e-15]), roc_auc (alias auc: binary,
// or one class against the rest averaged over the classes).
const NameTable& metric_names();
template <class T>
std::unique_ptr<Metric<T>> make_metric(const std::string& name);

// A metric computed by a function per batch (e.g. a Python callable): the
// batch values are averaged, weighted by the batch's rows.
template <class T>
class FunctionMetric : public Metric<T> {
 public:
  using Fn = std::function<double(const T* out, const T* target, index_t rows, index_t width,
                                  index_t target_width)>;
  FunctionMetric(std::string name, Fn fn, bool higher_is_better);
  std::string name() const override { return name_; }
  bool higher_is_better() const override { return higher_; }
  void check(index_t, index_t, const Loss<T>&) const override {}
  void reset() override { sum_ = 0.0, count_ = 0.0; }
  void update(const T* out, const T* target, index_t rows, index_t width, index_t target_width,
              const Loss<T>& loss) override;
  double result() const override;
  std::unique_ptr<Metric<T>> fresh() const override;
  bool mergeable() const override { return true; }
  std::vector<double> state() const override { return {sum_, count_}; }
  void merge(const double* s, std::size_t size) override;

 private:
  std::string name_;
  Fn fn_;
  bool higher_;
  double sum_ = 0.0, count_ = 0.0;
};

}  // namespace entrena
