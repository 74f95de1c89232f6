// The data movement of convolution on the GEMM, written once and compiled
// per ISA: im2col lays an image's patches out as the columns of a matrix,
// col2im adds such a matrix back into the image (its adjoint). Internal
// header of the ISA translation units (isa_kernels.hpp); conv.cpp calls
// them through the kernel table.
#pragma once

#include "entrena/kernels/conv.hpp"
#include "kernel_table.hpp"
#include "simd.hpp"

namespace entrena::ENTRENA_ISA_NS {
namespace {
namespace conv {

using idx = kernels::idx;

// The output positions o in [0, out) whose input index o·stride + off lies
// in [0, size): [lo, hi).
inline void valid_range(idx out, idx stride, idx off, idx size, idx& lo, idx& hi) {
  if (stride == 1) {
    lo = off >= 0 ? 0 : -off;
    hi = size - off < 0 ? 0 : size - off;
  } else {
    lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
    const idx top = size - 1 - off;
    hi = top < 0 ? 0 : top / stride + 1;
  }
  if (hi > out) hi = out;
  if (lo > hi) lo = hi;
}

// Short runs are the common case (a row of a small image, the padding at
// its ends), so these use whole vectors and then single elements: no
// masked stores (slow on some CPUs) and no call into the C library (which
// a plain loop would become). vec(i) handles the L elements from i, one(i)
// element i.
template <class T, class Vec, class One>
[[gnu::always_inline]] inline void run(idx n, Vec vec, One one) {
  constexpr int L = simd::lanes<T>;
  static_assert(L <= 16, "run: at most 16 lanes");
  idx i = 0;
  for (; i + L <= n; i += L) vec(i);
  switch (n - i) {  // 0 .. L - 1 elements left, last first
    case 15: one(i + 14); [[fallthrough]];
    case 14: one(i + 13); [[fallthrough]];
    case 13: one(i + 12); [[fallthrough]];
    case 12: one(i + 11); [[fallthrough]];
    case 11: one(i + 10); [[fallthrough]];
    case 10: one(i + 9); [[fallthrough]];
    case 9: one(i + 8); [[fallthrough]];
    case 8: one(i + 7); [[fallthrough]];
    case 7: one(i + 6); [[fallthrough]];
    case 6: one(i + 5); [[fallthrough]];
    case 5: one(i + 4); [[fallthrough]];
    case 4: one(i + 3); [[fallthrough]];
    case 3: one(i + 2); [[fallthrough]];
    case 2: one(i + 1); [[fallthrough]];
    case 1: one(i); [[fallthrough]];
    default: break;
  }
}

template <class T>
[[gnu::always_inline]] inline void fill_zero(T* p, idx n) {
  run<T>(n, [&](idx i) { simd::store(p + i, simd::zero<T>()); }, [&](idx i) { p[i] = T(0); });
}

template <class T>
[[gnu::always_inline]] inline void copy(const T* src, T* dst, idx n) {
  run<T>(n, [&](idx i) { simd::store(dst + i, simd::load(src + i)); }, [&](idx i) { dst[i] = src[i]; });
}

// dst = src where y > 0, else 0 (the backward pass of a ReLU whose output is y).
template <class T>
[[gnu::always_inline]] inline void copy_where_positive(const T* y, const T* src, T* dst, idx n) {
  run<T>(
      n,
      [&](idx i) {
        const simd::vec<T> yv = simd::load(y + i);
        simd::store(dst + i, yv > T(0) ? simd::load(src + i) : simd::zero<T>());
      },
      [&](idx i) { dst[i] = y[i] > T(0) ? src[i] : T(0); });
}

template <class T>
[[gnu::always_inline]] inline void add_into(const T* src, T* dst, idx n) {
  run<T>(n, [&](idx i) { simd::store(dst + i, simd::add(simd::load(dst + i), simd::load(src + i))); },
         [&](idx i) { dst[i] += src[i]; });
}

// Zeroes columns [0, ow0) and [ow1, Wo) of rows [oh0, oh1) of a (·, Wo)
// matrix: the few padding columns at the ends of each row, column by
// column.
template <class T>
inline void zero_columns(T* m, idx Wo, idx oh0, idx oh1, idx ow0, idx ow1) {
  for (idx t = 0; t < ow0; ++t)
    for (idx oh = oh0; oh < oh1; ++oh) m[oh * Wo + t] = T(0);
  for (idx t = ow1; t < Wo; ++t)
    for (idx oh = oh0; oh < oh1; ++oh) m[oh * Wo + t] = T(0);
}

// One kernel tap (c, i, j): row r = (c·kh + i)·kw + j of a column
// matrix. Output position (oh, ow) reads input (oh·sh + offh, ow·sw + offw)
// of channel c, which lies in x for oh in [oh0, oh1) and ow in [ow0, ow1).
struct Tap {
  idx c, r, offh, offw, oh0, oh1, ow0, ow1;
  // The offset in channel c's (H, W) plane of the input under (oh0, ow0).
  idx first_input(const Conv2dShape& s) const { return (oh0 * s.sh + offh) * s.W + ow0 * s.sw + offw; }
};

// f(tap) for every tap of Cg channels, in row order.
template <class F>
inline void for_each_tap(const Conv2dShape& s, idx Cg, F f) {
  for (idx c = 0; c < Cg; ++c)
    for (idx i = 0; i < s.kh; ++i) {
      Tap t{};
      t.c = c;
      t.offh = i * s.dh - s.pt;
      valid_range(s.Ho, s.sh, t.offh, s.H, t.oh0, t.oh1);
      for (idx j = 0; j < s.kw; ++j) {
        t.r = (c * s.kh + i) * s.kw + j;
        t.offw = j * s.dw - s.pl;
        valid_range(s.Wo, s.sw, t.offw, s.W, t.ow0, t.ow1);
        f(t);
      }
    }
}

// Stride 1 with as many output as input columns ("same" padding): the
// part of a tap's row of columns that lies in x is one run of x, shifted;
// only the entries that fall into the padding are set apart.
inline bool one_run_per_tap(const Conv2dShape& s) { return s.sh == 1 && s.sw == 1 && s.Wo == s.W; }

// x: (Cg, H, W), one sample's channels of one group -> col: (Cg·kh·kw, Ho·Wo)
// with row stride ld; row (c, i, j), column oh·Wo + ow holds
// x[c, oh·sh + i·dh - pt, ow·sw + j·dw - pl], 0 outside x.
template <class T>
void im2col(const Conv2dShape& s, idx Cg, const T* x, T* col, idx ld) {
  const idx Wo = s.Wo, P = s.Ho * s.Wo, plane = s.H * s.W;
  const bool runs = one_run_per_tap(s);
  for_each_tap(s, Cg, [&](const Tap& t) {
    T* row = col + t.r * ld;
    fill_zero(row, t.oh0 * Wo);
    fill_zero(row + t.oh1 * Wo, P - t.oh1 * Wo);
    if (t.oh0 >= t.oh1) return;
    if (t.ow0 >= t.ow1) {
      fill_zero(row + t.oh0 * Wo, (t.oh1 - t.oh0) * Wo);
      return;
    }
    const T* src = x + t.c * plane + t.first_input(s);
    T* out = row + t.oh0 * Wo + t.ow0;
    const idx sw = s.sw, len = t.ow1 - t.ow0, step = s.sh * s.W;
    if (runs) {
      // From (oh0, ow0) to (oh1 - 1, ow1 - 1), both in x; what lands in the
      // padding columns is zeroed below.
      copy(src, out, (t.oh1 - 1 - t.oh0) * Wo + len);
    } else if (sw == 1) {
      for (idx oh = t.oh0; oh < t.oh1; ++oh, src += step, out += Wo) copy(src, out, len);
    } else {
      for (idx oh = t.oh0; oh < t.oh1; ++oh, src += step, out += Wo)
        for (idx k = 0; k < len; ++k) out[k] = src[k * sw];
    }
    zero_columns(row, Wo, t.oh0, t.oh1, t.ow0, t.ow1);
  });
}

// The adjoint of im2col: dx (Cg, H, W) = the sum of the entries of dcol
// (Cg·kh·kw, Ho·Wo, row stride ld) at the input positions im2col read them
// from, rows of dcol in order. dcol is scratch: in the stride-1 "same"
// geometry its entries that fall into the padding are set to 0 on the way
// (so that each row adds into dx as one run).
template <class T>
void col2im(const Conv2dShape& s, idx Cg, T* dcol, idx ld, T* dx) {
  const idx Wo = s.Wo, plane = s.H * s.W;
  const bool runs = one_run_per_tap(s);
  fill_zero(dx, Cg * plane);
  for_each_tap(s, Cg, [&](const Tap& t) {
    if (t.oh0 >= t.oh1 || t.ow0 >= t.ow1) return;
    T* row = dcol + t.r * ld;
    T* dst = dx + t.c * plane + t.first_input(s);
    const T* in = row + t.oh0 * Wo + t.ow0;
    if (runs) {
      // Entries in the padding add nothing: zero them, then one run.
      zero_columns(row, Wo, t.oh0, t.oh1, t.ow0, t.ow1);
      add_into(in, dst, (t.oh1 - 1 - t.oh0) * Wo + t.ow1 - t.ow0);
      return;
    }
    const idx sw = s.sw, len = t.ow1 - t.ow0, step = s.sh * s.W;
    if (sw == 1) {
      for (idx oh = t.oh0; oh < t.oh1; ++oh, dst += step, in += Wo) add_into(in, dst, len);
    } else {
      for (idx oh = t.oh0; oh < t.oh1; ++oh, dst += step, in += Wo)
        for (idx k = 0; k < len; ++k) dst[k * sw] += in[k];
    }
  });
}

}  // namespace conv
}  // namespace
}  // namespace entrena::ENTRENA_ISA_NS
