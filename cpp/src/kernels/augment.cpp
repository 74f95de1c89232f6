#include "entrena/kernels/augment.hpp"

#include <cmath>
#include <cstring>

#include "entrena/parallel.hpp"

namespace entrena {

namespace {

// Threads over the n·C planes of a batch (each plane done by one thread).
int plane_threads(index_t planes, index_t plane_size, double cost = 1.0) {
  const int nt = threads_for(static_cast<double>(planes) * static_cast<double>(plane_size) * cost, 65536.0);
  return nt > planes ? static_cast<int>(planes) : nt;
}

// The source point of output pixel (i, j) of a rotation by `angle`.
struct Rotation {
  double c, s, ci, cj;
  Rotation(double angle, index_t H, index_t W)
      : c(std::cos(angle)), s(std::sin(angle)), ci(0.5 * static_cast<double>(H - 1)), cj(0.5 * static_cast<double>(W - 1)) {}
  // (row, column) in the input, as doubles.
  void source(index_t i, index_t j, double& yi, double& xj) const {
    const double v = static_cast<double>(i) - ci, u = static_cast<double>(j) - cj;
    xj = c * u + s * v + cj;
    yi = -s * u + c * v + ci;
  }
};

}  // namespace

template <class T>
void flip_forward(const T* x, T* y, index_t n, index_t C, index_t H, index_t W, const std::uint8_t* flip_h,
                  const std::uint8_t* flip_v) {
  // x, y: (n, C, H, W); flip_h, flip_v: (n,)
  const index_t planes = n * C, hw = H * W;
  const int nt = plane_threads(planes, hw);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t p = 0; p < planes; ++p) {
    const index_t s = p / C;
    const T* xp = x + p * hw;
    T* yp = y + p * hw;
    const bool fh = flip_h[s] != 0, fv = flip_v[s] != 0;
    for (index_t i = 0; i < H; ++i) {
      const T* row = xp + (fv ? H - 1 - i : i) * W;
      T* out = yp + i * W;
      if (fh) {
        for (index_t j = 0; j < W; ++j) out[j] = row[W - 1 - j];
      } else {
        std::memcpy(out, row, static_cast<std::size_t>(W) * sizeof(T));
      }
    }
  }
}

template <class T>
void shift_forward(const T* x, T* y, index_t n, index_t C, index_t H, index_t W, index_t Ho, index_t Wo,
                   const index_t* off_h, const index_t* off_w) {
  // x: (n, C, H, W), y: (n, C, Ho, Wo); off_h, off_w: (n,)
  const index_t planes = n * C;
  const int nt = plane_threads(planes, Ho * Wo);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t p = 0; p < planes; ++p) {
    const index_t s = p / C, dh = off_h[s], dw = off_w[s];
    const T* xp = x + p * H * W;
    T* yp = y + p * Ho * Wo;
    // Output columns whose source column is inside x: j + dw in [0, W).
    const index_t j0 = dw < 0 ? -dw : 0, j1 = W - dw < Wo ? W - dw : Wo;
    for (index_t i = 0; i < Ho; ++i) {
      T* out = yp + i * Wo;
      const index_t src = i + dh;
      if (src < 0 || src >= H || j0 >= j1) {
        for (index_t j = 0; j < Wo; ++j) out[j] = T(0);
        continue;
      }
      for (index_t j = 0; j < j0; ++j) out[j] = T(0);
      std::memcpy(out + j0, xp + src * W + j0 + dw, static_cast<std::size_t>(j1 - j0) * sizeof(T));
      for (index_t j = j1 > j0 ? j1 : j0; j < Wo; ++j) out[j] = T(0);
    }
  }
}

template <class T>
void shift_backward(const T* dy, T* dx, index_t n, index_t C, index_t H, index_t W, index_t Ho, index_t Wo,
                    const index_t* off_h, const index_t* off_w) {
  // dy: (n, C, Ho, Wo), dx: (n, C, H, W); off_h, off_w: (n,)
  const index_t planes = n * C;
  const int nt = plane_threads(planes, H * W);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t p = 0; p < planes; ++p) {
    const index_t s = p / C, dh = off_h[s], dw = off_w[s];
    const T* gp = dy + p * Ho * Wo;
    T* xp = dx + p * H * W;
    // Input columns that some output column read: j - dw in [0, Wo).
    const index_t j0 = dw > 0 ? dw : 0, j1 = Wo + dw < W ? Wo + dw : W;
    for (index_t i = 0; i < H; ++i) {
      T* out = xp + i * W;
      const index_t src = i - dh;
      if (src < 0 || src >= Ho || j0 >= j1) {
        for (index_t j = 0; j < W; ++j) out[j] = T(0);
        continue;
      }
      for (index_t j = 0; j < j0; ++j) out[j] = T(0);
      std::memcpy(out + j0, gp + src * Wo + j0 - dw, static_cast<std::size_t>(j1 - j0) * sizeof(T));
      for (index_t j = j1 > j0 ? j1 : j0; j < W; ++j) out[j] = T(0);
    }
  }
}

template <class T>
void rotate_forward(const T* x, T* y, index_t n, index_t C, index_t H, index_t W, const double* angle) {
  // x, y: (n, C, H, W); angle: (n,)
  const index_t planes = n * C;
  const int nt = plane_threads(planes, H * W, 8.0);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t p = 0; p < planes; ++p) {
    const Rotation r(angle[p / C], H, W);
    const T* xp = x + p * H * W;
    T* yp = y + p * H * W;
    for (index_t i = 0; i < H; ++i)
      for (index_t j = 0; j < W; ++j) {
        double yi, xj;
        r.source(i, j, yi, xj);
        const double fy = std::floor(yi), fx = std::floor(xj);
        const index_t y0 = static_cast<index_t>(fy), x0 = static_cast<index_t>(fx);
        const double wy = yi - fy, wx = xj - fx;
        double v = 0.0;
        for (int a = 0; a < 2; ++a)
          for (int b = 0; b < 2; ++b) {
            const index_t yy = y0 + a, xx = x0 + b;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            v += (a ? wy : 1.0 - wy) * (b ? wx : 1.0 - wx) * static_cast<double>(xp[yy * W + xx]);
          }
        yp[i * W + j] = static_cast<T>(v);
      }
  }
}

template <class T>
void rotate_backward(const T* dy, T* dx, index_t n, index_t C, index_t H, index_t W, const double* angle) {
  // dy, dx: (n, C, H, W); angle: (n,)
  const index_t planes = n * C;
  const int nt = plane_threads(planes, H * W, 8.0);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t p = 0; p < planes; ++p) {
    const Rotation r(angle[p / C], H, W);
    const T* gp = dy + p * H * W;
    T* xp = dx + p * H * W;
    for (index_t k = 0; k < H * W; ++k) xp[k] = T(0);
    for (index_t i = 0; i < H; ++i)
      for (index_t j = 0; j < W; ++j) {
        double yi, xj;
        r.source(i, j, yi, xj);
        const double fy = std::floor(yi), fx = std::floor(xj);
        const index_t y0 = static_cast<index_t>(fy), x0 = static_cast<index_t>(fx);
        const double wy = yi - fy, wx = xj - fx;
        const double g = static_cast<double>(gp[i * W + j]);
        for (int a = 0; a < 2; ++a)
          for (int b = 0; b < 2; ++b) {
            const index_t yy = y0 + a, xx = x0 + b;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            xp[yy * W + xx] += static_cast<T>((a ? wy : 1.0 - wy) * (b ? wx : 1.0 - wx) * g);
          }
      }
  }
}

#define ENTRENA_INSTANTIATE(T)                                                                                   \
  template void flip_forward<T>(const T*, T*, index_t, index_t, index_t, index_t, const std::uint8_t*,          \
                                const std::uint8_t*);                                                           \
  template void shift_forward<T>(const T*, T*, index_t, index_t, index_t, index_t, index_t, index_t,            \
                                 const index_t*, const index_t*);                                               \
  template void shift_backward<T>(const T*, T*, index_t, index_t, index_t, index_t, index_t, index_t,           \
                                  const index_t*, const index_t*);                                              \
  template void rotate_forward<T>(const T*, T*, index_t, index_t, index_t, index_t, const double*);             \
  template void rotate_backward<T>(const T*, T*, index_t, index_t, index_t, index_t, const double*);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
