// Convolution kernels, exposed for tests and benchmarks.
#include <array>

#include "common.hpp"

namespace entrena::bind {

namespace {

using Pair = std::array<index_t, 2>;
using Quad = std::array<index_t, 4>;

// The geometry of x (n, C, H, W) convolved with W (F, C/groups, kh, kw).
template <class T>
Conv2dShape shape_for(const Array<T>& x, const Array<T>& W, const Pair& strides, const Quad& padding,
                      const Pair& dilation, index_t groups) {
  require_ndim(x, "x", 4);
  require_ndim(W, "W", 4);
  const index_t C = x.shape(1), F = W.shape(0);
  Conv2dShape s = conv2d_shape(C, x.shape(2), x.shape(3), F, W.shape(2), W.shape(3), groups, strides[0],
                               strides[1], dilation[0], dilation[1], padding[0], padding[1], padding[2],
                               padding[3]);
  if (W.shape(1) != C / groups)
    throw ValueError(cat("W: expected ", C / groups, " input channels per group (dimension 1), got ", W.shape(1)));
  return s;
}

ConvAlgorithm algorithm_from_name(const std::string& name) {
  if (name == "auto") return ConvAlgorithm::Auto;
  if (name == "gemm") return ConvAlgorithm::Gemm;
  if (name == "direct") return ConvAlgorithm::Direct;
  throw ValueError(cat("algorithm: expected 'auto', 'gemm' or 'direct', got '", name, "'"));
}

template <class T>
void bind_typed(py::module_& m) {
  m.def("conv2d_forward", [](const Array<T>& x, const Array<T>& W, std::optional<Array<T>> b,
                             const Pair& strides, const Quad& padding, const Pair& dilation, index_t groups,
                             bool relu, const std::string& algorithm) {
    const Conv2dShape s = shape_for(x, W, strides, padding, dilation, groups);
    const ConvAlgorithm algo = algorithm_from_name(algorithm);
    const index_t n = x.shape(0);
    if (b && (b->ndim() != 1 || b->shape(0) != s.F))
      throw ValueError(cat("b: expected shape (", s.F, ",), got ", shape_str(shape_of<T>(*b))));
    Array<T> y({n, s.F, s.Ho, s.Wo});
    {
      py::gil_scoped_release nogil;
      AlignedBuffer<T> work(conv2d_workspace(s, n, false, algo));
      conv2d_forward<T>(s, n, x.data(), W.data(), b ? b->data() : nullptr, y.mutable_data(), relu, work.data(),
                        work.size(), algo);
    }
    return y;
  }, py::arg("x"), py::arg("W"), py::arg("b") = py::none(), py::arg("strides") = Pair{1, 1},
     py::arg("padding") = Quad{0, 0, 0, 0}, py::arg("dilation") = Pair{1, 1}, py::arg("groups") = 1,
     py::arg("relu") = false, py::arg("algorithm") = "auto",
     "y = conv2d(x, W) + b (max(y, 0) when relu); padding = (top, bottom, left, right);\n"
     "algorithm: 'auto', 'gemm' or 'direct' (one input channel per group).");

  m.def("conv2d_backward", [](const Array<T>& x, const Array<T>& W, const Array<T>& dy, const Pair& strides,
                              const Quad& padding, const Pair& dilation, index_t groups,
                              const std::string& algorithm, std::optional<Array<T>> relu_y) {
    const Conv2dShape s = shape_for(x, W, strides, padding, dilation, groups);
    const ConvAlgorithm algo = algorithm_from_name(algorithm);
    const index_t n = x.shape(0);
    require_ndim(dy, "dy", 4);
    if (shape_of<T>(dy) != Shape{n, s.F, s.Ho, s.Wo})
      throw ValueError(cat("dy: expected shape ", shape_str({n, s.F, s.Ho, s.Wo}), ", got ",
                           shape_str(shape_of<T>(dy))));
    if (relu_y && shape_of<T>(*relu_y) != shape_of<T>(dy))
      throw ValueError(cat("relu_y: expected shape ", shape_str(shape_of<T>(dy)), " (the shape of dy), got ",
                           shape_str(shape_of<T>(*relu_y))));
    Array<T> dx(std::vector<py::ssize_t>(x.shape(), x.shape() + 4));
    Array<T> dW(std::vector<py::ssize_t>(W.shape(), W.shape() + 4)), db({s.F});
    std::fill(dW.mutable_data(), dW.mutable_data() + dW.size(), T(0));
    std::fill(db.mutable_data(), db.mutable_data() + s.F, T(0));
    {
      py::gil_scoped_release nogil;
      AlignedBuffer<T> work(conv2d_workspace(s, n, true, algo));
      conv2d_backward<T>(s, n, x.data(), W.data(), relu_y ? relu_y->data() : nullptr, dy.data(),
                         dW.mutable_data(), db.mutable_data(), dx.mutable_data(), work.data(), work.size(), algo);
    }
    return py::make_tuple(dx, dW, db);
  }, py::arg("x"), py::arg("W"), py::arg("dy"), py::arg("strides") = Pair{1, 1},
     py::arg("padding") = Quad{0, 0, 0, 0}, py::arg("dilation") = Pair{1, 1}, py::arg("groups") = 1,
     py::arg("algorithm") = "auto", py::arg("relu_y") = py::none(),
     "Returns (dx, dW, db) for y = conv2d(x, W) + b; with relu_y (the output of a forward\n"
     "pass with relu), for y = max(conv2d(x, W) + b, 0) (dy counts where relu_y > 0).");
}

}  // namespace

void bind_conv_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
