#include "entrena/parallel.hpp"

#include <atomic>

#ifdef ENTRENA_WITH_OPENMP
#include <omp.h>
#endif

namespace entrena {

namespace {
int initial_threads() {
#ifdef ENTRENA_WITH_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
std::atomic<int> g_threads{initial_threads()};
}  // namespace

void set_num_threads(int n) {
  if (n < 1) throw ValueError(cat("set_num_threads: n must be >= 1, got ", n));
  g_threads.store(n);
}

int get_num_threads() {
#ifdef ENTRENA_WITH_OPENMP
  return g_threads.load();
#else
  return 1;
#endif
}

int max_hardware_threads() {
#ifdef ENTRENA_WITH_OPENMP
  return omp_get_num_procs();
#else
  return 1;
#endif
}

bool built_with_openmp() {
#ifdef ENTRENA_WITH_OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace entrena
