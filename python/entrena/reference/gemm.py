"""GEMM and the dense layer in NumPy."""
import numpy as np


def gemm(A, B, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, C=None):
    """alpha * op(A) @ op(B) + beta * C."""
    a = A.T if trans_a else A
    b = B.T if trans_b else B
    out = alpha * (a @ b)
    if beta != 0.0:
        out = out + beta * C
    return out


def dense_forward(x, W, b=None, relu=False):
    """x: (n, in), W: (in, out), b: (out,) -> y = x·W + b: (n, out);
    max(y, 0) when relu."""
    y = x @ W
    if b is not None:
        y = y + b
    return np.maximum(y, 0.0) if relu else y


def dense_backward(x, W, dy):
    """Returns (dx, dW, db) = (dy·Wᵀ, xᵀ·dy, column sums of dy)."""
    return dy @ W.T, x.T @ dy, dy.sum(axis=0)
