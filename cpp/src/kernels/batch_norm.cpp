#include "entrena/kernels/batch_norm.hpp"

#include <cmath>

#include "channel_loops.hpp"

namespace entrena {

using namespace channel_loops;

template <class T>
void batch_norm_forward(const T* x, const T* gamma, const T* beta, T* running_mean, T* running_var, T* y,
                        T* save_mean, T* save_invstd, index_t n, index_t C, index_t S, double momentum,
                        double eps, bool training) {
  // x, y: (n, C, S); gamma, beta, running_mean, running_var, save_mean, save_invstd: (C,)
  const double N = static_cast<double>(n) * static_cast<double>(S);
  for_channel_blocks(n, C, S, training ? 3 : 1, [&](index_t c0, index_t c1) {
    if (training) {
      double mean[kChannelBlock], var[kChannelBlock];
      block_sums(n, C, S, c0, c1, mean,
                 [&](index_t, index_t, index_t, index_t e) { return static_cast<double>(x[e]); });
      for (index_t c = c0; c < c1; ++c) mean[c - c0] /= N;
      block_sums(n, C, S, c0, c1, var, [&](index_t, index_t c, index_t, index_t e) {
        const double d = static_cast<double>(x[e]) - mean[c - c0];
        return d * d;
      });
      for (index_t c = c0; c < c1; ++c) {
        const double m = mean[c - c0], v = var[c - c0] / N;
        running_mean[c] = static_cast<T>((1.0 - momentum) * running_mean[c] + momentum * m);
        running_var[c] = static_cast<T>((1.0 - momentum) * running_var[c] + momentum * v * N / (N - 1.0));
        save_mean[c] = static_cast<T>(m);
        save_invstd[c] = static_cast<T>(1.0 / std::sqrt(v + eps));
      }
    } else {
      for (index_t c = c0; c < c1; ++c) {
        save_mean[c] = running_mean[c];
        save_invstd[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps));
      }
    }
    T a[kChannelBlock];  // y = (x - mean)·a + beta
    for (index_t c = c0; c < c1; ++c)
      a[c - c0] = gamma ? static_cast<T>(static_cast<double>(gamma[c]) * save_invstd[c]) : save_invstd[c];
    block_apply(n, C, S, c0, c1, [&](index_t, index_t c, index_t, index_t e) {
      y[e] = (x[e] - save_mean[c]) * a[c - c0] + (beta ? beta[c] : T(0));
    });
  });
}

template <class T>
void batch_norm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean, const T* save_invstd,
                         T* dx, T* dgamma, T* dbeta, index_t n, index_t C, index_t S, bool training) {
  // x, dy, dx: (n, C, S); gamma, save_mean, save_invstd, dgamma, dbeta: (C,)
  const double N = static_cast<double>(n) * static_cast<double>(S);
  const bool sums = training || dgamma || dbeta;
  for_channel_blocks(n, C, S, (sums ? 2 : 0) + (dx ? 2 : 0), [&](index_t c0, index_t c1) {
    double sdy[kChannelBlock], sdyx[kChannelBlock];  // sum dy, sum dy·(x - mean)
    if (sums)
      block_sums(
          n, C, S, c0, c1, sdy, [&](index_t, index_t, index_t, index_t e) { return static_cast<double>(dy[e]); },
          sdyx, [&](index_t, index_t c, index_t, index_t e) {
            return static_cast<double>(dy[e]) * (static_cast<double>(x[e]) - save_mean[c]);
          });
    // dx = (dy - shift)·a - (x - mean)·b
    T a[kChannelBlock], b[kChannelBlock], shift[kChannelBlock];
    for (index_t c = c0; c < c1; ++c) {
      const double invstd = save_invstd[c];
      if (dgamma) dgamma[c] += static_cast<T>(sdyx[c - c0] * invstd);
      if (dbeta) dbeta[c] += static_cast<T>(sdy[c - c0]);
      const double ga = (gamma ? static_cast<double>(gamma[c]) : 1.0) * invstd;
      a[c - c0] = static_cast<T>(ga);
      b[c - c0] = training ? static_cast<T>(ga * invstd * invstd * sdyx[c - c0] / N) : T(0);
      shift[c - c0] = training ? static_cast<T>(sdy[c - c0] / N) : T(0);
    }
    if (!dx) return;
    if (training)
      block_apply(n, C, S, c0, c1, [&](index_t, index_t c, index_t, index_t e) {
        dx[e] = (dy[e] - shift[c - c0]) * a[c - c0] - (x[e] - save_mean[c]) * b[c - c0];
      });
    else
      block_apply(n, C, S, c0, c1, [&](index_t, index_t c, index_t, index_t e) { dx[e] = dy[e] * a[c - c0]; });
  });
}

#define ENTRENA_INSTANTIATE(T)                                                                               \
  template void batch_norm_forward<T>(const T*, const T*, const T*, T*, T*, T*, T*, T*, index_t, index_t,    \
                                      index_t, double, double, bool);                                       \
  template void batch_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, index_t, \
                                       index_t, index_t, bool);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
