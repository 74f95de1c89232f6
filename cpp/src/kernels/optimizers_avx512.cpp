// The optimizer element loops compiled for the avx512 kernel variant.
#define ENTRENA_OPT_VARIANT avx512
#include "optimizers_loops.hpp"

namespace entrena::opt_detail {

template <class T>
const Table<T>& table_avx512() {
  return avx512::table<T>();
}

template const Table<float>& table_avx512<float>();
template const Table<double>& table_avx512<double>();

}  // namespace entrena::opt_detail
