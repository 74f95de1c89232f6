"""The SIMD elementary functions under the activations (exp, expm1, log,
log1p, tanh, erf, erfc): ulp error in float32 over a dense sweep of the
whole float32 range, special values, and float64 accuracy, on every ISA
path this CPU supports."""
import math

import numpy as np
import pytest

from entrena import _core

K = _core.kernels

# Python's math.erf/erfc (the C library's) are accurate to about 1 ulp in
# float64; scipy.special.erfc loses ~1e-13 for large arguments.
_erf64 = np.frompyfunc(math.erf, 1, 1)
_erfc64 = np.frompyfunc(math.erfc, 1, 1)


def _ref(name, x):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        if name == "exp":
            return np.exp(x)
        if name == "expm1":
            return np.expm1(x)
        if name == "log":
            return np.log(x)
        if name == "log1p":
            return np.log1p(x)
        if name == "tanh":
            return np.tanh(x)
        if name == "erf":
            return np.asarray(_erf64(x), dtype=np.float64)
        if name == "erfc":
            return np.asarray(_erfc64(x), dtype=np.float64)
    raise KeyError(name)




def _sweep_f32(stride=4099):
    """Every stride-th float32 bit pattern of both signs (all exponents,
    denormals included) plus the special values."""
    bits = np.arange(0, 0x7F800000, stride, dtype=np.uint32)
    pos = bits.view(np.float32)
    special = np.array([0.0, np.inf, np.nan, np.finfo(np.float32).max, np.finfo(np.float32).tiny,
                        1.4e-45, 1.0, 0.5, 2.0, 88.72, 88.73, -87.3, -103.9, -104.0, 9.0, 0.625,
                        0.75, 3.92, 10.05], dtype=np.float32)
    x = np.concatenate([pos, -pos, special, -special])
    return x


def ulp_error(got32, exact64):
    """|got - exact| in units of the float32 ulp at exact (denormal ulp
    below the normal range). Matching infinities / NaNs count as 0; a
    mismatch as inf."""
    got = got32.astype(np.float64)
    exact = np.asarray(exact64, dtype=np.float64)
    err = np.zeros_like(exact)
    fmax = float(np.finfo(np.float32).max)
    # Exact values beyond float32's range must round to +-inf.
    big = np.abs(exact) > fmax * (1 + 2.0 ** -25)
    nan = np.isnan(exact)
    fin = ~big & ~nan & np.isfinite(exact)
    _, e = np.frexp(exact[fin])
    ulp = np.ldexp(1.0, np.maximum(e - 1, -126) - 23)
    err[fin] = np.abs(got[fin] - exact[fin]) / ulp
    err[big] = np.where(got[big] == np.sign(exact[big]) * np.inf, 0.0, np.inf)
    err[nan] = np.where(np.isnan(got[nan]), 0.0, np.inf)
    inf = np.isinf(exact) & ~big
    err[inf] = np.where(got[inf] == exact[inf], 0.0, np.inf)
    return err


DOMAIN = {"exp": None, "expm1": None, "log": (0, np.inf), "log1p": (-1, np.inf), "tanh": None,
          "erf": None, "erfc": None}
# Bounds the float32 sweep must meet. exp/tanh/erf/log: the <= 4 ulp goal.
MAX_ULP = {"exp": 4, "expm1": 4, "log": 4, "log1p": 4, "tanh": 4, "erf": 4, "erfc": 8}


@pytest.mark.parametrize("name", sorted(DOMAIN))
def test_ulp_error_float32(isa, name):
    x = _sweep_f32()
    got = getattr(K, f"math_{name}")(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    err = ulp_error(got, _ref(name, x.astype(np.float64)))
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULP[name], (
        f"{name} on {isa}: {err[worst]:.2f} ulp at x = {x[worst]!r} "
        f"(got {got[worst]!r}, want {_ref(name, x[worst:worst + 1].astype(np.float64))[0]!r})")


def test_worst_ulp_report(capsys):
    """Prints the worst float32 ulp error of each function on the active path
    (informational; the bounds are asserted above)."""
    x = _sweep_f32(stride=8191)
    lines = []
    for name in sorted(DOMAIN):
        err = ulp_error(getattr(K, f"math_{name}")(x), _ref(name, x.astype(np.float64)))
        assert np.isfinite(err).all()
        lines.append(f"{name}: {err.max():.3f} ulp")
    with capsys.disabled():
        print("\n[vmath " + _core.get_isa() + "] " + ", ".join(lines))


@pytest.mark.parametrize("name", sorted(DOMAIN))
def test_float64_accuracy(isa, name, rng):
    lo, hi = {"exp": (-745, 709), "expm1": (-50, 709), "log": (1e-300, 1e300),
              "log1p": (-0.999, 1e6), "tanh": (-25, 25), "erf": (-7, 7), "erfc": (-7, 27)}[name]
    if name in ("log",):
        x = np.exp(rng.uniform(np.log(lo), np.log(hi), 20000))
    else:
        x = rng.uniform(lo, hi, 20000)
    x = np.concatenate([x, rng.uniform(-1, 1, 5000) * (0.9 if name == "log1p" else 1.0),
                        rng.uniform(-1e-3, 1e-3, 1000)])
    if name == "log":
        x = np.abs(x) + 1e-300
    got = getattr(K, f"math_{name}")(x)
    want = _ref(name, x)
    # Relative accuracy ~1e-15 where the result is normal.
    np.testing.assert_allclose(got, want, rtol=5e-15, atol=1e-300, err_msg=f"{name} on {isa}")


def test_special_values(isa, dtype):
    inf, nan = np.inf, np.nan
    f = lambda name, v: getattr(K, f"math_{name}")(np.array(v, dtype=dtype))
    assert (f("exp", [-inf, inf, -1e4, 1e4]) == [0.0, inf, 0.0, inf]).all()
    assert np.isnan(f("exp", [nan])).all()
    assert (f("tanh", [-inf, inf, -1e30, 1e30]) == [-1.0, 1.0, -1.0, 1.0]).all()
    assert (f("erf", [-inf, inf, -30, 30]) == [-1.0, 1.0, -1.0, 1.0]).all()
    assert (f("erfc", [-inf, inf]) == [2.0, 0.0]).all()
    assert (f("expm1", [-inf, inf]) == [-1.0, inf]).all()
    lg = f("log", [0.0, -1.0, inf, 1.0])
    assert lg[0] == -inf and np.isnan(lg[1]) and lg[2] == inf and lg[3] == 0.0
    l1 = f("log1p", [-1.0, -2.0, inf, 0.0])
    assert l1[0] == -inf and np.isnan(l1[1]) and l1[2] == inf and l1[3] == 0.0
    for name in DOMAIN:
        assert np.isnan(f(name, [nan, -nan])).all(), name
    # Denormal inputs and outputs: no flush to zero.
    tiny = np.finfo(dtype).smallest_subnormal
    assert f("log", [tiny])[0] == pytest.approx(math.log(float(tiny)), rel=1e-6)
    assert f("tanh", [tiny * 3])[0] == tiny * 3
    assert 0 < f("exp", [math.log(float(tiny)) + 1.0])[0] < np.finfo(dtype).tiny


def test_thread_count_does_not_change_results():
    x = np.random.default_rng(0).normal(0, 10, 300_001).astype(np.float32)
    old = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        one = K.math_erf(x), K.math_exp(x)
        _core.set_num_threads(max(2, old))
        many = K.math_erf(x), K.math_exp(x)
    finally:
        _core.set_num_threads(old)
    for a, b in zip(one, many):
        assert np.array_equal(a.view(np.uint32), b.view(np.uint32))
