// Input checks over raw data, used at the library's boundaries.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// x: (n,). The number of NaN or infinite values.
template <class T>
index_t count_nonfinite(const T* x, index_t n);

}  // namespace entrena
