// The SIMD mapping: vector types and operations of the ISA the including
// translation unit is built for. Kernels (gemm_driver.hpp, vmath.hpp,
// activations_impl.hpp) are written once over it and compiled once per ISA
// by isa_avx512.cpp, isa_avx2.cpp and isa_generic.cpp.
//
// The includer defines one of ENTRENA_ISA_AVX512, ENTRENA_ISA_AVX2,
// ENTRENA_ISA_GENERIC (isa_kernels.hpp does, for its ISA file); this header
// checks that the compiler flags provide that ISA and defines
//   ENTRENA_ISA_NS     the namespace of that ISA's code: isa_avx512, ...
//   ENTRENA_SIMD_BYTES the vector width: 64, 32, or 16 (generic: SSE2 on
//                      x86-64, NEON on aarch64, or scalar code elsewhere).
//
// simd::vec<T> is a GCC/Clang vector-extension type of T (float, double).
// On x86 it IS the intrinsics type (vec<float> is __m256 under AVX2), so
// kernels mix the operators of the vector extensions (+, *, <, ?:, [i])
// with the functions below and with intrinsics. simd::ivec<T> holds
// integers of T's width in as many lanes (the result type of comparisons).
//
// Everything here is inline with internal linkage, in the ISA's namespace:
// no copy built for one ISA can be used by another or by baseline code.
#pragma once

#include <cstdint>
#include <type_traits>

#if defined(ENTRENA_ISA_AVX512)
#if !(defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512BW__) && \
      defined(__AVX512VL__) && defined(__FMA__))
#error "simd.hpp: ENTRENA_ISA_AVX512 needs -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma"
#endif
#define ENTRENA_ISA_NS isa_avx512
#define ENTRENA_SIMD_BYTES 64
#elif defined(ENTRENA_ISA_AVX2)
#if !(defined(__AVX2__) && defined(__FMA__))
#error "simd.hpp: ENTRENA_ISA_AVX2 needs -mavx2 -mfma"
#endif
#define ENTRENA_ISA_NS isa_avx2
#define ENTRENA_SIMD_BYTES 32
#elif defined(ENTRENA_ISA_GENERIC)
#define ENTRENA_ISA_NS isa_generic
#define ENTRENA_SIMD_BYTES 16
#else
#error "simd.hpp: define ENTRENA_ISA_AVX512, ENTRENA_ISA_AVX2 or ENTRENA_ISA_GENERIC first"
#endif

#if ENTRENA_SIMD_BYTES > 16
#include <immintrin.h>
#endif

namespace entrena::ENTRENA_ISA_NS {
namespace {
namespace simd {

template <class T>
struct Types;
template <>
struct Types<float> {
  typedef float V __attribute__((vector_size(ENTRENA_SIMD_BYTES)));
  typedef std::int32_t I __attribute__((vector_size(ENTRENA_SIMD_BYTES)));
};
template <>
struct Types<double> {
  typedef double V __attribute__((vector_size(ENTRENA_SIMD_BYTES)));
  typedef std::int64_t I __attribute__((vector_size(ENTRENA_SIMD_BYTES)));
};

template <class T>
using vec = typename Types<T>::V;
template <class T>
using ivec = typename Types<T>::I;
template <class T>
constexpr int lanes = ENTRENA_SIMD_BYTES / static_cast<int>(sizeof(T));

// ------------------------------------------------------------------ basics
// load/store: unaligned, whole vectors.
template <class T>
inline vec<T> zero() {
  return vec<T>{};
}

#if ENTRENA_SIMD_BYTES == 64
template <class T>
inline vec<T> set1(T x) {
  if constexpr (sizeof(T) == 4)
    return _mm512_set1_ps(x);
  else
    return _mm512_set1_pd(x);
}
inline vec<float> load(const float* p) { return _mm512_loadu_ps(p); }
inline vec<double> load(const double* p) { return _mm512_loadu_pd(p); }
inline void store(float* p, vec<float> x) { _mm512_storeu_ps(p, x); }
inline void store(double* p, vec<double> x) { _mm512_storeu_pd(p, x); }
inline vec<float> fma(vec<float> a, vec<float> b, vec<float> c) { return _mm512_fmadd_ps(a, b, c); }
inline vec<double> fma(vec<double> a, vec<double> b, vec<double> c) {
  return _mm512_fmadd_pd(a, b, c);
}
// max(0, x); a NaN in x is kept (vmaxps returns its second operand). The
// all-ones-mask form avoids a spurious GCC 12 warning in _mm512_max_ps.
inline vec<float> relu(vec<float> x) { return _mm512_maskz_max_ps(0xFFFF, _mm512_setzero_ps(), x); }
inline vec<double> relu(vec<double> x) { return _mm512_maskz_max_pd(0xFF, _mm512_setzero_pd(), x); }
#elif ENTRENA_SIMD_BYTES == 32
template <class T>
inline vec<T> set1(T x) {
  if constexpr (sizeof(T) == 4)
    return _mm256_set1_ps(x);
  else
    return _mm256_set1_pd(x);
}
inline vec<float> load(const float* p) { return _mm256_loadu_ps(p); }
inline vec<double> load(const double* p) { return _mm256_loadu_pd(p); }
inline void store(float* p, vec<float> x) { _mm256_storeu_ps(p, x); }
inline void store(double* p, vec<double> x) { _mm256_storeu_pd(p, x); }
inline vec<float> fma(vec<float> a, vec<float> b, vec<float> c) { return _mm256_fmadd_ps(a, b, c); }
inline vec<double> fma(vec<double> a, vec<double> b, vec<double> c) {
  return _mm256_fmadd_pd(a, b, c);
}
// max(0, x); a NaN in x is kept (vmaxps returns its second operand).
inline vec<float> relu(vec<float> x) { return _mm256_max_ps(_mm256_setzero_ps(), x); }
inline vec<double> relu(vec<double> x) { return _mm256_max_pd(_mm256_setzero_pd(), x); }
#else
// x in every lane (x - 0 is x exactly, -0 and NaN included; compiles to a
// single broadcast).
template <class T>
inline vec<T> set1(T x) {
  return x - vec<T>{};
}
template <class T>
inline vec<T> load(const T* p) {
  vec<T> v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}
template <class T>
inline void store(T* p, vec<T> x) {
  __builtin_memcpy(p, &x, sizeof(x));
}
// a * b + c, rounded twice where the target has no FMA (x86-64 baseline).
template <class V>
inline V fma(V a, V b, V c) {
  return a * b + c;
}
// max(0, x); a NaN in x is kept.
template <class V>
inline V relu(V x) {
  return x < 0 ? V{} : x;
}
#endif

template <class V>
inline V add(V a, V b) {
  return a + b;
}
template <class V>
inline V mul(V a, V b) {
  return a * b;
}

inline void prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }

// ------------------------------------------------- partial (masked) access
// mask<T>(n) selects lanes [0, n) (0 <= n <= lanes<T>); maskload reads only
// those (the others are 0) and maskstore writes only those, never touching
// memory past them. load_part(p, n, pad): lanes [0, n) from p, the others
// pad; store_part(p, x, n): lanes [0, n) of x to p. kMaskedLoads: whether
// masked loads and stores are single instructions (else they go through a
// buffer in memory, and kernels avoid them in inner loops).
#if ENTRENA_SIMD_BYTES == 64
constexpr bool kMaskedLoads = true;
template <class T>
using mask_t = std::conditional_t<sizeof(T) == 4, __mmask16, __mmask8>;
template <class T>
inline mask_t<T> mask(int n) {
  return static_cast<mask_t<T>>((1u << n) - 1);
}
inline vec<float> maskload(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
inline vec<double> maskload(const double* p, __mmask8 m) { return _mm512_maskz_loadu_pd(m, p); }
inline void maskstore(float* p, __mmask16 m, vec<float> x) { _mm512_mask_storeu_ps(p, m, x); }
inline void maskstore(double* p, __mmask8 m, vec<double> x) { _mm512_mask_storeu_pd(p, m, x); }
inline vec<float> load_part(const float* p, int n, float pad) {
  return _mm512_mask_loadu_ps(set1(pad), mask<float>(n), p);
}
inline vec<double> load_part(const double* p, int n, double pad) {
  return _mm512_mask_loadu_pd(set1(pad), mask<double>(n), p);
}
#elif ENTRENA_SIMD_BYTES == 32
constexpr bool kMaskedLoads = true;
template <class T>
using mask_t = __m256i;  // lane i is all ones when i < n
template <class T>
inline __m256i mask(int n) {
  if constexpr (sizeof(T) == 4)
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  else
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
}
inline vec<float> maskload(const float* p, __m256i m) { return _mm256_maskload_ps(p, m); }
inline vec<double> maskload(const double* p, __m256i m) { return _mm256_maskload_pd(p, m); }
inline void maskstore(float* p, __m256i m, vec<float> x) { _mm256_maskstore_ps(p, m, x); }
inline void maskstore(double* p, __m256i m, vec<double> x) { _mm256_maskstore_pd(p, m, x); }
template <class T>
inline vec<T> load_part(const T* p, int n, T pad) {
  const ivec<T> m = reinterpret_cast<ivec<T>>(mask<T>(n));
  return m ? maskload(p, mask<T>(n)) : set1(pad);
}
#else
constexpr bool kMaskedLoads = false;
template <class T>
using mask_t = int;  // the number of lanes
template <class T>
inline int mask(int n) {
  return n;
}
template <class T>
inline vec<T> load_part(const T* p, int n, T pad) {
  T buf[lanes<T>];
  for (int j = 0; j < lanes<T>; ++j) buf[j] = j < n ? p[j] : pad;
  return load(buf);
}
template <class T>
inline vec<T> maskload(const T* p, int n) {
  return load_part(p, n, T(0));
}
template <class T>
inline void maskstore(T* p, int n, vec<T> x) {
  T buf[lanes<T>];
  store(buf, x);
  for (int j = 0; j < n; ++j) p[j] = buf[j];
}
#endif

template <class T>
inline void store_part(T* p, vec<T> x, int n) {
  maskstore(p, mask<T>(n), x);
}

// ------------------------------------------------------------- reductions
// In lane order (a fixed order, the same on every call).
template <class T>
inline T hsum(vec<T> v) {
  T s = v[0];
  for (int j = 1; j < lanes<T>; ++j) s += v[j];
  return s;
}

template <class T>
inline T hmax(vec<T> v) {
  T m = v[0];
  for (int j = 1; j < lanes<T>; ++j) m = v[j] > m ? v[j] : m;
  return m;
}

}  // namespace simd
}  // namespace
}  // namespace entrena::ENTRENA_ISA_NS
