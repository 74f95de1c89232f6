// Shared helpers of the bindings: array checks and type translation. The
// bindings check and convert; all math happens in the C++ library.
#pragma once

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "entrena/entrena.hpp"

namespace py = pybind11;

namespace entrena::bind {

template <class T>
using Array = py::array_t<T, py::array::c_style>;

template <class T>
const char* dtype_name() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

// Checks that a has ndim dimensions (or any if ndim < 0).
template <class T>
void require_ndim(const Array<T>& a, const char* name, int ndim) {
  if (ndim >= 0 && a.ndim() != ndim)
    throw ValueError(cat(name, ": expected a ", ndim, "-D array, got ", a.ndim(), "-D"));
}

template <class T>
Shape shape_of(const py::array& a, int from = 0) {
  Shape s;
  for (py::ssize_t i = from; i < a.ndim(); ++i) s.push_back(static_cast<index_t>(a.shape(i)));
  return s;
}

// A writable NumPy view of memory owned by `owner` (kept alive by the view).
template <class T>
py::array_t<T> view(T* ptr, const Shape& shape, py::handle owner) {
  std::vector<py::ssize_t> sh(shape.begin(), shape.end()), st(shape.size());
  py::ssize_t stride = sizeof(T);
  for (std::size_t i = shape.size(); i-- > 0;) {
    st[i] = stride;
    stride *= sh[i];
  }
  return py::array_t<T>(sh, st, ptr, owner);
}

// Checks that b has the shape of a.
template <class T>
void check_same(const Array<T>& a, const char* an, const Array<T>& b, const char* bn) {
  if (shape_of<T>(a) != shape_of<T>(b))
    throw ValueError(cat(bn, ": expected shape ", shape_str(shape_of<T>(a)), " (the shape of ", an,
                         "), got ", shape_str(shape_of<T>(b))));
}

// A new uninitialised array of a's shape.
template <class T>
Array<T> like(const Array<T>& a) {
  std::vector<py::ssize_t> sh(a.shape(), a.shape() + a.ndim());
  return Array<T>(sh);
}

// Registration functions, one per bindings file. The kernel functions go
// into the submodule `kernels`; nn classes into the submodules f32 and f64.
// Loss weights, one per row: null without them, else `rows` finite values
// >= 0 (ValueError naming `name` otherwise).
template <class T>
const T* row_weights(const std::optional<Array<T>>& w, index_t rows, const char* name) {
  if (!w) return nullptr;
  if (static_cast<index_t>(w->size()) != rows)
    throw ValueError(cat(name, ": expected ", rows, " weights (one per loss row), got ", w->size()));
  const T* p = w->data();
  for (index_t k = 0; k < rows; ++k)
    if (!(p[k] >= T(0) && std::isfinite(static_cast<double>(p[k]))))
      throw ValueError(cat(name, ": expected finite weights >= 0, got ", p[k], " at ", k));
  return p;
}

void bind_runtime(py::module_& m);
void bind_cpu(py::module_& m);
void bind_dense_kernels(py::module_& k);
void bind_check_kernels(py::module_& k);
void bind_activation_kernels(py::module_& k);
void bind_loss_kernels(py::module_& k);
void bind_optimizer_kernels(py::module_& k);
void bind_normalization_kernels(py::module_& k);
void bind_augment_kernels(py::module_& k);
void bind_pooling_kernels(py::module_& k);     // pooling and zero padding
void bind_norm_layer_kernels(py::module_& k);  // batch and layer normalization
void bind_conv_kernels(py::module_& k);
void bind_recurrent_kernels(py::module_& k);
void bind_model(py::module_& f32, py::module_& f64);  // Sequential, fit, evaluate, predict
void bind_losses(py::module_& f32, py::module_& f64);
void bind_optimizers(py::module_& f32, py::module_& f64);
void bind_metrics(py::module_& f32, py::module_& f64);
void bind_io(py::module_& m);         // save, load, inspect (module level, both dtypes)
void bind_schedules(py::module_& m);  // learning-rate schedules (module level)
void bind_distributed(py::module_& m);  // Communicator, mpi_communicator (module level)

}  // namespace entrena::bind
