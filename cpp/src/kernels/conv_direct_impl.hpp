// Direct convolution (no column matrix), written once over the SIMD
// mapping and compiled per ISA: for few input channels per group
// (depthwise convolutions, small images with few channels such as LeNet's).
// Internal header of the ISA translation units (isa_kernels.hpp); conv.cpp
// calls it through the kernel table for one sample and one group at a
// time.
//
// Each input plane of the group is copied once, zero-padded and split by
// column phase (column k·sw + ph goes to phase plane ph, column k), so that
// the inputs under L consecutive output columns are L consecutive elements
// for any stride and dilation. An output row is cut into vector slots of L
// columns; a tile holds RF filters × NV slots in registers and runs over
// the taps (c, i, j) (broadcast weight × loaded input). The backward pass
// uses the same slots: dW as vector dot products of dy and the shifted
// input (lanes summed in a fixed order at the end of each sample), dx by
// adding w·dy into padded, phase-split gradient planes tap by tap.
#pragma once

#include "conv_impl.hpp"
#include "kernel_table.hpp"
#include "simd.hpp"

namespace entrena::ENTRENA_ISA_NS {
namespace {
namespace conv {

// Where things are in the direct kernels' scratch, for vectors of L lanes.
// The scratch starts with tables of idx values (the taps' offsets and, per
// slot, the offsets of its inputs and outputs and its output count), then
// the planes.
struct Direct {
  idx L;            // lanes
  idx Cg;           // input channels of the group
  idx taps;         // Cg·kh·kw
  idx Hp, Wq;       // rows of a phase plane (padded input rows), its row length
  idx phases;       // phase planes the taps read: min(sw, (kw - 1)·dw + 1)
  idx phase;        // elements of one phase plane (Hp·Wq)
  idx plane;        // elements of one channel's padded, split input (phases·phase)
  idx nvr, slots;   // vector slots per output row, in all (Ho·nvr)
  idx table_elems;  // scratch elements (of the kernel's type) the tables take
};

// The tables at the start of the scratch.
struct Tables {
  idx* tap;    // (taps,): offset in the split planes of the input under output (0, 0)
  idx* in;     // (slots,): offset in a split plane of the input under the slot's first output, tap 0
  idx* out;    // (slots,): offset in (Ho, Wo) of the slot's first output
  idx* count;  // (slots,): the slot's outputs (L, fewer at the end of a row)
};

template <class T>
inline Direct direct_layout(const Conv2dShape& s) {
  Direct d{};
  d.L = simd::lanes<T>;
  d.Cg = s.C / s.groups;
  d.taps = d.Cg * s.kh * s.kw;
  d.Hp = s.H + s.pt + s.pb;
  d.nvr = (s.Wo + d.L - 1) / d.L;
  d.Wq = d.nvr * d.L + ((s.kw - 1) * s.dw) / s.sw + 1;
  d.phases = s.sw < (s.kw - 1) * s.dw + 1 ? s.sw : (s.kw - 1) * s.dw + 1;
  d.phase = d.Hp * d.Wq;
  d.plane = d.phases * d.phase;
  d.slots = s.Ho * d.nvr;
  const idx ints = d.taps + 3 * d.slots;
  d.table_elems = (ints * static_cast<idx>(sizeof(idx)) / static_cast<idx>(sizeof(T)) + 15) / 16 * 16;
  return d;
}

// Fills the tables (without divisions: they would cost more than the
// multiply-adds of a small plane).
inline Tables make_tables(const Conv2dShape& s, const Direct& d, void* scratch) {
  Tables t{};
  t.tap = static_cast<idx*>(scratch);
  t.in = t.tap + d.taps;
  t.out = t.in + d.slots;
  t.count = t.out + d.slots;
  for (idx c = 0; c < d.Cg; ++c)
    for (idx i = 0; i < s.kh; ++i) {
      idx ph = 0, q = 0;  // column j·dw = q·sw + ph
      for (idx j = 0; j < s.kw; ++j) {
        t.tap[(c * s.kh + i) * s.kw + j] = c * d.plane + ph * d.phase + i * s.dh * d.Wq + q;
        for (ph += s.dw; ph >= s.sw; ph -= s.sw) ++q;
      }
    }
  idx v = 0;
  for (idx oh = 0; oh < s.Ho; ++oh)
    for (idx ow0 = 0; ow0 < s.Wo; ow0 += d.L, ++v) {
      t.in[v] = oh * s.sh * d.Wq + ow0;
      t.out[v] = oh * s.Wo + ow0;
      t.count[v] = s.Wo - ow0 < d.L ? s.Wo - ow0 : d.L;
    }
  return t;
}

// x: (H, W) -> xq: the zero-padded plane split into phase planes (those
// the taps read).
template <class T>
void split_plane(const Conv2dShape& s, const Direct& d, const T* x, T* xq) {
  for (idx ph = 0; ph < d.phases; ++ph)
    for (idx r = 0; r < d.Hp; ++r) {
      T* dst = xq + ph * d.phase + r * d.Wq;
      const idx ih = r - s.pt;
      // Column k of phase ph is input column k·sw + ph - pl.
      idx k0, k1;
      valid_range(d.Wq, s.sw, ph - s.pl, s.W, k0, k1);
      if (ih < 0 || ih >= s.H || k0 >= k1) {
        fill_zero(dst, d.Wq);
        continue;
      }
      const T* src = x + ih * s.W + k0 * s.sw + ph - s.pl;
      fill_zero(dst, k0);
      if (s.sw == 1)
        copy(src, dst + k0, k1 - k0);
      else
        for (idx k = 0; k < k1 - k0; ++k) dst[k0 + k] = src[k * s.sw];
      fill_zero(dst + k1, d.Wq - k1);
    }
}

// The adjoint of split_plane: dx (H, W) = the entries of dxq that stand for
// input positions (0 for the columns no tap reads).
template <class T>
void merge_plane(const Conv2dShape& s, const Direct& d, const T* dxq, T* dx) {
  for (idx ih = 0; ih < s.H; ++ih) {
    T* dst = dx + ih * s.W;
    const idx r = ih + s.pt;
    if (s.sw == 1) {
      copy(dxq + r * d.Wq + s.pl, dst, s.W);
      continue;
    }
    idx ph = s.pl % s.sw, q = s.pl / s.sw;  // column iw + pl = q·sw + ph
    for (idx iw = 0; iw < s.W; ++iw) {
      dst[iw] = ph < d.phases ? dxq[ph * d.phase + r * d.Wq + q] : T(0);
      if (++ph == s.sw) ph = 0, ++q;
    }
  }
}

// Stores lanes [0, count) of v at p (count <= lanes).
template <class T>
inline void store_first(T* p, simd::vec<T> v, idx count) {
  if (count == simd::lanes<T>) {
    simd::store(p, v);
    return;
  }
  T buf[simd::lanes<T>];
  simd::store(buf, v);
  copy(buf, p, count);
}

// Registers: RF·NV accumulators, NV inputs and one weight.
constexpr int fwd_slots(int RF) { return RF == 1 ? 6 : RF == 2 ? 4 : RF <= 4 ? 3 : 2; }

// y[f0 + f] at slots v0 .. v0+NV for RF filters (rows of w: taps weights each).
template <class T, int RF, int NV>
inline void fwd_tile(const Conv2dShape& s, const Direct& d, const Tables& tb, const T* xq, const T* w,
                     const T* b, bool relu, idx v0, T* y) {
  using V = simd::vec<T>;
  const idx* tap = tb.tap;
  V acc[RF][NV];
  const T* in[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) in[v] = xq + tb.in[v0 + v];
#pragma GCC unroll 8
  for (int f = 0; f < RF; ++f)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[f][v] = simd::zero<T>();
  for (idx t = 0; t < d.taps; ++t) {
    const idx off = tap[t];
    V xv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) xv[v] = simd::load(in[v] + off);
#pragma GCC unroll 8
    for (int f = 0; f < RF; ++f) {
      const V a = simd::set1(w[f * d.taps + t]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[f][v] = simd::fma(a, xv[v], acc[f][v]);
    }
  }
  const idx P = s.Ho * s.Wo;
#pragma GCC unroll 8
  for (int f = 0; f < RF; ++f) {
    const V bias = b ? simd::set1(b[f]) : simd::zero<T>();
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      V r = simd::add(acc[f][v], bias);
      if (relu) r = simd::relu(r);
      store_first(y + f * P + tb.out[v0 + v], r, tb.count[v0 + v]);
    }
  }
}

template <class T, int RF>
inline void fwd_filters(const Conv2dShape& s, const Direct& d, const Tables& tb, const T* xq, const T* w,
                        const T* b, bool relu, T* y) {
  constexpr int NV = fwd_slots(RF);
  idx v = 0;
  for (; v + NV <= d.slots; v += NV) fwd_tile<T, RF, NV>(s, d, tb, xq, w, b, relu, v, y);
  for (; v < d.slots; ++v) fwd_tile<T, RF, 1>(s, d, tb, xq, w, b, relu, v, y);
}

// x: (Cg, H, W), the group's input channels of one sample; w: (Fg, Cg·kh·kw);
// b: (Fg,) or null; y: (Fg, Ho, Wo). scratch: direct_scratch elements.
template <class T>
void direct_forward(const Conv2dShape& s, idx Fg, const T* x, const T* w, const T* b, T* y, bool relu,
                    T* scratch) {
  const Direct d = direct_layout<T>(s);
  const Tables tb = make_tables(s, d, scratch);
  T* xq = scratch + d.table_elems;
  for (idx c = 0; c < d.Cg; ++c) split_plane(s, d, x + c * s.H * s.W, xq + c * d.plane);
  const idx P = s.Ho * s.Wo;
  for (idx f = 0; f < Fg;) {
    const idx rf = Fg - f < 6 ? Fg - f : 6;
    const T* wf = w + f * d.taps;
    const T* bf = b ? b + f : nullptr;
    T* yf = y + f * P;
    switch (rf) {
      case 1: fwd_filters<T, 1>(s, d, tb, xq, wf, bf, relu, yf); break;
      case 2: fwd_filters<T, 2>(s, d, tb, xq, wf, bf, relu, yf); break;
      case 3: fwd_filters<T, 3>(s, d, tb, xq, wf, bf, relu, yf); break;
      case 4: fwd_filters<T, 4>(s, d, tb, xq, wf, bf, relu, yf); break;
      case 5: fwd_filters<T, 5>(s, d, tb, xq, wf, bf, relu, yf); break;
      default: fwd_filters<T, 6>(s, d, tb, xq, wf, bf, relu, yf); break;
    }
    f += rf;
  }
}

// Registers: RF·TT accumulators, RF gradients and one input.
constexpr int dw_taps(int RF) { return RF == 1 ? 8 : RF == 2 ? 5 : 3; }

// dWt[t·Fg + f] (+)= the sum over slots of dyq[f] · input under tap t, for RF
// filters and taps t0 .. t0+TT.
template <class T, int RF, int TT>
inline void dw_tile(const Direct& d, const Tables& tb, const T* xq, const T* dyq, idx Fg, idx t0, T* dWt,
                    bool first) {
  using V = simd::vec<T>;
  V acc[RF][TT];
#pragma GCC unroll 8
  for (int f = 0; f < RF; ++f)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) acc[f][t] = simd::zero<T>();
  idx off[TT];
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) off[t] = tb.tap[t0 + t];
  const idx stride = d.slots * d.L;  // between filters in dyq
  for (idx v = 0; v < d.slots; ++v) {
    const T* in = xq + tb.in[v];
    V g[RF];
#pragma GCC unroll 8
    for (int f = 0; f < RF; ++f) g[f] = simd::load(dyq + f * stride + v * d.L);
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const V xv = simd::load(in + off[t]);
#pragma GCC unroll 8
      for (int f = 0; f < RF; ++f) acc[f][t] = simd::fma(g[f], xv, acc[f][t]);
    }
  }
#pragma GCC unroll 8
  for (int f = 0; f < RF; ++f)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      T& out = dWt[(t0 + t) * Fg + f];
      const T sum = simd::hsum<T>(acc[f][t]);
      out = first ? sum : out + sum;
    }
}

template <class T, int RF>
inline void dw_filters(const Direct& d, const Tables& tb, const T* xq, const T* dyq, idx Fg, T* dWt, bool first) {
  constexpr int TT = dw_taps(RF);
  idx t = 0;
  for (; t + TT <= d.taps; t += TT) dw_tile<T, RF, TT>(d, tb, xq, dyq, Fg, t, dWt, first);
  for (; t < d.taps; ++t) dw_tile<T, RF, 1>(d, tb, xq, dyq, Fg, t, dWt, first);
}

// x: (Cg, H, W) and w: (Fg, Cg·kh·kw) as for direct_forward, dy: (Fg, Ho, Wo),
// relu_y: the forward's y with relu (dy counts where it is > 0), or null.
// dWt: (Cg·kh·kw, Fg), db: (Fg,): set (first) or added to; each null when
// not wanted. dx: (Cg, H, W) = the gradient of the planes, or null.
template <class T>
void direct_backward(const Conv2dShape& s, idx Fg, const T* x, const T* w, const T* relu_y, const T* dy, T* dWt,
                     T* db, bool first, T* dx, T* scratch) {
  using V = simd::vec<T>;
  const Direct d = direct_layout<T>(s);
  const Tables tb = make_tables(s, d, scratch);
  T* xq = scratch + d.table_elems;
  T* dyq = xq + d.Cg * d.plane;         // (Fg, slots, L), zero past each row's end
  T* dxq = dyq + Fg * d.slots * d.L;    // like xq
  const idx P = s.Ho * s.Wo;
  for (idx f = 0; f < Fg; ++f) {
    V sum = simd::zero<T>();
    for (idx v = 0; v < d.slots; ++v) {
      T* dst = dyq + (f * d.slots + v) * d.L;
      const idx at = f * P + tb.out[v];
      if (relu_y)
        copy_where_positive(relu_y + at, dy + at, dst, tb.count[v]);
      else
        copy(dy + at, dst, tb.count[v]);
      fill_zero(dst + tb.count[v], d.L - tb.count[v]);
      sum = simd::add(sum, simd::load(dst));
    }
    if (db) db[f] = first ? simd::hsum<T>(sum) : db[f] + simd::hsum<T>(sum);
  }
  if (dWt) {
    for (idx c = 0; c < d.Cg; ++c) split_plane(s, d, x + c * s.H * s.W, xq + c * d.plane);
    for (idx f = 0; f < Fg;) {
      const idx rf = Fg - f < 3 ? Fg - f : 3;
      const T* g = dyq + f * d.slots * d.L;
      if (rf == 1)
        dw_filters<T, 1>(d, tb, xq, g, Fg, dWt + f, first);
      else if (rf == 2)
        dw_filters<T, 2>(d, tb, xq, g, Fg, dWt + f, first);
      else
        dw_filters<T, 3>(d, tb, xq, g, Fg, dWt + f, first);
      f += rf;
    }
  }
  if (!dx) return;
  // Tap by tap (the slots of one tap never overlap), dxq += w·dy.
  fill_zero(dxq, d.Cg * d.plane);
  for (idx t = 0; t < d.taps; ++t) {
    const idx off = tb.tap[t];
    for (idx v = 0; v < d.slots; ++v) {
      V g = simd::zero<T>();
      for (idx f = 0; f < Fg; ++f)
        g = simd::fma(simd::set1(w[f * d.taps + t]), simd::load(dyq + (f * d.slots + v) * d.L), g);
      T* p = dxq + tb.in[v] + off;
      simd::store(p, simd::add(simd::load(p), g));
    }
  }
  for (idx c = 0; c < d.Cg; ++c) merge_plane(s, d, dxq + c * d.plane, dx + c * s.H * s.W);
}

}  // namespace conv
}  // namespace
}  // namespace entrena::ENTRENA_ISA_NS
