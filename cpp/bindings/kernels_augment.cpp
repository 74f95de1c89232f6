// Augmentation kernels, exposed for tests against the NumPy reference.
#include "common.hpp"

namespace entrena::bind {

namespace {

template <class T>
void require_images(const Array<T>& x, const char* name) {
  if (x.ndim() != 4) throw ValueError(cat(name, ": expected images (n, C, H, W), got ", x.ndim(), "-D"));
}

void require_per_sample(const py::array& a, const char* name, index_t n) {
  if (a.ndim() != 1 || a.shape(0) != n) throw ValueError(cat(name, ": expected shape (", n, ",)"));
}

template <class T>
void bind_typed(py::module_& m) {
  using Idx = py::array_t<index_t, py::array::c_style | py::array::forcecast>;
  m.def("flip_forward", [](const Array<T>& x, py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast> fh,
                           py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast> fv) {
    require_images(x, "x");
    require_per_sample(fh, "flip_h", x.shape(0));
    require_per_sample(fv, "flip_v", x.shape(0));
    Array<T> y = like(x);
    flip_forward<T>(x.data(), y.mutable_data(), x.shape(0), x.shape(1), x.shape(2), x.shape(3), fh.data(), fv.data());
    return y;
  }, py::arg("x"), py::arg("flip_h"), py::arg("flip_v"));
  m.def("shift_forward", [](const Array<T>& x, index_t Ho, index_t Wo, Idx oh, Idx ow) {
    require_images(x, "x");
    require_per_sample(oh, "off_h", x.shape(0));
    require_per_sample(ow, "off_w", x.shape(0));
    if (Ho < 1 || Wo < 1) throw ValueError("Ho, Wo: expected sizes >= 1");
    Array<T> y({static_cast<index_t>(x.shape(0)), static_cast<index_t>(x.shape(1)), Ho, Wo});
    shift_forward<T>(x.data(), y.mutable_data(), x.shape(0), x.shape(1), x.shape(2), x.shape(3), Ho, Wo, oh.data(),
                     ow.data());
    return y;
  }, py::arg("x"), py::arg("Ho"), py::arg("Wo"), py::arg("off_h"), py::arg("off_w"));
  m.def("shift_backward", [](const Array<T>& dy, index_t H, index_t W, Idx oh, Idx ow) {
    require_images(dy, "dy");
    require_per_sample(oh, "off_h", dy.shape(0));
    require_per_sample(ow, "off_w", dy.shape(0));
    if (H < 1 || W < 1) throw ValueError("H, W: expected sizes >= 1");
    Array<T> dx({static_cast<index_t>(dy.shape(0)), static_cast<index_t>(dy.shape(1)), H, W});
    shift_backward<T>(dy.data(), dx.mutable_data(), dy.shape(0), dy.shape(1), H, W, dy.shape(2), dy.shape(3),
                      oh.data(), ow.data());
    return dx;
  }, py::arg("dy"), py::arg("H"), py::arg("W"), py::arg("off_h"), py::arg("off_w"));
  m.def("rotate_forward", [](const Array<T>& x, py::array_t<double, py::array::c_style | py::array::forcecast> a) {
    require_images(x, "x");
    require_per_sample(a, "angle", x.shape(0));
    Array<T> y = like(x);
    rotate_forward<T>(x.data(), y.mutable_data(), x.shape(0), x.shape(1), x.shape(2), x.shape(3), a.data());
    return y;
  }, py::arg("x"), py::arg("angle"));
  m.def("rotate_backward", [](const Array<T>& dy, py::array_t<double, py::array::c_style | py::array::forcecast> a) {
    require_images(dy, "dy");
    require_per_sample(a, "angle", dy.shape(0));
    Array<T> dx = like(dy);
    rotate_backward<T>(dy.data(), dx.mutable_data(), dy.shape(0), dy.shape(1), dy.shape(2), dy.shape(3), a.data());
    return dx;
  }, py::arg("dy"), py::arg("angle"));
}

}  // namespace

void bind_augment_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
