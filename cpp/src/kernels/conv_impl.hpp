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
inline void run(idx n, Vec vec, One one) {
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
inline void fill_zero(T* p, idx n) {
  run<T>(n, [&](idx i) { simd::store(p + i, simd::zero<T>()); }, [&](idx i) { p[i] = T(0); });
}

template <class T>
inline void copy(const T* src, T* dst, idx n) {
  run<T>(n, [&](idx i) { simd::store(dst + i, simd::load(src + i)); }, [&](idx i) { dst[i] = src[i]; });
}

template <class T>
inline void add_into(const T* src, T* dst, idx n) {
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

// x: (Cg, H, W), one sample's channels of one group -> col: (Cg·kh·kw, Ho·Wo)
// with row stride ld; row (c, i, j), column oh·Wo + ow holds
// x[c, oh·sh + i·dh - pt, ow·sw + j·dw - pl], 0 outside x.
template <class T>
void im2col(const Conv2dShape& s, idx Cg, const T* x, T* col, idx ld) {
  const idx W = s.W, Wo = s.Wo, P = s.Ho * s.Wo;
  // Stride 1 with as many output as input columns ("same" padding): the
  // valid part of a row of col is one run of x, shifted; only the
  // positions that fall into the padding are set apart.
  const bool runs = s.sh == 1 && s.sw == 1 && Wo == W;
  for (idx c = 0; c < Cg; ++c) {
    const T* xc = x + c * s.H * W;
    for (idx i = 0; i < s.kh; ++i) {
      const idx offh = i * s.dh - s.pt;
      idx oh0, oh1;
      valid_range(s.Ho, s.sh, offh, s.H, oh0, oh1);
      for (idx j = 0; j < s.kw; ++j) {
        T* row = col + ((c * s.kh + i) * s.kw + j) * ld;
        const idx offw = j * s.dw - s.pl;
        idx ow0, ow1;
        valid_range(Wo, s.sw, offw, W, ow0, ow1);
        fill_zero(row, oh0 * Wo);
        fill_zero(row + oh1 * Wo, P - oh1 * Wo);
        if (oh0 >= oh1) continue;
        if (ow0 >= ow1) {
          fill_zero(row + oh0 * Wo, (oh1 - oh0) * Wo);
          continue;
        }
        if (runs) {
          // One copy from (oh0, ow0) to (oh1 - 1, ow1 - 1): both ends lie in x.
          const idx first = oh0 * Wo + ow0, last = (oh1 - 1) * Wo + ow1;
          copy(xc + (oh0 + offh) * W + ow0 + offw, row + first, last - first);
          zero_columns(row, Wo, oh0, oh1, ow0, ow1);
          continue;
        }
        zero_columns(row, Wo, oh0, oh1, ow0, ow1);
        const idx sw = s.sw, len = ow1 - ow0, step = s.sh * W;
        const T* src = xc + (oh0 * s.sh + offh) * W + ow0 * sw + offw;
        T* out = row + oh0 * Wo + ow0;
        if (sw == 1) {
          for (idx oh = oh0; oh < oh1; ++oh, src += step, out += Wo) copy(src, out, len);
        } else {
          for (idx oh = oh0; oh < oh1; ++oh, src += step, out += Wo)
            for (idx t = 0; t < len; ++t) out[t] = src[t * sw];
        }
      }
    }
  }
}

// The adjoint of im2col: dx (Cg, H, W) = the sum of the entries of dcol
// (Cg·kh·kw, Ho·Wo, row stride ld) at the input positions im2col read them
// from, rows of dcol in order. dcol is scratch: in the stride-1 "same"
// geometry its entries that fall into the padding are set to 0 on the way
// (so that each row adds into dx as one run).
template <class T>
void col2im(const Conv2dShape& s, idx Cg, T* dcol, idx ld, T* dx) {
  const idx W = s.W, Wo = s.Wo;
  const bool runs = s.sh == 1 && s.sw == 1 && Wo == W;
  for (idx c = 0; c < Cg; ++c) {
    T* dxc = dx + c * s.H * W;
    fill_zero(dxc, s.H * W);
    for (idx i = 0; i < s.kh; ++i) {
      const idx offh = i * s.dh - s.pt;
      idx oh0, oh1;
      valid_range(s.Ho, s.sh, offh, s.H, oh0, oh1);
      for (idx j = 0; j < s.kw; ++j) {
        T* row = dcol + ((c * s.kh + i) * s.kw + j) * ld;
        const idx offw = j * s.dw - s.pl;
        idx ow0, ow1;
        valid_range(Wo, s.sw, offw, W, ow0, ow1);
        if (oh0 >= oh1 || ow0 >= ow1) continue;
        if (runs) {
          // Entries in the padding add nothing: zero them, then one run.
          zero_columns(row, Wo, oh0, oh1, ow0, ow1);
          const idx first = oh0 * Wo + ow0, last = (oh1 - 1) * Wo + ow1;
          add_into(row + first, dxc + (oh0 + offh) * W + ow0 + offw, last - first);
          continue;
        }
        const idx sw = s.sw, len = ow1 - ow0, step = s.sh * W;
        T* dst = dxc + (oh0 * s.sh + offh) * W + ow0 * sw + offw;
        const T* in = row + oh0 * Wo + ow0;
        if (sw == 1) {
          for (idx oh = oh0; oh < oh1; ++oh, dst += step, in += Wo) add_into(in, dst, len);
        } else {
          for (idx oh = oh0; oh < oh1; ++oh, dst += step, in += Wo)
            for (idx t = 0; t < len; ++t) dst[t * sw] += in[t];
        }
      }
    }
  }
}

}  // namespace conv
}  // namespace
}  // namespace entrena::ENTRENA_ISA_NS
