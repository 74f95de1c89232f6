"""Image augmentation maps in NumPy (float64): the twins of the engine's
augmentation kernels. x is (n, C, H, W); the per-sample choices are given."""
import numpy as np


def flip_forward(x, flip_h, flip_v):
    """Each sample flipped left-right where flip_h, top-bottom where flip_v."""
    y = x.copy()
    for s in range(len(x)):
        if flip_v[s]:
            y[s] = y[s, :, ::-1, :]
        if flip_h[s]:
            y[s] = y[s, :, :, ::-1]
    return y


def shift_forward(x, Ho, Wo, off_h, off_w):
    """y[s, c, i, j] = x[s, c, i + off_h[s], j + off_w[s]], 0 outside x."""
    n, C, H, W = x.shape
    y = np.zeros((n, C, Ho, Wo))
    for s in range(n):
        for i in range(Ho):
            for j in range(Wo):
                a, b = i + off_h[s], j + off_w[s]
                if 0 <= a < H and 0 <= b < W:
                    y[s, :, i, j] = x[s, :, a, b]
    return y


def shift_backward(dy, H, W, off_h, off_w):
    """The transpose of shift_forward."""
    n, C, Ho, Wo = dy.shape
    dx = np.zeros((n, C, H, W))
    for s in range(n):
        for i in range(Ho):
            for j in range(Wo):
                a, b = i + off_h[s], j + off_w[s]
                if 0 <= a < H and 0 <= b < W:
                    dx[s, :, a, b] += dy[s, :, i, j]
    return dx


def _rotation_taps(angle, H, W):
    """For each output pixel, the four input pixels and bilinear weights it
    reads: the source of (i, j) is (-s u + c v + ci, c u + s v + cj) with
    u = j - cj, v = i - ci, c = cos(angle), s = sin(angle)."""
    c, s = np.cos(angle), np.sin(angle)
    ci, cj = (H - 1) / 2, (W - 1) / 2
    taps = []
    for i in range(H):
        for j in range(W):
            u, v = j - cj, i - ci
            xs, ys = c * u + s * v + cj, -s * u + c * v + ci
            y0, x0 = int(np.floor(ys)), int(np.floor(xs))
            wy, wx = ys - y0, xs - x0
            for a, b, w in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx), (1, 0, wy * (1 - wx)),
                            (1, 1, wy * wx)):
                if 0 <= y0 + a < H and 0 <= x0 + b < W:
                    taps.append((i, j, y0 + a, x0 + b, w))
    return taps


def rotate_forward(x, angle):
    """Each sample rotated by angle[s] radians about its centre, bilinear, 0 outside."""
    n, C, H, W = x.shape
    y = np.zeros_like(x, dtype=np.float64)
    for s in range(n):
        for i, j, a, b, w in _rotation_taps(angle[s], H, W):
            y[s, :, i, j] += w * x[s, :, a, b]
    return y


def rotate_backward(dy, angle):
    """The transpose of rotate_forward."""
    n, C, H, W = dy.shape
    dx = np.zeros_like(dy, dtype=np.float64)
    for s in range(n):
        for i, j, a, b, w in _rotation_taps(angle[s], H, W):
            dx[s, :, a, b] += w * dy[s, :, i, j]
    return dx
