// The GEMM loop nest, packing and micro-kernel templates, included by each
// ISA variant (gemm_avx512.cpp, gemm_avx2.cpp, gemm_generic.cpp) so the
// whole nest is compiled for that ISA. Everything here has internal linkage
// (anonymous namespace): no function compiled for one ISA can be picked by
// the linker for another variant.
//
// Loop nest (row-major C; this is BLIS's order applied to Cᵀ = Bᵀ·Aᵀ, so the
// broadcast operand is A and the vector operand is B):
//
//   for ic in M, step MC            A block, MC×KC, packed once per (ic, pc)
//     for pc in K, step KC          fixed K order: C accumulates block by block
//       for jc in N, step NC        B block, KC×NC, packed, stays in L2
//         for ir in MC, step MR     A micro-panel MR×KC stays in L1
//           for jr in NC, step NR   B micro-panels stream from L2
//             micro-kernel: MR×NR tile of C in registers, K loop of FMAs
//
// Packing only rearranges data; every element of C gets the same FMAs in the
// same order whatever the packing, the tile it falls in, or the thread that
// computes it. So the results are bitwise identical for any thread count.
#pragma once

#include "gemm_internal.hpp"

namespace entrena::gemm_detail {
namespace {

inline index_t imin(index_t a, index_t b) { return a < b ? a : b; }
inline index_t round_up(index_t a, index_t m) { return (a + m - 1) / m * m; }

// How many rows of B ahead the micro-kernel prefetches.
constexpr index_t kPrefetchRows = 6;

// What the micro-kernel does to its tile once the K loop is done.
template <class T>
struct Epilogue {
  T alpha;
  T beta;         // 0: overwrite, 1: accumulate, else scale C first
  const T* bias;  // NR values for this tile's columns, or null
  bool relu;
};

// The vector micro-kernel, shared by the AVX2 and AVX-512 variants through a
// vector-traits class V (register type R, width W, mask type Mask,
// load/store/fma/...). It computes ROWS (<= MR) rows of an MR×NR tile; the
// rows of a partial tile are a compile-time count, so a 1-row product does
// 1 row of work. EDGE: only the first nr (< NR) columns are valid; B and C
// are then read and written with masks, never past column nr.
//   a: ROWS×kc micro-panel of op(A). AL == 0: element (i, k) at a[k*as + i]
//      (packed panel, as == MR, or op(A) = Aᵀ read in place, as == lda);
//      AL == 1: at a[i*as + k] (A read in place, as == lda).
//   b: kc×NR micro-panel of op(B), row k at b + k*bs (packed: bs == NR).
//   c: ROWS×NR tile of C, row stride ldc.
// Each element of C gets the same operations in the same order whatever
// ROWS, EDGE and the layouts are.
template <class V, int ROWS, int NV, int AL, bool EDGE>
inline void vec_tile(index_t kc, const typename V::T* a, index_t as, const typename V::T* b,
                     index_t bs, typename V::T* c, index_t ldc, index_t nr,
                     const Epilogue<typename V::T>& ep) {
  using T = typename V::T;
  using R = typename V::R;
  constexpr int W = V::W;
  typename V::Mask mask[NV] = {};
  if constexpr (EDGE) {
    for (int v = 0; v < NV; ++v) {
      const index_t left = nr - v * W;
      mask[v] = V::mask(static_cast<int>(left < 0 ? 0 : left > W ? W : left));
    }
  }
  auto load = [&](const T* p, int v) {
    if constexpr (EDGE)
      return V::maskload(p, mask[v]);
    else
      return V::load(p);
  };

  R acc[ROWS][NV];
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
  // The tile of C is needed after the K loop: start fetching it now.
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
    for (int v = 0; v < NV * W * static_cast<int>(sizeof(T)); v += 64)
      V::prefetch(reinterpret_cast<const char*>(c + i * ldc) + v);

  const index_t a_step = AL == 0 ? as : 1;
#pragma GCC unroll 2
  for (index_t k = 0; k < kc; ++k) {
    R bv[NV];
    if constexpr (!EDGE) {
      // B rows a few steps ahead: read in place they are bs apart, which
      // the hardware prefetcher follows late on short K loops.
#pragma GCC unroll 16
      for (int v = 0; v < NV * W * static_cast<int>(sizeof(T)); v += 64)
        V::prefetch(reinterpret_cast<const char*>(b + kPrefetchRows * bs) + v);
    }
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) bv[v] = load(b + v * W, v);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      const R ai = V::set1(AL == 0 ? a[i] : a[i * as]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(ai, bv[v], acc[i][v]);
    }
    a += a_step;
    b += bs;
  }

  // Epilogue, one pass per step so each step is a single branch (the tile
  // stays in registers): scale, add beta·C, add the bias, ReLU, store.
  const T alpha = ep.alpha, beta = ep.beta;
  const T* bias = ep.bias;
  const bool relu = ep.relu;
  if (alpha != T(1)) {
    const R va = V::set1(alpha);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[i][v] = V::mul(acc[i][v], va);
  }
  if (beta == T(1)) {
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[i][v] = V::add(load(c + i * ldc + v * W, v), acc[i][v]);
  } else if (beta != T(0)) {
    const R vb = V::set1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[i][v] = V::fma(load(c + i * ldc + v * W, v), vb, acc[i][v]);
  }
  if (bias) {
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      const R bv = load(bias + v * W, v);
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i) acc[i][v] = V::add(acc[i][v], bv);
    }
  }
  if (relu) {
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[i][v] = V::relu(acc[i][v]);
  }
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      if constexpr (EDGE)
        V::maskstore(c + i * ldc + v * W, mask[v], acc[i][v]);
      else
        V::store(c + i * ldc + v * W, acc[i][v]);
    }
}

// ------------------------------------------------------------------ packing

// op(A)[i0:i0+mr, p0:p0+kc] -> dst[k*MR + i], rows >= mr zero-filled.
template <int MR, class T>
inline void pack_a_panel(const Args<T>& g, index_t i0, index_t mr, index_t p0, index_t kc,
                         T* dst) {
  if (g.ta == Trans::T) {
    // op(A)[i, k] = A[k*lda + i]: each k is a contiguous run of MR values.
    for (index_t k = 0; k < kc; ++k) {
      const T* src = g.A + (p0 + k) * g.lda + i0;
      T* d = dst + k * MR;
      if (mr == MR) {
#pragma omp simd
        for (int i = 0; i < MR; ++i) d[i] = src[i];
      } else {
        for (int i = 0; i < MR; ++i) d[i] = i < mr ? src[i] : T(0);
      }
    }
  } else {
    // op(A)[i, k] = A[i*lda + k]: read rows, write with stride MR.
    for (index_t i = 0; i < mr; ++i) {
      const T* src = g.A + (i0 + i) * g.lda + p0;
      for (index_t k = 0; k < kc; ++k) dst[k * MR + i] = src[k];
    }
    for (index_t i = mr; i < MR; ++i)
      for (index_t k = 0; k < kc; ++k) dst[k * MR + i] = T(0);
  }
}

// op(B)[p0:p0+kc, j0:j0+nr] -> dst[k*NR + j], columns >= nr zero-filled.
template <int NR, class T>
inline void pack_b_panel(const Args<T>& g, index_t p0, index_t kc, index_t j0, index_t nr,
                         T* dst) {
  if (g.tb == Trans::N) {
    for (index_t k = 0; k < kc; ++k) {
      const T* src = g.B + (p0 + k) * g.ldb + j0;
      T* d = dst + k * NR;
      if (nr == NR) {
#pragma omp simd
        for (int j = 0; j < NR; ++j) d[j] = src[j];
      } else {
        for (int j = 0; j < NR; ++j) d[j] = j < nr ? src[j] : T(0);
      }
    }
  } else {
    // op(B)[k, j] = B[j*ldb + k]: a transpose. Go through it in chunks of
    // 8 k so the NR source rows are read in cache-line-sized runs.
    for (index_t k0 = 0; k0 < kc; k0 += 8) {
      const index_t kn = imin(8, kc - k0);
      for (index_t j = 0; j < nr; ++j) {
        const T* src = g.B + (j0 + j) * g.ldb + p0 + k0;
        T* d = dst + k0 * NR + j;
        for (index_t k = 0; k < kn; ++k) d[k * NR] = src[k];
      }
      for (index_t j = nr; j < NR; ++j)
        for (index_t k = 0; k < kn; ++k) dst[(k0 + k) * NR + j] = T(0);
    }
  }
}

// ------------------------------------------------------------------- driver

// Kern provides: T, MR, NR, KC, MC, NC, WIDE, WIDE_ROWS and
//   template <int AL, int ROWS, bool EDGE, int S>
//   static void tile(kc, a, as, b, bs, c, ldc, nr, const Epilogue<T>&)
// computing ROWS rows of S·NR columns (S = 1, or WIDE when ROWS <= WIDE_ROWS).
template <class Kern>
struct Driver {
  using T = typename Kern::T;
  static constexpr int MR = Kern::MR, NR = Kern::NR;
  static constexpr index_t KC = Kern::KC, MC = Kern::MC, NC = Kern::NC;

  // A tile of mr (<= MR) rows and nr (<= NR) columns.
  template <int AL, int ROWS = MR>
  static void tile(index_t kc, const T* a, index_t as, const T* b, index_t bs, T* c,
                   index_t ldc, index_t mr, index_t nr, const Epilogue<T>& ep) {
    if constexpr (ROWS >= 1) {
      if (mr == ROWS) {
        if (nr == NR)
          Kern::template tile<AL, ROWS, false, 1>(kc, a, as, b, bs, c, ldc, nr, ep);
        else
          Kern::template tile<AL, ROWS, true, 1>(kc, a, as, b, bs, c, ldc, nr, ep);
        return;
      }
      tile<AL, ROWS - 1>(kc, a, as, b, bs, c, ldc, mr, nr, ep);
    }
  }

  // A tile of mr (<= Kern::WIDE_ROWS) rows and WIDE·NR columns: with few
  // rows, a wider tile keeps enough independent accumulators in flight to
  // hide the FMA latency. Only for B read in place (not packed in NR-wide
  // micro-panels).
  template <int AL, int ROWS = Kern::WIDE_ROWS>
  static void wide_tile(index_t kc, const T* a, index_t as, const T* b, index_t bs, T* c,
                        index_t ldc, index_t mr, const Epilogue<T>& ep) {
    if constexpr (ROWS >= 1) {
      if (mr == ROWS) {
        Kern::template tile<AL, ROWS, false, Kern::WIDE>(kc, a, as, b, bs, c, ldc,
                                                         Kern::WIDE * NR, ep);
        return;
      }
      wide_tile<AL, ROWS - 1>(kc, a, as, b, bs, c, ldc, mr, ep);
    }
  }

  // One A micro-panel (rows i0..i0+mr of op(A), K slice pc..pc+kc) against
  // the columns jc..jc+nc of the current B block.
  template <int AL>
  static void row_panel(const Args<T>& g, const T* a, index_t as, index_t i0, index_t mr,
                        index_t pc, index_t kc, index_t jc, index_t nc, const T* bpack,
                        bool b_packed, const Epilogue<T>& ep) {
    index_t jr = 0;
    if (!b_packed && mr <= Kern::WIDE_ROWS && Kern::WIDE > 1) {
      constexpr index_t WN = Kern::WIDE * NR;
      for (; jr + WN <= nc; jr += WN) {
        Epilogue<T> e = ep;
        if (e.bias) e.bias += jc + jr;
        wide_tile<AL>(kc, a, as, g.B + pc * g.ldb + jc + jr, g.ldb, g.C + i0 * g.ldc + jc + jr,
                      g.ldc, mr, e);
      }
    }
    for (; jr < nc; jr += NR) {
      const index_t nr = imin(NR, nc - jr);
      const T* b = b_packed ? bpack + (jr / NR) * NR * kc : g.B + pc * g.ldb + jc + jr;
      const index_t bs = b_packed ? NR : g.ldb;
      Epilogue<T> e = ep;
      if (e.bias) e.bias += jc + jr;
      tile<AL>(kc, a, as, b, bs, g.C + i0 * g.ldc + jc + jr, g.ldc, mr, nr, e);
    }
  }

  // The K blocking: blocks of equal depth (at most KC), a function of K only.
  static index_t k_block(index_t K) {
    const index_t nb = (K + KC - 1) / KC;
    return round_up((K + nb - 1) / nb, 8);
  }

  // The rectangle C[m0:m1, n0:n1], on the calling thread.
  static void rect(const Args<T>& g, index_t m0, index_t m1, index_t n0, index_t n1,
                   bool pack_a, bool pack_b) {
    const index_t kb = imin(k_block(g.K), g.K);
    T* abuf = pack_a ? workspace<T>(0, round_up(imin(MC, m1 - m0), MR) * kb) : nullptr;
    T* bbuf = pack_b ? workspace<T>(1, round_up(imin(NC, n1 - n0), NR) * kb) : nullptr;
    for (index_t ic = m0; ic < m1; ic += MC) {
      const index_t mc = imin(MC, m1 - ic);
      for (index_t pc = 0; pc < g.K; pc += kb) {
        const index_t kc = imin(kb, g.K - pc);
        const bool last = pc + kc == g.K;
        const Epilogue<T> ep{g.alpha, pc == 0 ? g.beta : T(1), last ? g.bias : nullptr,
                             last && g.relu};
        if (pack_a)
          for (index_t ir = 0; ir < mc; ir += MR)
            pack_a_panel<MR>(g, ic + ir, imin(MR, mc - ir), pc, kc, abuf + ir * kc);
        for (index_t jc = n0; jc < n1; jc += NC) {
          const index_t nc = imin(NC, n1 - jc);
          if (pack_b)
            for (index_t jr = 0; jr < nc; jr += NR)
              pack_b_panel<NR>(g, pc, kc, jc + jr, imin(NR, nc - jr), bbuf + jr * kc);
          for (index_t ir = 0; ir < mc; ir += MR) {
            const index_t mr = imin(MR, mc - ir), i0 = ic + ir;
            if (pack_a)
              row_panel<0>(g, abuf + ir * kc, MR, i0, mr, pc, kc, jc, nc, bbuf, pack_b, ep);
            else if (g.ta == Trans::T)
              row_panel<0>(g, g.A + pc * g.lda + i0, g.lda, i0, mr, pc, kc, jc, nc, bbuf, pack_b, ep);
            else
              row_panel<1>(g, g.A + i0 * g.lda + pc, g.lda, i0, mr, pc, kc, jc, nc, bbuf, pack_b, ep);
          }
        }
      }
    }
  }

  // Which operands to pack: a function of the shape only (never of the
  // thread count). Measured on Zen 4: reading A and B in place is as fast as
  // packing while B fits in L2, and packing costs more than it saves on
  // small problems. op(B) = Bᵀ is always packed (the micro-kernel reads B
  // rows as vectors); a large B is packed once it is reused by many rows;
  // op(A) = Aᵀ is packed when large (in place, each k would touch a new
  // cache line). A row-major A is read in place: MR rows at a time.
  static void choose_packing(const Args<T>& g, bool& pack_a, bool& pack_b) {
    constexpr double big = 1024.0 * 1024.0;  // bytes
    pack_b = g.tb == Trans::T ||
             (g.M > 4 * MR && static_cast<double>(g.K) * g.N * sizeof(T) > big);
    pack_a = g.ta == Trans::T && g.N > 4 * NR &&
             static_cast<double>(g.M) * g.K * sizeof(T) > big;
  }

  static void run(const Args<T>& g) {
    bool pack_a, pack_b;
    choose_packing(g, pack_a, pack_b);
    const index_t mtiles = (g.M + MR - 1) / MR, ntiles = (g.N + NR - 1) / NR;
    // Threads take independent slabs of C. Splitting N duplicates the packing
    // of A in every thread, splitting M that of B: pick the cheaper one.
    const bool split_n = g.M < g.N;
    const index_t tiles = split_n ? ntiles : mtiles;
    const int nt = static_cast<int>(imin(g.threads, tiles));
    if (nt <= 1) {
      rect(g, 0, g.M, 0, g.N, pack_a, pack_b);
      return;
    }
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (nt > 1)
    for (int t = 0; t < nt; ++t) {
      const index_t lo = tiles * t / nt, hi = tiles * (t + 1) / nt;
      if (split_n)
        rect(g, 0, g.M, lo * NR, imin(hi * NR, g.N), pack_a, pack_b);
      else
        rect(g, lo * MR, imin(hi * MR, g.M), 0, g.N, pack_a, pack_b);
    }
  }
};

}  // namespace
}  // namespace entrena::gemm_detail
