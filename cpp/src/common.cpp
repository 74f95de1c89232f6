#include "entrena/common.hpp"

namespace entrena {

std::string shape_str(const std::vector<index_t>& shape) {
  std::ostringstream os;
  os << '(';
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) os << ", ";
    os << shape[i];
  }
  if (shape.size() == 1) os << ',';
  os << ')';
  return os.str();
}

std::string batch_shape_str(const std::vector<index_t>& sample_shape) {
  std::ostringstream os;
  os << "(n";
  for (index_t d : sample_shape) os << ", " << d;
  if (sample_shape.empty()) os << ',';
  os << ')';
  return os.str();
}

index_t checked_mul(index_t a, index_t b, const char* what) {
  if (a < 0 || b < 0) throw ValueError(cat(what, ": negative size (", a, " x ", b, ")"));
  if (b != 0 && a > kMaxElements / b)
    throw ValueError(cat(what, ": ", a, " x ", b, " elements is more than the limit of 2^40"));
  return a * b;
}

index_t checked_add(index_t a, index_t b, std::string_view what) {
  if (a < 0 || b < 0) throw ValueError(cat(what, ": negative size"));
  if (a > kMaxElements - b) throw ValueError(cat(what, ": more than 2^40 elements in all"));
  return a + b;
}

namespace {
template <class Sizes>
index_t shape_size_checked(const Sizes& shape, std::string_view what) {
  index_t n = 1;
  auto text = [&] { return shape_str(std::vector<index_t>(shape.begin(), shape.end())); };
  for (index_t d : shape) {
    if (d < 0) throw ValueError(cat(what, ": negative size in shape ", text()));
    if (d != 0 && n > kMaxElements / d)
      throw ValueError(cat(what, ": shape ", text(), " has more than 2^40 elements"));
    n *= d;
  }
  return n;
}
}  // namespace

index_t checked_shape_size(const std::vector<index_t>& shape, std::string_view what) {
  return shape_size_checked(shape, what);
}
index_t checked_shape_size(std::initializer_list<index_t> shape, std::string_view what) {
  return shape_size_checked(shape, what);
}

}  // namespace entrena

namespace entrena {
const char* version() { return ENTRENA_VERSION; }
}  // namespace entrena
