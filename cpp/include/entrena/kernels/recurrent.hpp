// Recurrent layer kernels: SimpleRNN (tanh or ReLU), LSTM and GRU over a
// whole batch of sequences, forward and backpropagation through time.
//
// Gate equations and order are PyTorch's (nn.RNN, nn.LSTM, nn.GRU), with the
// weights in entrena's (in, out) orientation:
//   x: (n, steps, F), W_ih: (F, G·H), W_hh: (H, G·H), b_ih, b_hh: (G·H,)
//   G = 1 (SimpleRNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n).
//   SimpleRNN: h' = act(x·W_ih + b_ih + h·W_hh + b_hh)
//   LSTM: [i f g o] = x·W_ih + b_ih + h·W_hh + b_hh; i, f, o = σ(·), g = tanh(·)
//         c' = f·c + i·g, h' = o·tanh(c')
//   GRU:  r = σ(x·W_ir + b_ir + h·W_hr + b_hr), z = σ(x·W_iz + b_iz + h·W_hz + b_hz)
//         n = tanh(x·W_in + b_in + r·(h·W_hn + b_hn)), h' = (1 - z)·n + z·h
// A torch weight_ih_l0 of shape (G·H, F) is W_ihᵀ; the biases are the same.
//
// Structure: the input projection of every step is one GEMM over the n·steps
// rows; each step then runs one recurrent GEMM and one fused SIMD pass for the
// gate nonlinearities and the state update (the kernel table's
// rnn_step_forward). Threads take disjoint blocks of sequences for the whole
// time loop (rows never interact), each with single-threaded GEMMs, and the
// weight gradients are a few large GEMMs after the loop; every element
// accumulates in a fixed order, so results are bitwise identical for any
// thread count. Nothing is allocated: the caller provides the workspace.
//
// Masks: mask (n, steps) of bytes, 1 for a real step. A masked step leaves
// the state unchanged (h and c carried over), outputs zeros, and receives no
// gradient; so the final state is the one after each sequence's last real
// step, whatever the padding.
#pragma once

#include <cstdint>

#include "entrena/common.hpp"

namespace entrena {

enum class RnnCell : int { Tanh = 0, ReLU = 1, LSTM = 2, GRU = 3 };

// The number of gates G of a cell (1, 4 or 3).
inline index_t rnn_gates(RnnCell c) { return c == RnnCell::LSTM ? 4 : c == RnnCell::GRU ? 3 : 1; }

struct RnnDims {
  index_t n = 0, steps = 0, features = 0, units = 0;
  RnnCell cell = RnnCell::LSTM;
  bool reverse = false;  // process steps from last to first (the backward half of a Bidirectional)
};

// Elements of the workspace rnn_forward fills and rnn_backward reads (and
// overwrites: one backward per forward). Throws ValueError for sizes that
// overflow.
index_t rnn_workspace_size(const RnnDims& d);

// Forward over all steps.
//   x: (n, steps, F); biases may be null (none); h0, c0: (n, H) initial
//   state or null (zeros; c0 for LSTM only); mask: (n, steps) or null.
//   y: (n, steps, H) the output at every step (zeros at masked steps), or
//   null; h_last: (n, H) the final state; c_last: (n, H) (LSTM) or null.
//   ws: rnn_workspace_size(d) elements, kept for rnn_backward.
template <class T>
void rnn_forward(const RnnDims& d, const T* x, const T* W_ih, const T* W_hh, const T* b_ih, const T* b_hh,
                 const T* h0, const T* c0, const std::uint8_t* mask, T* ws, T* y, T* h_last, T* c_last);

// Backpropagation through time for the last rnn_forward with the same
// arguments and workspace (which holds its inputs).
//   dy: (n, steps, H) gradient of y, or null; dh_last, dc_last: (n, H)
//   gradients of the final state, or null.
//   dW_ih, dW_hh, db_ih, db_hh accumulate (+=); the bias gradients are
//   skipped when null. dx: (n, steps, F) overwritten, or null; dh0, dc0:
//   (n, H) gradients of the initial state, overwritten, or null.
template <class T>
void rnn_backward(const RnnDims& d, const T* W_ih, const T* W_hh, const std::uint8_t* mask, T* ws,
                  const T* dy, const T* dh_last, const T* dc_last, T* dW_ih, T* dW_hh, T* db_ih, T* db_hh, T* dx,
                  T* dh0, T* dc0);

}  // namespace entrena
