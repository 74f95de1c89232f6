// SIMD elementary functions for the activation kernels: exp, expm1, log,
// log1p, tanh, erf, erfc over vectors of float or double.
//
// Internal header of the ISA translation units (isa_kernels.hpp): written
// once over the vector types of simd.hpp, with GCC/Clang vector-extension
// operators, and compiled for each ISA. Everything here has internal
// linkage in the ISA's namespace, and calls nothing from the standard
// library that could be emitted out of line.
//
// Accuracy (measured in tests/test_vmath.py against float64/NumPy over a
// dense sweep of float32 values): at most a few ulp in float32; about 1e-15
// relative in float64. The polynomial coefficients were fitted by least
// squares on Chebyshev nodes against 40-digit reference values.
//
// Special values: NaN in gives NaN out; exp(-inf) = 0, exp(+inf) = inf and
// exp overflows to inf without ever producing NaN; log(0) = -inf,
// log(x < 0) = NaN; tanh(+-inf) = +-1, erf(+-inf) = +-1. Denormal inputs and
// outputs are handled (no flush to zero).
#pragma once

#include <cstdint>

#include "simd.hpp"

namespace entrena::ENTRENA_ISA_NS {
namespace {

template <class T>
struct VecTraits;

template <>
struct VecTraits<float> {
  using V = simd::vec<float>;
  using I = simd::ivec<float>;
  typedef std::int32_t Int;
  static constexpr int mant_bits = 23;
  static constexpr Int exp_bias = 127;
  static constexpr Int exp_field = 0xff;
  static constexpr Int mant_mask = 0x007fffff;
  static constexpr Int sign_mask = static_cast<Int>(0x80000000u);
  static constexpr Int one_bits = 0x3f800000;
  // Adding 1.5 * 2^23 rounds a float of magnitude < 2^22 to an integer,
  // which then sits in the low mantissa bits.
  static constexpr float round_magic = 12582912.0f;
  static constexpr float min_normal = 1.17549435e-38f;
  static constexpr float denorm_scale = 4294967296.0f;  // 2^32
  static constexpr Int denorm_shift = 32;
  // exp: inputs are clamped to [exp_lo, exp_hi]; beyond, results are 0 / inf.
  static constexpr float exp_lo = -104.0f, exp_hi = 89.0f;
  // expm1: below expm1_lo the result is -1 to working precision.
  static constexpr float expm1_lo = -30.0f;
  // erfc of arguments above this underflows to 0.
  static constexpr float erfc_hi = 30.0f;
  // The high part of z keeps 12 significant bits so that zh * zh is exact.
  static constexpr Int erfc_split_mask = static_cast<Int>(0xfffff000u);
  // ln 2 = ln2_hi + ln2_lo, ln2_hi with 16 significant bits: k * ln2_hi
  // is exact for every exponent k.
  static constexpr float ln2_hi = 0.693145751953125f;
  static constexpr float ln2_lo = 1.4286068203094173e-06f;
  static constexpr float log2e = 1.4426950408889634f;
  static constexpr float sqrt2 = 1.4142135623730951f;
  // e^r = 1 + r + r^2 * Q(r) on |r| <= ln2/2
  static constexpr float exp_q[] = {0.5000000013462218f, 0.16666577003160282f,
                                    0.041666464976127526f, 0.008363175565468195f,
                                    0.0013933643522487942f};
  // log(1+f) = 2s + s^3 R(s^2), s = f/(2+f), |s| <= 3 - 2 sqrt(2)
  static constexpr float log_r[] = {0.6666666655378406f, 0.4000012227736827f,
                                    0.28550781106736645f, 0.23331367483766566f};
  // tanh(x) = x + x^3 P(x^2) on |x| <= 0.625
  static constexpr float tanh_p[] = {-0.3333333317785046f, 0.13333304277861624f,
                                     -0.05395940590835395f, 0.021769960917308626f,
                                     -0.008346980494606172f, 0.002295841262758343f};
  // erf(x) = x P(x^2) on |x| <= 0.75
  static constexpr float erf_p[] = {1.1283791656045392f, -0.37612619697373667f,
                                    0.11283389768100115f, -0.02683527490878599f,
                                    0.005115657236115285f, -0.000675878799154922f};
  // erfc(z) = t exp(-z^2 + G(t)), t = 2/(2+z), for 0.75 <= z <= 10.1
  static constexpr float erfc_g[] = {
      -1.2655215747425648f, 1.000285766928468f,   0.3712463374119781f, 0.11139598430911732f,
      -0.2169105056305932f, 0.24709204708929267f, -0.8111452298810778f, 0.7162121921087433f,
      0.10361235989897234f, -0.40153369647436515f, 0.14546011924213195f};
  static V int_to_real(I e) { return __builtin_convertvector(e, V); }
};

template <>
struct VecTraits<double> {
  using V = simd::vec<double>;
  using I = simd::ivec<double>;
  typedef std::int64_t Int;
  static constexpr int mant_bits = 52;
  static constexpr Int exp_bias = 1023;
  static constexpr Int exp_field = 0x7ff;
  static constexpr Int mant_mask = 0x000fffffffffffffLL;
  static constexpr Int sign_mask = static_cast<Int>(0x8000000000000000uLL);
  static constexpr Int one_bits = 0x3ff0000000000000LL;
  static constexpr double round_magic = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double min_normal = 2.2250738585072014e-308;
  static constexpr double denorm_scale = 18446744073709551616.0;  // 2^64
  static constexpr Int denorm_shift = 64;
  static constexpr double exp_lo = -746.0, exp_hi = 710.0;
  static constexpr double expm1_lo = -40.0;
  static constexpr double erfc_hi = 30.0;
  // zh keeps 26 significant bits.
  static constexpr Int erfc_split_mask = static_cast<Int>(0xfffffffff8000000uLL);
  // ln2_hi has 42 significant bits.
  static constexpr double ln2_hi = 0.6931471805598903;
  static constexpr double ln2_lo = 5.497923018708371e-14;
  static constexpr double log2e = 1.4426950408889634;
  static constexpr double sqrt2 = 1.4142135623730951;
  static constexpr double exp_q[] = {0.5000000000000001,     0.1666666666666667,
                                     0.04166666666662416,    0.008333333333326141,
                                     0.0013888888917198588,  0.00019841269874802173,
                                     2.4801521319879672e-05, 2.755725542387984e-06,
                                     2.762007691611333e-07,  2.510520706464424e-08};
  static constexpr double log_r[] = {0.666666666666667,   0.39999999999899005, 0.28571428626173057,
                                     0.2222221110612709,  0.1818289100504977,  0.15331664799306263,
                                     0.14617093237558204};
  static constexpr double tanh_p[] = {-0.3333333333333332,    0.13333333333326852,
                                      -0.05396825396155842,   0.02186948826586936,
                                      -0.008863229918927299,  0.0035920598156011876,
                                      -0.001455314159225995,  0.0005874547463612622,
                                      -0.00023081406852181892, 7.9645129009901e-05,
                                      -1.7268164417323396e-05};
  static constexpr double erf_p[] = {1.1283791670955126,     -0.3761263890318125,
                                     0.11283791670807848,    -0.026866170611490315,
                                     0.005223977234801653,   -0.0008548300926940371,
                                     0.00012054268887866032, -1.4898673080134353e-05,
                                     1.6044999853810857e-06, -1.2713426516004893e-07};
  // for 0.75 <= z <= 27.3
  static constexpr double erfc_g[] = {
      -1.2655121234676767,  0.9999999983670644,   0.3750000720186531,  0.08333139671894406,
      -0.08590186131022996, -0.14422757461294256, -0.08695604667061696, -0.008473794472156702,
      0.3686546734633717,   -1.0420168023776513,  4.5760964170993415,  -14.81181935855538,
      36.81596480885289,    -74.10006933263882,   115.99949242268427,  -135.41524858613784,
      114.79756597021694,   -68.70994598586341,   27.623601672908162,  -6.719605908232916,
      0.7500701874853187};
  // int64 -> double without a conversion instruction (AVX2 has none):
  // e + bits(1.5 * 2^52), read as a double, minus 1.5 * 2^52. |e| < 2^51.
  static V int_to_real(I e) {
    const I magic_bits = I{} + static_cast<Int>(0x4338000000000000LL);
    return (V)(e + magic_bits) - round_magic;
  }
};

template <class T>
using vec_t = typename VecTraits<T>::V;
template <class T>
using ivec_t = typename VecTraits<T>::I;

template <class T>
inline vec_t<T> vabs(vec_t<T> x) {
  using Tr = VecTraits<T>;
  return (vec_t<T>)((ivec_t<T>)x & ~Tr::sign_mask);
}

// |m| with the sign of s (m >= 0).
template <class T>
inline vec_t<T> vcopysign(vec_t<T> m, vec_t<T> s) {
  using Tr = VecTraits<T>;
  return (vec_t<T>)((ivec_t<T>)m | ((ivec_t<T>)s & Tr::sign_mask));
}

template <class T>
inline vec_t<T> vinf() {
  return simd::set1<T>(__builtin_inf());
}

// c[0] + x c[1] + x^2 c[2] + ... (Horner).
template <class T, int N>
inline vec_t<T> vpoly(vec_t<T> x, const T (&c)[N]) {
  vec_t<T> r = simd::set1<T>(c[N - 1]);
  for (int i = N - 2; i >= 0; --i) r = r * x + c[i];
  return r;
}

// 2^k for integer lanes k with exp_bias - 1 >= k >= 1 - exp_bias.
template <class T>
inline vec_t<T> vpow2i(ivec_t<T> k) {
  using Tr = VecTraits<T>;
  return (vec_t<T>)((k + Tr::exp_bias) << Tr::mant_bits);
}

// Range reduction shared by exp and expm1: x = k ln2 + r, |r| <= ln2/2
// (x must be clamped so that |k| stays far below 2^22).
template <class T>
inline vec_t<T> vreduce(vec_t<T> x, ivec_t<T>& k) {
  using Tr = VecTraits<T>;
  vec_t<T> kf = x * Tr::log2e + Tr::round_magic;
  k = (ivec_t<T>)kf - (ivec_t<T>)simd::set1<T>(Tr::round_magic);
  kf = kf - Tr::round_magic;
  vec_t<T> r = x - kf * Tr::ln2_hi;
  return r - kf * Tr::ln2_lo;
}

template <class T>
inline vec_t<T> vexp(vec_t<T> x) {
  using Tr = VecTraits<T>;
  vec_t<T> xc = x < Tr::exp_lo ? simd::set1<T>(Tr::exp_lo) : x;
  xc = xc > Tr::exp_hi ? simd::set1<T>(Tr::exp_hi) : xc;
  ivec_t<T> k;
  const vec_t<T> r = vreduce<T>(xc, k);
  const vec_t<T> p = T(1) + (r + r * r * vpoly<T>(r, Tr::exp_q));
  // 2^k in two halves, each a normal number even when 2^k is not (k spans
  // the denormal range and one step past overflow).
  const ivec_t<T> k1 = k >> 1;
  const vec_t<T> res = (p * vpow2i<T>(k1)) * vpow2i<T>(k - k1);
  return x != x ? x : res;
}

template <class T>
inline vec_t<T> vexpm1(vec_t<T> x) {
  using Tr = VecTraits<T>;
  vec_t<T> xc = x < Tr::expm1_lo ? simd::set1<T>(Tr::expm1_lo) : x;
  xc = xc > Tr::exp_hi ? simd::set1<T>(Tr::exp_hi) : xc;
  ivec_t<T> k;
  const vec_t<T> r = vreduce<T>(xc, k);
  const vec_t<T> q = r + r * r * vpoly<T>(r, Tr::exp_q);  // e^r - 1
  // Small k: 2^k q + (2^k - 1), both terms exact but the sum.
  const ivec_t<T> big = k > 60;
  const ivec_t<T> ks = big ? ivec_t<T>{} : k;
  const vec_t<T> s = vpow2i<T>(ks);
  const vec_t<T> small_res = s * q + (s - T(1));
  // Large k: the -1 hardly matters; scale in two halves as in exp.
  const ivec_t<T> k1 = k >> 1;
  const vec_t<T> big_res = ((q + T(1)) * vpow2i<T>(k1)) * vpow2i<T>(k - k1) - T(1);
  const vec_t<T> res = big ? big_res : small_res;
  return x != x ? x : res;
}

template <class T>
inline vec_t<T> vlog(vec_t<T> x) {
  using Tr = VecTraits<T>;
  using I = ivec_t<T>;
  using V = vec_t<T>;
  // Denormals: scale into the normal range first.
  const I sub = x < Tr::min_normal;
  const V xs = sub ? x * Tr::denorm_scale : x;
  const I bits = (I)xs;
  I e = ((bits >> Tr::mant_bits) & Tr::exp_field) - Tr::exp_bias;
  e = sub ? e - Tr::denorm_shift : e;
  V m = (V)((bits & Tr::mant_mask) | Tr::one_bits);  // [1, 2)
  const I hi = m > Tr::sqrt2;
  m = hi ? m * T(0.5) : m;  // [sqrt(1/2), sqrt(2))
  e = e - hi;               // hi is -1 where true
  const V f = m - T(1);     // exact
  const V s = f / (T(2) + f);
  const V y = s * s;
  const V lm = T(2) * s + s * y * vpoly<T>(y, Tr::log_r);
  const V ef = Tr::int_to_real(e);
  V res = ef * Tr::ln2_hi + (lm + ef * Tr::ln2_lo);
  res = x == T(0) ? -vinf<T>() : res;
  res = x < T(0) ? simd::set1<T>(__builtin_nan("")) : res;
  res = x == vinf<T>() ? x : res;
  return x != x ? x : res;
}

// log(1 + u) for u >= -1, accurate for tiny u.
template <class T>
inline vec_t<T> vlog1p(vec_t<T> u) {
  using V = vec_t<T>;
  const V w = T(1) + u;
  // log(w) is exact for the rounded w; (u - (w - 1)) / w corrects for the
  // rounding of 1 + u.
  V corr = (u - (w - T(1))) / w;
  corr = (w == vinf<T>()) | (w == T(0)) ? V{} : corr;
  return vlog<T>(w) + corr;
}

template <class T>
inline vec_t<T> vtanh(vec_t<T> x) {
  using Tr = VecTraits<T>;
  using V = vec_t<T>;
  const V a = vabs<T>(x);
  const V y = x * x;
  const V small = x + x * y * vpoly<T>(y, Tr::tanh_p);
  // tanh(a) = (e^2a - 1) / (e^2a + 1); 1 beyond 20 (to working precision).
  const V ac = a > T(20) ? simd::set1<T>(T(20)) : a;
  const V em = vexpm1<T>(T(2) * ac);
  const V large = vcopysign<T>(em / (em + T(2)), x);
  return a < T(0.625) ? small : large;
}

// erfc(z) for z >= 0.75 (and NaN).
template <class T>
inline vec_t<T> verfc_tail(vec_t<T> z) {
  using Tr = VecTraits<T>;
  using V = vec_t<T>;
  const V zc = z > Tr::erfc_hi ? simd::set1<T>(Tr::erfc_hi) : z;
  const V t = T(2) / (T(2) + zc);
  const V g = vpoly<T>(t, Tr::erfc_g);
  // exp(-z^2) as exp(-zh^2) exp((zh - z)(zh + z)) with zh^2 exact: the
  // rounding of z^2 would otherwise cost ~z^2 ulp.
  const V zh = (V)((ivec_t<T>)zc & Tr::erfc_split_mask);
  return t * vexp<T>(-(zh * zh)) * vexp<T>((zh - zc) * (zh + zc) + g);
}

template <class T>
inline vec_t<T> verf(vec_t<T> x) {
  using Tr = VecTraits<T>;
  using V = vec_t<T>;
  const V a = vabs<T>(x);
  const V small = x * vpoly<T>(x * x, Tr::erf_p);
  const V large = vcopysign<T>(T(1) - verfc_tail<T>(a), x);
  return a < T(0.75) ? small : large;
}

template <class T>
inline vec_t<T> verfc(vec_t<T> x) {
  using Tr = VecTraits<T>;
  using V = vec_t<T>;
  const V a = vabs<T>(x);
  const V small = T(1) - x * vpoly<T>(x * x, Tr::erf_p);
  const V c = verfc_tail<T>(a);
  const V large = x < T(0) ? T(2) - c : c;
  return a < T(0.75) ? small : large;
}

}  // namespace
}  // namespace entrena::ENTRENA_ISA_NS
