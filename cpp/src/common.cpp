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

}  // namespace entrena

namespace entrena {
const char* version() { return ENTRENA_VERSION; }
}  // namespace entrena
