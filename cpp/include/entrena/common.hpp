// Basic types shared by every part of entrena: index type, errors, aligned
// buffers. No Python, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace entrena {

using index_t = std::int64_t;

// Every error entrena raises derives from entrena::Error (a std::exception).
// The message names the argument, what was expected and what was given.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A value or shape that is not acceptable (Python: ValueError).
class ValueError : public Error {
 public:
  using Error::Error;
};
// A value of the wrong kind (Python: TypeError).
class TypeError : public Error {
 public:
  using Error::Error;
};
// A file that cannot be read or written, or is not an entrena file
// (Python: OSError / ValueError).
class IOError : public Error {
 public:
  using Error::Error;
};
// A call made in the wrong state, e.g. backward before forward (Python:
// RuntimeError).
class StateError : public Error {
 public:
  using Error::Error;
};

namespace detail {
inline void format_into(std::ostringstream&) {}
template <class A, class... Rest>
void format_into(std::ostringstream& os, const A& a, const Rest&... rest) {
  os << a;
  format_into(os, rest...);
}
}  // namespace detail

// Builds a message from pieces: cat("batch_size must be >= 1, got ", n).
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  detail::format_into(os, args...);
  return os.str();
}

std::string shape_str(const std::vector<index_t>& shape);

// A 64-byte-aligned, zero-initialised array of T that owns its memory.
template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(index_t n) { resize(n); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&&) noexcept = default;
  AlignedBuffer& operator=(AlignedBuffer&&) noexcept = default;

  // Resizes to n elements (contents are zeroed when the storage changes).
  void resize(index_t n) {
    if (n == size_) return;
    if (n > capacity_) {
      std::size_t bytes = (static_cast<std::size_t>(n) * sizeof(T) + 63) / 64 * 64;
      void* p = std::aligned_alloc(64, bytes);
      if (!p) throw std::bad_alloc();
      std::memset(p, 0, bytes);
      ptr_.reset(static_cast<T*>(p));
      capacity_ = n;
    }
    size_ = n;
  }
  // Grows (never shrinks) the storage to hold at least n elements.
  void reserve_at_least(index_t n) {
    if (n > capacity_) {
      index_t keep = size_;
      resize(n);
      size_ = keep > n ? keep : n;
    } else if (n > size_) {
      size_ = n;
    }
  }
  void zero() {
    if (size_) std::memset(ptr_.get(), 0, static_cast<std::size_t>(size_) * sizeof(T));
  }
  T* data() { return ptr_.get(); }
  const T* data() const { return ptr_.get(); }
  index_t size() const { return size_; }
  T& operator[](index_t i) { return ptr_.get()[i]; }
  const T& operator[](index_t i) const { return ptr_.get()[i]; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> ptr_;
  index_t size_ = 0;
  index_t capacity_ = 0;
};

}  // namespace entrena
