#include "entrena/kernels/padding.hpp"

#include <cstring>

#include "entrena/parallel.hpp"

namespace entrena {

namespace {

// For every plane p and input row r: f(the row of x, the row of the padded
// plane it belongs to); begin(padded plane) first, per plane.
template <class T, class Begin, class F>
void for_each_row(index_t planes, index_t h, index_t w, const Padding2D& pad, T* padded, Begin begin, F f) {
  const index_t pw = pad.left + w + pad.right, ph = pad.top + h + pad.bottom;
  const int nt = threads_for(static_cast<double>(planes) * ph * pw, 65536.0);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t p = 0; p < planes; ++p) {
    T* pp = padded + p * ph * pw;
    begin(pp, ph * pw);
    for (index_t r = 0; r < h; ++r) f(p * h * w + r * w, pp + (pad.top + r) * pw + pad.left);
  }
}

}  // namespace

template <class T>
void zero_padding2d_forward(const T* x, T* y, index_t planes, index_t h, index_t w, const Padding2D& pad) {
  // x: (planes, h, w), y: (planes, top + h + bottom, left + w + right)
  for_each_row(
      planes, h, w, pad, y,
      [](T* plane, index_t size) { std::memset(plane, 0, static_cast<std::size_t>(size) * sizeof(T)); },
      [&](index_t xi, T* row) { std::memcpy(row, x + xi, static_cast<std::size_t>(w) * sizeof(T)); });
}

template <class T>
void zero_padding2d_backward(const T* dy, T* dx, index_t planes, index_t h, index_t w, const Padding2D& pad) {
  // dy: (planes, top + h + bottom, left + w + right), dx: (planes, h, w)
  for_each_row(
      planes, h, w, pad, dy, [](const T*, index_t) {},
      [&](index_t xi, const T* row) { std::memcpy(dx + xi, row, static_cast<std::size_t>(w) * sizeof(T)); });
}

#define ENTRENA_INSTANTIATE(T)                                                                      \
  template void zero_padding2d_forward<T>(const T*, T*, index_t, index_t, index_t, const Padding2D&); \
  template void zero_padding2d_backward<T>(const T*, T*, index_t, index_t, index_t, const Padding2D&);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
