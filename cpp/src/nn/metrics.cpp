#include "entrena/nn/metrics.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <utility>

namespace entrena {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The class of output row r (see the header).
template <class T>
index_t predicted_class(const T* row, index_t width, double threshold) {
  if (width == 1) return static_cast<double>(row[0]) > threshold ? 1 : 0;
  index_t best = 0;
  for (index_t j = 1; j < width; ++j)
    if (row[j] > row[best]) best = j;
  return best;
}

// The class of target row r.
template <class T>
index_t true_class(const T* row, index_t width, index_t target_width) {
  if (width == 1) return row[0] > T(0.5) ? 1 : 0;
  if (target_width == 1) return static_cast<index_t>(row[0]);
  index_t best = 0;
  for (index_t j = 1; j < target_width; ++j)
    if (row[j] > row[best]) best = j;
  return best;
}

// Metrics that need targets of the output's shape.
template <class T>
void check_same_width(const std::string& name, index_t width, index_t target_width) {
  if (target_width != width)
    throw ValueError(cat("metrics: ", name, " expected targets of the output's shape (", width,
                         " per row), got ", target_width, " per row (class indices?)"));
}

// Adds a state of sums (Metric::state of a metric of the same kind) to the
// fields it holds, in order; an empty state adds nothing.
template <class... F>
void merge_sums(const std::string& who, const double* s, std::size_t size, F&... fields) {
  if (size == 0) return;
  if (size != sizeof...(F))
    throw ValueError(cat("metrics: ", who, ": cannot merge a state of ", size, " numbers into one of ", sizeof...(F)));
  std::size_t k = 0;
  ((fields += static_cast<F>(s[k++])), ...);
}

// ---------------------------------------------------------------- classes
template <class T>
class Accuracy : public Metric<T> {
 public:
  std::string name() const override { return "accuracy"; }
  bool higher_is_better() const override { return true; }
  void reset() override { correct_ = total_ = 0; }
  void update(const T* out, const T* target, index_t rows, index_t width, index_t tw,
              const Loss<T>& loss) override {
    const double thr = loss.decision_threshold();
    for (index_t r = 0; r < rows; ++r)
      correct_ += predicted_class(out + r * width, width, thr) == true_class(target + r * tw, width, tw) ? 1 : 0;
    total_ += rows;
  }
  double result() const override { return total_ ? static_cast<double>(correct_) / static_cast<double>(total_) : kNaN; }
  std::unique_ptr<Metric<T>> fresh() const override { return std::make_unique<Accuracy<T>>(); }
  bool mergeable() const override { return true; }
  std::vector<double> state() const override { return {static_cast<double>(correct_), static_cast<double>(total_)}; }
  void merge(const double* s, std::size_t size) override { merge_sums(this->name(), s, size, correct_, total_); }

 private:
  index_t correct_ = 0, total_ = 0;
};

// Precision, recall and F1 from per-class counts, macro-averaged over the
// classes that occur (as predictions or as targets).
template <class T>
class ClassCounts : public Metric<T> {
 public:
  enum class Kind { Precision, Recall, F1, Balanced };
  explicit ClassCounts(Kind k) : kind_(k) {}
  std::string name() const override {
    return kind_ == Kind::Precision ? "precision"
           : kind_ == Kind::Recall  ? "recall"
           : kind_ == Kind::F1      ? "f1"
                                    : "balanced_accuracy";
  }
  bool higher_is_better() const override { return true; }
  void reset() override { tp_.clear(), predicted_.clear(), actual_.clear(); }
  void update(const T* out, const T* target, index_t rows, index_t width, index_t tw,
              const Loss<T>& loss) override {
    const std::size_t k = static_cast<std::size_t>(width > 1 ? width : 2);
    if (tp_.size() != k) tp_.assign(k, 0), predicted_.assign(k, 0), actual_.assign(k, 0);
    const double thr = loss.decision_threshold();
    for (index_t r = 0; r < rows; ++r) {
      const auto p = static_cast<std::size_t>(predicted_class(out + r * width, width, thr));
      const auto t = static_cast<std::size_t>(true_class(target + r * tw, width, tw));
      predicted_[p] += 1;
      actual_[t] += 1;
      if (p == t) tp_[p] += 1;
    }
  }
  double result() const override {
    double sum = 0.0;
    index_t present = 0;
    if (kind_ == Kind::Balanced) {
      // The mean recall over the classes among the targets (scikit-learn's
      // balanced_accuracy_score).
      for (std::size_t c = 0; c < tp_.size(); ++c) {
        if (actual_[c] == 0) continue;
        ++present;
        sum += static_cast<double>(tp_[c]) / static_cast<double>(actual_[c]);
      }
      return present ? sum / static_cast<double>(present) : kNaN;
    }
    for (std::size_t c = 0; c < tp_.size(); ++c) {
      if (predicted_[c] + actual_[c] == 0) continue;
      ++present;
      const double tp = static_cast<double>(tp_[c]);
      const double den = kind_ == Kind::Precision ? static_cast<double>(predicted_[c])
                         : kind_ == Kind::Recall  ? static_cast<double>(actual_[c])
                                                  : static_cast<double>(predicted_[c] + actual_[c]);
      const double num = kind_ == Kind::F1 ? 2.0 * tp : tp;
      sum += den > 0 ? num / den : 0.0;
    }
    return present ? sum / static_cast<double>(present) : kNaN;
  }
  std::unique_ptr<Metric<T>> fresh() const override { return std::make_unique<ClassCounts<T>>(kind_); }
  // tp, predicted and actual per class (nothing before the first update).
  bool mergeable() const override { return true; }
  std::vector<double> state() const override {
    std::vector<double> v;
    for (const auto* counts : {&tp_, &predicted_, &actual_})
      for (index_t c : *counts) v.push_back(static_cast<double>(c));
    return v;
  }
  void merge(const double* s, std::size_t size) override {
    if (size == 0) return;
    const std::size_t k = size / 3;
    if (size != 3 * k || (!tp_.empty() && tp_.size() != k))
      throw ValueError(cat("metrics: ", name(), ": cannot merge a state of ", size, " numbers into one of ",
                           3 * tp_.size()));
    if (tp_.empty()) tp_.assign(k, 0), predicted_.assign(k, 0), actual_.assign(k, 0);
    for (std::size_t c = 0; c < k; ++c) {
      tp_[c] += static_cast<index_t>(s[c]);
      predicted_[c] += static_cast<index_t>(s[k + c]);
      actual_[c] += static_cast<index_t>(s[2 * k + c]);
    }
  }

 private:
  Kind kind_;
  std::vector<index_t> tp_, predicted_, actual_;
};

// ----------------------------------------------------------------- values
// Base of the metrics over the loss's probabilities of the outputs.
template <class T>
class ValueMetric : public Metric<T> {
 public:
  void check(index_t width, index_t tw, const Loss<T>& loss) const override {
    if (loss.output_kind() == OutputKind::Margins)
      throw ValueError(cat("metrics: ", this->name(), " compares outputs with targets, but the outputs of ", loss.name(),
                           " are margins; use accuracy, precision, recall or f1"));
    check_same_width<T>(this->name(), width, tw);
  }
  void update(const T* out, const T* target, index_t rows, index_t width, index_t,
              const Loss<T>& loss) override {
    const T* p = out;
    if (loss.output_kind() == OutputKind::Logits) {
      scratch_.reserve_at_least(rows * width);
      loss.probabilities(out, scratch_.data(), rows, width);
      p = scratch_.data();
    }
    add(p, target, rows, width);
  }

 protected:
  virtual void add(const T* p, const T* target, index_t rows, index_t width) = 0;

 private:
  AlignedBuffer<T> scratch_;
};

// Element-wise: (probability > 0.5, or margin > 0) == (target > 0.5).
template <class T>
class BinaryAccuracy : public ValueMetric<T> {
 public:
  std::string name() const override { return "binary_accuracy"; }
  bool higher_is_better() const override { return true; }
  void check(index_t width, index_t tw, const Loss<T>&) const override { check_same_width<T>(name(), width, tw); }
  void reset() override { correct_ = total_ = 0; }
  double result() const override { return total_ ? static_cast<double>(correct_) / static_cast<double>(total_) : kNaN; }
  std::unique_ptr<Metric<T>> fresh() const override { return std::make_unique<BinaryAccuracy<T>>(); }
  void update(const T* out, const T* target, index_t rows, index_t width, index_t tw,
              const Loss<T>& loss) override {
    threshold_ = static_cast<T>(loss.output_kind() == OutputKind::Margins ? 0.0 : 0.5);
    ValueMetric<T>::update(out, target, rows, width, tw, loss);
  }
  bool mergeable() const override { return true; }
  std::vector<double> state() const override { return {static_cast<double>(correct_), static_cast<double>(total_)}; }
  void merge(const double* s, std::size_t size) override { merge_sums(this->name(), s, size, correct_, total_); }

 protected:
  void add(const T* p, const T* target, index_t rows, index_t width) override {
    const index_t count = rows * width;
    for (index_t k = 0; k < count; ++k) correct_ += (p[k] > threshold_) == (target[k] > T(0.5)) ? 1 : 0;
    total_ += count;
  }

 private:
  index_t correct_ = 0, total_ = 0;
  T threshold_ = T(0.5);
};

template <class T>
class MeanError : public ValueMetric<T> {
 public:
  explicit MeanError(bool squared) : squared_(squared) {}
  std::string name() const override { return squared_ ? "mse" : "mae"; }
  bool higher_is_better() const override { return false; }
  void reset() override { sum_ = 0.0, count_ = 0; }
  double result() const override { return count_ ? sum_ / static_cast<double>(count_) : kNaN; }
  std::unique_ptr<Metric<T>> fresh() const override { return std::make_unique<MeanError<T>>(squared_); }
  bool mergeable() const override { return true; }
  std::vector<double> state() const override { return {static_cast<double>(sum_), static_cast<double>(count_)}; }
  void merge(const double* s, std::size_t size) override { merge_sums(this->name(), s, size, sum_, count_); }

 protected:
  void add(const T* p, const T* target, index_t rows, index_t width) override {
    const index_t count = rows * width;
    for (index_t k = 0; k < count; ++k) {
      const double d = static_cast<double>(p[k]) - static_cast<double>(target[k]);
      sum_ += squared_ ? d * d : std::fabs(d);
    }
    count_ += count;
  }

 private:
  bool squared_;
  double sum_ = 0.0;
  index_t count_ = 0;
};

// 1 - SS_res / SS_tot per column, averaged over the columns; a constant
// target column scores 1 if predicted exactly, else 0. The targets' mean
// and sum of squared deviations merge batch by batch (Chan et al.).
template <class T>
class R2 : public ValueMetric<T> {
 public:
  std::string name() const override { return "r2"; }
  bool higher_is_better() const override { return true; }
  void reset() override { n_ = 0, mean_.clear(), m2_.clear(), res_.clear(); }
  double result() const override {
    if (n_ < 2) return kNaN;
    double total = 0.0;
    for (std::size_t j = 0; j < mean_.size(); ++j)
      total += m2_[j] > 0 ? 1.0 - res_[j] / m2_[j] : (res_[j] == 0.0 ? 1.0 : 0.0);
    return total / static_cast<double>(mean_.size());
  }
  std::unique_ptr<Metric<T>> fresh() const override { return std::make_unique<R2<T>>(); }
  // n, then every column's mean, sum of squared deviations and residual
  // sum; merged as batches are (Chan et al.).
  bool mergeable() const override { return true; }
  std::vector<double> state() const override {
    std::vector<double> v{static_cast<double>(n_)};
    for (const auto* col : {&mean_, &m2_, &res_}) v.insert(v.end(), col->begin(), col->end());
    return v;
  }
  void merge(const double* s, std::size_t size) override {
    if (size == 0 || s[0] == 0.0) return;
    const std::size_t w = (size - 1) / 3;
    if (size != 3 * w + 1 || (n_ > 0 && w != mean_.size()))
      throw ValueError(cat("metrics: r2: cannot merge a state of ", size, " numbers into one of ",
                           3 * mean_.size() + 1));
    if (n_ == 0) mean_.assign(w, 0.0), m2_.assign(w, 0.0), res_.assign(w, 0.0);
    const double na = static_cast<double>(n_), nb = s[0], n = na + nb;
    for (std::size_t j = 0; j < w; ++j) {
      const double delta = s[1 + j] - mean_[j];
      mean_[j] += delta * nb / n;
      m2_[j] += s[1 + w + j] + delta * delta * na * nb / n;
      res_[j] += s[1 + 2 * w + j];
    }
    n_ += static_cast<index_t>(nb);
  }

 protected:
  void add(const T* p, const T* target, index_t rows, index_t width) override {
    const std::size_t w = static_cast<std::size_t>(width);
    if (mean_.size() != w) mean_.assign(w, 0.0), m2_.assign(w, 0.0), res_.assign(w, 0.0);
    for (std::size_t j = 0; j < w; ++j) {
      double s = 0.0;
      for (index_t r = 0; r < rows; ++r) s += static_cast<double>(target[r * width + static_cast<index_t>(j)]);
      const double bmean = s / static_cast<double>(rows);
      double bm2 = 0.0, res = 0.0;
      for (index_t r = 0; r < rows; ++r) {
        const double t = static_cast<double>(target[r * width + static_cast<index_t>(j)]);
        const double e = t - static_cast<double>(p[r * width + static_cast<index_t>(j)]);
        bm2 += (t - bmean) * (t - bmean);
        res += e * e;
      }
      const double na = static_cast<double>(n_), nb = static_cast<double>(rows), n = na + nb;
      const double delta = bmean - mean_[j];
      mean_[j] += delta * nb / n;
      m2_[j] += bm2 + delta * delta * na * nb / n;
      res_[j] += res;
    }
    n_ += rows;
  }

 private:
  index_t n_ = 0;
  std::vector<double> mean_, m2_, res_;
};

// ------------------------------------------------------ ranking metrics
// The fraction of rows whose true class is among the k highest outputs:
// fewer than k classes score strictly higher than it.
template <class T>
class TopKAccuracy : public Metric<T> {
 public:
  explicit TopKAccuracy(index_t k) : k_(k) {}
  std::string name() const override { return k_ == 5 ? "top_k_accuracy" : cat("top_", k_, "_accuracy"); }
  bool higher_is_better() const override { return true; }
  void check(index_t width, index_t, const Loss<T>&) const override {
    if (width < 2)
      throw ValueError(cat("metrics: ", name(), " expected outputs of one column per class, got ", width,
                           " column(s)"));
  }
  void reset() override { correct_ = total_ = 0; }
  void update(const T* out, const T* target, index_t rows, index_t width, index_t tw, const Loss<T>&) override {
    for (index_t r = 0; r < rows; ++r) {
      const T* row = out + r * width;
      const index_t t = true_class(target + r * tw, width, tw);
      index_t above = 0;
      for (index_t j = 0; j < width; ++j) above += row[j] > row[t] ? 1 : 0;
      correct_ += above < k_ ? 1 : 0;
    }
    total_ += rows;
  }
  double result() const override { return total_ ? static_cast<double>(correct_) / static_cast<double>(total_) : kNaN; }
  std::unique_ptr<Metric<T>> fresh() const override { return std::make_unique<TopKAccuracy<T>>(k_); }
  bool mergeable() const override { return true; }
  std::vector<double> state() const override { return {static_cast<double>(correct_), static_cast<double>(total_)}; }
  void merge(const double* s, std::size_t size) override { merge_sums(this->name(), s, size, correct_, total_); }

 private:
  index_t k_, correct_ = 0, total_ = 0;
};

// Base of the metrics that read the loss's probabilities of the outputs
// against the true classes.
template <class T>
class ProbabilityMetric : public Metric<T> {
 public:
  void check(index_t, index_t, const Loss<T>& loss) const override {
    if (loss.output_kind() == OutputKind::Margins)
      throw ValueError(cat("metrics: ", this->name(), " needs probabilities, but the outputs of ", loss.name(),
                           " are margins"));
  }

 protected:
  const T* probabilities(const T* out, index_t rows, index_t width, const Loss<T>& loss) {
    if (loss.output_kind() != OutputKind::Logits) return out;
    scratch_.reserve_at_least(rows * width);
    loss.probabilities(out, scratch_.data(), rows, width);
    return scratch_.data();
  }

 private:
  AlignedBuffer<T> scratch_;
};

// The mean of -log(probability of the true class), probabilities clipped to
// [1e-15, 1 - 1e-15] (scikit-learn's log_loss).
template <class T>
class LogLoss : public ProbabilityMetric<T> {
 public:
  std::string name() const override { return "log_loss"; }
  bool higher_is_better() const override { return false; }
  void reset() override { sum_ = 0.0, total_ = 0; }
  void update(const T* out, const T* target, index_t rows, index_t width, index_t tw, const Loss<T>& loss) override {
    const T* p = this->probabilities(out, rows, width, loss);
    for (index_t r = 0; r < rows; ++r) {
      const index_t t = true_class(target + r * tw, width, tw);
      double q = width == 1 ? (t == 1 ? static_cast<double>(p[r]) : 1.0 - static_cast<double>(p[r]))
                            : static_cast<double>(p[r * width + t]);
      q = std::min(std::max(q, 1e-15), 1.0 - 1e-15);
      sum_ -= std::log(q);
    }
    total_ += rows;
  }
  double result() const override { return total_ ? sum_ / static_cast<double>(total_) : kNaN; }
  std::unique_ptr<Metric<T>> fresh() const override { return std::make_unique<LogLoss<T>>(); }
  bool mergeable() const override { return true; }
  std::vector<double> state() const override { return {static_cast<double>(sum_), static_cast<double>(total_)}; }
  void merge(const double* s, std::size_t size) override { merge_sums(this->name(), s, size, sum_, total_); }

 private:
  double sum_ = 0.0;
  index_t total_ = 0;
};

// The area under the ROC curve: for one output column, of its probability
// (or score) against the 0/1 labels; for one column per class, one class
// against the rest for each class with both positive and negative rows,
// averaged (macro). Ties count half (average ranks). Kept over the whole
// data set: the scores of every row are stored until reset.
template <class T>
class RocAuc : public ProbabilityMetric<T> {
 public:
  std::string name() const override { return "roc_auc"; }
  bool higher_is_better() const override { return true; }
  void reset() override { scores_.clear(), labels_.clear(); }
  void update(const T* out, const T* target, index_t rows, index_t width, index_t tw, const Loss<T>& loss) override {
    const T* p = this->probabilities(out, rows, width, loss);
    width_ = width;
    for (index_t r = 0; r < rows; ++r) {
      for (index_t j = 0; j < width; ++j) scores_.push_back(static_cast<double>(p[r * width + j]));
      labels_.push_back(true_class(target + r * tw, width, tw));
    }
  }
  double result() const override {
    const index_t n = static_cast<index_t>(labels_.size());
    if (n == 0) return kNaN;
    const index_t classes = width_ == 1 ? 1 : width_;
    double sum = 0.0;
    index_t counted = 0;
    for (index_t c = 0; c < classes; ++c) {
      // (score for class c, is the row of class c); for one column, class 1.
      const index_t positive = width_ == 1 ? 1 : c;
      work_.clear();
      for (index_t r = 0; r < n; ++r)
        work_.emplace_back(scores_[static_cast<std::size_t>(r * width_ + (width_ == 1 ? 0 : c))],
                           labels_[static_cast<std::size_t>(r)] == positive);
      const double auc = area(work_);
      if (std::isnan(auc)) continue;
      sum += auc;
      ++counted;
    }
    return counted ? sum / static_cast<double>(counted) : kNaN;
  }
  std::unique_ptr<Metric<T>> fresh() const override { return std::make_unique<RocAuc<T>>(); }
  // The width, every row's scores, then every row's class: merging
  // appends the other metric's rows.
  bool mergeable() const override { return true; }
  std::vector<double> state() const override {
    std::vector<double> v{static_cast<double>(width_)};
    v.insert(v.end(), scores_.begin(), scores_.end());
    for (index_t c : labels_) v.push_back(static_cast<double>(c));
    return v;
  }
  void merge(const double* s, std::size_t size) override {
    if (size <= 1) return;
    const index_t w = static_cast<index_t>(s[0]);
    const std::size_t rows = w >= 1 ? (size - 1) / static_cast<std::size_t>(w + 1) : 0;
    if (w < 1 || rows * static_cast<std::size_t>(w + 1) + 1 != size || (!labels_.empty() && w != width_))
      throw ValueError(cat("metrics: roc_auc: cannot merge a state of ", size, " numbers of width ", s[0],
                           " into one of width ", width_));
    width_ = w;
    const double* scores = s + 1;
    const double* labels = scores + rows * static_cast<std::size_t>(w);
    scores_.insert(scores_.end(), scores, labels);
    for (std::size_t r = 0; r < rows; ++r) labels_.push_back(static_cast<index_t>(labels[r]));
  }

 private:
  // Mann-Whitney: (sum of the positives' ranks - P(P + 1)/2) / (P·N), ties
  // at their average rank; NaN without both positives and negatives.
  static double area(std::vector<std::pair<double, bool>>& v) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    double rank_sum = 0.0, pos = 0.0;
    const std::size_t n = v.size();
    for (std::size_t i = 0; i < n;) {
      std::size_t j = i;
      double group_pos = 0.0;
      while (j < n && v[j].first == v[i].first) group_pos += v[j++].second ? 1.0 : 0.0;
      const double avg_rank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1 .. j
      rank_sum += group_pos * avg_rank;
      pos += group_pos;
      i = j;
    }
    const double neg = static_cast<double>(n) - pos;
    if (pos == 0.0 || neg == 0.0) return kNaN;
    return (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg);
  }

  index_t width_ = 1;
  std::vector<double> scores_;
  std::vector<index_t> labels_;
  mutable std::vector<std::pair<double, bool>> work_;
};

// k of "top_<k>_accuracy" (0: not that form).
index_t top_k_of(const std::string& name) {
  const std::string pre = "top_", post = "_accuracy";
  if (name.size() <= pre.size() + post.size() || name.compare(0, pre.size(), pre) != 0 ||
      name.compare(name.size() - post.size(), post.size(), post) != 0)
    return 0;
  const std::string digits = name.substr(pre.size(), name.size() - pre.size() - post.size());
  if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  const index_t k = std::stoll(digits);
  return k >= 1 ? k : 0;
}

}  // namespace

template <class T>
void Metric<T>::check(index_t, index_t, const Loss<T>&) const {}

const NameTable& metric_names() {
  static const NameTable t("metric",
                           {"accuracy", "binary_accuracy", "precision", "recall", "f1", "mse", "mae", "r2",
                            "balanced_accuracy", "top_k_accuracy", "log_loss", "roc_auc"},
                           {{"acc", "accuracy"}, {"mean_squared_error", "mse"}, {"mean_absolute_error", "mae"},
                            {"auc", "roc_auc"}, {"top_5_accuracy", "top_k_accuracy"},
                            {"sparse_top_k_categorical_accuracy", "top_k_accuracy"},
                            {"top_k_categorical_accuracy", "top_k_accuracy"}});
  return t;
}

template <class T>
std::unique_ptr<Metric<T>> make_metric(const std::string& name) {
  std::string lower = name;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (const index_t k = top_k_of(lower); k > 0 && k != 5) return std::make_unique<TopKAccuracy<T>>(k);
  const std::string c = metric_names().canonical(name, "metrics");
  if (c == "balanced_accuracy") return std::make_unique<ClassCounts<T>>(ClassCounts<T>::Kind::Balanced);
  if (c == "top_k_accuracy") return std::make_unique<TopKAccuracy<T>>(5);
  if (c == "log_loss") return std::make_unique<LogLoss<T>>();
  if (c == "roc_auc") return std::make_unique<RocAuc<T>>();
  if (c == "accuracy") return std::make_unique<Accuracy<T>>();
  if (c == "binary_accuracy") return std::make_unique<BinaryAccuracy<T>>();
  if (c == "precision") return std::make_unique<ClassCounts<T>>(ClassCounts<T>::Kind::Precision);
  if (c == "recall") return std::make_unique<ClassCounts<T>>(ClassCounts<T>::Kind::Recall);
  if (c == "f1") return std::make_unique<ClassCounts<T>>(ClassCounts<T>::Kind::F1);
  if (c == "mse") return std::make_unique<MeanError<T>>(true);
  if (c == "mae") return std::make_unique<MeanError<T>>(false);
  return std::make_unique<R2<T>>();
}

// ---------------------------------------------------------- FunctionMetric
template <class T>
FunctionMetric<T>::FunctionMetric(std::string name, Fn fn, bool higher_is_better)
    : name_(std::move(name)), fn_(std::move(fn)), higher_(higher_is_better) {
  if (!fn_) throw ValueError(cat("metrics: '", name_, "' needs a function"));
}

template <class T>
void FunctionMetric<T>::update(const T* out, const T* target, index_t rows, index_t width, index_t tw,
                               const Loss<T>&) {
  const double v = fn_(out, target, rows, width, tw);
  sum_ += v * static_cast<double>(rows);
  count_ += static_cast<double>(rows);
}

template <class T>
double FunctionMetric<T>::result() const {
  return count_ > 0 ? sum_ / count_ : kNaN;
}

template <class T>
void FunctionMetric<T>::merge(const double* s, std::size_t size) {
  merge_sums(name_, s, size, sum_, count_);
}

template <class T>
std::unique_ptr<Metric<T>> FunctionMetric<T>::fresh() const {
  return std::make_unique<FunctionMetric<T>>(name_, fn_, higher_);
}

#define ENTRENA_INSTANTIATE(T)                                                \
  template class Metric<T>;                                                   \
  template class FunctionMetric<T>;                                           \
  template std::unique_ptr<Metric<T>> make_metric<T>(const std::string& name);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
