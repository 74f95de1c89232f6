"""Feature standardization in NumPy (float64): the twin of the engine's
normalization kernels (the Normalization layer)."""
import numpy as np


def feature_moments(x):
    """Per-column mean and population variance of x: (rows, features)."""
    mean = x.mean(axis=0)
    return mean, ((x - mean) ** 2).mean(axis=0)


def standardize_forward(x, mean, var, eps=1e-7):
    """y = (x - mean) / max(sqrt(var), eps), per column."""
    return (x - mean) / np.maximum(np.sqrt(np.maximum(var, 0.0)), eps)


def standardize_backward(var, dy, eps=1e-7):
    """dx = dy / max(sqrt(var), eps)."""
    return dy / np.maximum(np.sqrt(np.maximum(var, 0.0)), eps)
