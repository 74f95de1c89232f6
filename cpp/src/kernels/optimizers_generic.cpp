// The optimizer element loops compiled for the generic kernel variant.
#define ENTRENA_OPT_VARIANT generic
#include "optimizers_loops.hpp"

namespace entrena::opt_detail {

template <class T>
const Table<T>& table_generic() {
  return generic::table<T>();
}

template const Table<float>& table_generic<float>();
template const Table<double>& table_generic<double>();

}  // namespace entrena::opt_detail
