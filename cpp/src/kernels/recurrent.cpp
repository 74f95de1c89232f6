// The recurrent driver (baseline ISA): the input projection and weight
// gradients as large GEMMs, the time loop over blocks of sequences with the
// kernel table's GEMM and fused cell step. See entrena/kernels/recurrent.hpp.
#include "entrena/kernels/recurrent.hpp"

#include <algorithm>
#include <cstring>

#include "entrena/kernels/dense.hpp"
#include <type_traits>

#include "entrena/kernels/gemm.hpp"
#include "entrena/parallel.hpp"
#include "kernel_table.hpp"

namespace entrena {

namespace {

// Offsets (in elements, 64-byte aligned) of the workspace's arrays. They
// are time-major, so that a step's rows are one contiguous block (read in
// place by the step's GEMM; batch-major rows steps·H apart ran the GEMM 30%
// slower, on TLB and cache misses).
//   xh  (steps, n, F + H) each row: the step's input, then the state before
//                        the step (the recurrent GEMM's input); one matrix, so
//                        that dW_ih and dW_hh are one GEMM; dL/dx in backward
//   g   (steps, n, G·H)  gate pre-activations -> activations -> their gradients
//   cp  (steps, n, H)    LSTM: the cell before each step
//   tc  (steps, n, H)    LSTM: tanh of the cell after each step
//   hn  (steps, n, H)    GRU: h·W_hn + b_hn of each step
//   dgh (steps, n, G·H)  GRU: gradients of the h-part pre-activations
//   r   (n, G·H)         GRU: h·W_hh + b_hh of the current step
//   dh, dc, cl (n, H)    running gradients of the state; LSTM's last cell when not wanted
//   sx, sh (n, G·H)      per sequence, the sums over steps of the x-part and
//                        h-part gradients (the bias gradients; sh for GRU only)
//   pk                   W_hh packed for the step GEMMs (forward: W_hh, backward:
//                        W_hhᵀ): at most round_up(G·H, 64)·H or round_up(H, 64)·G·H
//   bs  (G·H,)           the input projection's bias; the bias gradient sums
struct Layout {
  index_t xh = 0, g = 0, cp = 0, tc = 0, hn = 0, dgh = 0, r = 0, dh = 0, dc = 0, cl = 0, sx = 0, sh = 0, pk = 0,
          bs = 0, total = 0;
};

Layout layout_of(const RnnDims& d) {
  if (d.n < 1 || d.steps < 1 || d.features < 1 || d.units < 1)
    throw ValueError(cat("rnn: expected n, steps, features and units >= 1, got ", d.n, ", ", d.steps, ", ",
                         d.features, ", ", d.units));
  const index_t H = d.units, GH = checked_mul(rnn_gates(d.cell), H, "the recurrent gates");
  const index_t NT = checked_mul(d.n, d.steps, "the recurrent steps");
  const bool lstm = d.cell == RnnCell::LSTM, gru = d.cell == RnnCell::GRU;
  Layout l;
  index_t at = 0;
  auto take = [&](index_t& off, index_t size) {
    off = at;
    at = checked_add(at, (size + 15) / 16 * 16, "the recurrent workspace");
  };
  const index_t seq_h = checked_mul(NT, H, "the recurrent states");
  const index_t seq_g = checked_mul(NT, GH, "the recurrent gates");
  take(l.xh, checked_mul(NT, checked_add(d.features, H, "the recurrent inputs"), "the recurrent inputs"));
  take(l.g, seq_g);
  take(l.cp, lstm ? seq_h : 0);
  take(l.tc, lstm ? seq_h : 0);
  take(l.hn, gru ? seq_h : 0);
  take(l.dgh, gru ? seq_g : 0);
  take(l.r, gru ? checked_mul(d.n, GH, "the recurrent gates") : 0);
  take(l.dh, checked_mul(d.n, H, "the recurrent state"));
  take(l.dc, lstm ? d.n * H : 0);
  take(l.cl, lstm ? d.n * H : 0);
  take(l.sx, d.n * GH);
  take(l.sh, gru ? d.n * GH : 0);
  // Forward packs W_hh (H, G·H), backward W_hhᵀ (G·H, H), each padded to
  // micro-panels of at most 64 columns.
  const index_t pk_f = checked_mul(checked_mul((GH + 63) / 64, 64, "the recurrent weights"), H, "the recurrent weights");
  const index_t pk_b = checked_mul(checked_mul((H + 63) / 64, 64, "the recurrent weights"), GH, "the recurrent weights");
  take(l.pk, pk_f > pk_b ? pk_f : pk_b);
  take(l.bs, GH);
  l.total = at;
  return l;
}

// W_hh (H, G·H) packed by the table's GEMM as the B of h·W_hh (forward)
// or of dG·W_hhᵀ (backward, transposed): read from L1-sized panels at every
// step instead of rows G·H apart.
template <class T>
void pack_w_hh(const kernels::Table<T>& tb, const T* W_hh, index_t H, index_t GH, bool transposed, T* out) {
  kernels::GemmArgs<T> g{Trans::N, transposed ? Trans::T : Trans::N, 1, transposed ? H : GH, transposed ? GH : H,
                         T(1), nullptr, 1, W_hh, GH, T(0), nullptr, 1, nullptr, false, false, 1};
  g.bf16 = std::is_same_v<T, float> && bf16_products();
  tb.gemm_pack_b(g, out);
}

// C (M, N) = A·B + beta·C (+ bias per column) on the calling thread, B
// packed by pack_w_hh; bf16: the Bf16Scope of the thread that called the
// kernel (the step GEMMs run on its worker threads).
template <class T>
void step_gemm(const kernels::Table<T>& tb, index_t M, index_t N, index_t K, const T* A, index_t lda,
               const T* packed, T beta, T* C, index_t ldc, const T* bias, bool bf16) {
  kernels::GemmArgs<T> g{Trans::N, Trans::N, M, N, K, T(1), A, lda, packed, N, beta, C, ldc, bias, false, false, 1};
  g.bpacked = packed;
  g.bf16 = bf16;
  tb.gemm(g);
}

// Threads for the time loop: blocks of at least 8 sequences.
int loop_threads(const RnnDims& d) {
  const double H = static_cast<double>(d.units), GH = static_cast<double>(rnn_gates(d.cell)) * H;
  const double work = static_cast<double>(d.n) * static_cast<double>(d.steps) * (2.0 * H * GH + 30.0 * GH);
  const int nt = threads_for(work, 262144.0);
  return static_cast<int>(std::max<index_t>(1, std::min<index_t>(nt, d.n / 8)));
}

}  // namespace

index_t rnn_workspace_size(const RnnDims& d) { return layout_of(d).total; }

// x (n, steps, F) <-> rows of xt (steps, n, ·) with row stride ld.
template <class T>
void to_time_major(const T* x, T* xt, index_t ld, index_t n, index_t S, index_t F) {
  for (index_t t = 0; t < S; ++t)
    for (index_t b = 0; b < n; ++b)
      std::memcpy(xt + (t * n + b) * ld, x + (b * S + t) * F, sizeof(T) * static_cast<std::size_t>(F));
}
template <class T>
void to_batch_major(const T* xt, index_t ld, T* x, index_t n, index_t S, index_t F) {
  for (index_t b = 0; b < n; ++b)
    for (index_t t = 0; t < S; ++t)
      std::memcpy(x + (b * S + t) * F, xt + (t * n + b) * ld, sizeof(T) * static_cast<std::size_t>(F));
}

template <class T>
void rnn_forward(const RnnDims& d, const T* x, const T* W_ih, const T* W_hh, const T* b_ih, const T* b_hh,
                 const T* h0, const T* c0, const std::uint8_t* mask, T* ws, T* y, T* h_last, T* c_last) {
  const Layout L = layout_of(d);
  const auto& tb = kernels::table<T>();
  const index_t n = d.n, S = d.steps, F = d.features, H = d.units, GH = rnn_gates(d.cell) * H, XL = F + H;
  const bool lstm = d.cell == RnnCell::LSTM, gru = d.cell == RnnCell::GRU;
  T *XH = ws + L.xh, *G = ws + L.g, *CP = ws + L.cp, *TC = ws + L.tc, *HN = ws + L.hn;
  T *HP = XH + F;  // the states, in the rows of XH
  T *R = ws + L.r, *bs = ws + L.bs, *PK = ws + L.pk;
  T* CL = c_last ? c_last : ws + L.cl;
  pack_w_hh(tb, W_hh, H, GH, false, PK);
  const bool bf16 = std::is_same_v<T, float> && bf16_products();
  // The input projection of every step: G = x·W_ih + b_ih (+ b_hh, except
  // for GRU, whose n gate needs h·W_hn + b_hn on its own).
  for (index_t j = 0; j < GH; ++j) bs[j] = (b_ih ? b_ih[j] : T(0)) + (!gru && b_hh ? b_hh[j] : T(0));
  to_time_major(x, XH, XL, n, S, F);
  gemm_fused<T>(Trans::N, Trans::N, n * S, GH, F, T(1), XH, XL, W_ih, GH, T(0), G, GH, bs, false);

  const int nt = loop_threads(d);
  auto pos = [&](index_t s) { return d.reverse ? S - 1 - s : s; };
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int k = 0; k < nt; ++k) {
    const index_t r0 = n * k / nt, rows = n * (k + 1) / nt - r0;
    if (rows == 0) continue;
    const index_t t0 = pos(0);
    for (index_t b = r0; b < r0 + rows; ++b) {
      T* h = HP + (t0 * n + b) * XL;
      T* c = CP + (t0 * n + b) * H;
      for (index_t j = 0; j < H; ++j) {
        h[j] = h0 ? h0[b * H + j] : T(0);
        if (lstm) c[j] = c0 ? c0[b * H + j] : T(0);
      }
    }
    kernels::RnnStep<T> st{};
    st.cell = d.cell;
    st.rows = rows;
    st.H = H;
    st.g_ld = GH;
    st.r = R + r0 * GH;
    st.r_ld = GH;
    st.hp_ld = XL;
    st.hn_ld = st.cp_ld = st.tc_ld = H;
    st.y_ld = S * H;
    st.mask_ld = S;
    for (index_t s = 0; s < S; ++s) {
      const index_t t = pos(s), at = t * n + r0;
      const bool last = s + 1 == S;
      const index_t next = last ? 0 : pos(s + 1) * n + r0;
      const T* hp = HP + at * XL;
      T* g = G + at * GH;
      if (gru)
        step_gemm<T>(tb, rows, GH, H, hp, XL, PK, T(0), R + r0 * GH, GH, b_hh, bf16);
      else
        step_gemm<T>(tb, rows, GH, H, hp, XL, PK, T(1), g, GH, nullptr, bf16);
      st.g = g;
      st.hn = HN + at * H;
      st.h_prev = hp;
      st.h = last ? h_last + r0 * H : HP + next * XL;
      st.h_ld = last ? H : XL;
      st.c_prev = CP + at * H;
      st.c = last ? CL + r0 * H : CP + next * H;
      st.c_ld = H;
      st.tc = TC + at * H;
      st.y = y ? y + (r0 * S + t) * H : nullptr;
      st.mask = mask ? mask + r0 * S + t : nullptr;
      tb.rnn_step_forward(st);
    }
  }
}

template <class T>
void rnn_backward(const RnnDims& d, const T* W_ih, const T* W_hh, const std::uint8_t* mask, T* ws,
                  const T* dy, const T* dh_last, const T* dc_last, T* dW_ih, T* dW_hh, T* db_ih, T* db_hh, T* dx,
                  T* dh0, T* dc0) {
  const Layout L = layout_of(d);
  const auto& tb = kernels::table<T>();
  const index_t n = d.n, S = d.steps, F = d.features, H = d.units, GH = rnn_gates(d.cell) * H, XL = F + H;
  const bool lstm = d.cell == RnnCell::LSTM, gru = d.cell == RnnCell::GRU;
  T *XH = ws + L.xh, *G = ws + L.g, *CP = ws + L.cp, *TC = ws + L.tc, *HN = ws + L.hn;
  T *HP = XH + F;
  T *DGH = ws + L.dgh, *DH = ws + L.dh, *DC = ws + L.dc, *PK = ws + L.pk, *SX = ws + L.sx, *SH = ws + L.sh;
  pack_w_hh(tb, W_hh, H, GH, true, PK);
  const bool bf16 = std::is_same_v<T, float> && bf16_products();
  for (index_t i = 0; i < n * H; ++i) {
    DH[i] = dh_last ? dh_last[i] : T(0);
    if (lstm) DC[i] = dc_last ? dc_last[i] : T(0);
  }
  std::fill(SX, SX + n * GH, T(0));
  if (gru) std::fill(SH, SH + n * GH, T(0));
  T* Gh = gru ? DGH : G;  // gradients of the h-part pre-activations

  const int nt = loop_threads(d);
  auto pos = [&](index_t s) { return d.reverse ? S - 1 - s : s; };
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int k = 0; k < nt; ++k) {
    const index_t r0 = n * k / nt, rows = n * (k + 1) / nt - r0;
    if (rows == 0) continue;
    kernels::RnnStep<T> st{};
    st.cell = d.cell;
    st.rows = rows;
    st.H = H;
    st.g_ld = st.dgh_ld = st.sx_ld = st.sh_ld = GH;
    st.hp_ld = XL;
    st.hn_ld = st.cp_ld = st.tc_ld = st.dh_ld = st.dc_ld = H;
    st.dy_ld = S * H;
    st.mask_ld = S;
    st.dh = DH + r0 * H;
    st.dc = DC + r0 * H;
    st.sx = SX + r0 * GH;
    st.sh = gru ? SH + r0 * GH : nullptr;
    for (index_t s = S; s-- > 0;) {
      const index_t t = pos(s), at = t * n + r0;
      st.g = G + at * GH;
      st.dgh = DGH + at * GH;
      st.hn = HN + at * H;
      st.h_prev = HP + at * XL;
      st.c_prev = CP + at * H;
      st.tc = TC + at * H;
      st.mask = mask ? mask + r0 * S + t : nullptr;
      st.dy = dy ? dy + (r0 * S + t) * H : nullptr;
      tb.rnn_step_backward(st);
      // dL/dh_prev = (the direct part) + dGh·W_hhᵀ
      step_gemm<T>(tb, rows, H, GH, Gh + at * GH, GH, PK, T(1), DH + r0 * H, H, nullptr, bf16);
    }
  }
  const index_t NT = n * S;
  if (!gru && dW_hh == dW_ih + F * GH) {
    // [dW_ih; dW_hh] (F + H, G·H) += [x h]ᵀ·G: one GEMM, one pass over G
    // (the same sums, in the same order, as two).
    gemm<T>(Trans::T, Trans::N, XL, GH, NT, T(1), XH, XL, G, GH, T(1), dW_ih, GH);
  } else {
    gemm<T>(Trans::T, Trans::N, F, GH, NT, T(1), XH, XL, G, GH, T(1), dW_ih, GH);
    gemm<T>(Trans::T, Trans::N, H, GH, NT, T(1), HP, XL, Gh, GH, T(1), dW_hh, GH);
  }
  // The bias gradients: the per-sequence sums, added over the sequences.
  T* sums = ws + L.bs;
  std::fill(sums, sums + GH, T(0));
  column_sums(SX, sums, n, GH);
  if (db_ih)
    for (index_t j = 0; j < GH; ++j) db_ih[j] += sums[j];
  if (gru) {
    std::fill(sums, sums + GH, T(0));
    column_sums(SH, sums, n, GH);
  }
  if (db_hh)
    for (index_t j = 0; j < GH; ++j) db_hh[j] += sums[j];
  if (dx) {
    gemm<T>(Trans::N, Trans::T, NT, F, GH, T(1), G, GH, W_ih, GH, T(0), XH, XL);
    to_batch_major(XH, XL, dx, n, S, F);
  }
  if (dh0) std::memcpy(dh0, DH, sizeof(T) * static_cast<std::size_t>(n * H));
  if (dc0 && lstm) std::memcpy(dc0, DC, sizeof(T) * static_cast<std::size_t>(n * H));
}

#define ENTRENA_INSTANTIATE(T)                                                                                   \
  template void rnn_forward<T>(const RnnDims&, const T*, const T*, const T*, const T*, const T*, const T*,      \
                               const T*, const std::uint8_t*, T*, T*, T*, T*);                                   \
  template void rnn_backward<T>(const RnnDims&, const T*, const T*, const std::uint8_t*, T*, const T*,           \
                                const T*, const T*, T*, T*, T*, T*, T*, T*, T*);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
