// The seeded random generator every model owns: xoshiro256** seeded through
// splitmix64. Its output is the same on every platform and compiler, so the
// same seed gives the same initial weights, shuffles and dropout masks.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "entrena/common.hpp"

namespace entrena {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) { seed_with(seed); }

  void seed_with(std::uint64_t seed) {
    std::uint64_t z = seed;
    for (auto& s : s_) s = splitmix64(z);
    has_spare_ = false;
  }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Standard normal (Box-Muller, polar-free form, one spare kept).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    double r = std::sqrt(-2.0 * std::log(u1));
    double th = 6.283185307179586476925286766559 * u2;
    spare_ = r * std::sin(th);
    has_spare_ = true;
    return r * std::cos(th);
  }

  // Uniform integer in [0, n), without modulo bias (rejection).
  std::uint64_t below(std::uint64_t n) {
    if (n <= 1) return 0;
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x;
    do {
      x = next_u64();
    } while (x >= limit);
    return x % n;
  }

  // The whole generator state as text (hex words), and back: a model file
  // stores it so that training resumes with the same shuffles and masks.
  std::string state_string() const {
    std::uint64_t spare_bits;
    std::memcpy(&spare_bits, &spare_, sizeof spare_bits);
    const std::uint64_t words[6] = {s_[0], s_[1], s_[2], s_[3], spare_bits, has_spare_ ? 1u : 0u};
    std::string out;
    char buf[17];
    for (std::uint64_t w : words) {
      for (int i = 15; i >= 0; --i, w >>= 4) buf[i] = "0123456789abcdef"[w & 15];
      buf[16] = 0;
      if (!out.empty()) out += ' ';
      out += buf;
    }
    return out;
  }
  // Throws ValueError unless `text` came from state_string().
  void restore_state(const std::string& text) {
    std::uint64_t words[6] = {0, 0, 0, 0, 0, 0};
    std::size_t pos = 0;
    for (int k = 0; k < 6; ++k) {
      if (k > 0 && (pos >= text.size() || text[pos++] != ' ')) pos = std::string::npos;
      if (pos == std::string::npos || pos + 16 > text.size()) 
        throw ValueError(cat("rng_state: expected 6 hex words of 16 digits, got '", text, "'"));
      for (int i = 0; i < 16; ++i) {
        const char c = text[pos++];
        const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) throw ValueError(cat("rng_state: expected 6 hex words of 16 digits, got '", text, "'"));
        words[k] = (words[k] << 4) | static_cast<std::uint64_t>(d);
      }
    }
    if (pos != text.size() || words[5] > 1 || (words[0] | words[1] | words[2] | words[3]) == 0)
      throw ValueError(cat("rng_state: not a generator state: '", text, "'"));
    for (int k = 0; k < 4; ++k) s_[k] = words[k];
    std::memcpy(&spare_, &words[4], sizeof spare_);
    has_spare_ = words[5] == 1;
  }

  // Fisher-Yates shuffle of idx[0..n).
  void shuffle(index_t* idx, index_t n) {
    for (index_t i = n - 1; i > 0; --i) {
      index_t j = static_cast<index_t>(below(static_cast<std::uint64_t>(i) + 1));
      index_t t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace entrena
