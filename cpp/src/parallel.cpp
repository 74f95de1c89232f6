#include "entrena/parallel.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#ifdef ENTRENA_WITH_OPENMP
#include <omp.h>
#endif

#if defined(__linux__)
#include <sched.h>
#include <time.h>
#include <unistd.h>
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

// ---------------------------------------------------------------- busy cores
// The kernels use at most the cores that other processes leave free: every
// ~200 ms of use, the CPU time the machine spent busy on this process's
// CPUs (/proc/stat) minus this process's own CPU time gives the cores other
// processes kept busy. Linux only; elsewhere there is no cap.
std::atomic<int> g_free_cap{1 << 20};

#if defined(__linux__)
struct BusySampler {
  std::mutex mutex;
  std::atomic<bool> enabled{true};  // read without the mutex by kernel_threads()
  std::vector<int> cpus;  // the CPUs this process may run on
  double ticks_per_s = 100;
  bool have_last = false;
  double last_busy_s = 0, last_own_s = 0, last_t = 0;
  std::atomic<double> next_t{0};

  BusySampler() {
    const char* env = std::getenv("ENTRENA_BUSY_CAP");
    if (env && env[0] == '0') enabled = false;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
      for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) cpus.push_back(c);
    const long hz = sysconf(_SC_CLK_TCK);
    if (hz > 0) ticks_per_s = static_cast<double>(hz);
    if (cpus.size() < 2) enabled = false;
  }

  static double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  // Busy seconds (not idle, not waiting for I/O) of our CPUs since boot.
  bool read_busy(double& busy_s) const {
    std::FILE* f = std::fopen("/proc/stat", "r");
    if (!f) return false;
    char line[512];
    unsigned long long total = 0;
    std::size_t seen = 0;
    bool ok = true;
    while (std::fgets(line, sizeof line, f)) {
      if (line[0] != 'c' || line[1] != 'p' || line[2] != 'u') break;
      if (line[3] < '0' || line[3] > '9') continue;  // the "cpu" total line
      int cpu = -1;
      unsigned long long v[8] = {};
      const int n = std::sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0],
                                &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
      if (n < 8) { ok = false; break; }
      bool mine = false;
      for (int c : cpus) mine = mine || c == cpu;
      if (!mine) continue;
      total += v[0] + v[1] + v[2] + v[5] + v[6] + v[7];  // user nice system irq softirq steal
      ++seen;
    }
    std::fclose(f);
    busy_s = static_cast<double>(total) / ticks_per_s;
    return ok && seen > 0;
  }

  static double own_cpu_s() {
    timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }

  void update() {
    const double t = now_s();
    if (t < next_t.load(std::memory_order_relaxed)) return;
    std::unique_lock<std::mutex> lock(mutex, std::try_to_lock);
    if (!lock.owns_lock() || t < next_t.load(std::memory_order_relaxed)) return;
    next_t.store(t + 0.2, std::memory_order_relaxed);
    double busy;
    if (!read_busy(busy)) {
      enabled = false;
      g_free_cap.store(1 << 20);
      return;
    }
    const double own = own_cpu_s();
    if (have_last && t - last_t <= 2.0) {
      const double others = ((busy - last_busy_s) - (own - last_own_s)) / (t - last_t);
      const int n = static_cast<int>(cpus.size());
      const int busy_cores = others > 0 ? static_cast<int>(others + 0.5) : 0;
      g_free_cap.store(n - busy_cores > 1 ? n - busy_cores : 1);
    }
    // A longer gap (no kernel ran) says nothing about the present: start again.
    have_last = true;
    last_busy_s = busy;
    last_own_s = own;
    last_t = t;
  }
};

BusySampler& sampler() {
  static BusySampler s;
  return s;
}
#endif
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

int kernel_threads() {
  const int t = get_num_threads();
  if (t <= 1) return t;
#if defined(__linux__)
  BusySampler& s = sampler();
  if (!s.enabled) return t;
  s.update();
  const int cap = g_free_cap.load(std::memory_order_relaxed);
  return cap < t ? cap : t;
#else
  return t;
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
