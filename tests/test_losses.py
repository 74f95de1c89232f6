"""Loss kernels against the NumPy reference (value and gradient, both
reductions, float32 and float64), finite-difference checks of every
gradient, extreme inputs, the nn loss classes and the Python losses."""
import json

import numpy as np
import pytest

import entrena
from entrena import _core
from entrena import losses as LS
from entrena.reference import losses as ref

from helpers import assert_same, check_gradient, check_kernel

K = _core.kernels
REDUCTIONS = ["mean", "sum"]


def _data(name, rng, shape=(13, 3)):
    """(pred, target, kwargs) suited to an element-wise loss."""
    pred = rng.normal(0, 2, shape)
    target = rng.normal(0, 2, shape)
    kw = {}
    if name == "huber":
        kw = {"delta": 1.3}
    elif name == "binary_crossentropy":
        pred = rng.uniform(0.02, 0.98, shape)
        target = rng.uniform(0, 1, shape)
        target.flat[::3] = np.round(target.flat[::3])
    elif name == "binary_crossentropy_with_logits":
        target = rng.integers(0, 2, shape).astype(float)
        target.flat[::4] = 0.3
    elif name == "hinge":
        target = rng.choice([-1.0, 1.0], shape)
    return pred, target, kw


ELEMENTWISE = ["mse", "half_mse", "mae", "huber", "binary_crossentropy", "binary_crossentropy_with_logits",
               "hinge"]


def _loss_tol(dtype):
    # Values are summed in double: only the float32 rounding of inputs and
    # per-element terms remains.
    return (2e-6, 1e-6) if np.dtype(dtype) == np.float32 else (1e-12, 1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_value_and_gradient(dtype, rng, name, reduction):
    pred, target, kw = _data(name, rng)
    rtol, atol = _loss_tol(dtype)
    check_kernel(getattr(K, f"{name}_forward"), getattr(ref, f"{name}_forward"), [pred, target],
                 dtype, rtol=rtol, atol=atol, reduction=reduction, **kw)
    check_kernel(getattr(K, f"{name}_backward"), getattr(ref, f"{name}_backward"), [pred, target],
                 dtype, reduction=reduction, **kw)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_finite_differences(rng, name, reduction):
    pred, target, kw = _data(name, rng, (6, 2))
    if name in ("mae", "huber", "hinge"):
        # Stay away from the kinks (|d| = 0, |d| = delta, t·pred = 1).
        d = pred - target if name != "hinge" else 1 - target * pred
        pred = np.where(np.abs(d) < 1e-2, pred + 0.1, pred)
        if name == "huber":
            pred = np.where(np.abs(np.abs(pred - target) - 1.3) < 1e-2, pred + 0.1, pred)
    fwd, bwd = getattr(K, f"{name}_forward"), getattr(K, f"{name}_backward")
    check_gradient(lambda p: fwd(p, target, reduction=reduction, **kw),
                   bwd(pred, target, reduction=reduction, **kw), pred, rtol=1e-6, atol=1e-7,
                   what=f"{name} ({reduction})")


def _ce_targets(kind, rng, n, c):
    if kind == "indices":
        return rng.integers(0, c, n).astype(float)
    p = rng.uniform(0, 1, (n, c)) ** 3
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("kind", ["indices", "probabilities"])
def test_cross_entropy(dtype, rng, kind, smoothing, reduction):
    n, c = 11, 5
    logits = rng.normal(0, 3, (n, c))
    target = _ce_targets(kind, rng, n, c)
    kw = {"label_smoothing": smoothing, "reduction": reduction}
    rtol, atol = _loss_tol(dtype)
    check_kernel(K.categorical_crossentropy_forward, ref.categorical_crossentropy_forward, [logits, target], dtype,
                 rtol=rtol, atol=atol, **kw)
    check_kernel(K.categorical_crossentropy_backward, ref.categorical_crossentropy_backward, [logits, target], dtype, **kw)
    if np.dtype(dtype) == np.float64:
        check_gradient(lambda z: K.categorical_crossentropy_forward(z, target, **kw),
                       K.categorical_crossentropy_backward(logits, target, **kw), logits, rtol=1e-6, atol=1e-7)


def test_label_smoothing_matches_pytorch_definition():
    """Smoothing e with indices equals the probability target (1-e) onehot + e/C."""
    z = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    y = np.array([0.0, 2.0])
    q = np.eye(3)[[0, 2]] * 0.8 + 0.2 / 3
    a = K.categorical_crossentropy_forward(z, y, label_smoothing=0.2)
    b = K.categorical_crossentropy_forward(z, q)
    assert a == pytest.approx(b, rel=1e-14)
    # By hand for row 0: -sum q log softmax.
    ls = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert a == pytest.approx(-(q * ls).sum(axis=1).mean(), rel=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin(dtype, rng, reduction):
    n, c = 9, 4
    z = rng.normal(0, 1, (n, c))
    y = rng.integers(0, c, n).astype(float)
    rtol, atol = _loss_tol(dtype)
    kw = {"margin": 0.8, "reduction": reduction}
    check_kernel(K.multiclass_hinge_forward, ref.multiclass_hinge_forward, [z, y], dtype, rtol=rtol,
                 atol=atol, **kw)
    check_kernel(K.multiclass_hinge_backward, ref.multiclass_hinge_backward, [z, y], dtype, **kw)
    if np.dtype(dtype) == np.float64:
        check_gradient(lambda s: K.multiclass_hinge_forward(s, y, **kw),
                       K.multiclass_hinge_backward(z, y, **kw), z, rtol=1e-6, atol=1e-7)


def test_multi_margin_by_hand():
    # Row scores (1, 0.5, -1), class 0, margin 1: terms max(0, 1-1+0.5)=0.5, max(0, 1-1-1)=0 -> 0.5/3
    v = K.multiclass_hinge_forward(np.array([[1.0, 0.5, -1.0]]), np.array([0.0]))
    assert v == pytest.approx(0.5 / 3)


def test_extreme_logits_give_finite_results(dtype):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]], dtype=dtype)
    y = np.array([1.0, 2.0], dtype=dtype)
    v = K.categorical_crossentropy_forward(z, y)
    g = K.categorical_crossentropy_backward(z, y)
    assert np.isfinite(v) and np.isfinite(g).all()
    assert v == pytest.approx(1000.0, rel=1e-6)   # row 0: 2000, row 1: 0
    q = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]], dtype=dtype)
    assert np.isfinite(K.categorical_crossentropy_forward(z, q, label_smoothing=0.1))
    zl = np.array([-1000.0, 1000.0, -1000.0, 1000.0], dtype=dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    assert K.binary_crossentropy_with_logits_forward(zl, t, reduction="sum") == pytest.approx(2000.0)
    gl = K.binary_crossentropy_with_logits_backward(zl, t)
    assert np.isfinite(gl).all()
    # BCE on probabilities: log clamped at -100, gradient denominator at 1e-12.
    p = np.array([0.0, 1.0, 0.0, 1.0], dtype=dtype)
    assert K.binary_crossentropy_forward(p, np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype), reduction="sum") == 200.0
    assert np.isfinite(K.binary_crossentropy_backward(p, np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype))).all()
    assert np.isfinite(K.multiclass_hinge_forward(z, y))


def test_deterministic_over_thread_counts(rng):
    z = rng.normal(0, 5, (3000, 40)).astype(np.float32)
    y = rng.integers(0, 40, 3000).astype(np.float32)
    old = _core.get_num_threads()
    out = []
    try:
        for nt in (1, 2):
            _core.set_num_threads(nt)
            out.append((K.categorical_crossentropy_forward(z, y, label_smoothing=0.1),
                        K.categorical_crossentropy_backward(z, y, label_smoothing=0.1),
                        K.mse_backward(z, z[::-1].copy())))
    finally:
        _core.set_num_threads(old)
    assert out[0][0] == out[1][0]
    assert np.array_equal(out[0][1], out[1][1]) and np.array_equal(out[0][2], out[1][2])


def test_kernel_bad_input():
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"labels: expected class indices in \[0, 4\)"):
        K.categorical_crossentropy_forward(z, np.array([0.0, 4.0, 1.0]))
    with pytest.raises(ValueError, match="labels: expected class indices"):
        K.multiclass_hinge_backward(z, np.array([0.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="labels: expected class indices"):
        K.categorical_crossentropy_forward(z, np.array([0.0, 1.5, 1.0]))
    with pytest.raises(ValueError, match="target: expected class indices of shape"):
        K.categorical_crossentropy_forward(z, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="label_smoothing"):
        K.categorical_crossentropy_forward(z, np.zeros(3), label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction: expected 'mean' or 'sum'"):
        K.mse_forward(z, z, reduction="max")
    with pytest.raises(ValueError, match="target: expected shape"):
        K.mse_forward(z, np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"prob: expected values in \[0, 1\]"):
        K.binary_crossentropy_forward(z + 2, z)
    with pytest.raises(ValueError, match="target: expected -1 or \\+1"):
        K.hinge_forward(z, z)
    with pytest.raises(ValueError, match="delta: expected a finite number > 0"):
        K.huber_forward(z, z, delta=0.0)


# ------------------------------------------------- engine losses by name
CORE_CASES = [
    ("mse", {}), ("half_mse", {}), ("mae", {}), ("huber", {"delta": 0.7}),
    ("binary_crossentropy", {}), ("binary_crossentropy_with_logits", {}), ("hinge", {}),
]


def _core_loss(name, **options):
    return _core.f64.make_loss(name, json.dumps(options))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", CORE_CASES)
def test_core_losses_by_name(name, kw, reduction, rng):
    """The engine's losses (made by name through the factory) against the
    NumPy reference: one name per loss, in C++, the kernels and the reference."""
    pred, target, _ = _data(name, rng, (8, 2))
    loss = _core_loss(name, reduction=reduction, **kw)
    assert loss.name == name and loss.reduction == reduction
    assert json.loads(loss.config) == {**kw, "reduction": reduction}
    assert loss.forward(pred, target) == pytest.approx(
        getattr(ref, f"{name}_forward")(pred, target, reduction=reduction, **kw), rel=1e-12)
    assert_same(loss.backward(pred, target),
                getattr(ref, f"{name}_backward")(pred, target, reduction=reduction, **kw), np.float64)


def test_loss_names_live_in_the_engine():
    names, aliases = _core.names("loss")
    assert names == ["mse", "half_mse", "mae", "huber", "binary_crossentropy",
                     "binary_crossentropy_with_logits", "hinge", "categorical_crossentropy",
                     "multiclass_hinge"]
    for name in names:   # one Python class per engine loss, with the engine's name
        assert LS.get(name).name == name
        assert hasattr(K, f"{name}_forward") and hasattr(ref, f"{name}_forward")
    for alias, name in aliases.items():
        assert LS.get(alias).name == name
        assert _core.f32.make_loss(alias).name == name


def test_core_class_target_checks():
    with pytest.raises(ValueError, match="expected class indices in"):
        _core_loss("categorical_crossentropy").forward(np.zeros((2, 3)), np.array([0.0, 3.0]))
    with pytest.raises(ValueError, match="targets -1 or \\+1"):
        _core_loss("hinge").forward(np.zeros((2, 1)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        _core_loss("binary_crossentropy_with_logits").forward(np.zeros((2, 1)), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="expected probabilities in \\[0, 1\\]"):
        _core_loss("binary_crossentropy").forward(np.full((2, 1), 1.5), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="targets of shape"):
        _core_loss("mse").forward(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="multiclass_hinge: expected class-index targets"):
        _core_loss("multiclass_hinge").forward(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="reduction: expected one of 'mean', 'sum'"):
        _core_loss("mse", reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        _core_loss("categorical_crossentropy", label_smoothing=-0.1)
    with pytest.raises(ValueError, match="margin"):
        _core_loss("multiclass_hinge", margin=0.0)
    with pytest.raises(ValueError, match="mse: unknown argument 'delta'"):
        _core_loss("mse", delta=1.0)


# ------------------------------------------------------------ Python API
REGISTRY = {
    "mse": LS.MeanSquaredError, "mean_squared_error": LS.MeanSquaredError,
    "half_mse": LS.HalfMeanSquaredError, "half_squared_error": LS.HalfMeanSquaredError,
    "mae": LS.MeanAbsoluteError, "mean_absolute_error": LS.MeanAbsoluteError,
    "huber": LS.Huber, "binary_crossentropy": LS.BinaryCrossentropy, "bce": LS.BinaryCrossentropy,
    "sparse_categorical_crossentropy": LS.CategoricalCrossentropy,
    "binary_crossentropy_with_logits": LS.BinaryCrossentropyWithLogits,
    "bce_with_logits": LS.BinaryCrossentropyWithLogits,
    "categorical_crossentropy": LS.CategoricalCrossentropy, "cross_entropy": LS.CategoricalCrossentropy,
    "hinge": LS.Hinge, "multiclass_hinge": LS.MulticlassHinge, "categorical_hinge": LS.MulticlassHinge,
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registry(name):
    loss = LS.get(name)
    assert type(loss) is REGISTRY[name]
    assert type(loss)(**loss.get_config()).get_config() == loss.get_config()


def test_python_losses_values(rng):
    out = rng.normal(size=(10, 3))
    y_lab = rng.integers(0, 3, 10)
    assert LS.CategoricalCrossentropy(label_smoothing=0.1)(out, y_lab) == pytest.approx(
        ref.categorical_crossentropy_forward(out, y_lab.astype(float), 0.1), rel=1e-6)
    onehot = np.eye(3)[y_lab]
    assert LS.get("cross_entropy")(out, onehot) == pytest.approx(LS.get("cross_entropy")(out, y_lab))
    probs = rng.dirichlet(np.ones(3), 10)
    assert LS.CategoricalCrossentropy(reduction="sum")(out, probs) == pytest.approx(
        ref.categorical_crossentropy_forward(out, probs, reduction="sum"), rel=1e-6)
    y_reg = rng.normal(size=10)
    o1 = rng.normal(size=(10, 1))
    assert LS.Huber(delta=0.5)(o1, y_reg) == pytest.approx(
        ref.huber_forward(o1[:, 0], y_reg, delta=0.5), rel=1e-6)
    # Hinge accepts 0/1 labels as -1/+1.
    y01 = rng.integers(0, 2, 10)
    assert LS.Hinge()(o1, y01) == pytest.approx(LS.Hinge()(o1, 2.0 * y01 - 1), rel=1e-12)
    g = LS.MeanSquaredError(reduction="sum").gradient(o1.astype(np.float64), y_reg)
    assert_same(g, 2 * (o1 - y_reg[:, None]), np.float64)
    assert LS.MulticlassHinge(margin=2.0)(out, onehot) == pytest.approx(
        ref.multiclass_hinge_forward(out, y_lab.astype(float), 2.0), rel=1e-6)


def test_python_loss_errors():
    out = np.zeros((4, 3))
    with pytest.raises(ValueError, match="reduction: expected one of 'mean', 'sum'"):
        LS.MeanSquaredError(reduction="none")
    with pytest.raises(TypeError, match="reduction"):
        LS.MeanSquaredError(reduction=1)
    with pytest.raises(ValueError, match="delta"):
        LS.Huber(delta=-1)
    with pytest.raises(ValueError, match="label_smoothing"):
        LS.CategoricalCrossentropy(label_smoothing=2)
    with pytest.raises(ValueError, match=r"expected integer class labels in \[0, 3\)"):
        LS.CategoricalCrossentropy()(out, [0, 1, 3, 1])
    with pytest.raises(ValueError, match="one-hot or probability rows"):
        LS.CategoricalCrossentropy()(out, np.full((4, 3), 0.9))
    with pytest.raises(ValueError, match=r"expected targets of shape \(n, 3\)"):
        LS.MeanSquaredError()(out, np.zeros(4))
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        LS.BinaryCrossentropy()(np.full((4, 1), 0.5), [0, 1, 2, 1])
    with pytest.raises(ValueError, match="labels -1/\\+1 or 0/1"):
        LS.Hinge()(np.zeros((4, 1)), [0, 1, 2, 1])
    with pytest.raises(ValueError, match="expected probabilities in"):
        LS.BinaryCrossentropy()(np.full((4, 1), 2.0), [0, 1, 1, 1])
    with pytest.raises(ValueError, match="loss: expected one of"):
        LS.get("kl_div")


@pytest.mark.parametrize("loss,head,y_kind", [
    ("mse", None, "reg"), ("half_mse", None, "reg"), ("mae", None, "reg"), ("huber", None, "reg"),
    ("bce", "sigmoid", "bin"), ("bce_with_logits", None, "bin"), ("hinge", None, "bin"),
    ("cross_entropy", None, "cls"), ("multiclass_hinge", None, "cls"),
])
def test_fit_reduces_loss(loss, head, y_kind):
    """Each loss trains a small model through the C++ training loop."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    if y_kind == "reg":
        y, width = X @ np.array([1.0, -2.0, 0.5, 0.0]), 1
    elif y_kind == "bin":
        y, width = (X[:, 0] + X[:, 1] > 0).astype(int), 1
    else:
        y, width = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int), 3
    layers = [entrena.Dense(16, activation="relu", input_dim=4), entrena.Dense(width, activation=head)]
    model = entrena.Sequential(layers, seed=0)
    model.compile(loss=loss, optimizer=entrena.SGD(lr=0.05))
    hist = model.fit(X, y, epochs=15, batch_size=20, verbose=0)
    h = hist.history["loss"]
    assert np.isfinite(h).all() and h[-1] < 0.7 * h[0], h
