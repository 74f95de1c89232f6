"""Mixed precision "bf16": bfloat16 products with float32 accumulation.

The rounding (kernels.bf16_round) against its NumPy twin and a slow
pure-Python reference; the GEMM with bf16=True against the twin
(reference.gemm.gemm_fused(..., bf16=True)) on every ISA, shape, transpose
and epilogue, within the float32 accumulation bound, and far from the
float32 GEMM; Dense models forward and backward against the twin; Conv2D,
LSTM and GRU close to float32 but not equal, and back to float32 bitwise;
training the digits MLP; the precision API (aliases, errors, save/load,
pickle, float64 models, cpu_info)."""
import copy
import fractions
import pickle

import numpy as np
import pytest

import entrena
from entrena import _core
from entrena.layers import GRU, LSTM, Conv1D, Conv2D, Dense, Flatten
from entrena.reference import gemm as ref
from helpers import same_on_one_and_two_threads

K_ = _core.kernels
EPS32 = 2.0 ** -24          # float32 unit roundoff (round to nearest)


# ----------------------------------------------------------------- helpers
def bits(x):
    return np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)


def from_bits(u):
    return np.asarray(u, dtype=np.uint32).view(np.float32)


def py_bf16(x: float) -> float:
    """Slow pure-Python reference: x (a float32 value) rounded to the
    nearest bfloat16 (8 significant bits), ties to the even significand,
    overflow to infinity as IEEE round-to-nearest does; NaN stays NaN."""
    if x != x or x in (float("inf"), float("-inf")) or x == 0.0:
        return x
    sign = -1.0 if x < 0 else 1.0
    a = fractions.Fraction(abs(x))
    # The bfloat16 grid around a: exponent e with 2^e <= a < 2^(e+1),
    # spacing 2^(e-7); below 2^-126 the grid is that of the subnormals,
    # spacing 2^-133.
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if fractions.Fraction(2) ** e > a:
        e -= 1
    e = max(e, -126)
    ulp = fractions.Fraction(2) ** (e - 7)
    q, r = divmod(a, ulp)            # a = q·ulp + r, 0 <= r < ulp
    if 2 * r > ulp or (2 * r == ulp and q % 2 == 1):
        q += 1
    v = q * ulp
    if v >= fractions.Fraction(2) ** 128:   # past the largest bfloat16: infinity
        return sign * float("inf")
    return sign * float(v)


def f32(values):
    return np.array(values, dtype=np.float32)


def gemm_bound(A, B, ta, tb, alpha=1.0, beta=0.0, C=None, bias=None, bias_rows=False):
    """Elementwise bound on |engine - twin| for a bf16 GEMM: the products of
    bfloat16 values are exact in float32, so only the float32 additions
    (K of them, plus alpha, beta·C and the bias) round, each by at most
    2^-24 of the magnitudes summed."""
    a = np.abs(ref.bf16_round(A).astype(np.float64))
    b = np.abs(ref.bf16_round(B).astype(np.float64))
    a = a.T if ta else a
    b = b.T if tb else b
    K = a.shape[1]
    mag = abs(alpha) * (a @ b)
    if C is not None and beta != 0.0:
        mag = mag + abs(beta) * np.abs(C.astype(np.float64))
    if bias is not None:
        bb = np.abs(bias.astype(np.float64))
        mag = mag + (bb[:, None] if bias_rows else bb[None, :])
    return (K + 4) * 1.01 * EPS32 * mag + 1e-30


def assert_within(got, want, bound, what="output"):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    err = np.abs(got - want)
    bad = err > bound
    assert not bad.any(), (f"{what}: {bad.sum()} of {bad.size} entries off by more than the float32 bound; "
                           f"worst err {err.max():.3g}, err/bound {np.max(err / bound):.3g}")


def flip_slack(v, vbound):
    """How far bf16_round(v') may be from bf16_round(v) for any |v' - v| <=
    vbound (v: a twin's float64 value, v' the engine's float32 one): zero
    unless a rounding boundary lies within reach, then one bfloat16 ulp."""
    v = np.asarray(v, dtype=np.float64)
    reach = 2 * vbound + 2 * EPS32 * np.abs(v)
    lo, hi = ref.bf16_round((v - reach).astype(np.float32)), ref.bf16_round((v + reach).astype(np.float32))
    return np.where(lo != hi, 2.0 ** -7 * 1.01 * (np.abs(v) + reach), 0.0)


def trained(model):
    model._trained = True   # predict without the "not trained" warning
    return model


# ======================================================== 1. the rounding
def test_bf16_round_random_normals_match_twin():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(20000), rng.standard_normal(5000) * 1e30,
                        rng.standard_normal(5000) * 1e-30]).astype(np.float32)
    got = K_.bf16_round(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_array_equal(bits(got), bits(ref.bf16_round(x)))
    # Every result is a bfloat16 value, within half a bfloat16 ulp.
    assert not (bits(got) & 0xFFFF).any()
    assert np.all(np.abs(got.astype(np.float64) - x) <= np.abs(x.astype(np.float64)) * 2.0 ** -8)
    # And it really rounds: most values move.
    assert np.mean(got != x) > 0.99


def test_bf16_round_keeps_shape_of_nd_arrays():
    x = np.random.default_rng(1).standard_normal((3, 4, 5)).astype(np.float32)
    got = K_.bf16_round(x)
    assert got.shape == (3, 4, 5)
    np.testing.assert_array_equal(bits(got), bits(ref.bf16_round(x)))


def test_bf16_round_ties_go_to_even():
    rng = np.random.default_rng(2)
    hi = rng.integers(0, 0x7F7F, size=4000, dtype=np.uint32) << 16   # finite, any sign bit below
    hi |= rng.integers(0, 2, size=4000, dtype=np.uint32) << 31
    u = hi | 0x8000                                                  # exactly half way
    x = from_bits(u)
    got = bits(K_.bf16_round(x))
    np.testing.assert_array_equal(got, bits(ref.bf16_round(x)))
    odd = (hi >> 16) & 1 == 1
    # Even kept bit: truncated; odd kept bit: rounded away from zero, to even.
    np.testing.assert_array_equal(got[~odd], hi[~odd])
    np.testing.assert_array_equal(got[odd], hi[odd] + 0x10000)
    assert not ((got >> 16) & 1).any()
    # Just below and just above half way.
    np.testing.assert_array_equal(bits(K_.bf16_round(from_bits(hi | 0x7FFF))), hi)
    np.testing.assert_array_equal(bits(K_.bf16_round(from_bits(hi | 0x8001))), hi + 0x10000)


def test_bf16_round_special_values():
    specials = {
        0x00000000: 0x00000000,   # +0
        0x80000000: 0x80000000,   # -0
        0x7F800000: 0x7F800000,   # +inf
        0xFF800000: 0xFF800000,   # -inf
        0x7F7FFFFF: 0x7F800000,   # the largest finite float32: rounds to inf (RNE)
        0xFF7FFFFF: 0xFF800000,
        0x7F7F7FFF: 0x7F7F0000,   # just below half way to inf: stays finite
        0x7F7F8000: 0x7F800000,   # half way to inf, odd kept bit: inf
        0x7F7E8000: 0x7F7E0000,   # half way, even kept bit: down
        0x00000001: 0x00000000,   # smallest subnormal
        0x00008000: 0x00000000,   # subnormal tie, even: down
        0x00018000: 0x00020000,   # subnormal tie, odd: up
        0x00008001: 0x00010000,   # subnormal above the tie
        0x807FFFFF: 0x80800000,   # largest subnormal: up to the smallest normal
        0x00400000: 0x00400000,   # a bfloat16 subnormal stays
        0x3F800000: 0x3F800000,   # 1.0
        0x3F818000: 0x3F820000,   # 1 + 3·2^-8 (a tie): to even
    }
    x = from_bits(list(specials))
    got = bits(K_.bf16_round(x))
    np.testing.assert_array_equal(got, np.array(list(specials.values()), dtype=np.uint32))
    np.testing.assert_array_equal(got, bits(ref.bf16_round(x)))


def test_bf16_round_nan_stays_nan():
    # NaNs whose payload sits only in the low 16 bits would truncate to
    # infinity: they must stay NaN (quiet), with their sign.
    u = np.array([0x7FC00000, 0x7F800001, 0x7F80FFFF, 0x7FBF0000, 0xFF800001, 0xFFC12345, 0x7FFFFFFF],
                 dtype=np.uint32)
    x = from_bits(u)
    got = K_.bf16_round(x)
    assert np.isnan(got).all()
    np.testing.assert_array_equal(bits(got) >> 31, u >> 31)
    assert not (bits(got) & 0xFFFF).any()
    np.testing.assert_array_equal(bits(got), bits(ref.bf16_round(x)))
    # The twin keeps NaN too.
    assert np.isnan(ref.bf16_round(x)).all()


def test_bf16_round_leaves_bfloat16_values_unchanged():
    rng = np.random.default_rng(3)
    u = rng.integers(0, 2**32, size=20000, dtype=np.uint64).astype(np.uint32) & 0xFFFF0000
    x = from_bits(u)
    x = x[np.isfinite(x)]
    np.testing.assert_array_equal(bits(K_.bf16_round(x)), bits(x))
    # Idempotent on random data.
    y = K_.bf16_round(rng.standard_normal(1000).astype(np.float32))
    np.testing.assert_array_equal(bits(K_.bf16_round(y)), bits(y))


def test_bf16_round_float64_input_refused_or_converted():
    # float64 input is refused (TypeError) or converted to float32 first:
    # never rounded wrongly.
    x = np.array([1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -9], dtype=np.float64)
    try:
        got = K_.bf16_round(x)
    except TypeError:
        return
    np.testing.assert_array_equal(np.asarray(got, dtype=np.float64), [1.0, 1.0 + 2.0 ** -7])


@pytest.mark.parametrize("x,want", [
    (1.0 + 2.0 ** -8, 1.0),                        # tie, even kept bit: down
    (1.0 + 3 * 2.0 ** -9, 1.0 + 2.0 ** -7),        # above the tie: up
    (1.0 + 3 * 2.0 ** -8, 1.0 + 2.0 ** -6),        # tie, odd kept bit: up to even
    (-(1.0 + 2.0 ** -9), -1.0),                    # below the tie
    (3.140625, 3.140625),                          # a bfloat16 value
    (np.pi, 3.140625),
    (65504.0, 65536.0),
    (1e-40, 2.0 ** -133),                          # subnormal: one bfloat16 subnormal step
    (2.0 ** -149, 0.0),                            # smallest subnormal: to zero
    (float(np.finfo(np.float32).max), float("inf")),
    (-0.0, -0.0),
])
def test_bf16_round_hand_picked_values(x, want):
    x32 = float(np.float32(x))
    assert py_bf16(x32) == want or (want == 0.0 and py_bf16(x32) == 0.0)
    twin = float(ref.bf16_round(f32([x32]))[0])
    eng = float(K_.bf16_round(f32([x32]))[0])
    assert twin == want
    assert eng == want
    assert np.signbit(eng) == np.signbit(want)


def test_bf16_round_twin_matches_pure_python():
    rng = np.random.default_rng(4)
    u = np.concatenate([
        rng.integers(0, 2**32, size=600, dtype=np.uint64).astype(np.uint32),            # any bits
        (rng.integers(0, 2**16, size=200, dtype=np.uint32) << 16) | 0x8000,            # ties
        rng.integers(0, 0x00800000, size=100, dtype=np.uint32),                        # subnormals
        rng.integers(0x7F700000, 0x7F800000, size=100, dtype=np.uint32),              # near overflow
    ])
    x = from_bits(u)
    twin = ref.bf16_round(x)
    for xi, ti in zip(x.tolist(), twin.tolist()):
        want = py_bf16(xi)
        if want != want:
            assert ti != ti, f"{xi!r}: NaN expected, got {ti!r}"
        else:
            assert ti == want and np.signbit(ti) == np.signbit(want), f"{xi!r}: {ti!r} != {want!r}"


# ============================================================ 2. the GEMM
def operands(rng, M, N, K, ta, tb):
    A = rng.standard_normal((K, M) if ta else (M, K)).astype(np.float32)
    B = rng.standard_normal((N, K) if tb else (K, N)).astype(np.float32)
    return A, B


SHAPES = [(1, 1, 1), (7, 5, 3), (1, 40, 9), (33, 1, 17), (64, 96, 80), (100, 33, 257), (300, 300, 300),
          (13, 70, 13), (29, 130, 1), (5, 200, 511)]


@pytest.mark.parametrize("ta", [False, True], ids=["AN", "AT"])
@pytest.mark.parametrize("tb", [False, True], ids=["BN", "BT"])
@pytest.mark.parametrize("M,N,K", SHAPES, ids=[f"{m}x{n}x{k}" for m, n, k in SHAPES])
def test_gemm_bf16_matches_twin(isa, ta, tb, M, N, K):
    rng = np.random.default_rng(M * 10007 + N * 101 + K + 2 * ta + tb)
    A, B = operands(rng, M, N, K, ta, tb)
    got = K_.gemm_fused(A, B, trans_a=ta, trans_b=tb, bf16=True)
    assert got.dtype == np.float32 and got.shape == (M, N)
    want = ref.gemm_fused(A, B, trans_a=ta, trans_b=tb, bf16=True)
    assert_within(got, want, 1e-5 * np.abs(want) + gemm_bound(A, B, ta, tb), f"{M}x{N}x{K} ta={ta} tb={tb}")


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)],
                         ids=["NN", "TN", "NT", "TT"])
@pytest.mark.parametrize("bias_rows", [False, True], ids=["bias_cols", "bias_rows"])
@pytest.mark.parametrize("relu", [False, True], ids=["linear", "relu"])
def test_gemm_bf16_epilogue_matches_twin(isa, ta, tb, bias_rows, relu):
    rng = np.random.default_rng(5 + 4 * ta + 2 * tb + bias_rows)
    M, N, K = 45, 77, 130
    A, B = operands(rng, M, N, K, ta, tb)
    # A bias that is not bfloat16: it must be added as float32, not rounded.
    bias = (rng.standard_normal(M if bias_rows else N) * 3).astype(np.float32)
    kw = dict(bias=bias, bias_rows=bias_rows, relu=relu, trans_a=ta, trans_b=tb)
    got = K_.gemm_fused(A, B, bf16=True, **kw)
    want = ref.gemm_fused(A, B, bf16=True, **kw)
    bound = 1e-5 * np.abs(want) + gemm_bound(A, B, ta, tb, bias=bias, bias_rows=bias_rows)
    assert_within(got, want, bound, "bias/relu")
    if relu:
        assert (got >= 0).all() and (got == 0).any()


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (-0.5, 0.75), (1.25, -1.0), (0.0, 0.5), (2.0, 0.0)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, True)], ids=["NN", "TT"])
def test_gemm_bf16_alpha_beta_matches_twin(isa, alpha, beta, ta, tb):
    rng = np.random.default_rng(6)
    M, N, K = 37, 70, 450     # K beyond one K block: C accumulates over blocks
    A, B = operands(rng, M, N, K, ta, tb)
    C = rng.standard_normal((M, N)).astype(np.float32)   # not bfloat16: beta·C stays float32
    bias = rng.standard_normal(N).astype(np.float32)
    kw = dict(trans_a=ta, trans_b=tb, alpha=alpha, beta=beta, C=C, bias=bias)
    got = K_.gemm_fused(A, B, bf16=True, **kw)
    want = ref.gemm_fused(A, B, bf16=True, **kw)
    bound = 1e-5 * np.abs(want) + gemm_bound(A, B, ta, tb, alpha, beta, C, bias)
    assert_within(got, want, bound, f"alpha={alpha} beta={beta}")
    if alpha == 0.0:
        # No product at all: beta·C + bias exactly as in float32.
        np.testing.assert_array_equal(got, K_.gemm_fused(A, B, **kw))


def test_gemm_bf16_is_not_float32(isa):
    """The flag is honoured: bf16 is far from the float32 GEMM (much farther
    than the float32 bound), and float32 is far from the bf16 twin."""
    rng = np.random.default_rng(7)
    for (M, N, K) in [(64, 96, 80), (7, 5, 33), (300, 300, 300)]:
        for ta, tb in [(False, False), (True, True), (False, True)]:
            A, B = operands(rng, M, N, K, ta, tb)
            b16 = K_.gemm_fused(A, B, trans_a=ta, trans_b=tb, bf16=True)
            f32_ = K_.gemm_fused(A, B, trans_a=ta, trans_b=tb)
            bound = gemm_bound(A, B, ta, tb)
            assert np.max(np.abs(b16.astype(np.float64) - f32_) / bound) > 20, (M, N, K, ta, tb)
            want16 = ref.gemm_fused(A, B, trans_a=ta, trans_b=tb, bf16=True)
            assert np.max(np.abs(f32_ - want16) / bound) > 20
            # ... and the float32 GEMM matches the float32 twin.
            np.testing.assert_allclose(f32_, ref.gemm(A.astype(np.float64), B.astype(np.float64), ta, tb),
                                       rtol=1e-5, atol=2e-6 * (K + 1))


def test_gemm_bf16_default_is_off():
    rng = np.random.default_rng(8)
    A, B = operands(rng, 40, 50, 60, False, False)
    np.testing.assert_array_equal(K_.gemm_fused(A, B), K_.gemm_fused(A, B, bf16=False))
    np.testing.assert_array_equal(K_.gemm_fused(A, B), K_.gemm(A, B))
    # The scope ends with the call: a following float32 GEMM is float32 again.
    K_.gemm_fused(A, B, bf16=True)
    np.testing.assert_array_equal(K_.gemm_fused(A, B), K_.gemm(A, B))


def test_gemm_bf16_operands_already_bfloat16_equal_float32_products():
    """With bfloat16 operands the rounding is the identity: the bf16 GEMM
    sees the same values as the float32 one (results within float32)."""
    rng = np.random.default_rng(9)
    A, B = operands(rng, 50, 60, 70, False, False)
    A16, B16 = ref.bf16_round(A), ref.bf16_round(B)
    got = K_.gemm_fused(A16, B16, bf16=True)
    np.testing.assert_array_equal(got, K_.gemm_fused(A, B, bf16=True))
    assert_within(got, A16.astype(np.float64) @ B16, gemm_bound(A, B, False, False))


@pytest.mark.parametrize("M,N,K,ta,tb", [(300, 300, 300, False, False), (257, 190, 333, True, True),
                                          (64, 500, 129, False, True), (600, 40, 90, True, False)])
def test_gemm_bf16_same_on_one_and_two_threads(isa, threads, M, N, K, ta, tb):
    rng = np.random.default_rng(10)
    A, B = operands(rng, M, N, K, ta, tb)
    bias = rng.standard_normal(N).astype(np.float32)
    out = same_on_one_and_two_threads(K_.gemm_fused, A, B, bias=bias, relu=True, trans_a=ta, trans_b=tb,
                                      bf16=True)
    capped = K_.gemm_fused(A, B, bias=bias, relu=True, trans_a=ta, trans_b=tb, bf16=True, max_threads=1)
    np.testing.assert_array_equal(capped, out)
    np.testing.assert_array_equal(
        K_.gemm_fused(A, B, bias=bias, relu=True, trans_a=ta, trans_b=tb, bf16=True, max_threads=0), out)


def test_gemm_bf16_float64_is_unaffected(isa):
    rng = np.random.default_rng(11)
    for ta, tb in [(False, False), (True, True), (True, False)]:
        A = rng.standard_normal((90, 70) if not ta else (70, 90))
        B = rng.standard_normal((70, 110) if not tb else (110, 70))
        C = rng.standard_normal((90, 110))
        bias = rng.standard_normal(110)
        kw = dict(trans_a=ta, trans_b=tb, alpha=0.5, beta=1.5, C=C, bias=bias, relu=True)
        on = K_.gemm_fused(A, B, bf16=True, **kw)
        assert on.dtype == np.float64
        np.testing.assert_array_equal(on, K_.gemm_fused(A, B, bf16=False, **kw))
        np.testing.assert_allclose(on, ref.gemm_fused(A, B, **kw), rtol=1e-12, atol=1e-12)


def test_gemm_bf16_degenerate_shapes():
    A = np.zeros((3, 0), np.float32)
    B = np.zeros((0, 4), np.float32)
    C = np.full((3, 4), 1.5, np.float32)
    bias = np.float32([0.1, 0.2, 0.3, 0.4])
    got = K_.gemm_fused(A, B, bias=bias, beta=2.0, C=C, bf16=True)
    np.testing.assert_array_equal(got, np.broadcast_to(np.float32(3.0) + bias, (3, 4)))   # not rounded
    assert K_.gemm_fused(np.zeros((0, 5), np.float32), np.zeros((5, 2), np.float32), bf16=True).shape == (0, 2)


# ================================================== 3. Dense models, step API
def dense_model(precision, layers, n_in, seed=0):
    return entrena.Sequential(layers, input_shape=(n_in,), seed=seed, precision=precision)


def params(model):
    return {n: p.copy() for n, p in model.named_parameters()}


def grads(model):
    return {n: g.copy() for n, g in model.gradients()}


def r16(x):
    return ref.bf16_round(np.asarray(x, dtype=np.float32)).astype(np.float64)


@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
def test_dense_forward_matches_twin(isa, activation):
    rng = np.random.default_rng(12)
    n, n_in, n_out = 50, 37, 23
    x = rng.standard_normal((n, n_in)).astype(np.float32)
    model = dense_model("bf16", [Dense(n_out, activation=activation)], n_in)
    p = params(model)
    W, b = p["dense_0.W"], p["dense_0.b"]
    b[:] = rng.standard_normal(n_out).astype(np.float32)   # a bias that is not bfloat16
    model.load_state_dict({"dense_0.W": W, "dense_0.b": b})
    out = np.asarray(model(x))
    pre = r16(x) @ r16(W) + b
    bound = 1e-5 * np.abs(pre) + gemm_bound(x, W, False, False, bias=b)
    act = {None: lambda a: a, "relu": lambda a: np.maximum(a, 0), "tanh": np.tanh}[activation]
    # tanh adds a few float32 ulps of its own.
    extra = 4e-7 if activation == "tanh" else 0.0
    assert_within(out, act(pre), bound + extra, "forward")
    np.testing.assert_array_equal(model.predict(x), out)
    # Far from the float32 result.
    f32_out = np.asarray(_with_weights("float32", activation, n_in, n_out, W, b)(x))
    assert not np.array_equal(out, f32_out)
    assert np.max(np.abs(out - f32_out) / (bound + extra)) > 10


def _with_weights(precision, activation, n_in, n_out, W, b):
    m = dense_model(precision, [Dense(n_out, activation=activation)], n_in)
    m.load_state_dict({"dense_0.W": W, "dense_0.b": b})
    return m


def test_dense_backward_matches_twin(isa):
    """One Dense layer: dW = bf16(x)ᵀ·bf16(dy), db = Σ dy (a plain float32 sum)."""
    rng = np.random.default_rng(13)
    n, n_in, n_out = 64, 30, 20
    x = rng.standard_normal((n, n_in)).astype(np.float32)
    g = rng.standard_normal((n, n_out)).astype(np.float32)
    model = dense_model("bf16", [Dense(n_out)], n_in)
    model(x)
    model.zero_grad()
    model.backward(g)
    gr = grads(model)
    dW_twin = r16(x).T @ r16(g)
    assert_within(gr["dense_0.W"], dW_twin, 1e-5 * np.abs(dW_twin) + gemm_bound(x, g, True, False), "dW")
    np.testing.assert_allclose(gr["dense_0.b"], g.astype(np.float64).sum(0), rtol=1e-5, atol=1e-5)
    dW_f32 = x.astype(np.float64).T @ g
    assert np.max(np.abs(gr["dense_0.W"] - dW_f32) / gemm_bound(x, g, True, False)) > 10

    # The float32 model gives the float32 gradient.
    m32 = dense_model("float32", [Dense(n_out)], n_in)
    m32(x)
    m32.zero_grad()
    m32.backward(g)
    g32 = grads(m32)
    np.testing.assert_allclose(g32["dense_0.W"], dW_f32, rtol=1e-5, atol=2e-6 * (n + 1))
    assert not np.array_equal(g32["dense_0.W"], gr["dense_0.W"])


def test_dense_backward_through_two_layers_matches_twin(isa):
    """The input gradient of the second layer, dh = bf16(dy)·bf16(W2)ᵀ, seen
    through the first layer's gradients: db1 = Σ dh (no rounding of its
    own) and dW1 = bf16(x)ᵀ·bf16(dh)."""
    rng = np.random.default_rng(14)
    n, n_in, n_hid, n_out = 48, 26, 40, 18
    x = rng.standard_normal((n, n_in)).astype(np.float32)
    g = rng.standard_normal((n, n_out)).astype(np.float32)
    model = dense_model("bf16", [Dense(n_hid), Dense(n_out)], n_in)
    p = params(model)
    W1, b1, W2 = p["dense_0.W"], p["dense_0.b"], p["dense_1.W"]
    out = np.asarray(model(x))
    model.zero_grad()
    model.backward(g)
    gr = grads(model)

    # Forward: both layers' products in bf16, the hidden activations
    # rounded too. The engine's h differs from the twin's by float32
    # accumulation only, but may round to the other bfloat16 neighbour where
    # h lies next to a rounding boundary: flip_slack allows for that.
    h = r16(x) @ r16(W1) + b1
    h_bound = 1e-5 * np.abs(h) + gemm_bound(x, W1, False, False, bias=b1)
    h_flip = flip_slack(h, h_bound)
    out_twin = r16(h) @ r16(W2) + p["dense_1.b"]
    out_bound = (1e-5 * np.abs(out_twin) + gemm_bound(h.astype(np.float32), W2, False, False, bias=p["dense_1.b"])
                 + h_flip @ np.abs(r16(W2)))
    assert_within(out, out_twin, out_bound, "out")

    # dW2 = bf16(h)ᵀ·bf16(g)
    dW2 = r16(h).T @ r16(g)
    dW2_bound = 1e-5 * np.abs(dW2) + gemm_bound(h.astype(np.float32), g, True, False) + h_flip.T @ np.abs(r16(g))
    assert_within(gr["dense_1.W"], dW2, dW2_bound, "dW2")

    # db1 = Σ_rows dh: dh = bf16(g)·bf16(W2)ᵀ, summed in float32 with no
    # rounding to bfloat16 of its own.
    dh = r16(g) @ r16(W2).T
    dh_bound = 1e-5 * np.abs(dh) + gemm_bound(g, W2, False, True)
    db1 = dh.sum(0)
    db1_bound = dh_bound.sum(0) + (n + 1) * EPS32 * np.abs(dh).sum(0)
    assert_within(gr["dense_0.b"], db1, db1_bound, "db1")
    db1_f32 = (g.astype(np.float64) @ W2.T.astype(np.float64)).sum(0)
    assert np.max(np.abs(gr["dense_0.b"] - db1_f32) / db1_bound) > 10

    # dW1 = bf16(x)ᵀ·bf16(dh)
    dW1 = r16(x).T @ r16(dh.astype(np.float32))
    dW1_bound = (1e-5 * np.abs(dW1) + gemm_bound(x, dh.astype(np.float32), True, False)
                 + np.abs(r16(x)).T @ flip_slack(dh, dh_bound))
    assert_within(gr["dense_0.W"], dW1, dW1_bound, "dW1")
    dW1_f32 = x.astype(np.float64).T @ (g.astype(np.float64) @ W2.T.astype(np.float64))
    assert np.max(np.abs(gr["dense_0.W"] - dW1_f32) / dW1_bound) > 10


def test_dense_model_precision_switch_takes_effect_at_once():
    rng = np.random.default_rng(15)
    x = rng.standard_normal((20, 16)).astype(np.float32)
    model = dense_model("float32", [Dense(32, activation="relu"), Dense(5)], 16)
    trained(model)
    f = model.predict(x)
    model.precision = "bf16"
    b = model.predict(x)
    assert not np.array_equal(f, b)
    model.precision = "float32"
    np.testing.assert_array_equal(model.predict(x), f)
    model.precision = "mixed_bfloat16"
    np.testing.assert_array_equal(model.predict(x), b)


def test_precision_given_before_build_applies_when_built():
    rng = np.random.default_rng(16)
    x = rng.standard_normal((10, 12)).astype(np.float32)
    model = entrena.Sequential([Dense(7)], seed=3, precision="bf16")
    assert not model.built and model.precision == "bf16"
    out = np.asarray(model(x))
    W, b = model.parameters()
    assert_within(out, r16(x) @ r16(W) + b, 1e-5 + gemm_bound(x, W, False, False, bias=b))
    assert not np.array_equal(out, x @ W + b)
    # Set on an unbuilt model after construction too.
    m2 = entrena.Sequential([Dense(7)], seed=3)
    m2.precision = "bfloat16"
    np.testing.assert_array_equal(np.asarray(m2(x)), out)


# ============================================== 4. Conv2D, LSTM, GRU models
def _conv_model(precision, channels=4):
    return entrena.Sequential([Conv2D(8, 3, activation="relu"), Conv2D(6, 3, padding="same"), Flatten(),
                               Dense(5)], input_shape=(channels, 12, 12), seed=0, precision=precision)


def _lstm_model(precision):
    return entrena.Sequential([LSTM(24, return_sequences=True), LSTM(16), Dense(3)], input_shape=(9, 7),
                              seed=0, precision=precision)


def _gru_model(precision):
    return entrena.Sequential([GRU(24, return_sequences=True), GRU(16, go_backwards=True), Dense(3)],
                              input_shape=(9, 7), seed=0, precision=precision)


MODELS = {"conv2d": (_conv_model, (4, 12, 12)), "lstm": (_lstm_model, (9, 7)), "gru": (_gru_model, (9, 7))}


@pytest.mark.parametrize("kind", list(MODELS))
def test_models_bf16_close_to_float32_but_not_equal(kind, threads):
    make, shape = MODELS[kind]
    x = np.random.default_rng(17).standard_normal((40,) + shape).astype(np.float32)
    f = trained(make("float32")).predict(x)
    mb = trained(make("bf16"))
    b = mb.predict(x)
    assert b.dtype == np.float32 and b.shape == f.shape
    assert not np.array_equal(b, f)
    scale = np.abs(f).max()
    rel = np.abs(b - f).max() / scale
    assert rel < 3e-2, rel
    assert rel > 1e-5, rel       # more than float32 noise
    # Back to float32: float32 outputs, bitwise.
    mb.precision = "float32"
    np.testing.assert_array_equal(mb.predict(x), f)
    mb.precision = "bf16"
    np.testing.assert_array_equal(mb.predict(x), b)
    # The step API agrees with predict.
    mb.eval()
    np.testing.assert_array_equal(np.asarray(mb(x)), b)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_bf16_same_on_one_and_two_threads(kind, threads):
    make, shape = MODELS[kind]
    x = np.random.default_rng(18).standard_normal((64,) + shape).astype(np.float32)
    model = trained(make("bf16"))
    same_on_one_and_two_threads(model.predict, x)


def _lstm_twin(x, W_ih, W_hh, b_ih, b_hh, bf16):
    """One LSTM layer (return_sequences) whose step products take bfloat16
    operands (x, h, W_ih, W_hh rounded) when bf16, else float64 throughout."""
    rd = r16 if bf16 else (lambda a: np.asarray(a, dtype=np.float64))
    n, S, _ = x.shape
    H = W_hh.shape[0]
    sig = lambda a: 1 / (1 + np.exp(-a))      # noqa: E731
    h = np.zeros((n, H))
    c = np.zeros((n, H))
    ys = []
    Wi, Wh = rd(W_ih), rd(W_hh)
    for t in range(S):
        hr = rd(h.astype(np.float32)) if bf16 else h
        a = rd(x[:, t]) @ Wi + b_ih + b_hh + hr @ Wh
        i, f, g, o = sig(a[:, :H]), sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys, axis=1)


def test_lstm_bf16_matches_twin():
    """The recurrent step GEMMs (h·W_hh, W_hh packed once) take bfloat16
    operands too: the output is much closer to a bf16 twin than to float32."""
    rng = np.random.default_rng(19)
    x = rng.standard_normal((32, 12, 10)).astype(np.float32)
    model = trained(entrena.Sequential([LSTM(20, return_sequences=True)], input_shape=(12, 10), seed=1,
                                       precision="bf16"))
    p = params(model)
    p["lstm_0.b_ih"][:] = rng.standard_normal(80).astype(np.float32) * 0.3
    model.load_state_dict(p)
    got = model.predict(x).astype(np.float64)
    args = (x, p["lstm_0.W_ih"], p["lstm_0.W_hh"], p["lstm_0.b_ih"], p["lstm_0.b_hh"])
    twin16, twin32 = _lstm_twin(*args, bf16=True), _lstm_twin(*args, bf16=False)
    e16, e32 = np.abs(got - twin16).max(), np.abs(got - twin32).max()
    assert e16 < 2e-4, e16
    assert e32 > 10 * e16, (e16, e32)


@pytest.mark.parametrize("kind", list(MODELS))
def test_models_bf16_backward_differs_from_float32(kind, threads):
    """The backward pass runs in the precision too (and stays close)."""
    make, shape = MODELS[kind]
    rng = np.random.default_rng(20)
    x = rng.standard_normal((16,) + shape).astype(np.float32)
    _core.set_num_threads(1)
    out = {}
    for prec in ("float32", "bf16"):
        m = make(prec)
        y = m(x)
        m.zero_grad()
        m.backward(np.ones_like(np.asarray(y)) / y.size)
        out[prec] = grads(m)
    for name in out["float32"]:
        gf, gb = out["float32"][name], out["bf16"][name]
        scale = np.abs(gf).max()
        assert np.abs(gb - gf).max() <= 5e-2 * scale + 1e-7, name
    assert any(not np.array_equal(out["float32"][k], out["bf16"][k]) for k in out["float32"])
    first = next(iter(out["float32"]))          # the first layer's weights: every product is bf16 upstream
    assert not np.array_equal(out["float32"][first], out["bf16"][first]), first


def _conv_only(precision, channels):
    return trained(entrena.Sequential([Conv2D(8, 3)], input_shape=(channels, 16, 16), seed=0,
                                      precision=precision))


def _conv_twin(x, W, b, bf16):
    torch = pytest.importorskip("torch")
    rd = r16 if bf16 else (lambda a: np.asarray(a, dtype=np.float64))
    return torch.nn.functional.conv2d(torch.from_numpy(rd(x)), torch.from_numpy(rd(W)),
                                      torch.from_numpy(b.astype(np.float64))).numpy()


def test_conv2d_bf16_matches_twin_on_one_thread(threads):
    rng = np.random.default_rng(21)
    x = rng.standard_normal((64, 4, 16, 16)).astype(np.float32)
    _core.set_num_threads(1)
    m = _conv_only("bf16", 4)
    W, b = [p.copy() for p in m.parameters()]
    got = m.predict(x).astype(np.float64)
    t16, t32 = _conv_twin(x, W, b, True), _conv_twin(x, W, b, False)
    tol = (W[0].size + 4) * EPS32 * 40     # |x|,|W| of a few units over 36 taps
    assert np.abs(got - t16).max() < tol
    # Every sample is bf16 (none computed in float32).
    per_sample32 = np.abs(got - t32).max(axis=(1, 2, 3))
    assert (per_sample32 > 10 * tol).all()


def _two_threads_or_skip():
    _core.set_num_threads(2)
    if _core.kernel_threads() < 2:
        pytest.skip("two kernel threads are not available here")


def test_conv2d_bf16_same_on_one_and_two_threads(threads):
    _two_threads_or_skip()
    x = np.random.default_rng(22).standard_normal((64, 4, 16, 16)).astype(np.float32)
    m = _conv_only("bf16", 4)
    same_on_one_and_two_threads(m.predict, x)


DIRECT_CONVS = {
    # Auto sends these shapes to the direct kernels (conv.cpp direct_wins):
    # one input channel per group (forward and backward), few channels with
    # rows of outputs filling vectors (forward only).
    "conv2d_1ch": (lambda: Conv2D(8, 3), (1, 16, 16)),
    "conv2d_3ch_rgb": (lambda: Conv2D(8, 3), (3, 18, 18)),
    "conv1d_8ch": (lambda: Conv1D(16, 3), (8, 64)),
}


@pytest.mark.parametrize("case", list(DIRECT_CONVS))
def test_direct_conv_bf16_differs_from_float32(case, threads):
    _core.set_num_threads(1)
    make, shape = DIRECT_CONVS[case]
    x = np.random.default_rng(23).standard_normal((16,) + shape).astype(np.float32)
    out = {}
    for prec in ("float32", "bf16"):
        out[prec] = trained(entrena.Sequential([make()], input_shape=shape, seed=0, precision=prec)).predict(x)
    assert not np.array_equal(out["float32"], out["bf16"])


@pytest.mark.parametrize("precision", ["float32", "bf16"])
def test_conv2d_training_same_on_one_and_two_threads(threads, precision):
    """A convolution's forward and backward pass give the same bits on one
    and two threads, in bf16 as in float32 (the control)."""
    _two_threads_or_skip()
    rng = np.random.default_rng(24)
    x = rng.standard_normal((128, 4, 16, 16)).astype(np.float32)
    g = rng.standard_normal((128, 8, 14, 14)).astype(np.float32)

    def step():
        m = _conv_only(precision, 4)
        y = np.asarray(m(x)).copy()
        m.zero_grad()
        m.backward(g)
        return (y,) + tuple(gr.copy() for _, gr in m.gradients())

    same_on_one_and_two_threads(step)


# ================================================================ 5. training
def _digits_split():
    X, y = entrena.datasets.load_digits()
    X = (X / 16.0).astype(np.float32)
    idx = np.random.default_rng(0).permutation(len(X))
    tr, te = idx[:1437], idx[1437:]
    return X[tr], y[tr], X[te], y[te]


def _digits_mlp(precision, X, y, epochs=30):
    model = entrena.Sequential([Dense(256, activation="relu"), Dense(128, activation="relu"), Dense(10)],
                               input_shape=(64,), seed=0, precision=precision)
    model.compile(loss="categorical_crossentropy", optimizer=entrena.optimizers.Adam(lr=1e-3),
                  metrics=["accuracy"])
    model.fit(X, y, epochs=epochs, batch_size=32, verbose=0)
    return model


def test_digits_mlp_trains_in_bf16_as_well_as_float32():
    Xtr, ytr, Xte, yte = _digits_split()
    m32 = _digits_mlp("float32", Xtr, ytr)
    m16 = _digits_mlp("bf16", Xtr, ytr)
    acc32 = float(np.mean(m32.predict_classes(Xte) == yte))
    acc16 = float(np.mean(m16.predict_classes(Xte) == yte))
    assert acc16 > 0.97, acc16
    assert acc16 >= acc32 - 0.005, (acc16, acc32)
    assert m16.evaluate(Xte, yte)["accuracy"] == pytest.approx(acc16)
    # Trained differently: the weights are not the float32 run's.
    assert not np.array_equal(m32.parameters()[0], m16.parameters()[0])
    # Parameters stay float32.
    assert all(p.dtype == np.float32 for p in m16.parameters())
    assert m16.precision == "bf16"


def test_digits_mlp_bf16_training_same_on_one_and_two_threads(threads):
    Xtr, ytr, _, _ = _digits_split()

    def train():
        return tuple(p.copy() for p in _digits_mlp("bf16", Xtr, ytr, epochs=3).parameters())

    one = same_on_one_and_two_threads(train)
    f32 = tuple(p.copy() for p in _digits_mlp("float32", Xtr, ytr, epochs=3).parameters())
    assert not np.array_equal(one[0], f32[0])


def test_gradcheck_float64_model_unaffected_by_precision():
    rng = np.random.default_rng(25)
    X = rng.standard_normal((12, 6))
    y = rng.integers(0, 3, size=12)
    m64 = entrena.Sequential([Dense(8, activation="tanh"), Dense(3)], input_shape=(6,), dtype="float64",
                             seed=0)
    assert m64.precision == "float64"
    report = entrena.gradcheck(m64, X, y, loss="categorical_crossentropy")
    assert report and max(report.values()) < 1e-6, report
    # A float32 bf16 model is checked through its float64 twin: passes too,
    # and the model keeps its precision.
    m16 = entrena.Sequential([Dense(8, activation="tanh"), Dense(3)], input_shape=(6,), seed=0,
                             precision="bf16")
    report = entrena.gradcheck(m16, X, y, loss="categorical_crossentropy")
    assert max(report.values()) < 1e-6, report
    assert m16.precision == "bf16"


def test_float64_model_rejects_bf16():
    with pytest.raises(ValueError, match="precision"):
        entrena.Sequential([Dense(3)], input_shape=(4,), dtype="float64", precision="bf16")
    m = entrena.Sequential([Dense(3)], input_shape=(4,), dtype="float64", seed=0)
    for name in ("bf16", "bfloat16", "mixed_bfloat16"):
        with pytest.raises(ValueError, match="precision"):
            m.precision = name
    assert m.precision == "float64"
    m.precision = "float64"
    assert m.precision == "float64"
    # The engine refuses too.
    with pytest.raises(ValueError, match="precision"):
        m._core.bf16 = True
    assert m._core.bf16 is False


# ====================================================================== 6. API
@pytest.mark.parametrize("name,want", [("bf16", "bf16"), ("bfloat16", "bf16"), ("mixed_bfloat16", "bf16"),
                                       ("BF16", "bf16"), ("Mixed_BFloat16", "bf16"), ("float32", "float32")])
def test_precision_aliases(name, want):
    m = entrena.Sequential([Dense(3)], input_shape=(4,), seed=0, precision=name)
    assert m.precision == want
    assert m._core.bf16 is (want == "bf16")
    m2 = entrena.Sequential([Dense(3)], input_shape=(4,), seed=0)
    m2.precision = name
    assert m2.precision == want and m2._core.bf16 is (want == "bf16")


def test_precision_default_is_float32():
    m = entrena.Sequential([Dense(3)], input_shape=(4,), seed=0)
    assert m.precision == "float32"
    assert m._core.bf16 is False


@pytest.mark.parametrize("bad", ["fp16", "float16", "float64", "bf8", "", 3, 16.0, b"bf16"])
def test_bad_precision_names(bad):
    # "float64" is not the precision of a float32 model; None means the model's own.
    with pytest.raises(ValueError, match="precision"):
        entrena.Sequential([Dense(3)], input_shape=(4,), precision=bad)
    m = entrena.Sequential([Dense(3)], input_shape=(4,), seed=0, precision="bf16")
    with pytest.raises(ValueError, match="precision"):
        m.precision = bad
    assert m.precision == "bf16" and m._core.bf16 is True      # unchanged


def test_precision_survives_save_and_load(tmp_path):
    rng = np.random.default_rng(26)
    x = rng.standard_normal((15, 10)).astype(np.float32)
    m = trained(entrena.Sequential([Dense(16, activation="relu"), Dense(4)], input_shape=(10,), seed=0,
                                   precision="bf16"))
    m.compile(loss="mse", optimizer="adam")
    want = m.predict(x)
    path = tmp_path / "m.safetensors"
    m.save(path)
    loaded = entrena.load(path)
    assert loaded.precision == "bf16"
    assert loaded._core.bf16 is True
    np.testing.assert_array_equal(loaded.predict(x), want)
    # Without compile settings too.
    loaded2 = entrena.load(path, compile=False)
    assert loaded2.precision == "bf16"
    # Loaded as float64: the precision does not apply (no error).
    l64 = entrena.load(path, dtype="float64")
    assert l64.precision == "float64"
    # A float32 model saves as float32.
    m.precision = "float32"
    m.save(tmp_path / "f.safetensors")
    l32 = entrena.load(tmp_path / "f.safetensors")
    assert l32.precision == "float32" and l32._core.bf16 is False
    np.testing.assert_array_equal(l32.predict(x), m.predict(x))
    assert not np.array_equal(l32.predict(x), want)


def test_precision_survives_pickle_and_deepcopy():
    rng = np.random.default_rng(27)
    x = rng.standard_normal((15, 10)).astype(np.float32)
    m = trained(entrena.Sequential([Dense(16, activation="relu"), Dense(4)], input_shape=(10,), seed=0,
                                   precision="bf16"))
    want = m.predict(x)
    for other in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        assert other.precision == "bf16" and other._core.bf16 is True
        np.testing.assert_array_equal(other.predict(x), want)
    # An unbuilt model keeps it too, and applies it once built.
    u = entrena.Sequential([Dense(4)], seed=0, precision="bfloat16")
    u2 = pickle.loads(pickle.dumps(u))
    assert not u2.built and u2.precision == "bf16"
    out = np.asarray(u2(x))
    W, b = u2.parameters()
    assert_within(out, r16(x) @ r16(W) + b, 1e-5 + gemm_bound(x, W, False, False, bias=b))
    # float32 pickles as float32.
    m.precision = "float32"
    assert pickle.loads(pickle.dumps(m)).precision == "float32"


def test_cpu_info_reports_bf16():
    info = entrena.cpu_info()
    assert info["bf16_kernel"] == "emulated"
    assert _core.cpu_info()["bf16_kernel"] == "emulated"
    for key in ("amx-tile", "amx-bf16", "avx512bf16"):
        assert key in info["features"]
        assert isinstance(info["features"][key], bool)
