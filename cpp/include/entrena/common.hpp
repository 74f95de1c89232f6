// Basic types shared by every part of entrena: index type, errors, aligned
// buffers. No Python, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <initializer_list>
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
// The shape of a batch of samples of this shape: "(n, 3, 4)", "(n,)".
std::string batch_shape_str(const std::vector<index_t>& sample_shape);

// Sizes computed from user input (layer sizes, shapes, batch sizes, shapes
// in files) are checked before anything is allocated: a tensor, a sample or
// a batch holds at most kMaxElements elements.
constexpr index_t kMaxElements = index_t(1) << 40;
// a * b, a + b, or the product of a shape's sizes; ValueError naming `what`
// when a size is negative or the result exceeds kMaxElements.
index_t checked_mul(index_t a, index_t b, const char* what);
// (what is a string_view so that the checks allocate nothing unless they throw.)
index_t checked_add(index_t a, index_t b, std::string_view what);
index_t checked_shape_size(const std::vector<index_t>& shape, std::string_view what);
index_t checked_shape_size(std::initializer_list<index_t> shape, std::string_view what);

// A 64-byte-aligned array of T that owns its memory. Elements that come
// into existence (by growing) are zero; existing contents are kept when the
// storage is reallocated, as std::vector does. Sizes are element counts.
template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(index_t n) { resize(n); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&&) noexcept = default;
  AlignedBuffer& operator=(AlignedBuffer&&) noexcept = default;

  // Sets the size to n, keeping the first min(size, n) elements; new
  // elements are zero. Storage only grows (a smaller n keeps it).
  void resize(index_t n) {
    if (n < 0) throw std::length_error(cat("AlignedBuffer: negative size ", n));
    if (n > capacity_) grow(n);
    if (n > size_) std::memset(ptr_.get() + size_, 0, static_cast<std::size_t>(n - size_) * sizeof(T));
    size_ = n;
  }
  // Makes the size at least n (keeping the contents); never shrinks.
  void reserve_at_least(index_t n) {
    if (n > size_) resize(n);
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
    void operator()(T* p) const { ::operator delete(static_cast<void*>(p), std::align_val_t{64}); }
  };
  // New storage for n elements (n > capacity_) holding the current contents.
  void grow(index_t n) {
    constexpr std::size_t kMax = (SIZE_MAX - 63) / sizeof(T);
    if (static_cast<std::uint64_t>(n) > kMax) throw std::bad_alloc();
    const std::size_t bytes = (static_cast<std::size_t>(n) * sizeof(T) + 63) / 64 * 64;
    void* p = ::operator new(bytes, std::align_val_t{64});  // throws std::bad_alloc
    if (size_) std::memcpy(p, ptr_.get(), static_cast<std::size_t>(size_) * sizeof(T));
    ptr_.reset(static_cast<T*>(p));
    capacity_ = n;
  }
  std::unique_ptr<T, Free> ptr_;
  index_t size_ = 0;
  index_t capacity_ = 0;
};

}  // namespace entrena
