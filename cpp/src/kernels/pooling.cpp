#include "entrena/kernels/pooling.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "entrena/parallel.hpp"
#include "kernel_table.hpp"

namespace entrena {

namespace {

// A window clipped to the plane: rows [h0, h1), columns [w0, w1).
struct Window {
  index_t h0, h1, w0, w1;
};

// f(p) for each plane p. Planes are independent and go to threads whole, so
// whatever a plane accumulates is added in the same order for any thread
// count.
template <class F>
void for_each_plane(const PoolGeometry& g, F f) {
  const double work = static_cast<double>(g.planes) * g.out_h * g.out_w * (g.pool_h * g.pool_w + 1);
  const int nt = threads_for(work, 65536.0);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t p = 0; p < g.planes; ++p) f(p);
}

// Calls begin(p) for each plane p, then f(p, o, window) for its outputs o
// in order (row by row), planes to threads as for_each_plane.
template <class Begin, class F>
void for_each_window(const PoolGeometry& g, Begin begin, F f) {
  for_each_plane(g, [&](index_t p) {
    begin(p);
    for (index_t oh = 0; oh < g.out_h; ++oh) {
      const index_t h = oh * g.stride_h - g.pad_top;
      const index_t h0 = std::max<index_t>(h, 0), h1 = std::min(h + g.pool_h, g.in_h);
      for (index_t ow = 0; ow < g.out_w; ++ow) {
        const index_t w = ow * g.stride_w - g.pad_left;
        f(p, oh * g.out_w + ow, Window{h0, h1, std::max<index_t>(w, 0), std::min(w + g.pool_w, g.in_w)});
      }
    }
  });
}

// The index in the plane xp (row length in_w) of the window's first
// maximum; a NaN wins (the first one).
template <class T>
index_t argmax_in(const T* xp, index_t in_w, const Window& win) {
  index_t best = win.h0 * in_w + win.w0;
  T v = xp[best];
  for (index_t h = win.h0; h < win.h1; ++h)
    for (index_t w = win.w0; w < win.w1; ++w) {
      const T u = xp[h * in_w + w];
      if (u > v || (u != u && v == v)) {
        v = u;
        best = h * in_w + w;
      }
    }
  return best;
}

// Every window lies inside the plane (no padding reaches it): the case of
// "valid" pooling, taken by the branch-free row kernels below.
bool windows_inside(const PoolGeometry& g) {
  return g.pad_top == 0 && g.pad_left == 0 && (g.out_h - 1) * g.stride_h + g.pool_h <= g.in_h &&
         (g.out_w - 1) * g.stride_w + g.pool_w <= g.in_w;
}

// Outputs of a row are handled in chunks of this many (stack buffers).
constexpr index_t kRowChunk = 64;

}  // namespace

template <class T>
void max_pool_forward(const T* x, T* y, const PoolGeometry& g) {
  // x: (planes, in_h, in_w), y: (planes, out_h, out_w)
  const index_t in = g.in_h * g.in_w, out = g.out_h * g.out_w;
  if (windows_inside(g)) {
    for_each_plane(g, [&](index_t p) {
      for (index_t oh = 0; oh < g.out_h; ++oh)
        for (index_t o0 = 0; o0 < g.out_w; o0 += kRowChunk)
          kernels::table<T>().pool_row_max(g, x + p * in, oh, o0, std::min(kRowChunk, g.out_w - o0),
                                           y + p * out + oh * g.out_w + o0);
    });
    return;
  }
  for_each_window(g, [](index_t) {}, [&](index_t p, index_t o, const Window& win) {
    const T* xp = x + p * in;
    y[p * out + o] = xp[argmax_in(xp, g.in_w, win)];
  });
}

template <class T>
void max_pool_backward(const T* x, const T* dy, T* dx, const PoolGeometry& g) {
  // x, dx: (planes, in_h, in_w), dy: (planes, out_h, out_w)
  const index_t in = g.in_h * g.in_w, out = g.out_h * g.out_w;
  if (windows_inside(g) && in <= INT32_MAX) {
    // The window's first maximum again, then dy added where it is.
    for_each_plane(g, [&](index_t p) {
      T* dxp = dx + p * in;
      std::memset(dxp, 0, static_cast<std::size_t>(in) * sizeof(T));
      alignas(64) T best[kRowChunk];
      alignas(64) std::int32_t where[kRowChunk];
      for (index_t oh = 0; oh < g.out_h; ++oh)
        for (index_t o0 = 0; o0 < g.out_w; o0 += kRowChunk) {
          const index_t m = std::min(kRowChunk, g.out_w - o0);
          kernels::table<T>().pool_row_argmax(g, x + p * in, oh, o0, m, best, where);
          const T* d = dy + p * out + oh * g.out_w + o0;
          for (index_t j = 0; j < m; ++j) dxp[where[j]] += d[j];
        }
    });
    return;
  }
  for_each_window(
      g, [&](index_t p) { std::memset(dx + p * in, 0, static_cast<std::size_t>(in) * sizeof(T)); },
      [&](index_t p, index_t o, const Window& win) {
        dx[p * in + argmax_in(x + p * in, g.in_w, win)] += dy[p * out + o];
      });
}

template <class T>
void avg_pool_forward(const T* x, T* y, const PoolGeometry& g) {
  // x: (planes, in_h, in_w), y: (planes, out_h, out_w)
  const index_t in = g.in_h * g.in_w, out = g.out_h * g.out_w;
  for_each_window(g, [](index_t) {}, [&](index_t p, index_t o, const Window& win) {
    const T* xp = x + p * in;
    double s = 0.0;
    for (index_t h = win.h0; h < win.h1; ++h) {
      const T* row = xp + h * g.in_w;
#pragma omp simd reduction(+ : s)
      for (index_t w = win.w0; w < win.w1; ++w) s += static_cast<double>(row[w]);
    }
    y[p * out + o] = static_cast<T>(s / static_cast<double>((win.h1 - win.h0) * (win.w1 - win.w0)));
  });
}

template <class T>
void avg_pool_backward(const T* dy, T* dx, const PoolGeometry& g) {
  // dy: (planes, out_h, out_w), dx: (planes, in_h, in_w)
  const index_t in = g.in_h * g.in_w, out = g.out_h * g.out_w;
  for_each_window(
      g, [&](index_t p) { std::memset(dx + p * in, 0, static_cast<std::size_t>(in) * sizeof(T)); },
      [&](index_t p, index_t o, const Window& win) {
        const T d = static_cast<T>(static_cast<double>(dy[p * out + o]) /
                                   static_cast<double>((win.h1 - win.h0) * (win.w1 - win.w0)));
        for (index_t h = win.h0; h < win.h1; ++h) {
          T* row = dx + p * in + h * g.in_w;
#pragma omp simd
          for (index_t w = win.w0; w < win.w1; ++w) row[w] += d;
        }
      });
}

bool max_pool_indices_fit(const PoolGeometry& g) { return g.in_h * g.in_w <= INT32_MAX; }

template <class T>
void max_pool_forward_indices(const T* x, T* y, std::int32_t* argmax, const PoolGeometry& g) {
  const index_t in = g.in_h * g.in_w, out = g.out_h * g.out_w;
  if (!max_pool_indices_fit(g)) throw ValueError("max_pool_forward_indices: planes of more than 2^31 elements");
  if (windows_inside(g)) {
    for_each_plane(g, [&](index_t p) {
      for (index_t oh = 0; oh < g.out_h; ++oh)
        for (index_t o0 = 0; o0 < g.out_w; o0 += kRowChunk) {
          const index_t at = p * out + oh * g.out_w + o0;
          kernels::table<T>().pool_row_argmax(g, x + p * in, oh, o0, std::min(kRowChunk, g.out_w - o0), y + at, argmax + at);
        }
    });
    return;
  }
  for_each_window(g, [](index_t) {}, [&](index_t p, index_t o, const Window& win) {
    const T* xp = x + p * in;
    const index_t k = argmax_in(xp, g.in_w, win);
    y[p * out + o] = xp[k];
    argmax[p * out + o] = static_cast<std::int32_t>(k);
  });
}

template <class T>
void max_pool_backward_indices(const std::int32_t* argmax, const T* dy, T* dx, const PoolGeometry& g) {
  const index_t in = g.in_h * g.in_w, out = g.out_h * g.out_w;
  for_each_plane(g, [&](index_t p) {
    T* dxp = dx + p * in;
    const std::int32_t* a = argmax + p * out;
    const T* d = dy + p * out;
    std::memset(dxp, 0, static_cast<std::size_t>(in) * sizeof(T));
    for (index_t o = 0; o < out; ++o) dxp[a[o]] += d[o];
  });
}

#define ENTRENA_INSTANTIATE(T)                                                     \
  template void max_pool_forward<T>(const T*, T*, const PoolGeometry&);            \
  template void max_pool_backward<T>(const T*, const T*, T*, const PoolGeometry&); \
  template void avg_pool_forward<T>(const T*, T*, const PoolGeometry&);            \
  template void avg_pool_backward<T>(const T*, T*, const PoolGeometry&);                        \
  template void max_pool_forward_indices<T>(const T*, T*, std::int32_t*, const PoolGeometry&); \
  template void max_pool_backward_indices<T>(const std::int32_t*, const T*, T*, const PoolGeometry&);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
