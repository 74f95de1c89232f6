// Pooling kernels (MaxPool1D/2D, AvgPool1D/2D and the global poolings) on
// planes of (n, C, H, W) in PyTorch's layout: each (h, w) plane of each
// sample and channel is pooled on its own. 1-D pooling is the case H = 1
// (pool_h = stride_h = 1); global pooling a single window over the plane.
#pragma once

#include <cstdint>

#include "entrena/common.hpp"

namespace entrena {

// Where the windows are. Window (oh, ow) covers rows
// [oh·stride_h - pad_top, ... + pool_h) and columns
// [ow·stride_w - pad_left, ... + pool_w), clipped to the plane: positions
// outside it (padding="same") never win a max and are not counted in an
// average. Every window must hold at least one position of the plane.
struct PoolGeometry {
  index_t planes = 0;  // n·C
  index_t in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  index_t pool_h = 1, pool_w = 1, stride_h = 1, stride_w = 1;
  index_t pad_top = 0, pad_left = 0;
};

// x: (planes, in_h, in_w), y: (planes, out_h, out_w)
// y = the maximum of each window; the first maximum in window order (row
// by row) is the one that counts; a NaN wins over numbers.
template <class T>
void max_pool_forward(const T* x, T* y, const PoolGeometry& g);
// x, dx: (planes, in_h, in_w), dy: (planes, out_h, out_w)
// dx = dy routed to the maximum of each window (the one max_pool_forward
// chose), summed where windows overlap; dx is overwritten.
template <class T>
void max_pool_backward(const T* x, const T* dy, T* dx, const PoolGeometry& g);

// As max_pool_forward, also writing argmax: (planes, out_h, out_w), where
// in its plane (h·in_w + w) each maximum is; for planes of up to 2^31
// elements (max_pool_indices_fit). max_pool_backward_indices then routes
// dy there: the same dx as max_pool_backward, bit for bit, without reading
// x again (the training path of MaxPool layers).
bool max_pool_indices_fit(const PoolGeometry& g);
template <class T>
void max_pool_forward_indices(const T* x, T* y, std::int32_t* argmax, const PoolGeometry& g);
template <class T>
void max_pool_backward_indices(const std::int32_t* argmax, const T* dy, T* dx, const PoolGeometry& g);

// x: (planes, in_h, in_w), y: (planes, out_h, out_w)
// y = the mean of each window over the positions inside the plane.
template <class T>
void avg_pool_forward(const T* x, T* y, const PoolGeometry& g);
// dy: (planes, out_h, out_w), dx: (planes, in_h, in_w)
// dx = dy / count spread over each window's positions, summed where
// windows overlap; dx is overwritten.
template <class T>
void avg_pool_backward(const T* dy, T* dx, const PoolGeometry& g);

}  // namespace entrena
