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


def gemm_fused(A, B, bias=None, bias_rows=False, relu=False, trans_a=False, trans_b=False, alpha=1.0,
               beta=0.0, C=None, max_threads=0):
    """act(alpha * op(A) @ op(B) + beta * C + bias): bias (N,) added to every
    row, or (M,) added to every column when bias_rows; act = max(., 0) when
    relu. max_threads does not change the result."""
    out = gemm(A, B, trans_a, trans_b, alpha, beta, C)
    if bias is not None:
        out = out + (bias[:, None] if bias_rows else bias[None, :])
    return np.maximum(out, 0.0) if relu else out


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
