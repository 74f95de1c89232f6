// Feature-standardization kernels, exposed for tests against the NumPy reference.
#include "common.hpp"

namespace entrena::bind {

namespace {

template <class T>
void check_stats(const Array<T>& x, const Array<T>& v, const char* name) {
  require_ndim(v, name, 1);
  if (v.shape(0) != x.shape(1))
    throw ValueError(cat(name, ": expected shape (", x.shape(1), ",), got ", shape_str(shape_of<T>(v))));
}

template <class T>
void bind_typed(py::module_& m) {
  m.def("feature_moments", [](const Array<T>& x) {
    require_ndim(x, "x", 2);
    py::array_t<double> mean(x.shape(1)), var(x.shape(1));
    feature_moments<T>(x.data(), x.shape(0), x.shape(1), mean.mutable_data(), var.mutable_data());
    return py::make_tuple(mean, var);
  }, py::arg("x"), "(mean, population variance) of each column, in float64.");
  m.def("standardize_forward", [](const Array<T>& x, const Array<T>& mean, const Array<T>& var, double eps) {
    require_ndim(x, "x", 2);
    check_stats(x, mean, "mean");
    check_stats(x, var, "var");
    Array<T> y = like(x);
    standardize_forward<T>(x.data(), mean.data(), var.data(), y.mutable_data(), x.shape(0), x.shape(1),
                           static_cast<T>(eps));
    return y;
  }, py::arg("x"), py::arg("mean"), py::arg("var"), py::arg("eps") = 1e-7);
  m.def("standardize_backward", [](const Array<T>& var, const Array<T>& dy, double eps) {
    require_ndim(dy, "dy", 2);
    check_stats(dy, var, "var");
    Array<T> dx = like(dy);
    standardize_backward<T>(var.data(), dy.data(), dx.mutable_data(), dy.shape(0), dy.shape(1), static_cast<T>(eps));
    return dx;
  }, py::arg("var"), py::arg("dy"), py::arg("eps") = 1e-7);
}

}  // namespace

void bind_normalization_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
