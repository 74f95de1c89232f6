// Batch- and layer-normalization kernels, exposed for tests against the
// NumPy reference.
#include <optional>

#include "common.hpp"

namespace entrena::bind {

namespace {

// Checks that v has shape (size,); returns its data (null for None).
template <class T>
const T* vector_of(const std::optional<Array<T>>& v, const char* name, index_t size) {
  if (!v) return nullptr;
  if (v->ndim() != 1 || v->shape(0) != size)
    throw ValueError(cat(name, ": expected shape (", size, ",), got ", shape_str(shape_of<T>(*v))));
  return v->data();
}

template <class T>
Array<T> copy_of(const Array<T>& a) {
  Array<T> c = like(a);
  std::copy(a.data(), a.data() + a.size(), c.mutable_data());
  return c;
}

template <class T>
void bind_typed(py::module_& m) {
  using Opt = std::optional<Array<T>>;
  // x: (n, C, ...): channels on axis 1.
  m.def("batch_norm_forward", [](const Array<T>& x, const Opt& gamma, const Opt& beta, const Array<T>& running_mean,
                                 const Array<T>& running_var, double momentum, double eps, bool training) {
    if (x.ndim() < 2) throw ValueError(cat("x: expected an array (n, C, ...) of at least 2-D, got ", x.ndim(), "-D"));
    const index_t n = x.shape(0), C = x.shape(1), S = x.size() / std::max<index_t>(n * C, 1);
    if (training && n * S < 2) throw ValueError("x: training needs more than one value per channel");
    vector_of<T>(running_mean, "running_mean", C);
    vector_of<T>(running_var, "running_var", C);
    Array<T> y = like(x), rm = copy_of(running_mean), rv = copy_of(running_var), mean(C), invstd(C);
    batch_norm_forward<T>(x.data(), vector_of(gamma, "gamma", C), vector_of(beta, "beta", C), rm.mutable_data(),
                          rv.mutable_data(), y.mutable_data(), mean.mutable_data(), invstd.mutable_data(), n, C, S,
                          momentum, eps, training);
    return py::make_tuple(y, rm, rv, mean, invstd);
  }, py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("running_mean"), py::arg("running_var"),
     py::arg("momentum") = 0.1, py::arg("eps") = 1e-5, py::arg("training") = true,
     "(y, new running_mean, new running_var, save_mean, save_invstd).");
  m.def("batch_norm_backward", [](const Array<T>& x, const Array<T>& dy, const Opt& gamma, const Array<T>& save_mean,
                                  const Array<T>& save_invstd, bool training) {
    if (x.ndim() < 2) throw ValueError(cat("x: expected an array (n, C, ...) of at least 2-D, got ", x.ndim(), "-D"));
    check_same(x, "x", dy, "dy");
    const index_t n = x.shape(0), C = x.shape(1), S = x.size() / std::max<index_t>(n * C, 1);
    vector_of<T>(save_mean, "save_mean", C);
    vector_of<T>(save_invstd, "save_invstd", C);
    Array<T> dx = like(x), dgamma(C), dbeta(C);
    std::fill(dgamma.mutable_data(), dgamma.mutable_data() + C, T(0));
    std::fill(dbeta.mutable_data(), dbeta.mutable_data() + C, T(0));
    batch_norm_backward<T>(x.data(), dy.data(), vector_of(gamma, "gamma", C), save_mean.data(), save_invstd.data(),
                           dx.mutable_data(), dgamma.mutable_data(), dbeta.mutable_data(), n, C, S, training);
    return py::make_tuple(dx, dgamma, dbeta);
  }, py::arg("x"), py::arg("dy"), py::arg("gamma"), py::arg("save_mean"), py::arg("save_invstd"),
     py::arg("training") = true, "(dx, dgamma, dbeta).");

  // x: (rows, F)
  m.def("layer_norm_forward", [](const Array<T>& x, const Opt& gamma, const Opt& beta, double eps) {
    require_ndim(x, "x", 2);
    const index_t rows = x.shape(0), F = x.shape(1);
    Array<T> y = like(x), mean(rows), invstd(rows);
    layer_norm_forward<T>(x.data(), vector_of(gamma, "gamma", F), vector_of(beta, "beta", F), y.mutable_data(),
                          mean.mutable_data(), invstd.mutable_data(), rows, F, eps);
    return py::make_tuple(y, mean, invstd);
  }, py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("eps") = 1e-5, "(y, save_mean, save_invstd).");
  m.def("layer_norm_backward", [](const Array<T>& x, const Array<T>& dy, const Opt& gamma, const Array<T>& save_mean,
                                  const Array<T>& save_invstd) {
    require_ndim(x, "x", 2);
    check_same(x, "x", dy, "dy");
    const index_t rows = x.shape(0), F = x.shape(1);
    vector_of<T>(save_mean, "save_mean", rows);
    vector_of<T>(save_invstd, "save_invstd", rows);
    Array<T> dx = like(x), dgamma(F), dbeta(F);
    std::fill(dgamma.mutable_data(), dgamma.mutable_data() + F, T(0));
    std::fill(dbeta.mutable_data(), dbeta.mutable_data() + F, T(0));
    layer_norm_backward<T>(x.data(), dy.data(), vector_of(gamma, "gamma", F), save_mean.data(), save_invstd.data(),
                           dx.mutable_data(), dgamma.mutable_data(), dbeta.mutable_data(), rows, F);
    return py::make_tuple(dx, dgamma, dbeta);
  }, py::arg("x"), py::arg("dy"), py::arg("gamma"), py::arg("save_mean"), py::arg("save_invstd"),
     "(dx, dgamma, dbeta).");
}

}  // namespace

void bind_norm_layer_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
