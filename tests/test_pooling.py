"""Pooling (MaxPool1D/2D, AvgPool1D/2D, the global poolings), ZeroPadding2D
and Reshape: the kernels against the NumPy reference (float32 and float64,
every ISA path, one and two threads bitwise), finite differences of every
backward (overlapping windows, "valid" and "same"), PyTorch on random
shapes, and the layers inside models (configs, shapes, gradcheck, errors)."""
import numpy as np
import pytest

import entrena
from entrena import _core
from entrena import layers as L
from entrena.reference import pooling as ref

from helpers import assert_same, check_gradient, same_on_one_and_two_threads

K = _core.kernels

# (input shape, pool_size, strides, padding)
POOL_CASES = [
    ((2, 3, 9), (3,), None, "valid"),
    ((2, 3, 9), (3,), (1,), "same"),            # overlapping windows
    ((2, 3, 10), (4,), (3,), "same"),
    ((1, 1, 1), (1,), None, "valid"),
    ((2, 3, 7, 6), (2, 2), None, "valid"),      # the last row is left out
    ((2, 3, 7, 6), (3, 2), (1, 2), "same"),
    ((2, 2, 5, 8), (3, 3), (2, 1), "same"),
    ((2, 2, 5, 5), (5, 5), (1, 1), "same"),     # windows that are mostly padding
    ((2, 2, 4, 9), (2, 4), (3, 1), "valid"),    # strides > pool_size on one axis
    ((8, 16, 32, 32), (2, 2), None, "valid"),   # large enough for two threads
    ((8, 16, 33, 31), (3, 3), (2, 2), "same"),  # overlapping, two threads
]
SMALL_CASES = [c for c in POOL_CASES if np.prod(c[0]) < 2000]


def _id(case):
    shape, pool, strides, padding = case
    sizes = lambda t: "x".join(map(str, t)) if t else "None"   # noqa: E731
    return f"{sizes(shape)}-p{sizes(pool)}-s{sizes(strides)}-{padding}"


@pytest.mark.parametrize("case", POOL_CASES, ids=_id)
def test_pool_kernels_match_reference(isa, dtype, rng, case):
    shape, pool, strides, padding = case
    x = rng.normal(size=shape).astype(dtype)
    x64 = x.astype(np.float64)
    geo = (pool, strides, padding)
    for mode in ("max", "avg"):
        fwd, bwd = getattr(K, f"{mode}_pool_forward"), getattr(K, f"{mode}_pool_backward")
        y = same_on_one_and_two_threads(fwd, x, *geo)
        assert_same(y, getattr(ref, f"{mode}_pool_forward")(x64, *geo), dtype, what=f"{mode} forward")
        dy = rng.normal(size=y.shape).astype(dtype)
        if mode == "max":
            dx = same_on_one_and_two_threads(bwd, x, dy, *geo)
            want = ref.max_pool_backward(x64, dy.astype(np.float64), *geo)
            # The training path (indices kept by the forward pass): the same bits.
            np.testing.assert_array_equal(same_on_one_and_two_threads(bwd, x, dy, *geo, via_indices=True), dx)
        else:
            dx = same_on_one_and_two_threads(bwd, dy, shape, *geo)
            want = ref.avg_pool_backward(dy.astype(np.float64), shape, *geo)
        assert_same(dx, want, dtype, what=f"{mode} backward")


def test_max_pool_ties_go_to_the_first_maximum(dtype, rng):
    x = rng.integers(-2, 3, size=(3, 2, 6, 7)).astype(dtype)     # many ties
    for geo in (((2, 2), None, "valid"), ((3, 3), (1, 1), "same"), ((2, 3), (1, 2), "same")):
        y = K.max_pool_forward(x, *geo)
        dy = rng.normal(size=y.shape).astype(dtype)
        assert_same(K.max_pool_backward(x, dy, *geo), ref.max_pool_backward(x.astype(np.float64), dy, *geo), dtype)
        np.testing.assert_array_equal(K.max_pool_backward(x, dy, *geo, via_indices=True),
                                      K.max_pool_backward(x, dy, *geo))
    # Window (0, 0) holds [[1, 3], [3, 1]]: the 3 of the first row wins.
    x = np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 1.0, 2.0, 2.0]]]], dtype=dtype)
    dx = K.max_pool_backward(x, np.ones((1, 1, 1, 3), dtype), (2, 2), (1, 1))
    np.testing.assert_array_equal(dx, [[[[0, 2, 1, 0], [0, 0, 0, 0]]]])


def test_max_pool_nan_wins(dtype):
    x = np.array([[[1.0, np.nan, 3.0, 2.0]]], dtype=dtype)
    np.testing.assert_array_equal(K.max_pool_forward(x, (2,)), np.array([[[np.nan, 3.0]]], dtype))
    # The gradient goes to the NaN (the first one when there are several).
    x = np.array([[[1.0, np.nan, np.nan, 2.0, 5.0, 1.0]]], dtype=dtype)
    for kw in ({}, {"via_indices": True}):
        for geo in (((3,), None, "valid"), ((3,), (2,), "same")):
            dy = np.arange(1, 1 + K.max_pool_forward(x, *geo).shape[-1], dtype=dtype).reshape(1, 1, -1)
            want = ref.max_pool_backward(x.astype(np.float64), dy.astype(np.float64), *geo)
            np.testing.assert_array_equal(K.max_pool_backward(x, dy, *geo, **kw), want)


@pytest.mark.parametrize("case", SMALL_CASES, ids=_id)
def test_pool_backward_matches_finite_differences(rng, case):
    shape, pool, strides, padding = case
    x = rng.normal(size=shape)
    geo = (pool, strides, padding)
    w = rng.normal(size=K.max_pool_forward(x, *geo).shape)
    check_gradient(lambda v: (K.max_pool_forward(v, *geo) * w).sum(), K.max_pool_backward(x, w, *geo), x)
    check_gradient(lambda v: (K.avg_pool_forward(v, *geo) * w).sum(), K.avg_pool_backward(w, shape, *geo), x)


def test_zero_padding_kernels(isa, dtype, rng):
    x = rng.normal(size=(6, 8, 30, 40)).astype(dtype)
    for pad in (((1, 1), (1, 1)), ((0, 2), (3, 0)), ((0, 0), (0, 0))):
        y = same_on_one_and_two_threads(K.zero_padding2d_forward, x, pad)
        assert_same(y, ref.zero_padding2d_forward(x.astype(np.float64), pad), dtype)
        dy = rng.normal(size=y.shape).astype(dtype)
        assert_same(same_on_one_and_two_threads(K.zero_padding2d_backward, dy, pad),
                    ref.zero_padding2d_backward(dy.astype(np.float64), pad), dtype)


def test_kernel_bad_input():
    with pytest.raises(ValueError, match=r"x: expected a 3-D \(n, C, L\) or 4-D"):
        K.max_pool_forward(np.zeros((2, 3)), (2,))
    with pytest.raises(ValueError, match="pool_size, strides: expected 2 sizes each"):
        K.avg_pool_forward(np.zeros((1, 1, 4, 4)), (2,))
    with pytest.raises(ValueError, match="padding: expected one of 'valid', 'same'; got 'full'"):
        K.max_pool_forward(np.zeros((1, 1, 4)), (2,), None, "full")
    with pytest.raises(ValueError, match=r"dy: expected shape \(1, 1, 2\)"):
        K.max_pool_backward(np.zeros((1, 1, 4)), np.zeros((1, 1, 3)), (2,))


# ------------------------------------------------------------ PyTorch
def _torch_pool(torch, mode, x, pool, strides, padding):
    """PyTorch's pooling with Keras' "same": explicit padding, with -inf
    for a max and, for an average, divided by the count of real positions."""
    F = torch.nn.functional
    spatial = x.shape[2:]
    pads = []
    for L_, k, s in reversed(list(zip(spatial, pool, strides))):
        out, before = ref.window_axis(L_, k, s, padding)
        total = max((out - 1) * s + k - L_, 0) if padding == "same" else 0
        pads += [before, total - before]
    pool_fn = getattr(F, f"{mode}_pool{len(spatial)}d")
    if mode == "max":
        return pool_fn(F.pad(x, pads, value=-float("inf")), pool, strides)
    ones = torch.ones_like(x)
    return pool_fn(F.pad(x, pads), pool, strides) / pool_fn(F.pad(ones, pads), pool, strides)


def test_pooling_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    for trial in range(24):
        d = 1 + trial % 2
        spatial = tuple(int(v) for v in rng.integers(3, 12, d))
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 5)), *spatial)
        pool = tuple(int(rng.integers(1, min(s, 4) + 1)) for s in spatial)
        strides = tuple(int(rng.integers(1, k + 2)) for k in pool)
        padding = ("valid", "same")[trial // 2 % 2]
        x = rng.normal(size=shape)
        for mode in ("max", "avg"):
            tx = torch.tensor(x, requires_grad=True)
            ty = _torch_pool(torch, mode, tx, pool, strides, padding)
            y = getattr(K, f"{mode}_pool_forward")(x, pool, strides, padding)
            what = f"{mode} {shape} pool {pool} strides {strides} {padding}"
            np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=what)
            dy = rng.normal(size=y.shape)
            ty.backward(torch.tensor(dy))
            dx = (K.max_pool_backward(x, dy, pool, strides, padding) if mode == "max"
                  else K.avg_pool_backward(dy, shape, pool, strides, padding))
            np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-14, err_msg=what)


def test_max_pool_ties_and_global_pooling_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(8)
    x = rng.integers(-2, 3, size=(2, 3, 6, 5)).astype(np.float64)
    tx = torch.tensor(x, requires_grad=True)
    ty = F.max_pool2d(tx, (3, 2), (1, 1))
    dy = rng.normal(size=tuple(ty.shape))
    ty.backward(torch.tensor(dy))
    np.testing.assert_array_equal(K.max_pool_backward(x, dy, (3, 2), (1, 1)), tx.grad.numpy())
    # Global pooling: one window over each plane (through the layers).
    for layer, torch_fn in ((L.GlobalMaxPooling2D(), lambda t: F.max_pool2d(t, (6, 5)).flatten(1)),
                            (L.GlobalAveragePooling2D(), lambda t: t.mean(dim=(2, 3))),
                            (L.GlobalMaxPooling1D(), lambda t: F.max_pool1d(t.flatten(2), 30).flatten(1)),
                            (L.GlobalAveragePooling1D(), lambda t: t.flatten(2).mean(dim=2))):
        one_d = "1D" in layer.type
        xin = x.reshape(2, 3, 30) if one_d else x
        m = entrena.Sequential([layer], input_shape=xin.shape[1:], dtype="float64")
        np.testing.assert_allclose(m.predict(xin), torch_fn(torch.tensor(x)).numpy(), rtol=1e-13)


# ------------------------------------------------------------ layers
def _global_reference(layer_type, x):
    return (ref.global_max_pool_forward(x) if "Max" in layer_type else ref.global_avg_pool_forward(x))


@pytest.mark.parametrize("layer, shape", [
    (lambda: L.MaxPool1D(3, strides=1, padding="same"), (3, 8)),
    (lambda: L.AvgPool1D([2], padding="same"), (3, 7)),
    (lambda: L.MaxPool2D(), (2, 6, 5)),
    (lambda: L.AvgPool2D((3, 2), strides=(2, 1), padding="same"), (2, 7, 5)),
    (lambda: L.MaxPooling2D(pool_size=[2, 3], strides=[1, 2]), (2, 4, 9)),
    (lambda: L.GlobalMaxPooling1D(), (3, 8)),
    (lambda: L.GlobalAveragePooling2D(), (2, 4, 3)),
])
def test_pooling_layers_forward_and_backward(layer, shape, dtype):
    rng = np.random.default_rng(3)
    layer = layer()
    x = rng.normal(size=(4, *shape))
    m = entrena.Sequential([layer], input_shape=shape, dtype=np.dtype(dtype).name)
    cfg = layer.engine_config()
    if "Global" in layer.type:
        want = _global_reference(layer.type, x.astype(dtype).astype(np.float64))
    else:
        mode = "max" if "Max" in layer.type else "avg"
        want = getattr(ref, f"{mode}_pool_forward")(x.astype(dtype).astype(np.float64), cfg["pool_size"],
                                                     cfg["strides"], cfg["padding"])
    out = m.predict(x)
    assert m.output_shape == want.shape[1:]
    assert_same(out, want, dtype)
    assert f"(None, {', '.join(map(str, want.shape[1:]))})" in m.summary(print_fn=None)


@pytest.mark.parametrize("layer, shape", [
    (lambda: L.MaxPool2D(2, strides=1, padding="same"), (2, 5, 6)),
    (lambda: L.AvgPool2D((3, 2), strides=(2, 1), padding="same"), (2, 5, 6)),
    (lambda: L.MaxPool2D((2, 3)), (2, 5, 6)),
    (lambda: L.MaxPool1D(3, strides=2), (3, 7)),
    (lambda: L.AvgPool1D(2, strides=1, padding="same"), (3, 7)),
    (lambda: L.GlobalMaxPooling2D(), (2, 5, 6)),
    (lambda: L.GlobalAveragePooling1D(), (3, 7)),
    (lambda: L.ZeroPadding2D(((1, 0), (2, 1))), (2, 5, 6)),
    (lambda: L.Reshape((-1, 6)), (2, 5, 6)),
])
def test_layers_backpropagate_inside_models(layer, shape):
    """A Dense layer (on the last axis) before the layer: its gradients
    pass through the layer's backward pass."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(6, *shape))
    y = rng.integers(0, 3, 6)
    m = entrena.Sequential([L.Dense(shape[-1], activation="tanh"), layer(), L.Flatten(), L.Dense(3)],
                           input_shape=shape, dtype="float64", seed=1)
    report = entrena.gradcheck(m, X, y, max_checks=None)
    assert max(report.values()) < 1e-6, report


def test_pooling_configs_and_arguments():
    p = L.MaxPool2D(3)
    assert p.engine_config() == {"type": "MaxPool2D", "pool_size": [3, 3], "strides": [3, 3], "padding": "valid"}
    assert L.AvgPool1D(4, 2, "same").get_config() == {"pool_size": [4], "strides": [2], "padding": "same"}
    assert L.MaxPool2D((2, 3), strides=1).strides == [1, 1]
    assert L.MaxPooling1D is L.MaxPool1D and L.AveragePooling2D is L.AvgPool2D
    assert L.GlobalAvgPool2D is L.GlobalAveragePooling2D
    with pytest.raises(ValueError, match=r"pool_size: expected an integer >= 1, got 0"):
        L.MaxPool2D(0)
    with pytest.raises(TypeError, match=r"pool_size: expected an integer or a list of 2 integers, "
                                        r"got an array of 3"):
        L.MaxPool2D((2, 2, 2))
    with pytest.raises(ValueError, match=r"strides\[1\]: expected an integer >= 1, got 0"):
        L.AvgPool2D(2, strides=(1, 0))
    with pytest.raises(TypeError, match=r"pool_size\[0\]: expected an integer, got number 1.5"):
        L.MaxPool1D([1.5])
    with pytest.raises(ValueError, match=r"padding: expected one of 'valid', 'same'; got 'full'"):
        L.MaxPool1D(2, padding="full")
    with pytest.raises(ValueError, match="GlobalMaxPooling2D: unknown argument 'pool_size'"):
        L.Layer("GlobalMaxPooling2D", pool_size=2)


def test_layer_input_shape_errors():
    with pytest.raises(ValueError, match=r"MaxPool2D: expected inputs of shape \(n, channels, height, width\), "
                                         r"got per-sample shape \(3, 4\)"):
        entrena.Sequential([L.MaxPool2D()], input_shape=(3, 4))
    with pytest.raises(ValueError, match=r"AvgPool1D: expected inputs of shape \(n, channels, length\), "
                                         r"got per-sample shape \(3, 4, 5\)"):
        entrena.Sequential([L.AvgPool1D()], input_shape=(3, 4, 5))
    with pytest.raises(ValueError, match=r"MaxPool2D: expected inputs at least as large as pool_size \(3, 3\) along "
                                         r"the spatial axes with padding 'valid', got per-sample shape \(1, 2, 5\)"):
        entrena.Sequential([L.MaxPool2D(3)], input_shape=(1, 2, 5))
    # "same" always fits.
    assert entrena.Sequential([L.MaxPool2D(3, padding="same")], input_shape=(1, 2, 5)).output_shape == (1, 1, 2)
    with pytest.raises(ValueError, match=r"GlobalAveragePooling1D: expected inputs of shape \(n, channels, length\)"):
        entrena.Sequential([L.GlobalAveragePooling1D()], input_shape=(4,))


# ------------------------------------------------------------ ZeroPadding2D, Reshape
def test_zero_padding_layer():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 2, 4, 5))
    for arg, pads in ((1, ((1, 1), (1, 1))), ((2, 0), ((2, 2), (0, 0))), (((0, 1), (2, 3)), ((0, 1), (2, 3)))):
        layer = L.ZeroPadding2D(arg)
        assert layer.padding == [list(p) for p in pads]
        m = entrena.Sequential([layer], input_shape=(2, 4, 5), dtype="float64")
        np.testing.assert_array_equal(m.predict(x), ref.zero_padding2d_forward(x, pads))
    assert L.ZeroPadding2D().padding == [[1, 1], [1, 1]]
    with pytest.raises(ValueError, match=r"padding: expected an integer >= 0, \[rows, columns\] or \[\[top, bottom\], "
                                         r"\[left, right\]\] with sizes >= 0, got -1"):
        L.ZeroPadding2D(-1)
    with pytest.raises(TypeError, match=r"padding: expected an integer >= 0, .* got array"):
        L.ZeroPadding2D((1, 2, 3))
    with pytest.raises(TypeError, match=r'padding: expected .* got string "1"'):
        L.ZeroPadding2D("1")
    with pytest.raises(ValueError, match=r"ZeroPadding2D: expected inputs of shape \(n, channels, height, width\), "
                                         r"got per-sample shape \(4, 5\)"):
        entrena.Sequential([L.ZeroPadding2D()], input_shape=(4, 5))


def test_reshape_layer():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 2, 6))
    for target, shape in (((3, 4), (3, 4)), ((-1, 2), (6, 2)), ((12,), (12,)), (12, (12,)), ((2, -1, 3), (2, 2, 3))):
        m = entrena.Sequential([L.Reshape(target)], input_shape=(2, 6), dtype="float64")
        assert m.output_shape == shape
        np.testing.assert_array_equal(m.predict(x), x.reshape(3, *shape))
    assert L.Reshape((4, -1)).engine_config() == {"type": "Reshape", "target_shape": [4, -1]}
    with pytest.raises(ValueError, match=r"Reshape: cannot reshape per-sample shape \(2, 6\) \(12 elements\) "
                                         r"into target_shape \[5, -1\]"):
        entrena.Sequential([L.Reshape((5, -1))], input_shape=(2, 6))
    with pytest.raises(ValueError, match=r"Reshape: cannot reshape .* into target_shape \[5\]"):
        entrena.Sequential([L.Reshape((5,))], input_shape=(2, 6))
    with pytest.raises(ValueError, match=r"target_shape: expected at most one -1, got \[-1, -1\]"):
        L.Reshape((-1, -1))
    with pytest.raises(ValueError, match=r"target_shape: expected sizes >= 1 \(one of them may be -1\), got \[0, 2\]"):
        L.Reshape((0, 2))
    with pytest.raises(ValueError, match=r"target_shape: expected at least one size, got \[\]"):
        L.Reshape(())
    with pytest.raises(TypeError, match=r"target_shape\[1\]: expected an integer, got string"):
        L.Reshape((2, "3"))


def test_a_small_convolution_free_image_model_trains_and_round_trips(tmp_path):
    """Pooling, padding, batch norm and reshape in one model: it learns, and
    a saved file gives the same predictions."""
    rng = np.random.default_rng(9)
    X = rng.normal(size=(120, 1, 8, 8))
    y = (X[:, 0, :4].mean(axis=(1, 2)) > X[:, 0, 4:].mean(axis=(1, 2))).astype(int)
    m = entrena.Sequential([L.ZeroPadding2D(1), L.AvgPool2D(2, strides=1, padding="same"),
                            L.Dense(6, activation="relu"), L.MaxPool2D(2), L.BatchNormalization(),
                            L.Reshape((-1, 5)), L.LayerNormalization(), L.Flatten(), L.Dense(2)],
                           input_shape=(1, 8, 8), seed=0)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=0.01), metrics=["accuracy"])
    h = m.fit(X, y, epochs=15, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]
    path = tmp_path / "img.safetensors"
    m.save(path)
    again = entrena.load(path)
    assert [layer.engine_config() for layer in again.layers] == [layer.engine_config() for layer in m.layers]
    np.testing.assert_array_equal(again.predict(X), m.predict(X))
