// Loss kernels, exposed for tests against the NumPy reference. Each
// forward returns the reduced loss, each backward the gradient of it with
// respect to the prediction. Inputs are checked here (shapes, class indices,
// value ranges) because the kernels trust them.
#include "common.hpp"

namespace entrena::bind {

namespace {

template <class T>
void check_labels(const Array<T>& labels, index_t n, index_t c) {
  require_ndim(labels, "labels", 1);
  if (labels.shape(0) != n)
    throw ValueError(cat("labels: expected ", n, " labels, got ", labels.shape(0)));
  const T* l = labels.data();
  for (index_t i = 0; i < n; ++i)
    if (!(l[i] >= 0 && l[i] < c && l[i] == static_cast<T>(static_cast<index_t>(l[i]))))
      throw ValueError(cat("labels: expected class indices in [0, ", c, "), got ", l[i], " at ", i));
}

// A target for cross-entropy: class indices (n,) or probabilities (n, c).
template <class T>
index_t check_ce_target(const Array<T>& target, index_t n, index_t c) {
  if (target.ndim() == 1) {
    check_labels(target, n, c);
    return 1;
  }
  if (target.ndim() != 2 || target.shape(0) != n || target.shape(1) != c)
    throw ValueError(cat("target: expected class indices of shape (", n, ",) or probabilities of "
                         "shape (", n, ", ", c, "), got shape ", shape_str(shape_of<T>(target))));
  const T* t = target.data();
  for (index_t k = 0; k < n * c; ++k)
    if (!(t[k] >= T(0) && t[k] <= T(1)))
      throw ValueError(cat("target: expected probabilities in [0, 1], got ", t[k], " at row ", k / c));
  return c;
}

template <class T>
void check_range(const Array<T>& a, const char* name, T lo, T hi) {
  const T* p = a.data();
  for (index_t k = 0; k < a.size(); ++k)
    if (p[k] < lo || p[k] > hi)
      throw ValueError(cat(name, ": expected values in [", lo, ", ", hi, "], got ", p[k], " at flat index ", k));
}

template <class T>
void check_pm1(const Array<T>& a, const char* name) {
  const T* p = a.data();
  for (index_t k = 0; k < a.size(); ++k)
    if (!(p[k] == T(1) || p[k] == T(-1)))
      throw ValueError(cat(name, ": expected -1 or +1, got ", p[k], " at flat index ", k));
}

template <class T>
T positive(double v, const char* name) {
  if (!(v > 0.0) || !std::isfinite(v)) throw ValueError(cat(name, ": expected a finite number > 0, got ", v));
  return static_cast<T>(v);
}


// Rows of an element-wise loss's input: its last axis is a row (one row per
// element for a 1-D input).
template <class T>
index_t row_width(const Array<T>& pred) {
  return pred.ndim() >= 2 ? static_cast<index_t>(pred.shape(pred.ndim() - 1)) : 1;
}

// Element-wise loss: forward(pred, target, reduction, weight) and backward(...);
// weight: one per row of the last axis.
template <class T, class Fwd, class Bwd, class Pre>
void def_elementwise(py::module_& m, const std::string& name, Fwd fwd, Bwd bwd, Pre pre,
                     const char* pname = "pred") {
  m.def((name + "_forward").c_str(), [fwd, pre, pname](const Array<T>& pred, const Array<T>& target,
                                                      const std::string& reduction,
                                                      const std::optional<Array<T>>& weight) {
    check_same(pred, pname, target, "target");
    const Reduction red = reduction_from_name(reduction);
    pre(pred, target);
    const index_t n = static_cast<index_t>(pred.size()), width = row_width(pred);
    const T* w = row_weights(weight, width > 0 ? n / width : 0, "weight");
    return fwd(pred.data(), target.data(), n, red, w, width);
  }, py::arg(pname), py::arg("target"), py::arg("reduction") = "mean", py::arg("weight") = py::none());
  m.def((name + "_backward").c_str(), [bwd, pre, pname](const Array<T>& pred, const Array<T>& target,
                                                       const std::string& reduction,
                                                       const std::optional<Array<T>>& weight) {
    check_same(pred, pname, target, "target");
    const Reduction red = reduction_from_name(reduction);
    pre(pred, target);
    const index_t n = static_cast<index_t>(pred.size()), width = row_width(pred);
    const T* w = row_weights(weight, width > 0 ? n / width : 0, "weight");
    Array<T> g = like(pred);
    bwd(pred.data(), target.data(), g.mutable_data(), n, red, w, width);
    return g;
  }, py::arg(pname), py::arg("target"), py::arg("reduction") = "mean", py::arg("weight") = py::none());
}

template <class T>
void bind_typed(py::module_& m) {
  auto none = [](const Array<T>&, const Array<T>&) {};
  auto prob_targets = [](const Array<T>&, const Array<T>& t) { check_range<T>(t, "target", 0, 1); };
  def_elementwise<T>(m, "mse", &mse_forward<T>, &mse_backward<T>, none);
  def_elementwise<T>(m, "half_mse", &half_mse_forward<T>, &half_mse_backward<T>, none);
  def_elementwise<T>(m, "mae", &mae_forward<T>, &mae_backward<T>, none);
  def_elementwise<T>(m, "binary_crossentropy", &binary_crossentropy_forward<T>, &binary_crossentropy_backward<T>,
                     [](const Array<T>& p, const Array<T>& t) {
                       check_range<T>(p, "prob", 0, 1);
                       check_range<T>(t, "target", 0, 1);
                     }, "prob");
  def_elementwise<T>(m, "binary_crossentropy_with_logits", &binary_crossentropy_with_logits_forward<T>, &binary_crossentropy_with_logits_backward<T>,
                     prob_targets, "logits");
  def_elementwise<T>(m, "hinge", &hinge_forward<T>, &hinge_backward<T>,
                     [](const Array<T>&, const Array<T>& t) { check_pm1<T>(t, "target"); });

  m.def("huber_forward", [](const Array<T>& pred, const Array<T>& target, double delta,
                            const std::string& reduction, const std::optional<Array<T>>& weight) {
    check_same(pred, "pred", target, "target");
    const T d = positive<T>(delta, "delta");
    const index_t n = static_cast<index_t>(pred.size()), width = row_width(pred);
    const T* w = row_weights(weight, width > 0 ? n / width : 0, "weight");
    return huber_forward<T>(pred.data(), target.data(), n, d, reduction_from_name(reduction), w, width);
  }, py::arg("pred"), py::arg("target"), py::arg("delta") = 1.0, py::arg("reduction") = "mean",
     py::arg("weight") = py::none());
  m.def("huber_backward", [](const Array<T>& pred, const Array<T>& target, double delta,
                             const std::string& reduction, const std::optional<Array<T>>& weight) {
    check_same(pred, "pred", target, "target");
    const T d = positive<T>(delta, "delta");
    const index_t n = static_cast<index_t>(pred.size()), width = row_width(pred);
    const T* w = row_weights(weight, width > 0 ? n / width : 0, "weight");
    Array<T> g = like(pred);
    huber_backward<T>(pred.data(), target.data(), g.mutable_data(), n, d, reduction_from_name(reduction), w, width);
    return g;
  }, py::arg("pred"), py::arg("target"), py::arg("delta") = 1.0, py::arg("reduction") = "mean",
     py::arg("weight") = py::none());

  m.def("categorical_crossentropy_forward", [](const Array<T>& logits, const Array<T>& target,
                                    double label_smoothing, const std::string& reduction,
                                    const std::optional<Array<T>>& weight) {
    require_ndim(logits, "logits", 2);
    const index_t n = logits.shape(0), c = logits.shape(1);
    if (c < 1) throw ValueError("logits: expected at least one class (column), got 0");
    if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
      throw ValueError(cat("label_smoothing: expected a number in [0, 1], got ", label_smoothing));
    const Reduction red = reduction_from_name(reduction);
    const index_t tw = check_ce_target(target, n, c);
    return categorical_crossentropy_forward<T>(logits.data(), target.data(), n, c, tw,
                                    static_cast<T>(label_smoothing), red, row_weights(weight, n, "weight"));
  }, py::arg("logits"), py::arg("target"), py::arg("label_smoothing") = 0.0,
     py::arg("reduction") = "mean", py::arg("weight") = py::none(),
     "target: class indices (n,) or probabilities (n, c); weight: (n,) or None.");
  m.def("categorical_crossentropy_backward", [](const Array<T>& logits, const Array<T>& target,
                                     double label_smoothing, const std::string& reduction,
                                    const std::optional<Array<T>>& weight) {
    require_ndim(logits, "logits", 2);
    const index_t n = logits.shape(0), c = logits.shape(1);
    if (c < 1) throw ValueError("logits: expected at least one class (column), got 0");
    if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
      throw ValueError(cat("label_smoothing: expected a number in [0, 1], got ", label_smoothing));
    const Reduction red = reduction_from_name(reduction);
    const index_t tw = check_ce_target(target, n, c);
    Array<T> g = like(logits);
    categorical_crossentropy_backward<T>(logits.data(), target.data(), g.mutable_data(), n, c, tw,
                              static_cast<T>(label_smoothing), red, row_weights(weight, n, "weight"));
    return g;
  }, py::arg("logits"), py::arg("target"), py::arg("label_smoothing") = 0.0,
     py::arg("reduction") = "mean", py::arg("weight") = py::none());

  m.def("multiclass_hinge_forward", [](const Array<T>& scores, const Array<T>& labels, double margin,
                                   const std::string& reduction, const std::optional<Array<T>>& weight) {
    require_ndim(scores, "scores", 2);
    const index_t n = scores.shape(0), c = scores.shape(1);
    check_labels(labels, n, c);
    const T mg = positive<T>(margin, "margin");
    return multiclass_hinge_forward<T>(scores.data(), labels.data(), n, c, mg, reduction_from_name(reduction),
                                       row_weights(weight, n, "weight"));
  }, py::arg("scores"), py::arg("labels"), py::arg("margin") = 1.0, py::arg("reduction") = "mean",
     py::arg("weight") = py::none());
  m.def("multiclass_hinge_backward", [](const Array<T>& scores, const Array<T>& labels, double margin,
                                    const std::string& reduction, const std::optional<Array<T>>& weight) {
    require_ndim(scores, "scores", 2);
    const index_t n = scores.shape(0), c = scores.shape(1);
    check_labels(labels, n, c);
    const T mg = positive<T>(margin, "margin");
    Array<T> g = like(scores);
    multiclass_hinge_backward<T>(scores.data(), labels.data(), g.mutable_data(), n, c, mg,
                             reduction_from_name(reduction), row_weights(weight, n, "weight"));
    return g;
  }, py::arg("scores"), py::arg("labels"), py::arg("margin") = 1.0, py::arg("reduction") = "mean",
     py::arg("weight") = py::none());
}

}  // namespace

void bind_loss_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
