"""Activation kernels against the NumPy reference (float32 and float64, on
every ISA path), finite-difference checks of every backward, saturation and
special values, thread-count determinism, and the activation layers through
the model and the Python API."""
import numpy as np
import pytest

import entrena
from entrena import _core
from entrena import layers as L
from entrena.reference import activations as ref

from helpers import assert_same, check_gradient, check_kernel

K = _core.kernels
from helpers import AVAILABLE_ISAS as ISAS




# name -> (kwargs, backward takes "x" or "y")
ELEMENTWISE = {
    "identity": ({}, None),
    "sigmoid": ({}, "y"),
    "tanh": ({}, "y"),
    "relu": ({}, "x"),
    "leaky_relu": ({"alpha": 0.2}, "x"),
    "elu": ({"alpha": 1.5}, "x"),
    "gelu": ({}, "x"),
    "gelu_tanh": ({}, "x"),
    "silu": ({}, "x"),
    "softplus": ({}, "x"),
}
ROWWISE = ("softmax", "log_softmax")


def _inputs(rng, shape=(37, 19)):
    """Odd sizes (partial vectors), a wide spread of values, both signs."""
    x = rng.normal(0, 3, shape)
    x.flat[::7] *= 8          # some large magnitudes (saturation regions)
    x.flat[::11] *= 1e-3      # some tiny ones
    return x


def _kernel(name, direction):
    return getattr(K, f"{name}_{direction}"), getattr(ref, f"{name}_{direction}")


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_forward_backward(isa, dtype, rng, name):
    kw, arg = ELEMENTWISE[name]
    x = _inputs(rng)
    dy = rng.normal(size=x.shape)
    fwd, rfwd = _kernel(name, "forward")
    (y,) = check_kernel(fwd, rfwd, [x], dtype, **kw)
    bwd, rbwd = _kernel(name, "backward")
    if arg is None:
        check_kernel(bwd, rbwd, [dy], dtype)
    else:
        a = x if arg == "x" else y.astype(np.float64)
        check_kernel(bwd, rbwd, [a.astype(dtype), dy], dtype, **kw)


@pytest.mark.parametrize("n", [0, 1, 3, 15, 16, 17, 4095, 4097, 70_001])
def test_elementwise_sizes(isa, n, rng):
    """Every length, including the tail of a vector and of a parallel block."""
    x = rng.normal(0, 4, n)
    for name in ("sigmoid", "gelu", "softplus", "relu"):
        fwd, rfwd = _kernel(name, "forward")
        check_kernel(fwd, rfwd, [x], np.float32)


@pytest.mark.parametrize("name", sorted(ROWWISE))
@pytest.mark.parametrize("shape", [(5, 1), (7, 3), (33, 10), (4, 65), (2, 1000)])
def test_rowwise_forward_backward(isa, dtype, rng, name, shape):
    x = _inputs(rng, shape)
    dy = rng.normal(size=shape)
    fwd, rfwd = _kernel(name, "forward")
    (y,) = check_kernel(fwd, rfwd, [x], dtype)
    bwd, rbwd = _kernel(name, "backward")
    check_kernel(bwd, rbwd, [y.astype(dtype), dy], dtype)


def _fd_check(name, x, kw, arg):
    """Finite differences of sum(forward(x) * w) against backward(., w)."""
    w = np.random.default_rng(7).normal(size=x.shape)
    fwd = getattr(K, f"{name}_forward")
    bwd = getattr(K, f"{name}_backward")
    y = fwd(x, **kw)
    if arg is None:
        analytic = bwd(w)
    else:
        analytic = bwd(x if arg == "x" else y, w, **kw)
    check_gradient(lambda v: float((fwd(v, **kw) * w).sum()), analytic, x, rtol=1e-6, atol=1e-8,
                   what=f"{name} gradient")


@pytest.mark.parametrize("name", sorted(ELEMENTWISE) + list(ROWWISE))
def test_gradient_finite_differences(isa, name):
    rng = np.random.default_rng(3)
    x = rng.uniform(-4, 4, (6, 5))
    # Keep clear of the kinks of relu / leaky_relu / elu at 0 and of softplus' threshold.
    x = np.where(np.abs(x) < 1e-3, 0.5, x)
    if name == "softplus":
        x[0, :2] = [25.0, -30.0]
    kw, arg = ELEMENTWISE.get(name, ({}, "y"))
    _fd_check(name, x, kw, arg)


def test_saturation_and_special_values(isa, dtype):
    inf, nan = np.inf, np.nan
    a = lambda v: np.array(v, dtype=dtype)
    assert (K.sigmoid_forward(a([-1000, 1000, -inf, inf])) == [0, 1, 0, 1]).all()
    assert (K.tanh_forward(a([-inf, inf, -1e30, 1e30])) == [-1, 1, -1, 1]).all()
    sp = K.softplus_forward(a([1e30, -1000, -inf, inf]))
    assert sp[0] == dtype(1e30) and sp[1] == 0 and sp[2] == 0 and sp[3] == inf
    assert (K.elu_forward(a([-inf]), alpha=2.0) == [-2.0]).all()
    assert (K.silu_forward(a([-inf, inf])) == [0, inf]).all()
    assert (K.gelu_forward(a([-inf, inf])) == [0, inf]).all()
    assert (K.gelu_tanh_forward(a([-inf, inf])) == [0, inf]).all()
    big = a([-1000.0, 1000.0, -1e30, 1e30])
    for name in ELEMENTWISE:
        kw, arg = ELEMENTWISE[name]
        if name == "identity":
            continue
        y = getattr(K, f"{name}_forward")(big, **kw)
        assert np.isfinite(y).all() or name in ("relu", "leaky_relu"), name
        inp = big if arg == "x" else y
        g = getattr(K, f"{name}_backward")(inp, np.ones_like(big), **kw)
        assert np.isfinite(g).all(), f"{name} backward at +-1000/1e30: {g}"
        # NaN in -> NaN out (relu's backward gives 0 there, like PyTorch's mask).
        assert np.isnan(getattr(K, f"{name}_forward")(a([nan]), **kw)).all(), name
    # Softmax rows with extreme logits stay finite and normalised.
    z = a([[1000, -1000, 0], [-1000, -1000, -1000], [1e30, 0, -1e30]])
    s = K.softmax_forward(z)
    assert np.isfinite(s).all() and np.allclose(s.sum(axis=1), 1)
    ls = K.log_softmax_forward(z)
    assert np.isfinite(ls[:2]).all() and ls[0, 0] == 0 and ls[0, 1] == dtype(-2000)


def test_denormal_inputs_and_outputs(isa):
    tiny = np.finfo(np.float32).smallest_subnormal
    x = np.array([tiny, -tiny, 1e-40, -1e-40], dtype=np.float32)
    np.testing.assert_array_equal(K.tanh_forward(x), x)
    np.testing.assert_array_equal(K.leaky_relu_forward(x, alpha=1.0), x)
    # sigmoid(-100) is a float32 denormal: not flushed to zero.
    s = K.sigmoid_forward(np.array([-100.0], dtype=np.float32))[0]
    assert 0 < s < np.finfo(np.float32).tiny


def test_results_do_not_depend_on_thread_count(isa):
    x = np.random.default_rng(5).normal(0, 5, (1200, 301)).astype(np.float32)
    dy = np.ones_like(x)
    old = _core.get_num_threads()
    runs = []
    try:
        for nt in (1, 2, 3):
            _core.set_num_threads(nt)
            runs.append([K.gelu_forward(x), K.gelu_backward(x, dy), K.softmax_forward(x),
                         K.log_softmax_backward(K.log_softmax_forward(x), dy)])
    finally:
        _core.set_num_threads(old)
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert np.array_equal(a.view(np.uint32), b.view(np.uint32))


def test_kernel_bad_input():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="dy: expected shape"):
        K.relu_backward(x, np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="x: expected a 2-D array"):
        K.softmax_forward(np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="alpha: expected a finite number"):
        K.leaky_relu_forward(x, alpha=float("nan"))
    with pytest.raises(TypeError):
        K.sigmoid_forward("not an array")


# ------------------------------------------------------------ layers / API
LAYER_CASES = [
    (L.Activation("identity"), "identity_forward", {}),
    (L.Activation("linear"), "identity_forward", {}),
    (L.Sigmoid(), "sigmoid_forward", {}),
    (L.Tanh(), "tanh_forward", {}),
    (L.ReLU(), "relu_forward", {}),
    (L.LeakyReLU(0.3), "leaky_relu_forward", {"alpha": 0.3}),
    (L.Activation("leaky_relu"), "leaky_relu_forward", {"alpha": 0.01}),
    (L.ELU(0.7), "elu_forward", {"alpha": 0.7}),
    (L.Activation("elu", alpha=2.0), "elu_forward", {"alpha": 2.0}),
    (L.GELU(), "gelu_forward", {}),
    (L.GELU(approximate="tanh"), "gelu_tanh_forward", {}),
    (L.SiLU(), "silu_forward", {}),
    (L.Swish(), "silu_forward", {}),
    (L.Activation("swish"), "silu_forward", {}),
    (L.Softplus(), "softplus_forward", {}),
    (L.Softmax(), "softmax_forward", {}),
    (L.LogSoftmax(), "log_softmax_forward", {}),
]


def _fresh(layer):
    """A new layer with the same configuration (a layer belongs to one model)."""
    return type(layer)(**layer.get_config())


@pytest.mark.parametrize("case", range(len(LAYER_CASES)), ids=[c[1] for c in LAYER_CASES])
def test_layer_forward_and_backward_through_model(case):
    """Dense -> activation layer in float64: the output matches the reference
    and the Dense weight gradient (through the activation layer's backward)
    matches finite differences."""
    layer, fn, kw = LAYER_CASES[case]
    rng = np.random.default_rng(11)
    x = rng.normal(size=(5, 3))
    model = entrena.Sequential([L.Dense(4, input_dim=3), _fresh(layer)], dtype="float64", seed=1)
    out = np.asarray(model(x))
    W, b = model.parameters()
    want = getattr(ref, fn)(x @ W + b, **kw)
    assert_same(out, want, np.float64, rtol=1e-12, atol=1e-13, what=fn)

    w = rng.normal(size=out.shape)
    model.zero_grad()
    model(x)
    model.backward(w)
    gW = np.array(model.gradients()[0][1])
    W0 = np.array(W)

    def f(v):
        W[...] = v
        try:
            return float((np.asarray(model(x)) * w).sum())
        finally:
            W[...] = W0

    check_gradient(f, gW, W0, rtol=1e-6, atol=1e-8, what=f"{fn} layer gradient")


_NAMES, _ALIASES = entrena._core.names("activation")


@pytest.mark.parametrize("name", _NAMES + sorted(_ALIASES))
def test_dense_activation_names(name, rng):
    """Dense(units, activation=name) applies the named activation (fused or not)."""
    x = rng.normal(size=(6, 4))
    model = entrena.Sequential([L.Dense(5, activation=name, input_dim=4)], dtype="float64", seed=2)
    out = np.asarray(model(x))
    W, b = model.parameters()
    canon = {"linear": "identity", "swish": "silu"}.get(name, name)
    want = getattr(ref, f"{canon}_forward")(x @ W + b)
    assert_same(out, want, np.float64, rtol=1e-12, atol=1e-13, what=name)


def test_softmax_layer_works_on_last_dimension(rng):
    x = rng.normal(size=(4, 3, 6))
    model = entrena.Sequential([L.Softmax()], dtype="float64", seed=0)
    out = np.asarray(model(x))
    assert out.shape == (4, 3, 6)
    assert_same(out, ref.softmax_forward(x.reshape(-1, 6)).reshape(x.shape), np.float64)


def test_training_with_new_activations_reduces_loss():
    """A small regression net with GELU/Tanh/ELU trains (the backward is wired)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (256, 2))
    y = np.sin(X[:, 0]) * np.cos(X[:, 1])
    model = entrena.Sequential([L.Dense(16, input_dim=2), L.GELU(), L.Dense(16, activation="tanh"),
                                L.ELU(), L.Dense(1)], seed=0)
    model.compile(loss="mse", optimizer=entrena.SGD(lr=0.1))
    hist = model.fit(X, y, epochs=30, batch_size=32, verbose=0)
    losses = hist.history["loss"] if hasattr(hist, "history") else hist["loss"]
    assert losses[-1] < 0.5 * losses[0]


def test_activation_api_errors():
    with pytest.raises(ValueError, match="activation: expected one of"):
        L.Activation("relu6")
    with pytest.raises(ValueError, match="activation: expected one of"):
        L.Dense(3, activation="nope")
    with pytest.raises(TypeError, match="activation: expected an activation name"):
        L.Activation(3)
    with pytest.raises(ValueError, match="alpha: only"):
        L.Activation("relu", alpha=0.1)
    with pytest.raises(ValueError, match="alpha: expected a finite number"):
        L.LeakyReLU(float("inf"))
    with pytest.raises(TypeError, match="alpha"):
        L.ELU("big")
    with pytest.raises(ValueError, match="approximate: expected 'none' or 'tanh'"):
        L.GELU(approximate="erf")
    # The engine checks configs from any source (here, as a model file would give them).
    m = _core.f32.Sequential(0)
    with pytest.raises(ValueError, match="activation: expected one of"):
        m.add('{"type": "Activation", "activation": "bogus"}')
    with pytest.raises(ValueError, match="alpha: only leaky_relu and elu"):
        m.add('{"type": "Activation", "activation": "tanh", "alpha": 0.5}')
    with pytest.raises(TypeError, match="alpha: expected a number"):
        m.add('{"type": "Activation", "activation": "elu", "alpha": "big"}')
    with pytest.raises(ValueError, match="Activation: unknown argument 'beta'"):
        m.add('{"type": "Activation", "activation": "elu", "beta": 1}')


def test_layer_configs():
    assert L.LeakyReLU(0.2).get_config() == {"alpha": 0.2}
    assert L.ELU().get_config() == {"alpha": 1.0}
    assert L.GELU("tanh").get_config() == {"approximate": "tanh"}
    assert L.Activation("leaky_relu").get_config() == {"activation": "leaky_relu", "alpha": 0.01}
    assert L.Activation("swish").activation == "silu"
    assert entrena.Swish is entrena.SiLU
    for cls in (L.Sigmoid, L.Tanh, L.SiLU, L.Softplus, L.Softmax, L.LogSoftmax):
        assert cls().get_config() == {}
