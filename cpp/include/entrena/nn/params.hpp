// Options carried by parameter tensors, and the segments of the flat
// parameter buffer that the optimizer updates one pass at a time.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// Options a parameter tensor carries (like a PyTorch parameter group's),
// saved with the model and honoured by the optimizer.
struct ParamOptions {
  bool weight_decay = true;  // false: the optimizer's weight decay skips this tensor
  bool operator==(const ParamOptions& o) const { return weight_decay == o.weight_decay; }
  bool operator!=(const ParamOptions& o) const { return !(*this == o); }
};

// A contiguous range [offset, offset + size) of the parameter buffer whose
// tensors share the same options.
struct ParamSegment {
  index_t offset = 0, size = 0;
  ParamOptions options;
};

}  // namespace entrena
