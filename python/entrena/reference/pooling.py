"""Pooling and zero padding in NumPy (float64): the twins of the engine's
pooling and padding kernels (MaxPool1D/2D, AvgPool1D/2D, the global
poolings, ZeroPadding2D). Inputs are (n, C, L) or (n, C, H, W)."""
import math

import numpy as np


def window_axis(length, size, stride, padding):
    """(number of windows, padding before the input) along one axis.
    "valid": whole windows only; "same" (Keras): ceil(length / stride)
    windows, the padding split in two with the extra at the end."""
    if padding == "valid":
        return (length - size) // stride + 1, 0
    out = math.ceil(length / stride)
    return out, max((out - 1) * stride + size - length, 0) // 2


def _windows(spatial, pool_size, strides, padding):
    """(output position, slices of the window clipped to the input) for each
    window, in output order. 1-D inputs are planes of height 1."""
    if len(spatial) == 1:
        spatial, pool_size, strides = (1, *spatial), (1, *pool_size), (1, *strides)
    (H, W), (ph, pw), (sh, sw) = spatial, pool_size, strides
    out_h, top = window_axis(H, ph, sh, padding)
    out_w, left = window_axis(W, pw, sw, padding)
    for oh in range(out_h):
        h0 = oh * sh - top
        for ow in range(out_w):
            w0 = ow * sw - left
            yield (oh, ow), (slice(max(h0, 0), min(h0 + ph, H)), slice(max(w0, 0), min(w0 + pw, W)))


def _as_planes(x):
    """x as (n, C, H, W): a 1-D input (n, C, L) gets H = 1."""
    return x[:, :, None, :] if x.ndim == 3 else x


def _planes_shape(shape):
    return (*shape[:2], 1, shape[2]) if len(shape) == 3 else tuple(shape)


def _output(planes_out, ndim):
    return planes_out[:, :, 0, :] if ndim == 3 else planes_out


def _sizes(pool_size, strides, x):
    d = x.ndim - 2
    pool_size = (pool_size,) * d if np.isscalar(pool_size) else tuple(pool_size)
    strides = pool_size if strides is None else ((strides,) * d if np.isscalar(strides) else tuple(strides))
    return pool_size, strides


def _out_shape(shape, pool_size, strides, padding):
    return (*shape[:2], *(window_axis(L, k, s, padding)[0] for L, k, s in zip(shape[2:], pool_size, strides)))


def max_pool_forward(x, pool_size, strides=None, padding="valid"):
    """The maximum of each window (padded positions are left out)."""
    pool_size, strides = _sizes(pool_size, strides, x)
    xp = _as_planes(x)
    y = np.zeros(_planes_shape(_out_shape(x.shape, pool_size, strides, padding)))
    for (oh, ow), (rows, cols) in _windows(x.shape[2:], pool_size, strides, padding):
        y[:, :, oh, ow] = xp[:, :, rows, cols].max(axis=(2, 3))
    return _output(y, x.ndim)


def max_pool_backward(x, dy, pool_size, strides=None, padding="valid"):
    """dy goes to the first maximum of each window (row by row); summed
    where windows overlap."""
    pool_size, strides = _sizes(pool_size, strides, x)
    xp, dyp = _as_planes(x), _as_planes(dy)
    dx = np.zeros(xp.shape)
    n, C = x.shape[:2]
    for (oh, ow), (rows, cols) in _windows(x.shape[2:], pool_size, strides, padding):
        window = xp[:, :, rows, cols]
        first = window.reshape(n, C, -1).argmax(axis=2)          # argmax: the first maximum
        r, c = np.unravel_index(first, window.shape[2:])
        i, j = np.meshgrid(np.arange(n), np.arange(C), indexing="ij")
        np.add.at(dx, (i, j, rows.start + r, cols.start + c), dyp[:, :, oh, ow])
    return _output(dx, x.ndim)


def avg_pool_forward(x, pool_size, strides=None, padding="valid"):
    """The mean of each window over the positions inside the input."""
    pool_size, strides = _sizes(pool_size, strides, x)
    xp = _as_planes(x)
    y = np.zeros(_planes_shape(_out_shape(x.shape, pool_size, strides, padding)))
    for (oh, ow), (rows, cols) in _windows(x.shape[2:], pool_size, strides, padding):
        y[:, :, oh, ow] = xp[:, :, rows, cols].mean(axis=(2, 3))
    return _output(y, x.ndim)


def avg_pool_backward(dy, input_shape, pool_size, strides=None, padding="valid"):
    """dy / (the window's count) spread over each window; summed where
    windows overlap."""
    pool_size, strides = _sizes(pool_size, strides, np.zeros((1,) * len(input_shape)))
    dyp = _as_planes(dy)
    dx = np.zeros(_planes_shape(input_shape))
    for (oh, ow), (rows, cols) in _windows(tuple(input_shape[2:]), pool_size, strides, padding):
        count = (rows.stop - rows.start) * (cols.stop - cols.start)
        dx[:, :, rows, cols] += dyp[:, :, oh, ow][:, :, None, None] / count
    return _output(dx, len(input_shape))


def global_max_pool_forward(x):
    """(n, C, ...) -> (n, C): the maximum of each channel."""
    return x.reshape(*x.shape[:2], -1).max(axis=2)


def global_max_pool_backward(x, dy):
    """dy to the first maximum of each channel."""
    flat = x.reshape(*x.shape[:2], -1)
    dx = np.zeros(flat.shape)
    i, j = np.meshgrid(np.arange(x.shape[0]), np.arange(x.shape[1]), indexing="ij")
    dx[i, j, flat.argmax(axis=2)] = dy
    return dx.reshape(x.shape)


def global_avg_pool_forward(x):
    """(n, C, ...) -> (n, C): the mean of each channel."""
    return x.reshape(*x.shape[:2], -1).mean(axis=2)


def global_avg_pool_backward(dy, input_shape):
    """dy / (positions per channel) at every position."""
    positions = int(np.prod(input_shape[2:]))
    return np.broadcast_to((dy / positions)[:, :, None], (*input_shape[:2], positions)).reshape(input_shape).copy()


def zero_padding2d_forward(x, padding):
    """x: (n, C, H, W) with ((top, bottom), (left, right)) rows and columns of zeros around each plane."""
    (top, bottom), (left, right) = padding
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def zero_padding2d_backward(dy, padding):
    """The part of dy where x went."""
    (top, bottom), (left, right) = padding
    H, W = dy.shape[2] - top - bottom, dy.shape[3] - left - right
    return dy[:, :, top:top + H, left:left + W].copy()
