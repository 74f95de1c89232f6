// Convolution kernels: the 2-D convolution of (n, C, H, W) images as
// PyTorch's conv2d and ONNX's Conv compute it (cross-correlation with zero
// padding, strides, dilation and groups). A 1-D convolution of (n, C, L)
// sequences is the 2-D one with H = 1 and kh = 1.
//
// How it is computed: per sample (or per block of a few samples when the
// output is small), the input patches are laid out as columns (im2col) and
// one GEMM per group gives the output channels:
//   y_g (F/groups, positions) = W_g (F/groups, C/groups·kh·kw) · col_g
// with the bias per output channel and ReLU in the GEMM's epilogue. The
// backward pass runs the same blocks: dW_gᵀ += col_g · dy_gᵀ (the small dy
// is the operand the GEMM transposes), db from the rows of dy, and
// dcol = W_gᵀ · dy_g, scattered back into dx (col2im). A 1×1 convolution
// with stride 1 and no padding reads x in place. im2col and col2im are
// compiled per ISA (kernel table); scratch matrices get row strides that
// are not multiples of 128 elements (cache sets).
//
// With one input channel per group (depthwise convolutions, one-channel
// images), and in the forward pass of other short patches, a direct kernel
// does the work instead (ConvAlgorithm), one sample and group at a time:
// the input planes zero-padded and split by column phase, so that the
// inputs under consecutive outputs are consecutive for any stride and
// dilation, and tiles of filters × output vectors in registers.
//
// Threads: blocks of samples go to threads, each running single-threaded
// GEMMs on its own scratch; with fewer blocks than that needs (small
// batches), the blocks run in turn and the GEMMs use the threads. OpenMP is
// never nested. dW and db sum the samples in chunks fixed by the sizes
// alone (never by the thread count), each chunk in sample order, and the
// chunks' partial sums in chunk order. So every result is bitwise identical
// for any thread count.
#pragma once

#include "entrena/common.hpp"

namespace entrena {

// The per-sample geometry of a convolution; conv2d_shape() makes one.
struct Conv2dShape {
  index_t C, H, W;         // input: x is (n, C, H, W)
  index_t F, kh, kw;       // filters and kernel size: weights are (F, C / groups, kh, kw)
  index_t groups;          // divides C and F
  index_t sh, sw;          // strides
  index_t dh, dw;          // dilations
  index_t pt, pb, pl, pr;  // zero padding: top, bottom, left, right
  index_t Ho, Wo;          // output: y is (n, F, Ho, Wo)
};

// How the kernels compute. Auto chooses by the sizes alone (so the choice,
// like the result, does not depend on the thread count): Direct when each
// group has one input channel (depthwise convolutions, one-channel
// images), and for the forward pass of patches of up to 320 values
// (C / groups · kh · kw) over rows of outputs that fill vectors; else Gemm. The others
// force a method (for tests and benchmarks).
enum class ConvAlgorithm : int { Auto = 0, Gemm = 1, Direct = 2 };

// The geometry of a convolution, with the output size
//   Ho = (H + pt + pb - dh·(kh - 1) - 1) / sh + 1   (likewise Wo).
// ValueError naming the argument when a size is out of range, groups does
// not divide C and F, or the padded input is smaller than the dilated kernel.
Conv2dShape conv2d_shape(index_t C, index_t H, index_t W, index_t F, index_t kh, index_t kw,
                         index_t groups, index_t sh, index_t sw, index_t dh, index_t dw, index_t pt,
                         index_t pb, index_t pl, index_t pr);

// The scratch (elements of the kernel's type) conv2d_forward (backward:
// conv2d_backward) needs for n samples with up to get_num_threads()
// threads. The kernels use as many threads as the scratch they are given
// holds, so a smaller scratch (from before the thread count grew) is safe.
index_t conv2d_workspace(const Conv2dShape& s, index_t n, bool backward,
                          ConvAlgorithm algorithm = ConvAlgorithm::Auto);

// x: (n, C, H, W), W: (F, C/groups, kh, kw), b: (F,) or null, y: (n, F, Ho, Wo)
// y[s, f] = sum over c, i, j of W[f, c, i, j] · x[s, g·C/groups + c, oh·sh + i·dh - pt,
// ow·sw + j·dw - pl] + b[f] (g = the group of f, x zero outside), or max(·, 0)
// when relu (bias and ReLU fused into the GEMM epilogue).
// work: work_size elements (conv2d_workspace(s, n, false)).
template <class T>
void conv2d_forward(const Conv2dShape& s, index_t n, const T* x, const T* W, const T* b, T* y,
                    bool relu, T* work, index_t work_size, ConvAlgorithm algorithm = ConvAlgorithm::Auto);

// x: (n, C, H, W), W: (F, C/groups, kh, kw), dy: (n, F, Ho, Wo), relu_y: the
// y of a forward pass with relu (n, F, Ho, Wo), or null
// With g = dy, or dy where relu_y > 0 and 0 elsewhere (the ReLU's backward
// pass, fused): dW: (F, C/groups, kh, kw) += dL/dW, db: (F,) += sums of g
// over samples and positions, dx: (n, C, H, W) = dL/dx; each skipped when
// null. Gradients accumulate into dW and db, as in PyTorch.
// work: work_size elements (conv2d_workspace(s, n, true)).
template <class T>
void conv2d_backward(const Conv2dShape& s, index_t n, const T* x, const T* W, const T* relu_y, const T* dy,
                     T* dW, T* db, T* dx, T* work, index_t work_size,
                     ConvAlgorithm algorithm = ConvAlgorithm::Auto);

}  // namespace entrena
