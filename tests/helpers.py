"""One way to compare entrena's C++ kernels with the NumPy reference, and one
finite-difference gradient check, shared by every kernel test."""
from __future__ import annotations

import numpy as np

from entrena import _core

_ALL_ISAS = ["generic", "avx2", "avx512"]
#: The kernel variants this CPU runs, lowest first.
AVAILABLE_ISAS = _ALL_ISAS[: _ALL_ISAS.index(_core.cpu_info()["best_isa"]) + 1]

# Default comparison tolerances per dtype (relative, absolute).
TOL = {np.dtype(np.float32): (2e-5, 2e-6), np.dtype(np.float64): (1e-12, 1e-13)}


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def assert_same(actual, expected, dtype, *, rtol=None, atol=None, what="output"):
    """Same shape, the dtype under test, and values within the dtype's tolerance."""
    dtype = np.dtype(dtype)
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if actual.ndim > 0:
        assert actual.dtype == dtype, f"{what}: dtype {actual.dtype} != {dtype}"
    r, a = TOL[dtype]
    np.testing.assert_allclose(actual, expected.astype(np.float64),
                               rtol=r if rtol is None else rtol, atol=a if atol is None else atol,
                               err_msg=what)


def check_kernel(core_fn, ref_fn, args, dtype, *, rtol=None, atol=None, names=None, **kwargs):
    """Runs core_fn and ref_fn on the same inputs (arrays cast to dtype; the
    reference computes in float64) and compares every output."""
    dtype = np.dtype(dtype)
    cast = [np.ascontiguousarray(a, dtype=dtype) if isinstance(a, np.ndarray) else a for a in args]
    ref_args = [np.asarray(a, dtype=np.float64) if isinstance(a, np.ndarray) else a for a in cast]
    got = _as_tuple(core_fn(*cast, **kwargs))
    want = _as_tuple(ref_fn(*ref_args, **kwargs))
    assert len(got) == len(want), f"{len(got)} outputs != {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        what = names[i] if names else f"output {i}"
        assert_same(g, w, dtype, rtol=rtol, atol=atol, what=what)
    return got


def numerical_gradient(f, x, eps=1e-6):
    """Central differences of the scalar function f at x (float64)."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = float(f(x))
        flat[i] = old - eps
        fm = float(f(x))
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


def check_gradient(f, analytic, x, *, eps=1e-6, rtol=1e-6, atol=1e-8, what="gradient"):
    """Compares an analytic gradient with central differences of f at x."""
    num = numerical_gradient(f, x, eps)
    np.testing.assert_allclose(np.asarray(analytic, dtype=np.float64), num, rtol=rtol, atol=atol,
                               err_msg=what)


def same_on_one_and_two_threads(fn, *args, **kwargs):
    """fn(*args, **kwargs) on one thread and on two: every output (an array
    or a tuple of them) must be bitwise equal. Returns the outputs."""
    before = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        one = fn(*args, **kwargs)
        _core.set_num_threads(2)
        two = fn(*args, **kwargs)
    finally:
        _core.set_num_threads(before)
    for a, b in zip(_as_tuple(one), _as_tuple(two)):
        np.testing.assert_array_equal(a, b)
    return one
