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


def bf16_round(x):
    """float32 values rounded to the nearest bfloat16 (ties to even), as
    float32: the top 16 bits after adding 0x7fff plus the lowest kept bit.
    NaN stays NaN; infinities stay."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    u = x.view(np.uint32).astype(np.uint64)
    special = (u & 0x7F800000) == 0x7F800000
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    kept = np.where((u & 0x007FFFFF) != 0, (u | 0x00400000) & 0xFFFF0000, u & 0xFFFF0000)
    out = np.where(special, kept, rounded).astype(np.uint32)
    return out.view(np.float32).reshape(x.shape)


def gemm_fused(A, B, bias=None, bias_rows=False, relu=False, trans_a=False, trans_b=False, alpha=1.0,
               beta=0.0, C=None, max_threads=0, bf16=False):
    """act(alpha * op(A) @ op(B) + beta * C + bias): bias (N,) added to every
    row, or (M,) added to every column when bias_rows; act = max(., 0) when
    relu. max_threads does not change the result. bf16: A and B rounded to
    bfloat16 first (the products are then exact; the engine accumulates them
    in float32, this twin in float64)."""
    if bf16:
        A, B = bf16_round(A).astype(np.float64), bf16_round(B).astype(np.float64)
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
