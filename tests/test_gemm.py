"""GEMM against the NumPy reference on every ISA variant this CPU runs, in
float32 and float64: every transpose combination, alpha/beta, odd sizes,
leading dimensions, MLP shapes, the fused epilogue (bias per column or per
row, ReLU, a thread cap); determinism across thread counts; bad input."""
import numpy as np
import pytest

from entrena import _core
from entrena.reference import gemm as ref
from helpers import assert_same, check_kernel

K_ = _core.kernels
from helpers import AVAILABLE_ISAS as ISAS
AVAILABLE = ISAS






def tol(dtype, K):
    """(rtol, atol) for a K-term dot product of standard-normal values: the
    float32 rounding error grows with K; the reference is float64."""
    if np.dtype(dtype) == np.float32:
        return 2e-5, 2e-6 * (K + 1)
    return 1e-12, 1e-14 * (K + 1)


def operands(rng, M, N, K, ta, tb):
    A = rng.standard_normal((K, M) if ta else (M, K))
    B = rng.standard_normal((N, K) if tb else (K, N))
    return A, B


SHAPES = [(1, 1, 1), (1, 3, 17), (3, 17, 1), (17, 63, 65), (65, 129, 63), (129, 65, 257),
          (257, 17, 129), (63, 257, 300), (12, 32, 5), (25, 33, 400)]


@pytest.mark.parametrize("ta", [False, True], ids=["AN", "AT"])
@pytest.mark.parametrize("tb", [False, True], ids=["BN", "BT"])
@pytest.mark.parametrize("M,N,K", SHAPES)
def test_gemm_matches_reference(isa, dtype, rng, ta, tb, M, N, K):
    A, B = operands(rng, M, N, K, ta, tb)
    rtol, atol = tol(dtype, K)
    check_kernel(K_.gemm, ref.gemm, [A, B, ta, tb], dtype, rtol=rtol, atol=atol, names=["C"])


@pytest.mark.parametrize("alpha", [1.0, -0.5, 0.0])
@pytest.mark.parametrize("beta", [0.0, 1.0, 0.3])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, True)], ids=["NN", "TT"])
def test_gemm_alpha_beta(isa, dtype, rng, alpha, beta, ta, tb):
    M, N, K = 37, 70, 450  # K > the K block of every variant: C accumulates across blocks
    A, B = operands(rng, M, N, K, ta, tb)
    C = rng.standard_normal((M, N))
    rtol, atol = tol(dtype, K)
    check_kernel(K_.gemm, ref.gemm, [A, B, ta, tb, alpha, beta, C], dtype, rtol=rtol, atol=atol)


@pytest.mark.parametrize("M,N,K", [(5, 7, 3), (100, 200, 150)])
def test_beta_zero_overwrites_nan(isa, dtype, rng, M, N, K):
    A, B = (a.astype(dtype) for a in operands(rng, M, N, K, False, False))
    out = np.full((M, N), np.nan, dtype=dtype)
    got = K_.gemm(A, B, out=out)
    assert got is out or np.shares_memory(got, out)
    assert np.isfinite(out).all()
    assert_same(out, ref.gemm(A.astype(np.float64), B.astype(np.float64)), dtype,
                rtol=tol(dtype, K)[0], atol=tol(dtype, K)[1])


@pytest.mark.parametrize("ta", [False, True], ids=["AN", "AT"])
@pytest.mark.parametrize("tb", [False, True], ids=["BN", "BT"])
@pytest.mark.parametrize("M,N,K", [(19, 45, 33), (150, 70, 300)])
def test_leading_dimensions(isa, dtype, rng, ta, tb, M, N, K):
    # A, B and C are views into wider arrays: lda, ldb, ldc exceed the widths.
    A, B = operands(rng, M, N, K, ta, tb)
    bigA = rng.standard_normal((A.shape[0], A.shape[1] + 5)).astype(dtype)
    bigB = rng.standard_normal((B.shape[0], B.shape[1] + 11)).astype(dtype)
    bigC = rng.standard_normal((M, N + 3)).astype(dtype)
    bigA[:, :A.shape[1]] = A
    bigB[:, :B.shape[1]] = B
    Av, Bv, Cv = bigA[:, :A.shape[1]], bigB[:, :B.shape[1]], bigC[:, :N]
    C0 = Cv.astype(np.float64)
    pad = bigC[:, N:].copy()
    K_.gemm(Av, Bv, ta, tb, 0.5, 2.0, out=Cv)
    want = ref.gemm(Av.astype(np.float64), Bv.astype(np.float64), ta, tb, 0.5, 2.0, C0)
    rtol, atol = tol(dtype, K)
    assert_same(Cv, want, dtype, rtol=rtol, atol=atol)
    assert np.array_equal(bigC[:, N:], pad), "gemm wrote outside C"


@pytest.mark.parametrize("M", [1, 2, 5, 16, 31, 32, 64, 100, 128, 256, 512])
@pytest.mark.parametrize("K,N", [(784, 256), (256, 128), (64, 64), (128, 10)])
def test_mlp_shapes(isa, dtype, rng, M, K, N):
    A, B = operands(rng, M, N, K, False, False)
    rtol, atol = tol(dtype, K)
    check_kernel(K_.gemm, ref.gemm, [A, B], dtype, rtol=rtol, atol=atol)


@pytest.mark.parametrize("ta", [False, True], ids=["AN", "AT"])
def test_packing_does_not_change_the_bits(isa, dtype, rng, ta):
    """Rows 4 KiB apart make GEMM pack the operand it reads in place when
    the same rows are padded apart (they would share L1 sets): the same
    products in the same order, so the same bits."""
    w = 4096 // np.dtype(dtype).itemsize          # 4 KiB rows
    M, N, K = (w, 200, 64) if ta else (100, w, 64)
    A, B = (a.astype(dtype) for a in operands(rng, M, N, K, ta, False))
    aliased = K_.gemm(A, B, ta, False)
    bigA = np.zeros((A.shape[0], A.shape[1] + 7), dtype)
    bigB = np.zeros((B.shape[0], B.shape[1] + 7), dtype)
    bigA[:, :A.shape[1]], bigB[:, :B.shape[1]] = A, B
    padded = K_.gemm(bigA[:, :A.shape[1]], bigB[:, :B.shape[1]], ta, False)
    assert np.array_equal(aliased, padded)
    rtol, atol = tol(dtype, K)
    assert_same(aliased, ref.gemm(A.astype(np.float64), B.astype(np.float64), ta, False), dtype,
                rtol=rtol, atol=atol)


def test_large(isa, dtype, rng):
    A, B = operands(rng, 300, 300, 300, False, False)
    rtol, atol = tol(dtype, 300)
    check_kernel(K_.gemm, ref.gemm, [A, B], dtype, rtol=rtol, atol=atol)


def test_empty_and_k_zero(isa, dtype):
    assert K_.gemm(np.zeros((0, 4), dtype), np.zeros((4, 3), dtype)).shape == (0, 3)
    C = np.arange(6, dtype=dtype).reshape(2, 3)
    got = K_.gemm(np.zeros((2, 0), dtype), np.zeros((0, 3), dtype), beta=2.0, C=C)
    assert np.array_equal(got, 2 * C)
    got = K_.gemm(np.zeros((2, 0), dtype), np.zeros((0, 3), dtype))
    assert np.array_equal(got, np.zeros((2, 3), dtype))


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True)],
                         ids=["NN", "TN", "NT"])
@pytest.mark.parametrize("M,N,K", [(300, 300, 300), (128, 256, 784), (512, 64, 128),
                                   (33, 1000, 70), (1000, 33, 70)])
def test_same_bits_for_any_thread_count(isa, dtype, rng, threads, ta, tb, M, N, K):
    A, B = (a.astype(dtype) for a in operands(rng, M, N, K, ta, tb))
    C = rng.standard_normal((M, N)).astype(dtype)
    results = []
    for n in (1, 2, 3):
        _core.set_num_threads(n)
        results.append(K_.gemm(A, B, ta, tb, 1.5, 0.5, C))
    assert np.array_equal(results[0], results[1])
    assert np.array_equal(results[0], results[2])


# ------------------------------------------------------- fused epilogue
@pytest.mark.parametrize("bias_rows", [False, True], ids=["colbias", "rowbias"])
@pytest.mark.parametrize("relu", [False, True], ids=["linear", "relu"])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)],
                         ids=["NN", "TN", "NT", "TT"])
@pytest.mark.parametrize("M,N,K", [(1, 1, 1), (7, 3, 5), (6, 33, 27), (13, 70, 300), (64, 256, 288),
                                   (150, 40, 600)])
def test_gemm_fused_bias_and_relu(isa, dtype, rng, bias_rows, relu, ta, tb, M, N, K):
    # The bias per column (dense layers) or per row (convolutions), then ReLU,
    # applied in the epilogue of every tile shape (full, partial rows and
    # columns, wide tiles) and after a K that spans several K blocks.
    A, B = operands(rng, M, N, K, ta, tb)
    bias = rng.standard_normal(M if bias_rows else N)
    rtol, atol = tol(dtype, K)
    check_kernel(K_.gemm_fused, ref.gemm_fused, [A, B, bias, bias_rows, relu, ta, tb], dtype,
                 rtol=rtol, atol=atol, names=["C"])


@pytest.mark.parametrize("bias_rows", [False, True], ids=["colbias", "rowbias"])
def test_gemm_fused_alpha_beta_and_k_zero(isa, dtype, rng, bias_rows):
    M, N, K = 37, 70, 450
    A, B = operands(rng, M, N, K, False, False)
    C = rng.standard_normal((M, N))
    bias = rng.standard_normal(M if bias_rows else N)
    rtol, atol = tol(dtype, K)
    check_kernel(K_.gemm_fused, ref.gemm_fused, [A, B, bias, bias_rows, True, False, False, -0.5, 0.3, C],
                 dtype, rtol=rtol, atol=atol)
    # K == 0: only act(beta*C + bias).
    Z = np.zeros((M, 0)), np.zeros((0, N))
    check_kernel(K_.gemm_fused, ref.gemm_fused, [*Z, bias, bias_rows, False, False, False, 1.0, 2.0, C],
                 dtype)


@pytest.mark.parametrize("M,N,K", [(64, 1024, 27), (300, 300, 300), (33, 1000, 70)])
def test_gemm_fused_same_bits_for_any_thread_count_and_cap(isa, dtype, rng, threads, M, N, K):
    A, B = (a.astype(dtype) for a in operands(rng, M, N, K, False, False))
    bias = rng.standard_normal(M).astype(dtype)
    results = []
    for n, cap in ((1, 0), (2, 0), (2, 1), (3, 2)):
        _core.set_num_threads(n)
        results.append(K_.gemm_fused(A, B, bias, True, True, max_threads=cap))
    for r in results[1:]:
        assert np.array_equal(results[0], r)


def test_gemm_fused_bad_input_raises():
    a, b = np.ones((3, 4)), np.ones((4, 2))
    with pytest.raises(ValueError, match=r"bias: expected shape \(3,\) \(one per row of C\), got \(2,\)"):
        K_.gemm_fused(a, b, np.ones(2), bias_rows=True)
    with pytest.raises(ValueError, match=r"bias: expected shape \(2,\) \(one per column of C\), got \(3,\)"):
        K_.gemm_fused(a, b, np.ones(3))
    with pytest.raises(ValueError, match="max_threads: expected an integer >= 0, got -1"):
        K_.gemm_fused(a, b, max_threads=-1)


def test_bad_input_raises():
    a = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="B: expected op\\(B\\) with 4 rows"):
        K_.gemm(a, np.ones((5, 2), np.float32))
    with pytest.raises(ValueError, match="A: expected a 2-D array, got 1-D"):
        K_.gemm(np.ones(4, np.float32), np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="B: expected a 2-D array, got 3-D"):
        K_.gemm(a, np.ones((4, 2, 1), np.float32))
    with pytest.raises(ValueError, match=r"C: expected shape \(3, 2\), got \(2, 3\)"):
        K_.gemm(a, np.ones((4, 2), np.float32), beta=1.0, C=np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="C: required when beta != 0"):
        K_.gemm(a, np.ones((4, 2), np.float32), beta=1.0)
    with pytest.raises(ValueError, match="A: expected contiguous rows"):
        K_.gemm(np.ones((3, 8), np.float32)[:, ::2], np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"out: expected shape \(3, 2\)"):
        K_.gemm(a, np.ones((4, 2), np.float32), out=np.ones((3, 3), np.float32))
    with pytest.raises(TypeError):  # not numbers: matches no overload
        K_.gemm(a, np.array([["x", "y"]] * 4))


def test_isa_selection():
    before = _core.get_isa()
    with pytest.raises(ValueError, match="isa: expected one of generic, avx2, avx512; got 'sse9'"):
        _core.set_isa("sse9")
    assert _core.get_isa() == before
    for name in AVAILABLE:
        _core.set_isa(name)
        assert _core.get_isa() == name == _core.cpu_info()["isa"]
    _core.set_isa(before)


def test_cpu_info_reports_features_and_threads():
    info = _core.cpu_info()
    for key in ("model", "features", "isa", "best_isa", "openmp", "threads", "hardware_threads"):
        assert key in info, key
    assert isinstance(info["model"], str) and info["model"]
    assert info["best_isa"] in ISAS and info["isa"] in AVAILABLE
    feats = info["features"]
    if info["best_isa"] == "avx512":
        assert all(feats[f] for f in ("avx512f", "avx512dq", "avx512bw", "avx512vl", "avx2", "fma"))
    if info["best_isa"] in ("avx2", "avx512"):
        assert feats["avx2"] and feats["fma"]
    assert info["threads"] >= 1 and info["hardware_threads"] >= 1


def test_fma_peak_runs_on_every_isa():
    for name in AVAILABLE:
        g = K_.fma_peak_gflops(0.01, name)
        assert np.isfinite(g) and g > 0
    with pytest.raises(ValueError, match="threads: expected >= 1, got 0"):
        K_.fma_peak_gflops(0.01, AVAILABLE[0], 0)
