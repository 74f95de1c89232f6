// The optimizer element loops compiled for the avx2 kernel variant.
#define ENTRENA_OPT_VARIANT avx2
#include "optimizers_loops.hpp"

namespace entrena::opt_detail {

template <class T>
const Table<T>& table_avx2() {
  return avx2::table<T>();
}

template const Table<float>& table_avx2<float>();
template const Table<double>& table_avx2<double>();

}  // namespace entrena::opt_detail
