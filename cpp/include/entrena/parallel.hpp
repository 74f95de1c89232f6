// Thread count used by every entrena kernel. OpenMP is used inside kernels
// only, over independent outer blocks, and never nested. Results do not
// depend on the thread count: reductions have a fixed order.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// Sets the number of threads kernels may use (>= 1). Without OpenMP the
// library is single-threaded and this only records the value.
void set_num_threads(int n);
int get_num_threads();
// The threads a kernel may use now: get_num_threads(), capped by the cores
// other processes leave free.
int kernel_threads();
// The number of hardware threads OpenMP reports (1 without OpenMP).
int max_hardware_threads();
// True when the library was built with OpenMP.
bool built_with_openmp();

// Threads for a kernel doing `work` units (roughly flops); below the
// threshold a kernel runs on one thread so small layers pay no start-up.
inline int threads_for(double work, double per_thread = 65536.0) {
  if (work < 2 * per_thread) return 1;
  const int t = kernel_threads();
  if (t <= 1) return 1;
  const double fit = work / per_thread;
  return fit < t ? static_cast<int>(fit) : t;
}

}  // namespace entrena
