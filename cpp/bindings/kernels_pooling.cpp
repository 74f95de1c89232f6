// Pooling and zero-padding kernels, exposed for tests against the NumPy reference.
#include <optional>

#include "common.hpp"

namespace entrena::bind {

namespace {

using Sizes = std::vector<index_t>;

// The geometry of pooling x: (n, C, L) or (n, C, H, W) (shape `in`).
PoolGeometry geometry_of(const Shape& in, const Sizes& pool_size, const std::optional<Sizes>& strides,
                           const std::string& padding) {
  if (in.size() != 3 && in.size() != 4)
    throw ValueError(cat("x: expected a 3-D (n, C, L) or 4-D (n, C, H, W) array, got ", in.size(), "-D"));
  for (index_t v : in) check_integer("input_shape", v, 0);
  const std::size_t d = in.size() - 2;
  const Sizes st = strides ? *strides : pool_size;
  if (pool_size.size() != d || st.size() != d)
    throw ValueError(
        cat("pool_size, strides: expected ", d, " sizes each, got ", pool_size.size(), " and ", st.size()));
  for (std::size_t k = 0; k < d; ++k) {
    check_integer("pool_size", pool_size[k], 1);
    check_integer("strides", st[k], 1);
  }
  if (padding != "valid" && padding != "same")
    throw ValueError(cat("padding: expected one of 'valid', 'same'; got '", padding, "'"));
  const PoolGeometry g =
      pool_geometry(in[0] * in[1], Shape(in.begin() + 2, in.end()), pool_size, st, padding == "same");
  if (g.out_h < 1 || g.out_w < 1)
    throw ValueError(cat("pool_size: larger than the input ", shape_str(in), " with padding 'valid'"));
  return g;
}

Shape pooled_shape(const Shape& in, const PoolGeometry& g) {
  Shape out{in[0], in[1]};
  if (in.size() == 4) out.push_back(g.out_h);
  out.push_back(g.out_w);
  return out;
}

template <class T>
Array<T> new_array(const Shape& shape) {
  return Array<T>(std::vector<py::ssize_t>(shape.begin(), shape.end()));
}

template <class T>
void require_shape(const Array<T>& a, const char* name, const Shape& want) {
  if (shape_of<T>(a) != want)
    throw ValueError(cat(name, ": expected shape ", shape_str(want), ", got ", shape_str(shape_of<T>(a))));
}

template <class T>
void bind_typed(py::module_& m) {
  using OptSizes = std::optional<Sizes>;
  // x: (n, C, L) or (n, C, H, W) -> y: (n, C, L') or (n, C, H', W')
  auto forward = [](void (*kernel)(const T*, T*, const PoolGeometry&)) {
    return [kernel](const Array<T>& x, const Sizes& pool_size, const OptSizes& strides, const std::string& padding) {
      const PoolGeometry g = geometry_of(shape_of<T>(x), pool_size, strides, padding);
      Array<T> y = new_array<T>(pooled_shape(shape_of<T>(x), g));
      kernel(x.data(), y.mutable_data(), g);
      return y;
    };
  };
  m.def("max_pool_forward", forward(&max_pool_forward<T>), py::arg("x"), py::arg("pool_size"),
        py::arg("strides") = py::none(), py::arg("padding") = "valid");
  m.def("avg_pool_forward", forward(&avg_pool_forward<T>), py::arg("x"), py::arg("pool_size"),
        py::arg("strides") = py::none(), py::arg("padding") = "valid");
  m.def("max_pool_backward", [](const Array<T>& x, const Array<T>& dy, const Sizes& pool_size, const OptSizes& strides,
                                const std::string& padding, bool via_indices) {
    const PoolGeometry g = geometry_of(shape_of<T>(x), pool_size, strides, padding);
    require_shape(dy, "dy", pooled_shape(shape_of<T>(x), g));
    Array<T> dx = like(x);
    if (via_indices) {
      // The training path: the forward pass keeps where the maxima are.
      std::vector<T> y(static_cast<std::size_t>(dy.size()));
      std::vector<std::int32_t> argmax(y.size());
      max_pool_forward_indices<T>(x.data(), y.data(), argmax.data(), g);
      max_pool_backward_indices<T>(argmax.data(), dy.data(), dx.mutable_data(), g);
    } else {
      max_pool_backward<T>(x.data(), dy.data(), dx.mutable_data(), g);
    }
    return dx;
  }, py::arg("x"), py::arg("dy"), py::arg("pool_size"), py::arg("strides") = py::none(), py::arg("padding") = "valid",
     py::arg("via_indices") = false);
  m.def("avg_pool_backward", [](const Array<T>& dy, const Shape& input_shape, const Sizes& pool_size,
                                const OptSizes& strides, const std::string& padding) {
    const PoolGeometry g = geometry_of(input_shape, pool_size, strides, padding);
    require_shape(dy, "dy", pooled_shape(input_shape, g));
    Array<T> dx = new_array<T>(input_shape);
    avg_pool_backward<T>(dy.data(), dx.mutable_data(), g);
    return dx;
  }, py::arg("dy"), py::arg("input_shape"), py::arg("pool_size"), py::arg("strides") = py::none(),
     py::arg("padding") = "valid");

  // padding: ((top, bottom), (left, right))
  using Pads = std::pair<std::pair<index_t, index_t>, std::pair<index_t, index_t>>;
  auto pads = [](const Pads& p) {
    const Padding2D pad{p.first.first, p.first.second, p.second.first, p.second.second};
    for (index_t v : {pad.top, pad.bottom, pad.left, pad.right}) {
      check_integer("padding", v, 0);
      if (v > kMaxElements) throw ValueError(cat("padding: expected sizes of at most 2^40, got ", v));
    }
    return pad;
  };
  m.def("zero_padding2d_forward", [pads](const Array<T>& x, const Pads& padding) {
    require_ndim(x, "x", 4);
    const Padding2D p = pads(padding);
    const Shape in = shape_of<T>(x);
    Array<T> y = new_array<T>({in[0], in[1], p.top + in[2] + p.bottom, p.left + in[3] + p.right});
    zero_padding2d_forward<T>(x.data(), y.mutable_data(), in[0] * in[1], in[2], in[3], p);
    return y;
  }, py::arg("x"), py::arg("padding"));
  m.def("zero_padding2d_backward", [pads](const Array<T>& dy, const Pads& padding) {
    require_ndim(dy, "dy", 4);
    const Padding2D p = pads(padding);
    const Shape out = shape_of<T>(dy);
    const index_t h = out[2] - p.top - p.bottom, w = out[3] - p.left - p.right;
    if (h < 0 || w < 0) throw ValueError(cat("dy: shape ", shape_str(out), " is smaller than the padding"));
    Array<T> dx = new_array<T>({out[0], out[1], h, w});
    zero_padding2d_backward<T>(dy.data(), dx.mutable_data(), out[0] * out[1], h, w, p);
    return dx;
  }, py::arg("dy"), py::arg("padding"));
}

}  // namespace

void bind_pooling_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
