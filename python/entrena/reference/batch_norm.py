"""Batch and layer normalization in NumPy (float64): the twins of the
engine's batch_norm and layer_norm kernels (BatchNormalization and
LayerNormalization layers), with PyTorch's semantics."""
import numpy as np


def _per_channel(v, x):
    """A (C,) vector shaped to broadcast over x: (n, C, ...)."""
    return v.reshape(1, -1, *([1] * (x.ndim - 2)))


def batch_norm_forward(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5, training=True):
    """x: (n, C, ...), normalized per channel (axis 1). Returns (y, new
    running_mean, new running_var, mean, invstd): in training the batch's
    mean and biased variance normalize, and the running statistics move by
    momentum towards the mean and the unbiased variance; in inference the
    running statistics normalize and stay as they are."""
    axes = (0, *range(2, x.ndim))
    if training:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
        N = x.size // x.shape[1]
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var * N / (N - 1)
    else:
        mean, var = running_mean, running_var
    invstd = 1 / np.sqrt(var + eps)
    xhat = (x - _per_channel(mean, x)) * _per_channel(invstd, x)
    y = xhat * (1 if gamma is None else _per_channel(gamma, x)) + (0 if beta is None else _per_channel(beta, x))
    return y, running_mean, running_var, mean, invstd


def batch_norm_backward(x, dy, gamma, mean, invstd, training=True):
    """(dx, dgamma, dbeta) given the mean and invstd the forward pass used.
    In training the gradient flows through the batch statistics too."""
    axes = (0, *range(2, x.ndim))
    xhat = (x - _per_channel(mean, x)) * _per_channel(invstd, x)
    dgamma = (dy * xhat).sum(axis=axes)
    dbeta = dy.sum(axis=axes)
    scale = _per_channel(invstd * (1 if gamma is None else gamma), x)
    if training:
        dx = scale * (dy - dy.mean(axis=axes, keepdims=True) - xhat * (dy * xhat).mean(axis=axes, keepdims=True))
    else:
        dx = scale * dy
    return dx, dgamma, dbeta


def layer_norm_forward(x, gamma, beta, eps=1e-5):
    """x: (rows, F) normalized per row with its mean and biased variance.
    Returns (y, mean, invstd)."""
    mean = x.mean(axis=1)
    invstd = 1 / np.sqrt(x.var(axis=1) + eps)
    xhat = (x - mean[:, None]) * invstd[:, None]
    y = xhat * (1 if gamma is None else gamma) + (0 if beta is None else beta)
    return y, mean, invstd


def layer_norm_backward(x, dy, gamma, mean, invstd):
    """(dx, dgamma, dbeta) given the forward pass' mean and invstd."""
    xhat = (x - mean[:, None]) * invstd[:, None]
    g = dy * (1 if gamma is None else gamma)
    dx = invstd[:, None] * (g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True))
    return dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)
