// Convolution on the packed GEMM (im2col / col2im per block of samples, one
// GEMM per group with the bias and ReLU in its epilogue) or with the direct
// kernels (few input channels per group). The header
// (entrena/kernels/conv.hpp) describes the layout, the threads and the
// summation order.
#include "entrena/kernels/conv.hpp"

#include <algorithm>

#include "entrena/kernels/gemm.hpp"
#include "entrena/parallel.hpp"
#include "kernel_table.hpp"

namespace entrena {

namespace {

// A block of samples gives the GEMMs at least this many columns (output
// positions): small outputs (late layers, 1-D) are batched a few samples
// at a time instead of running many thin GEMMs.
constexpr index_t kMinColumns = 256;
// dW sums the batch in at most this many chunks (their partial sums are
// added in chunk order), and their partial sums hold at most
// kPartialBudget elements.
constexpr index_t kMaxChunks = 16;
constexpr index_t kPartialBudget = index_t(1) << 22;
// One thread per ~half a million multiply-adds, as for GEMM.
constexpr double kWorkPerThread = 262144.0;

index_t round16(index_t n) { return (n + 15) / 16 * 16; }

// The row stride of a scratch matrix with `cols` columns: a multiple of 16
// elements, but not of 128, so that the rows a GEMM micro-kernel reads one
// after the other do not all fall into the same few cache sets.
index_t row_stride(index_t cols) {
  const index_t ld = round16(cols);
  return ld % 128 == 0 ? ld + 16 : ld;
}

// How a batch of n samples is cut and where the scratch goes: a function of
// the sizes only (never of the thread count).
struct Plan {
  index_t Cg, Fg, K, P, HW;  // channels and filters per group, patch size, positions, input plane
  index_t nb;                // samples per block
  index_t ld;                // row stride of the scratch matrices (col, ybuf, dcol)
  index_t blocks;            // ceil(n / nb)
  index_t chunk_blocks;      // blocks per dW chunk
  index_t chunks;            // ceil(blocks / chunk_blocks)
  bool direct;               // the direct kernels (one sample per block)
  bool pointwise;            // 1×1, stride 1, no padding, one sample per block: x is its own col
  index_t col, ybuf, dcol;   // per-thread scratch (elements)
  index_t per_thread;        // col + ybuf (+ dcol in backward), or the direct kernels' scratch
  index_t part;              // one chunk's partial sums: dWᵀ (K, Fg) per group, then db (F,)
  index_t partials;          // chunks · part (backward)
};

// The scratch of the direct kernels (conv_direct_impl.hpp) for vectors of
// up to 16 lanes: tables of up to taps + 3·Ho·Wo index values (2 elements
// each at most), the split planes (twice in backward) and dy by slots.
index_t direct_scratch(const Conv2dShape& s, index_t Cg, index_t Fg, bool backward) {
  const char* what = "the direct kernels' scratch";
  const index_t row = round16(s.Wo);
  const index_t tables = round16(2 * (Cg * s.kh * s.kw + 3 * s.Ho * s.Wo));
  const index_t reach = (s.kw - 1) * s.dw + 1, phases = std::min(s.sw, reach);
  const index_t planes = checked_shape_size({Cg, phases, s.H + s.pt + s.pb, row + (reach - 1) / s.sw + 1}, what);
  const index_t dyq = checked_mul(Fg, checked_mul(s.Ho, row, what), what);
  return round16(checked_add(tables, backward ? checked_add(checked_mul(2, planes, what), dyq, what) : planes, what));
}

// Auto's choice, from the sizes alone. With one input channel per group the
// GEMMs would be thin (M = filters per group, or K = taps) and the direct
// kernels win everywhere. With more channels the direct forward (no column
// matrix) is as fast or faster while the patches' planes stay in L2 and
// output rows fill whole vectors of 8 (measured on Zen 3, AVX2: LeNet's
// second layer 1.5x, 3-channel 32x32 images 1.2x, 32 channels of 16x16
// 1.03x; rows of 10 outputs even); its backward pass is slower (dx through
// many filters), so the backward pass stays on the GEMMs.
bool direct_wins(const Conv2dShape& s, bool backward) {
  const index_t Cg = s.C / s.groups;
  if (Cg == 1) return true;
  if (backward || s.kh * s.kw == 1) return false;
  return Cg * s.kh * s.kw <= 320 && (s.Wo % 8 == 0 || s.Wo >= 24);
}

Plan make_plan(const Conv2dShape& s, index_t n, bool backward, ConvAlgorithm algorithm) {
  Plan p{};
  p.Cg = s.C / s.groups;
  p.Fg = s.F / s.groups;
  p.K = p.Cg * s.kh * s.kw;
  p.P = s.Ho * s.Wo;
  p.HW = s.H * s.W;
  // bfloat16 products (Bf16Scope) go through the GEMMs, whose packing rounds the operands.
  p.direct = !bf16_products() &&
             (algorithm == ConvAlgorithm::Direct || (algorithm == ConvAlgorithm::Auto && direct_wins(s, backward)));
  if (p.direct && algorithm == ConvAlgorithm::Auto) {
    // Not when padding or strides make the padded planes much larger than
    // the column matrix the GEMMs would use.
    const double padded = static_cast<double>(s.H + s.pt + s.pb) * static_cast<double>(s.W + s.pl + s.pr);
    if (padded > 4.0 * (static_cast<double>(p.HW) + static_cast<double>(s.kh * s.kw) * p.P) + 4096) p.direct = false;
  }
  p.nb = p.direct ? 1 : std::min(std::max<index_t>(n, 1), std::max<index_t>(1, (kMinColumns + p.P - 1) / p.P));
  p.blocks = (n + p.nb - 1) / p.nb;
  const bool one_by_one = s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.pt == 0 &&
                          s.pb == 0 && s.pl == 0 && s.pr == 0;
  p.pointwise = one_by_one && p.nb == 1;
  p.ld = row_stride(p.nb * p.P);
  if (p.direct) {
    p.per_thread = direct_scratch(s, p.Cg, p.Fg, backward);
  } else {
    p.col = p.pointwise ? 0 : p.K * p.ld;
    p.ybuf = backward || p.nb > 1 ? p.Fg * p.ld : 0;
    p.dcol = backward ? p.col : 0;
    p.per_thread = p.col + p.ybuf + p.dcol;
  }
  p.part = round16(s.F * p.K + s.F);
  const index_t max_chunks = std::max<index_t>(1, std::min<index_t>(kMaxChunks, kPartialBudget / p.part));
  p.chunk_blocks = std::max<index_t>(1, (p.blocks + max_chunks - 1) / max_chunks);
  p.chunks = std::max<index_t>(1, (p.blocks + p.chunk_blocks - 1) / p.chunk_blocks);
  p.partials = backward ? p.chunks * p.part : 0;
  return p;
}

// The threads a kernel of `work` multiply-adds runs on: at most as many as
// the scratch holds.
int threads_for_scratch(const Plan& p, double work, index_t work_size, const char* who) {
  const index_t need = p.partials + p.per_thread;
  if (work_size < need)
    throw ValueError(cat(who, ": work_size: expected at least ", need,
                         " elements (conv2d_workspace), got ", work_size));
  int nt = threads_for(work, kWorkPerThread);
  if (p.per_thread > 0) {
    const index_t fit = (work_size - p.partials) / p.per_thread;
    if (fit < nt) nt = static_cast<int>(fit);
  }
  return nt;
}

// The column matrix of group g for samples s0 .. s0+ns (K, ns·P): x read in
// place (pointwise) or laid out in col.
template <class T>
const T* columns(const Conv2dShape& s, const Plan& p, const T* x, index_t s0, index_t ns, index_t g,
                 T* col, index_t& ld) {
  const index_t C = s.C;
  if (p.pointwise) {
    ld = p.P;
    return x + s0 * C * p.HW + g * p.Cg * p.HW;
  }
  ld = p.ld;
  const auto im2col = kernels::table<T>().im2col;
  for (index_t j = 0; j < ns; ++j)
    im2col(s, p.Cg, x + (s0 + j) * C * p.HW + g * p.Cg * p.HW, col + j * p.P, ld);
  return col;
}

// y for samples s0 .. s0+ns; gemm_threads: the GEMMs' thread cap (1 inside
// a parallel loop).
template <class T>
void forward_block(const Conv2dShape& s, const Plan& p, const T* x, const T* W, const T* b, T* y,
                   bool relu, index_t s0, index_t ns, T* scratch, int gemm_threads) {
  T* col = scratch;
  T* ybuf = scratch + p.col;
  const index_t F = s.F, P = p.P, cols = ns * P;
  for (index_t g = 0; g < s.groups; ++g) {
    index_t ldb;
    const T* B = columns(s, p, x, s0, ns, g, col, ldb);
    const T* Wg = W + g * p.Fg * p.K;
    const T* bg = b ? b + g * p.Fg : nullptr;
    if (ns == 1) {
      // y_s,g (Fg, P) = W_g (Fg, K) · col (K, P) + b_g, straight into y.
      gemm_fused<T>(Trans::N, Trans::N, p.Fg, P, p.K, T(1), Wg, p.K, B, ldb, T(0),
                    y + s0 * F * P + g * p.Fg * P, P, bg, relu, BiasAxis::Rows, gemm_threads);
      continue;
    }
    // (Fg, ns·P) for the block, then each sample's rows to its place in y.
    gemm_fused<T>(Trans::N, Trans::N, p.Fg, cols, p.K, T(1), Wg, p.K, B, ldb, T(0), ybuf, p.ld, bg,
                  relu, BiasAxis::Rows, gemm_threads);
    for (index_t j = 0; j < ns; ++j)
      for (index_t f = 0; f < p.Fg; ++f)
        std::copy(ybuf + f * p.ld + j * P, ybuf + f * p.ld + (j + 1) * P,
                  y + (s0 + j) * F * P + (g * p.Fg + f) * P);
  }
}

// For samples s0 .. s0+ns: part (+)= their dWᵀ and db (overwritten on a
// chunk's first block) and dx. part: (K, Fg) per group, then (F,); null
// when neither dW nor db is asked for.
template <class T>
void backward_block(const Conv2dShape& s, const Plan& p, const T* x, const T* W, const T* relu_y, const T* dy,
                    T* part, bool want_dW, bool want_db, bool first, T* dx, index_t s0, index_t ns, T* scratch,
                    int gemm_threads) {
  T* col = scratch;
  T* ybuf = scratch + p.col;
  T* dcol = ybuf + p.ybuf;
  const index_t F = s.F, C = s.C, P = p.P, K = p.K, cols = ns * P;
  for (index_t g = 0; g < s.groups; ++g) {
    // dy of the group (through the ReLU) as (Fg, ns·P) at the padded row
    // stride; db from its rows.
    for (index_t f = 0; f < p.Fg; ++f) {
      T sum = T(0);
      for (index_t j = 0; j < ns; ++j) {
        const index_t at = (s0 + j) * F * P + (g * p.Fg + f) * P;
        const T* src = dy + at;
        T* dst = ybuf + f * p.ld + j * P;
        T part_sum = T(0);
        if (relu_y) {
          // A select, not a branch (whether y > 0 is a coin toss): dy is
          // read unconditionally, so the loop vectorises.
          const T* yr = relu_y + at;
#pragma omp simd
          for (index_t q = 0; q < P; ++q) {
            const T v = src[q];
            dst[q] = yr[q] > T(0) ? v : T(0);
          }
#pragma omp simd reduction(+ : part_sum)
          for (index_t q = 0; q < P; ++q) part_sum += dst[q];
        } else {
#pragma omp simd reduction(+ : part_sum)
          for (index_t q = 0; q < P; ++q) {
            dst[q] = src[q];
            part_sum += src[q];
          }
        }
        sum += part_sum;
      }
      if (want_db) {
        T* db = part + F * K + g * p.Fg + f;
        *db = first ? sum : *db + sum;
      }
    }
    const T* Wg = W + g * p.Fg * K;
    if (want_dW) {
      // dW_gᵀ (K, Fg) (+)= col (K, ns·P) · dy_gᵀ (ns·P, Fg)
      index_t lda;
      const T* A = columns(s, p, x, s0, ns, g, col, lda);
      gemm_fused<T>(Trans::N, Trans::T, K, p.Fg, cols, T(1), A, lda, ybuf, p.ld, first ? T(0) : T(1),
                    part + g * K * p.Fg, p.Fg, nullptr, false, BiasAxis::Columns, gemm_threads);
    }
    if (!dx) continue;
    T* dxg = dx + s0 * C * p.HW + g * p.Cg * p.HW;
    if (p.pointwise) {
      // dx_s,g (Cg, HW) = W_gᵀ (Cg, Fg) · dy_g (Fg, P), P = HW
      gemm_fused<T>(Trans::T, Trans::N, K, P, p.Fg, T(1), Wg, K, ybuf, p.ld, T(0), dxg, P, nullptr, false,
                    BiasAxis::Columns, gemm_threads);
      continue;
    }
    // dcol (K, ns·P) = W_gᵀ (K, Fg) · dy_g (Fg, ns·P), then back to the images.
    gemm_fused<T>(Trans::T, Trans::N, K, cols, p.Fg, T(1), Wg, K, ybuf, p.ld, T(0), dcol, p.ld, nullptr,
                  false, BiasAxis::Columns, gemm_threads);
    const auto col2im = kernels::table<T>().col2im;
    for (index_t j = 0; j < ns; ++j) col2im(s, p.Cg, dcol + j * P, p.ld, dxg + j * C * p.HW);
  }
}

// Runs body(t, i) for the items i in [0, count), taken round-robin by nt
// threads (thread t: items t, t + nt, ...), on the calling thread when
// nt == 1.
template <class Body>
void for_items(index_t count, int nt, const Body& body) {
  if (nt <= 1) {
    for (index_t i = 0; i < count; ++i) body(0, i);
    return;
  }
  const bool bf16 = bf16_products();   // the calling thread's precision, for the workers' GEMMs
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int t = 0; t < nt; ++t) {
    const Bf16Scope precision(bf16);
    for (index_t i = t; i < count; i += nt) body(t, i);
  }
}

void check_shape(const Conv2dShape& s, index_t n, const char* who) {
  if (n < 0) throw ValueError(cat(who, ": n must be >= 0, got ", n));
  if (s.C < 1 || s.F < 1 || s.groups < 1 || s.C % s.groups || s.F % s.groups || s.Ho < 1 ||
      s.Wo < 1 || s.kh < 1 || s.kw < 1 || s.sh < 1 || s.sw < 1 || s.dh < 1 || s.dw < 1)
    throw ValueError(cat(who, ": the shape is not one conv2d_shape() makes"));
}

}  // namespace

Conv2dShape conv2d_shape(index_t C, index_t H, index_t W, index_t F, index_t kh, index_t kw,
                         index_t groups, index_t sh, index_t sw, index_t dh, index_t dw, index_t pt,
                         index_t pb, index_t pl, index_t pr) {
  auto require = [](const char* what, index_t v, index_t lo) {
    if (v < lo) throw ValueError(cat(what, ": expected an integer >= ", lo, ", got ", v));
  };
  require("channels", C, 1);
  require("height", H, 1);
  require("width", W, 1);
  require("filters", F, 1);
  require("kernel_size", kh, 1);
  require("kernel_size", kw, 1);
  require("groups", groups, 1);
  require("strides", sh, 1);
  require("strides", sw, 1);
  require("dilation_rate", dh, 1);
  require("dilation_rate", dw, 1);
  for (index_t pad : {pt, pb, pl, pr}) require("padding", pad, 0);
  if (C % groups != 0 || F % groups != 0)
    throw ValueError(cat("groups: expected a divisor of the input channels (", C, ") and of filters (", F,
                         "), got ", groups));
  checked_shape_size({C, H, W}, "the input");
  checked_shape_size({F, C / groups, kh, kw}, "the weights");
  const index_t reach_h = checked_add(checked_mul(dh, kh - 1, "the kernel's reach"), 1, "the kernel's reach");
  const index_t reach_w = checked_add(checked_mul(dw, kw - 1, "the kernel's reach"), 1, "the kernel's reach");
  const index_t ph = checked_add(checked_add(H, pt, "the padded input"), pb, "the padded input");
  const index_t pw = checked_add(checked_add(W, pl, "the padded input"), pr, "the padded input");
  if (ph < reach_h || pw < reach_w)
    throw ValueError(cat("kernel_size: the padded input (", ph, " × ", pw,
                         ") is smaller than the dilated kernel (", reach_h, " × ", reach_w, ")"));
  Conv2dShape s{C, H, W, F, kh, kw, groups, sh, sw, dh, dw, pt, pb, pl, pr, 0, 0};
  s.Ho = (ph - reach_h) / sh + 1;
  s.Wo = (pw - reach_w) / sw + 1;
  checked_shape_size({F, s.Ho, s.Wo}, "the output");
  checked_shape_size({C / groups, kh, kw, s.Ho, s.Wo}, "the column matrix");
  return s;
}

index_t conv2d_workspace(const Conv2dShape& s, index_t n, bool backward, ConvAlgorithm algorithm) {
  check_shape(s, n, "conv2d_workspace");
  const Plan p = make_plan(s, n, backward, algorithm);
  const index_t items = p.direct ? std::max<index_t>(n, 1) * s.groups : p.blocks;
  const index_t threads = std::max<index_t>(1, std::min<index_t>(get_num_threads(), items));
  return p.partials + threads * p.per_thread;
}

// x: (n, C, H, W), W: (F, C/groups, kh, kw), b: (F,) or null, y: (n, F, Ho, Wo)
template <class T>
void conv2d_forward(const Conv2dShape& s, index_t n, const T* x, const T* W, const T* b, T* y,
                    bool relu, T* work, index_t work_size, ConvAlgorithm algorithm) {
  check_shape(s, n, "conv2d_forward");
  if (n == 0) return;
  const Plan p = make_plan(s, n, false, algorithm);
  const double madds = static_cast<double>(n) * s.F * p.K * p.P;
  const int nt = threads_for_scratch(p, madds, work_size, "conv2d_forward");
  if (p.direct) {
    // (sample, group) pairs to threads.
    const auto direct = kernels::table<T>().conv_direct_forward;
    for_items(n * s.groups, nt, [&](int t, index_t item) {
      const index_t j = item / s.groups, g = item % s.groups;
      direct(s, p.Fg, x + (j * s.C + g * p.Cg) * p.HW, W + g * p.Fg * p.K, b ? b + g * p.Fg : nullptr,
             y + (j * s.F + g * p.Fg) * p.P, relu, work + t * p.per_thread);
    });
    return;
  }
  if (nt > 1 && p.blocks >= 2 * nt) {
    // Blocks to threads, single-threaded GEMMs on each thread's scratch.
    for_items(p.blocks, nt, [&](int t, index_t blk) {
      const index_t s0 = blk * p.nb;
      forward_block(s, p, x, W, b, y, relu, s0, std::min(p.nb, n - s0), work + t * p.per_thread, 1);
    });
    return;
  }
  // Few blocks: one after the other, the GEMMs take the threads.
  for (index_t blk = 0; blk < p.blocks; ++blk) {
    const index_t s0 = blk * p.nb;
    forward_block(s, p, x, W, b, y, relu, s0, std::min(p.nb, n - s0), work, 0);
  }
}

// x: (n, C, H, W), W: (F, C/groups, kh, kw), relu_y, dy: (n, F, Ho, Wo),
// dW: (F, C/groups, kh, kw), db: (F,), dx: (n, C, H, W)
template <class T>
void conv2d_backward(const Conv2dShape& s, index_t n, const T* x, const T* W, const T* relu_y, const T* dy,
                     T* dW, T* db, T* dx, T* work, index_t work_size, ConvAlgorithm algorithm) {
  check_shape(s, n, "conv2d_backward");
  if (n == 0) return;
  const Plan p = make_plan(s, n, true, algorithm);
  const double madds = static_cast<double>(n) * s.F * p.K * p.P * ((dW ? 1 : 0) + (dx ? 1 : 0));
  const int nt = threads_for_scratch(p, madds, work_size, "conv2d_backward");
  T* partials = work;
  T* scratch = work + p.partials;
  const bool want_dW = dW != nullptr, want_db = db != nullptr;
  // Chunk q sums its blocks in order into its partial sums.
  auto chunk = [&](int t, index_t q, int gemm_threads) {
    T* part = want_dW || want_db ? partials + q * p.part : nullptr;
    const index_t b0 = q * p.chunk_blocks, b1 = std::min(p.blocks, b0 + p.chunk_blocks);
    for (index_t blk = b0; blk < b1; ++blk) {
      const index_t s0 = blk * p.nb;
      backward_block(s, p, x, W, relu_y, dy, part, want_dW, want_db, blk == b0, dx, s0, std::min(p.nb, n - s0),
                     scratch + t * p.per_thread, gemm_threads);
    }
  };
  if (p.direct) {
    // (chunk, group) pairs to threads; a chunk's samples in order.
    const auto direct = kernels::table<T>().conv_direct_backward;
    const index_t G = s.groups, Fg = p.Fg;
    for_items(p.chunks * G, nt, [&](int t, index_t item) {
      const index_t q = item / G, g = item % G;
      T* part = partials + q * p.part;
      const index_t j0 = q * p.chunk_blocks, j1 = std::min(n, j0 + p.chunk_blocks);
      for (index_t j = j0; j < j1; ++j)
        direct(s, Fg, x + (j * s.C + g * p.Cg) * p.HW, W + g * Fg * p.K,
               relu_y ? relu_y + (j * s.F + g * Fg) * p.P : nullptr, dy + (j * s.F + g * Fg) * p.P,
               want_dW ? part + g * p.K * Fg : nullptr, want_db ? part + s.F * p.K + g * Fg : nullptr, j == j0,
               dx ? dx + (j * s.C + g * p.Cg) * p.HW : nullptr, work + p.partials + t * p.per_thread);
    });
  } else if (nt > 1 && p.chunks >= 2 * nt) {
    for_items(p.chunks, nt, [&](int t, index_t q) { chunk(t, q, 1); });
  } else {
    for (index_t q = 0; q < p.chunks; ++q) chunk(0, q, 0);
  }
  if (!want_dW && !want_db) return;
  // The chunks' sums, added in chunk order into the first chunk's, then
  // into dW (transposed back) and db.
  constexpr index_t piece = 4096;
  const index_t pieces = (p.part + piece - 1) / piece;
  const int rt = threads_for(static_cast<double>(p.part) * p.chunks, 65536.0);
  for_items(pieces, rt, [&](int, index_t k) {
    const index_t e0 = k * piece, e1 = std::min(p.part, e0 + piece);
    for (index_t q = 1; q < p.chunks; ++q) {
      const T* src = partials + q * p.part;
#pragma omp simd
      for (index_t e = e0; e < e1; ++e) partials[e] += src[e];
    }
  });
  const index_t F = s.F, K = p.K, Fg = p.Fg;
  if (want_dW)
    for_items(F, rt, [&](int, index_t f) {
      const T* src = partials + (f / Fg) * K * Fg + f % Fg;
      T* row = dW + f * K;
      for (index_t k = 0; k < K; ++k) row[k] += src[k * Fg];
    });
  if (want_db)
    for (index_t f = 0; f < F; ++f) db[f] += partials[F * K + f];
}

#define ENTRENA_INSTANTIATE(T)                                                                   \
  template void conv2d_forward<T>(const Conv2dShape&, index_t, const T*, const T*, const T*, T*, \
                                  bool, T*, index_t, ConvAlgorithm);                            \
  template void conv2d_backward<T>(const Conv2dShape&, index_t, const T*, const T*, const T*,    \
                                   const T*, T*, T*, T*, T*, index_t, ConvAlgorithm);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
