// Loss kernels, exposed for tests against the NumPy reference.
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

template <class T>
void bind_typed(py::module_& m) {
  m.def("softmax_cross_entropy_forward", [](const Array<T>& logits, const Array<T>& labels) {
    require_ndim(logits, "logits", 2);
    check_labels(labels, logits.shape(0), logits.shape(1));
    return softmax_cross_entropy_forward<T>(logits.data(), labels.data(), logits.shape(0), logits.shape(1));
  }, py::arg("logits"), py::arg("labels"));
  m.def("softmax_cross_entropy_backward", [](const Array<T>& logits, const Array<T>& labels) {
    require_ndim(logits, "logits", 2);
    check_labels(labels, logits.shape(0), logits.shape(1));
    Array<T> g = like(logits);
    softmax_cross_entropy_backward<T>(logits.data(), labels.data(), g.mutable_data(), logits.shape(0),
                                      logits.shape(1), T(1) / static_cast<T>(logits.shape(0)));
    return g;
  }, py::arg("logits"), py::arg("labels"), "Gradient of the mean loss with respect to the logits.");

}

}  // namespace

void bind_loss_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
