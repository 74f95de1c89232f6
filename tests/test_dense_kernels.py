"""Dense-layer kernels (GEMM with a fused bias/ReLU epilogue, and the
backward pass) against the NumPy reference on every ISA variant, float32 and
float64; a finite-difference check of the gradients; bad input."""
import numpy as np
import pytest

from entrena import _core
from entrena.reference import gemm as ref
from helpers import check_gradient, check_kernel

K_ = _core.kernels
from helpers import AVAILABLE_ISAS as ISAS
AVAILABLE = ISAS






def tol(dtype, K):
    if np.dtype(dtype) == np.float32:
        return 2e-5, 2e-6 * (K + 1)
    return 1e-12, 1e-14 * (K + 1)


SHAPES = [(1, 3, 2), (7, 17, 5), (32, 64, 10), (65, 129, 33), (128, 784, 256), (200, 50, 70)]


@pytest.mark.parametrize("n,fan_in,fan_out", SHAPES)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("relu", [False, True], ids=["linear", "relu"])
def test_dense_forward(isa, dtype, rng, n, fan_in, fan_out, bias, relu):
    x = rng.standard_normal((n, fan_in))
    W = rng.standard_normal((fan_in, fan_out))
    b = rng.standard_normal(fan_out) if bias else None
    rtol, atol = tol(dtype, fan_in)
    (y,) = check_kernel(K_.dense_forward, ref.dense_forward, [x, W, b], dtype, relu=relu,
                        rtol=rtol, atol=atol, names=["y"])
    if relu:
        assert (y >= 0).all() and (y == 0).any()


def test_dense_forward_relu_is_the_fused_form(isa, dtype, rng):
    # The fused epilogue gives exactly max(linear, 0) of the unfused result.
    x = rng.standard_normal((45, 70)).astype(dtype)
    W = rng.standard_normal((70, 33)).astype(dtype)
    b = rng.standard_normal(33).astype(dtype)
    lin = K_.dense_forward(x, W, b)
    assert np.array_equal(K_.dense_forward(x, W, b, relu=True), np.maximum(lin, 0))


@pytest.mark.parametrize("n,fan_in,fan_out", SHAPES)
def test_dense_backward(isa, dtype, rng, n, fan_in, fan_out):
    x = rng.standard_normal((n, fan_in))
    W = rng.standard_normal((fan_in, fan_out))
    dy = rng.standard_normal((n, fan_out))
    rtol, atol = tol(dtype, max(n, fan_out))
    check_kernel(K_.dense_backward, ref.dense_backward, [x, W, dy], dtype, rtol=rtol, atol=atol,
                 names=["dx", "dW", "db"])


@pytest.mark.parametrize("n,fan_in,fan_out", [(4, 3, 5), (9, 6, 13)])
def test_dense_gradients_by_finite_differences(isa, rng, n, fan_in, fan_out):
    x = rng.standard_normal((n, fan_in))
    W = rng.standard_normal((fan_in, fan_out))
    b = rng.standard_normal(fan_out)
    g = rng.standard_normal((n, fan_out))  # loss = sum(g * y)
    dx, dW, db = K_.dense_backward(x, W, g)
    check_gradient(lambda v: np.sum(g * K_.dense_forward(v, W, b)), dx, x, what="dx")
    check_gradient(lambda v: np.sum(g * K_.dense_forward(x, v, b)), dW, W, what="dW")
    check_gradient(lambda v: np.sum(g * K_.dense_forward(x, W, v)), db, b, what="db")


def test_dense_same_bits_for_any_thread_count(isa, dtype, rng, threads):
    x = rng.standard_normal((256, 300)).astype(dtype)
    W = rng.standard_normal((300, 200)).astype(dtype)
    b = rng.standard_normal(200).astype(dtype)
    dy = rng.standard_normal((256, 200)).astype(dtype)
    runs = []
    for n in (1, 2):
        _core.set_num_threads(n)
        runs.append((K_.dense_forward(x, W, b, relu=True), *K_.dense_backward(x, W, dy)))
    for a, c in zip(*runs):
        assert np.array_equal(a, c)


def test_dense_bad_input_raises():
    x = np.ones((4, 3), np.float32)
    W = np.ones((3, 5), np.float32)
    with pytest.raises(ValueError, match="W: expected 3 rows"):
        K_.dense_forward(x, np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match=r"b: expected shape \(5,\), got \(4,\)"):
        K_.dense_forward(x, W, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="x: expected a 2-D array, got 1-D"):
        K_.dense_forward(np.ones(3, np.float32), W)
    with pytest.raises(ValueError, match=r"dy: expected shape \(4, 5\)"):
        K_.dense_backward(x, W, np.ones((4, 6), np.float32))
    with pytest.raises(ValueError, match="dy: expected a 2-D array, got 3-D"):
        K_.dense_backward(x, W, np.ones((4, 5, 1), np.float32))
