"""Activations in NumPy (float64): forward and backward of every activation
kernel, with the same arguments. Backward functions take the forward's input
x or output y, as the C++ kernel does, and dy = dL/dy; they return dL/dx."""
import math

import numpy as np

_erf = np.frompyfunc(math.erf, 1, 1)
_erfc = np.frompyfunc(math.erfc, 1, 1)


def erf(x):
    return np.asarray(_erf(np.asarray(x, dtype=np.float64)), dtype=np.float64)


def erfc(x):
    return np.asarray(_erfc(np.asarray(x, dtype=np.float64)), dtype=np.float64)


def sigmoid(x):
    """1 / (1 + e^-x), without overflow for either sign."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def identity_forward(x):
    return np.array(x, dtype=np.float64)


def identity_backward(dy):
    return np.array(dy, dtype=np.float64)


def sigmoid_forward(x):
    return sigmoid(x)


def sigmoid_backward(y, dy):
    return dy * y * (1.0 - y)


def tanh_forward(x):
    return np.tanh(x)


def tanh_backward(y, dy):
    return dy * (1.0 - y * y)


def relu_forward(x):
    return np.maximum(x, 0.0)


def relu_backward(x, dy):
    return np.where(x > 0, dy, 0.0)


def leaky_relu_forward(x, alpha=0.01):
    return np.where(x > 0, x, alpha * x)


def leaky_relu_backward(x, dy, alpha=0.01):
    return np.where(x > 0, dy, alpha * dy)


def elu_forward(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_backward(x, dy, alpha=1.0):
    return np.where(x > 0, dy, dy * alpha * np.exp(np.minimum(x, 0.0)))


def _phi_cdf(x):
    """Standard normal CDF, accurate in the lower tail: erfc(-x/sqrt 2)/2."""
    return 0.5 * erfc(-np.asarray(x, dtype=np.float64) / math.sqrt(2.0))


def gelu_forward(x):
    """x Phi(x) (exact GELU)."""
    return x * _phi_cdf(x)


def gelu_backward(x, dy):
    """dy (Phi(x) + x phi(x))."""
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return dy * (_phi_cdf(x) + x * pdf)


_C = math.sqrt(2.0 / math.pi)


def gelu_tanh_forward(x):
    """x (1 + tanh u) / 2, u = sqrt(2/pi)(x + 0.044715 x^3); (1 + tanh u)/2 = sigmoid(2u)."""
    u = _C * (x + 0.044715 * x ** 3)
    return x * sigmoid(2.0 * u)


def gelu_tanh_backward(x, dy):
    u = _C * (x + 0.044715 * x ** 3)
    du = _C * (1.0 + 3 * 0.044715 * x * x)
    s = sigmoid(2.0 * u)
    return dy * (s + x * s * (1.0 - s) * 2.0 * du)


def silu_forward(x):
    return x * sigmoid(x)


def silu_backward(x, dy):
    s = sigmoid(x)
    return dy * s * (1.0 + x * (1.0 - s))


def softplus_forward(x):
    """PyTorch's Softplus(beta=1, threshold=20): x above 20, else log(1 + e^x)."""
    return np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20.0))))


def softplus_backward(x, dy):
    return np.where(x > 20, dy, dy * sigmoid(x))


def softmax_forward(x):
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_backward(y, dy):
    """Vector-Jacobian product of softmax: y (dy - sum_j dy_j y_j)."""
    return y * (dy - (dy * y).sum(axis=1, keepdims=True))


def log_softmax_forward(x):
    z = x - x.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def log_softmax_backward(y, dy):
    """dy - softmax(x) sum_j dy_j, with softmax(x) = exp(y)."""
    return dy - np.exp(y) * dy.sum(axis=1, keepdims=True)
