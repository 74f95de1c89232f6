"""Convolution in NumPy through sliding windows: the twins of the
conv2d_forward / conv2d_backward kernels and of the Conv1D and Conv2D
layers, in float64.

2-D: x (n, C, H, W), W (F, C / groups, kh, kw), b (F,), y (n, F, Ho, Wo),
padding (top, bottom, left, right) of zeros, strides and dilation (rows,
columns). 1-D: x (n, C, L), W (F, C / groups, k), padding (left, right).
The output channel f of group g = f // (F / groups) sees the input
channels of that group only:

    y[s, f, oh, ow] = b[f] + sum over c, i, j of
                      W[f, c, i, j] · x_padded[s, g·C/groups + c, oh·sh + i·dh, ow·sw + j·dw]
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def same_padding(size, kernel, stride=1, dilation=1):
    """(before, after) for padding "same": the output has ceil(size / stride)
    positions; an odd total puts the extra element after (Keras, TensorFlow)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def windows(x, kh, kw, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    """(n, C, Ho, Wo, kh, kw): the input values under the kernel at each
    output position (a view of the zero-padded input)."""
    pt, pb, pl, pr = padding
    dh, dw = dilation
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    win = sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
    return win[:, :, ::strides[0], ::strides[1], ::dh, ::dw]


def _group_slices(C, F, groups):
    Cg, Fg = C // groups, F // groups
    return [(slice(g * Cg, (g + 1) * Cg), slice(g * Fg, (g + 1) * Fg)) for g in range(groups)]


def conv2d_forward(x, W, b=None, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
                   relu=False):
    """y = conv2d(x, W) + b; max(y, 0) when relu."""
    F, _, kh, kw = W.shape
    win = windows(x, kh, kw, strides, padding, dilation)
    n, C, Ho, Wo = win.shape[:4]
    y = np.empty((n, F, Ho, Wo))
    for cs, fs in _group_slices(C, F, groups):
        y[:, fs] = np.einsum("nchwij,fcij->nfhw", win[:, cs], W[fs])
    if b is not None:
        y += b[None, :, None, None]
    return np.maximum(y, 0.0) if relu else y


def conv2d_backward(x, W, dy, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """(dx, dW, db) for y = conv2d(x, W) + b and dy = dL/dy."""
    F, _, kh, kw = W.shape
    n, C, H, Wd = x.shape
    pt, pb, pl, pr = padding
    (sh, sw), (dh, dw) = strides, dilation
    win = windows(x, kh, kw, strides, padding, dilation)
    Ho, Wo = win.shape[2:4]
    dW = np.empty(W.shape)
    dxp = np.zeros((n, C, H + pt + pb, Wd + pl + pr))
    for cs, fs in _group_slices(C, F, groups):
        # dW: each weight meets the input values it multiplied, times dy.
        dW[fs] = np.einsum("nchwij,nfhw->fcij", win[:, cs], dy[:, fs])
        # dx: each kernel tap sends W·dy back to the input positions it read.
        for i in range(kh):
            for j in range(kw):
                rows = slice(i * dh, i * dh + (Ho - 1) * sh + 1, sh)
                cols = slice(j * dw, j * dw + (Wo - 1) * sw + 1, sw)
                dxp[:, cs, rows, cols] += np.einsum("nfhw,fc->nchw", dy[:, fs], W[fs, :, i, j])
    dx = dxp[:, :, pt:pt + H, pl:pl + Wd]
    return dx, dW, dy.sum(axis=(0, 2, 3))


def conv1d_forward(x, W, b=None, stride=1, padding=(0, 0), dilation=1, groups=1, relu=False):
    """y = conv1d(x, W) + b: the 2-D convolution of one-row images."""
    y = conv2d_forward(x[:, :, None, :], W[:, :, None, :], b, (1, stride), (0, 0, *padding),
                       (1, dilation), groups, relu)
    return y[:, :, 0, :]


def conv1d_backward(x, W, dy, stride=1, padding=(0, 0), dilation=1, groups=1):
    """(dx, dW, db) for y = conv1d(x, W) + b."""
    dx, dW, db = conv2d_backward(x[:, :, None, :], W[:, :, None, :], dy[:, :, None, :], (1, stride),
                                 (0, 0, *padding), (1, dilation), groups)
    return dx[:, :, 0, :], dW[:, :, 0, :], db
