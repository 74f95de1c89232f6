#include "entrena/kernels/layer_norm.hpp"

#include <cmath>

#include "channel_loops.hpp"

namespace entrena {

using namespace channel_loops;

// A row of (rows, F) is a channel of (1, rows, F) for the channel loops;
// the parameter gradients sum columns, the channels of (rows, F, 1).

template <class T>
void layer_norm_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean, T* save_invstd,
                        index_t rows, index_t F, double eps) {
  // x, y: (rows, F); gamma, beta: (F,); save_mean, save_invstd: (rows,)
  for_channel_blocks(1, rows, F, 3, [&](index_t r0, index_t r1) {
    double mean[kChannelBlock], var[kChannelBlock];
    block_sums(1, rows, F, r0, r1, mean,
               [&](index_t, index_t, index_t, index_t e) { return static_cast<double>(x[e]); });
    for (index_t r = r0; r < r1; ++r) mean[r - r0] /= static_cast<double>(F);
    block_sums(1, rows, F, r0, r1, var, [&](index_t, index_t r, index_t, index_t e) {
      const double d = static_cast<double>(x[e]) - mean[r - r0];
      return d * d;
    });
    for (index_t r = r0; r < r1; ++r) {
      save_mean[r] = static_cast<T>(mean[r - r0]);
      save_invstd[r] = static_cast<T>(1.0 / std::sqrt(var[r - r0] / static_cast<double>(F) + eps));
    }
    block_apply(1, rows, F, r0, r1, [&](index_t, index_t r, index_t j, index_t e) {
      const T xhat = (x[e] - save_mean[r]) * save_invstd[r];
      y[e] = (gamma ? xhat * gamma[j] : xhat) + (beta ? beta[j] : T(0));
    });
  });
}

template <class T>
void layer_norm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean, const T* save_invstd,
                         T* dx, T* dgamma, T* dbeta, index_t rows, index_t F) {
  // x, dy, dx: (rows, F); gamma, dgamma, dbeta: (F,); save_mean, save_invstd: (rows,)
  auto xhat = [&](index_t r, index_t e) {
    return (static_cast<double>(x[e]) - save_mean[r]) * static_cast<double>(save_invstd[r]);
  };
  if (dx)
    for_channel_blocks(1, rows, F, 4, [&](index_t r0, index_t r1) {
      double sg[kChannelBlock], sgx[kChannelBlock];  // sum g, sum g·xhat
      auto g = [&](index_t j, index_t e) {
        return static_cast<double>(dy[e]) * (gamma ? static_cast<double>(gamma[j]) : 1.0);
      };
      block_sums(
          1, rows, F, r0, r1, sg, [&](index_t, index_t, index_t j, index_t e) { return g(j, e); }, sgx,
          [&](index_t, index_t r, index_t j, index_t e) { return g(j, e) * xhat(r, e); });
      T m1[kChannelBlock], m2[kChannelBlock];
      for (index_t r = r0; r < r1; ++r) {
        m1[r - r0] = static_cast<T>(sg[r - r0] / static_cast<double>(F));
        m2[r - r0] = static_cast<T>(sgx[r - r0] / static_cast<double>(F));
      }
      block_apply(1, rows, F, r0, r1, [&](index_t, index_t r, index_t j, index_t e) {
        const T gj = gamma ? dy[e] * gamma[j] : dy[e];
        const T xh = (x[e] - save_mean[r]) * save_invstd[r];
        dx[e] = save_invstd[r] * (gj - m1[r - r0] - xh * m2[r - r0]);
      });
    });
  if (!dgamma && !dbeta) return;
  for_channel_blocks(rows, F, 1, 2, [&](index_t j0, index_t j1) {
    double sdy[kChannelBlock], sdyx[kChannelBlock];
    block_sums(
        rows, F, 1, j0, j1, sdy, [&](index_t, index_t, index_t, index_t e) { return static_cast<double>(dy[e]); },
        sdyx, [&](index_t r, index_t, index_t, index_t e) { return static_cast<double>(dy[e]) * xhat(r, e); });
    for (index_t j = j0; j < j1; ++j) {
      if (dgamma) dgamma[j] += static_cast<T>(sdyx[j - j0]);
      if (dbeta) dbeta[j] += static_cast<T>(sdy[j - j0]);
    }
  });
}

#define ENTRENA_INSTANTIATE(T)                                                                             \
  template void layer_norm_forward<T>(const T*, const T*, const T*, T*, T*, T*, index_t, index_t, double); \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, index_t, index_t);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
