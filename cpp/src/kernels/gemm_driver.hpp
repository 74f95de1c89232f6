// The GEMM loop nest, packing and micro-kernel, written once over the SIMD
// mapping (simd.hpp). Internal header of the ISA translation units
// (isa_kernels.hpp): each compiles it for its ISA, in its namespace with
// internal linkage, with its own blocking (Blocking below, chosen in
// isa_avx512.cpp, isa_avx2.cpp, isa_generic.cpp).
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

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernel_table.hpp"
#include "simd.hpp"

namespace entrena::ENTRENA_ISA_NS {
namespace {
namespace gemm {

#include "bf16_round.inc"

template <class T>
using Args = kernels::GemmArgs<T>;

inline index_t imin(index_t a, index_t b) { return a < b ? a : b; }
inline index_t imax(index_t a, index_t b) { return a > b ? a : b; }
inline index_t round_up(index_t a, index_t m) { return (a + m - 1) / m * m; }

// How many rows of B ahead the micro-kernel prefetches.
constexpr index_t kPrefetchRows = 6;

// What the micro-kernel does to its tile once the K loop is done.
template <class T>
struct Epilogue {
  T alpha;
  T beta;         // 0: overwrite, 1: accumulate, else scale C first
  const T* bias;  // this tile's NR column values (its ROWS row values when bias_rows), or null
  bool relu;
  bool bias_rows;
};

// The micro-kernel. It computes ROWS (<= MR) rows of an MR×NR tile
// (NR = NV vectors); the rows of a partial tile are a compile-time count,
// so a 1-row product does 1 row of work. EDGE: only the first nr (< NR)
// columns are valid; B and C are then read and written with masks, never
// past column nr. (Where masked loads are no single instruction
// (!simd::kMaskedLoads), B is read whole instead: the driver then passes
// an edge panel of B zero-padded to NR columns.)
//   a: ROWS×kc micro-panel of op(A). AL == 0: element (i, k) at a[k*as + i]
//      (packed panel, as == MR, or op(A) = Aᵀ read in place, as == lda);
//      AL == 1: at a[i*as + k] (A read in place, as == lda).
//   b: kc×NR micro-panel of op(B), row k at b + k*bs (packed: bs == NR).
//   c: ROWS×NR tile of C, row stride ldc.
// Each element of C gets the same operations in the same order whatever
// ROWS, EDGE and the layouts are.
template <class T, int ROWS, int NV, int AL, bool EDGE>
inline void vec_tile(index_t kc, const T* a, index_t as, const T* b, index_t bs, T* c,
                     index_t ldc, index_t nr, const Epilogue<T>& ep) {
  using R = simd::vec<T>;
  constexpr int W = simd::lanes<T>;
  simd::mask_t<T> mask[NV] = {};
  if constexpr (EDGE) {
    for (int v = 0; v < NV; ++v) {
      const index_t left = nr - v * W;
      mask[v] = simd::mask<T>(static_cast<int>(left < 0 ? 0 : left > W ? W : left));
    }
  }
  auto load = [&](const T* p, int v) {
    if constexpr (EDGE)
      return simd::maskload(p, mask[v]);
    else
      return simd::load(p);
  };

  R acc[ROWS][NV];
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[i][v] = simd::zero<T>();
  // The tile of C is needed after the K loop: start fetching it now.
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
    for (int v = 0; v < NV * W * static_cast<int>(sizeof(T)); v += 64)
      simd::prefetch(reinterpret_cast<const char*>(c + i * ldc) + v);

  const index_t a_step = AL == 0 ? as : 1;
#pragma GCC unroll 2
  for (index_t k = 0; k < kc; ++k) {
    R bv[NV];
    if constexpr (!EDGE) {
      // B rows a few steps ahead: read in place they are bs apart, which
      // the hardware prefetcher follows late on short K loops.
#pragma GCC unroll 16
      for (int v = 0; v < NV * W * static_cast<int>(sizeof(T)); v += 64)
        simd::prefetch(reinterpret_cast<const char*>(b + kPrefetchRows * bs) + v);
    }
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      if constexpr (simd::kMaskedLoads)
        bv[v] = load(b + v * W, v);
      else
        bv[v] = simd::load(b + v * W);
    }
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      const R ai = simd::set1(AL == 0 ? a[i] : a[i * as]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[i][v] = simd::fma(ai, bv[v], acc[i][v]);
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
    const R va = simd::set1(alpha);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[i][v] = simd::mul(acc[i][v], va);
  }
  if (beta == T(1)) {
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[i][v] = simd::add(load(c + i * ldc + v * W, v), acc[i][v]);
  } else if (beta != T(0)) {
    const R vb = simd::set1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[i][v] = simd::fma(load(c + i * ldc + v * W, v), vb, acc[i][v]);
  }
  if (bias && ep.bias_rows) {
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      const R bi = simd::set1(bias[i]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[i][v] = simd::add(acc[i][v], bi);
    }
  } else if (bias) {
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      const R bv = load(bias + v * W, v);
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i) acc[i][v] = simd::add(acc[i][v], bv);
    }
  }
  if (relu) {
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[i][v] = simd::relu(acc[i][v]);
  }
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      if constexpr (EDGE)
        simd::maskstore(c + i * ldc + v * W, mask[v], acc[i][v]);
      else
        simd::store(c + i * ldc + v * W, acc[i][v]);
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
        if (g.bf16) {
#pragma omp simd
          for (int i = 0; i < MR; ++i) d[i] = bf16_round_if(src[i], true);
        } else {
#pragma omp simd
          for (int i = 0; i < MR; ++i) d[i] = src[i];
        }
      } else {
        for (int i = 0; i < MR; ++i) d[i] = i < mr ? bf16_round_if(src[i], g.bf16) : T(0);
      }
    }
  } else {
    // op(A)[i, k] = A[i*lda + k]: read rows, write with stride MR.
    for (index_t i = 0; i < mr; ++i) {
      const T* src = g.A + (i0 + i) * g.lda + p0;
      if (g.bf16)
        for (index_t k = 0; k < kc; ++k) dst[k * MR + i] = bf16_round_if(src[k], true);
      else
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
        if (g.bf16) {
#pragma omp simd
          for (int j = 0; j < NR; ++j) d[j] = bf16_round_if(src[j], true);
        } else {
#pragma omp simd
          for (int j = 0; j < NR; ++j) d[j] = src[j];
        }
      } else {
        for (int j = 0; j < NR; ++j) d[j] = j < nr ? bf16_round_if(src[j], g.bf16) : T(0);
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
        for (index_t k = 0; k < kn; ++k) d[k * NR] = bf16_round_if(src[k], g.bf16);
      }
      for (index_t j = nr; j < NR; ++j)
        for (index_t k = 0; k < kn; ++k) dst[(k0 + k) * NR + j] = T(0);
    }
  }
}

// ------------------------------------------------------------------- driver

// The register tile and the cache blocks of one ISA and element type:
// MR rows × NV vectors of C in registers; K, M, N blocks of KC, MC, NC; a
// tile of up to WIDE_ROWS rows may be WIDE micro-panels wide (WIDE = 1: no
// wide tiles).
template <class T_, int MR_, int NV_, index_t KC_, index_t MC_, index_t NC_, int WIDE_,
          int WIDE_ROWS_>
struct Blocking {
  using T = T_;
  static constexpr int MR = MR_, NV = NV_, NR = NV_ * simd::lanes<T_>;
  static constexpr index_t KC = KC_, MC = MC_, NC = NC_;
  static constexpr int WIDE = WIDE_, WIDE_ROWS = WIDE_ROWS_;
};

template <class B>
struct Driver {
  using T = typename B::T;
  static constexpr int MR = B::MR, NR = B::NR, NV = B::NV;
  static constexpr index_t KC = B::KC, MC = B::MC, NC = B::NC;

  // A tile of mr (<= MR) rows and nr (<= NR) columns.
  template <int AL, int ROWS = MR>
  static void tile(index_t kc, const T* a, index_t as, const T* b, index_t bs, T* c,
                   index_t ldc, index_t mr, index_t nr, const Epilogue<T>& ep) {
    if constexpr (ROWS >= 1) {
      if (mr == ROWS) {
        if (nr == NR)
          vec_tile<T, ROWS, NV, AL, false>(kc, a, as, b, bs, c, ldc, nr, ep);
        else
          vec_tile<T, ROWS, NV, AL, true>(kc, a, as, b, bs, c, ldc, nr, ep);
        return;
      }
      tile<AL, ROWS - 1>(kc, a, as, b, bs, c, ldc, mr, nr, ep);
    }
  }

  // A tile of mr (<= B::WIDE_ROWS) rows and WIDE·NR columns: with few
  // rows, a wider tile keeps enough independent accumulators in flight to
  // hide the FMA latency. Only for B read in place (not packed in NR-wide
  // micro-panels).
  template <int AL, int ROWS = B::WIDE_ROWS>
  static void wide_tile(index_t kc, const T* a, index_t as, const T* b, index_t bs, T* c,
                        index_t ldc, index_t mr, const Epilogue<T>& ep) {
    if constexpr (ROWS >= 1) {
      if (mr == ROWS) {
        vec_tile<T, ROWS, NV * B::WIDE, AL, false>(kc, a, as, b, bs, c, ldc, B::WIDE * NR, ep);
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
    if (!b_packed && mr <= B::WIDE_ROWS && B::WIDE > 1) {
      constexpr index_t WN = B::WIDE * NR;
      for (; jr + WN <= nc; jr += WN) {
        Epilogue<T> e = ep;
        if (e.bias) e.bias += e.bias_rows ? i0 : jc + jr;
        wide_tile<AL>(kc, a, as, g.B + pc * g.ldb + jc + jr, g.ldb, g.C + i0 * g.ldc + jc + jr,
                      g.ldc, mr, e);
      }
    }
    for (; jr < nc; jr += NR) {
      const index_t nr = imin(NR, nc - jr);
      const T* b = b_packed ? bpack + (jr / NR) * NR * kc : g.B + pc * g.ldb + jc + jr;
      const index_t bs = b_packed ? NR : g.ldb;
      Epilogue<T> e = ep;
      if (e.bias) e.bias += e.bias_rows ? i0 : jc + jr;
      if constexpr (!simd::kMaskedLoads) {
        // The edge panel of a B read in place, zero-padded (see vec_tile).
        if (nr < NR && !b_packed) {
          T bpad[KC * NR];
          pack_b_panel<NR>(g, pc, kc, jc + jr, nr, bpad);
          tile<AL>(kc, a, as, bpad, NR, g.C + i0 * g.ldc + jc + jr, g.ldc, mr, nr, e);
          continue;
        }
      }
      tile<AL>(kc, a, as, b, bs, g.C + i0 * g.ldc + jc + jr, g.ldc, mr, nr, e);
    }
  }

  // The K blocking: blocks of equal depth (at most KC), a function of K only.
  static index_t k_block(index_t K) {
    const index_t nb = (K + KC - 1) / KC;
    return round_up((K + nb - 1) / nb, 8);
  }

  // op(B) packed whole: for each K block (of k_block(K) rows, kc), the
  // NR-wide micro-panels of all N columns, panel j at (block start)·Npad +
  // j·kc, as rect packs one block of columns.
  static index_t packed_b_size(index_t K, index_t N) { return round_up(N, NR) * K; }
  static void pack_b_all(const Args<T>& g, T* out) {
    const index_t kb = imin(k_block(g.K), g.K), npad = round_up(g.N, NR);
    for (index_t pc = 0; pc < g.K; pc += kb) {
      const index_t kc = imin(kb, g.K - pc);
      for (index_t j = 0; j < g.N; j += NR) pack_b_panel<NR>(g, pc, kc, j, imin(NR, g.N - j), out + pc * npad + j * kc);
    }
  }

  // The rectangle C[m0:m1, n0:n1], on the calling thread.
  static void rect(const Args<T>& g, index_t m0, index_t m1, index_t n0, index_t n1,
                   bool pack_a, bool pack_b) {
    const index_t kb = imin(k_block(g.K), g.K);
    const bool prepacked = g.bpacked != nullptr;
    if (prepacked) pack_b = false;
    T* abuf = pack_a ? kernels::gemm_workspace<T>(0, round_up(imin(MC, m1 - m0), MR) * kb) : nullptr;
    T* bbuf = pack_b ? kernels::gemm_workspace<T>(1, round_up(imin(NC, n1 - n0), NR) * kb) : nullptr;
    for (index_t ic = m0; ic < m1; ic += MC) {
      const index_t mc = imin(MC, m1 - ic);
      for (index_t pc = 0; pc < g.K; pc += kb) {
        const index_t kc = imin(kb, g.K - pc);
        const bool last = pc + kc == g.K;
        const Epilogue<T> ep{g.alpha, pc == 0 ? g.beta : T(1), last ? g.bias : nullptr,
                             last && g.relu, g.bias_rows};
        if (pack_a)
          for (index_t ir = 0; ir < mc; ir += MR)
            pack_a_panel<MR>(g, ic + ir, imin(MR, mc - ir), pc, kc, abuf + ir * kc);
        for (index_t jc = n0; jc < n1; jc += NC) {
          const index_t nc = imin(NC, n1 - jc);
          if (pack_b)
            for (index_t jr = 0; jr < nc; jr += NR)
              pack_b_panel<NR>(g, pc, kc, jc + jr, imin(NR, nc - jr), bbuf + jr * kc);
          const T* bp = prepacked ? g.bpacked + pc * round_up(g.N, NR) + jc * kc : bbuf;
          const bool packed = pack_b || prepacked;
          for (index_t ir = 0; ir < mc; ir += MR) {
            const index_t mr = imin(MR, mc - ir), i0 = ic + ir;
            if (pack_a)
              row_panel<0>(g, abuf + ir * kc, MR, i0, mr, pc, kc, jc, nc, bp, packed, ep);
            else if (g.ta == Trans::T)
              row_panel<0>(g, g.A + pc * g.lda + i0, g.lda, i0, mr, pc, kc, jc, nc, bp, packed, ep);
            else
              row_panel<1>(g, g.A + i0 * g.lda + pc, g.lda, i0, mr, pc, kc, jc, nc, bp, packed, ep);
          }
        }
      }
    }
  }

  // Which operands to pack: a function of the shape and of the L2 size
  // (never of the thread count; packing does not change the results).
  // Reading A and B in place is as fast as packing while they fit in L2,
  // and packing costs more than it saves on small problems. op(B) = Bᵀ is always packed (the micro-kernel reads B
  // rows as vectors); a large B is packed once it is reused by many rows;
  // op(A) = Aᵀ is packed when large (in place, each k would touch a new
  // cache line). A row-major A is read in place: MR rows at a time.
  static void choose_packing(const Args<T>& g, bool& pack_a, bool& pack_b) {
    if (g.bf16) {   // the operands are rounded as they are packed
      pack_a = pack_b = true;
      return;
    }
    // An operand read in place streams from L2 for every panel of the
    // other: fine while it fits in half the L2 beside the rest (Zen 4,
    // 1 MiB L2: as fast as packing; Zen 3, 512 KiB L2: a B of 1 MiB read in
    // place ran at 40-70% of the packed speed). Rows a multiple of 4 KiB
    // apart share their L1 sets, so the kc rows of a micro-panel evict one
    // another: such an operand is packed whatever its size.
    const double half_l2 = 0.5 * static_cast<double>(kernels::l2_cache_bytes());
    const auto aliased = [&](index_t ld) { return g.K >= 64 && (ld * static_cast<index_t>(sizeof(T))) % 4096 == 0; };
    pack_b = g.tb == Trans::T ||
             (g.M > 4 * MR && (static_cast<double>(g.K) * g.N * sizeof(T) > half_l2 || aliased(g.ldb)));
    pack_a = g.ta == Trans::T && g.N > 4 * NR &&
             (static_cast<double>(g.M) * g.K * sizeof(T) > half_l2 || aliased(g.lda));
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
    // Slabs are handed out one at a time (several per thread), so a thread
    // that shares its core with other work takes fewer of them instead of
    // holding up the others. A slab spans at least 4 tiles.
    const index_t slabs = imax(nt, imin(4 * static_cast<index_t>(nt), tiles / 4));
    const index_t kb = imin(k_block(g.K), g.K);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
      // Every thread of the team sizes its packing buffers for any slab of
      // this shape first: which slabs a thread takes varies from call to
      // call, and a steady state must not allocate.
      if (pack_a) kernels::gemm_workspace<T>(0, round_up(imin(MC, g.M), MR) * kb);
      if (pack_b && !g.bpacked) kernels::gemm_workspace<T>(1, round_up(imin(NC, g.N), NR) * kb);
#pragma omp for schedule(dynamic, 1)
      for (index_t t = 0; t < slabs; ++t) {
        const index_t lo = tiles * t / slabs, hi = tiles * (t + 1) / slabs;
        if (split_n)
          rect(g, 0, g.M, lo * NR, imin(hi * NR, g.N), pack_a, pack_b);
        else
          rect(g, lo * MR, imin(hi * MR, g.M), 0, g.N, pack_a, pack_b);
      }
    }
  }
};

// The table entry: C = act(alpha·op(A)·op(B) + beta·C + bias) with blocking B
// (bias per column of C, or per row when g.bias_rows).
template <class B>
void run(const Args<typename B::T>& g) {
  Driver<B>::run(g);
}

// The table entries for a B packed once and multiplied many times.
template <class B>
void pack_b(const Args<typename B::T>& g, typename B::T* out) {
  Driver<B>::pack_b_all(g, out);
}
template <class B>
kernels::idx packed_b_size(kernels::idx K, kernels::idx N) {
  return Driver<B>::packed_b_size(K, N);
}

// C independent chains of float vector FMAs, more than FMA latency ×
// throughput, run `iters` times; returns the flops of one round.
template <int C>
double fma_chains(long iters, float* sink) {
  using V = simd::vec<float>;
  V acc[C];
  const V x = simd::set1(1.0000001f), y = simd::set1(1e-7f);
  for (int i = 0; i < C; ++i) acc[i] = simd::set1(static_cast<float>(i));
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < C; ++i) acc[i] = simd::fma(acc[i], x, y);
  }
  V s = acc[0];
  for (int i = 1; i < C; ++i) s = simd::add(s, acc[i]);
  *sink = simd::hsum<float>(s);
  return 2.0 * C * simd::lanes<float>;
}

}  // namespace gemm
}  // namespace
}  // namespace entrena::ENTRENA_ISA_NS
