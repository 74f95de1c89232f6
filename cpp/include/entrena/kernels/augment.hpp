// Image augmentation kernels: per-sample flips, integer shifts, padded
// crops and rotations of (n, C, H, W) batches. The random choices (one per
// sample) come from the caller; each kernel is linear in x, and its
// backward is the transposed map (gradients go back to the pixels they
// came from). Zero fill outside the image.
#pragma once

#include <cstdint>

#include "entrena/common.hpp"

namespace entrena {

// x, y: (n, C, H, W); flip_h, flip_v: (n,) 0 or 1.
// y[s, c, i, j] = x[s, c, flip_v ? H-1-i : i, flip_h ? W-1-j : j]
// (its own inverse: the backward is the same map applied to dy).
template <class T>
void flip_forward(const T* x, T* y, index_t n, index_t C, index_t H, index_t W, const std::uint8_t* flip_h,
                  const std::uint8_t* flip_v);

// x: (n, C, H, W), y: (n, C, Ho, Wo); off_h, off_w: (n,).
// y[s, c, i, j] = x[s, c, i + off_h[s], j + off_w[s]], 0 where that is outside x.
// A shift (Ho = H, Wo = W, offsets in [-H, H]), a crop of a zero-padded
// image (offsets = crop corner − padding) or a centre crop.
template <class T>
void shift_forward(const T* x, T* y, index_t n, index_t C, index_t H, index_t W, index_t Ho, index_t Wo,
                   const index_t* off_h, const index_t* off_w);
// dy: (n, C, Ho, Wo), dx: (n, C, H, W) = the transpose: dx[s, c, i + off_h, j + off_w] = dy[s, c, i, j]
// (each input pixel is read at most once, so no sums), 0 elsewhere.
template <class T>
void shift_backward(const T* dy, T* dx, index_t n, index_t C, index_t H, index_t W, index_t Ho, index_t Wo,
                    const index_t* off_h, const index_t* off_w);

// x, y: (n, C, H, W); angle: (n,) radians, counter-clockwise about the
// image centre ((H-1)/2, (W-1)/2). y at (i, j) is x sampled bilinearly at
// the point that the rotation by +angle carries to (i, j); 0 outside.
template <class T>
void rotate_forward(const T* x, T* y, index_t n, index_t C, index_t H, index_t W, const double* angle);
// dy, dx: (n, C, H, W); the transpose of rotate_forward (each output
// pixel's gradient is shared among the four pixels it was read from), sums
// in a fixed order.
template <class T>
void rotate_backward(const T* dy, T* dx, index_t n, index_t C, index_t H, index_t W, const double* angle);

}  // namespace entrena
