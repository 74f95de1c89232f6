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

index_t checked_add(index_t a, index_t b, const std::string& what) {
  if (a < 0 || b < 0) throw ValueError(cat(what, ": negative size"));
  if (a > kMaxElements - b) throw ValueError(cat(what, ": more than 2^40 elements in all"));
  return a + b;
}

index_t checked_shape_size(const std::vector<index_t>& shape, const std::string& what) {
  index_t n = 1;
  for (index_t d : shape) {
    if (d < 0) throw ValueError(cat(what, ": negative size in shape ", shape_str(shape)));
    if (d != 0 && n > kMaxElements / d)
      throw ValueError(cat(what, ": shape ", shape_str(shape), " has more than 2^40 elements"));
    n *= d;
  }
  return n;
}

}  // namespace entrena

namespace entrena {
const char* version() { return ENTRENA_VERSION; }
}  // namespace entrena
