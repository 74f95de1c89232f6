"""Convolution: the conv2d kernels (im2col + GEMM, and the direct kernels
for one input channel per group) against the NumPy twin (sliding windows)
on every ISA variant, float32 and float64, with every option (strides,
padding, dilation, groups, depthwise, 1×1, 1-D as one-row images); the same
bits for any thread count; finite differences; Conv1D and Conv2D layers
against PyTorch (forward and every gradient), in models, saved and loaded,
trained; bad arguments and shapes."""
import json

import numpy as np
import pytest

import entrena
from entrena import _core
from entrena import layers as L
from entrena.reference import conv as ref
from helpers import check_gradient, check_kernel

K_ = _core.kernels

# (n, C, H, W, F, kh, kw, strides, padding (top, bottom, left, right), dilation, groups)
CASES = {
    "basic": (2, 3, 7, 8, 4, 3, 3, (1, 1), (0, 0, 0, 0), (1, 1), 1),
    "pad_asym_rect": (2, 3, 7, 8, 5, 3, 2, (1, 1), (1, 0, 2, 1), (1, 1), 1),
    "strides": (3, 4, 9, 10, 6, 3, 3, (2, 3), (1, 1, 1, 1), (1, 1), 1),
    "dilation": (2, 3, 10, 9, 4, 3, 2, (1, 1), (2, 2, 1, 1), (2, 3), 1),
    "stride_dilation": (2, 2, 11, 12, 3, 3, 3, (2, 2), (1, 2, 0, 1), (2, 2), 1),
    "stride_past_kernel": (2, 2, 6, 13, 3, 2, 2, (3, 4), (0, 1, 1, 0), (1, 1), 1),
    "groups": (2, 6, 8, 8, 4, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2),
    "depthwise": (3, 5, 9, 7, 5, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 5),
    "depthwise_x2_stride": (2, 4, 9, 9, 8, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 4),
    "pointwise": (2, 8, 16, 16, 8, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 1),
    "pointwise_small": (3, 16, 6, 6, 8, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 1),
    "pointwise_stride": (2, 8, 9, 9, 4, 1, 1, (2, 2), (0, 0, 0, 0), (1, 1), 1),
    "lenet1": (4, 1, 28, 28, 6, 5, 5, (1, 1), (0, 0, 0, 0), (1, 1), 1),
    "kernel_past_input": (2, 2, 3, 3, 3, 5, 5, (1, 1), (2, 2, 2, 2), (1, 1), 1),
    "one_output": (3, 4, 5, 5, 6, 5, 5, (1, 1), (0, 0, 0, 0), (1, 1), 1),
    "many_small_samples": (400, 2, 5, 5, 3, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "conv1d": (3, 4, 1, 50, 6, 1, 5, (1, 2), (0, 0, 2, 2), (1, 2), 2),
    "conv1d_long": (2, 3, 1, 300, 4, 1, 7, (1, 1), (0, 0, 3, 3), (1, 1), 1),
}


def with_algorithms(cases):
    """(name, algorithm) pairs: every case on the GEMM path and on the direct path."""
    return [(name, algorithm) for name in cases for algorithm in ("gemm", "direct")]


def operands(rng, case):
    n, C, H, W, F, kh, kw, strides, padding, dilation, groups = case
    x = rng.standard_normal((n, C, H, W))
    w = rng.standard_normal((F, C // groups, kh, kw))
    b = rng.standard_normal(F)
    return x, w, b, dict(strides=strides, padding=padding, dilation=dilation, groups=groups)


def tol(dtype, case):
    """float32 rounding grows with the longest sum (a patch, a dW entry over
    the batch's positions, a dx entry); the reference is float64."""
    n, C, H, W, F, kh, kw, _, _, _, groups = case
    terms = max(C // groups * kh * kw, n * H * W, F // groups * kh * kw)
    if np.dtype(dtype) == np.float32:
        return 2e-5, 3e-6 * (terms + 1)
    return 1e-12, 1e-14 * (terms + 1)


# ------------------------------------------------------ kernels vs NumPy
def _with(kernel, algorithm):
    """The kernel with the algorithm chosen (the reference has no such argument)."""
    return lambda *args, **kw: kernel(*args, algorithm=algorithm, **kw)


@pytest.mark.parametrize("name,algorithm", with_algorithms(CASES))
@pytest.mark.parametrize("bias,relu", [(True, False), (True, True), (False, False)],
                         ids=["bias", "bias_relu", "nobias"])
def test_conv2d_forward(isa, dtype, rng, name, algorithm, bias, relu):
    x, w, b, kw = operands(rng, CASES[name])
    rtol, atol = tol(dtype, CASES[name])
    (y,) = check_kernel(_with(K_.conv2d_forward, algorithm), ref.conv2d_forward, [x, w, b if bias else None],
                        dtype, relu=relu, rtol=rtol, atol=atol, names=["y"], **kw)
    if relu:
        assert (y >= 0).all()


@pytest.mark.parametrize("name,algorithm", with_algorithms(CASES))
def test_conv2d_backward(isa, dtype, rng, name, algorithm):
    x, w, _, kw = operands(rng, CASES[name])
    y = ref.conv2d_forward(x, w, **kw)
    dy = rng.standard_normal(y.shape)
    rtol, atol = tol(dtype, CASES[name])
    check_kernel(_with(K_.conv2d_backward, algorithm), ref.conv2d_backward, [x, w, dy], dtype, rtol=rtol, atol=atol,
                 names=["dx", "dW", "db"], **kw)


@pytest.mark.parametrize("name,algorithm", with_algorithms({k: CASES[k] for k in ("strides", "depthwise", "lenet1",
                                                                             "many_small_samples")}))
def test_conv2d_backward_through_a_fused_relu(isa, dtype, rng, name, algorithm):
    x, w, b, kw = operands(rng, CASES[name])
    y = ref.conv2d_forward(x, w, b, relu=True, **kw)
    dy = rng.standard_normal(y.shape)
    rtol, atol = tol(dtype, CASES[name])

    def engine(x, w, dy, y, **kw):
        return K_.conv2d_backward(x, w, dy, relu_y=y, algorithm=algorithm, **kw)

    def reference(x, w, dy, y, **kw):
        return ref.conv2d_backward(x, w, dy * (y > 0), **kw)

    check_kernel(engine, reference, [x, w, dy, y], dtype, rtol=rtol, atol=atol, names=["dx", "dW", "db"], **kw)


def test_conv2d_relu_is_the_fused_form(isa, dtype, rng):
    x, w, b, kw = operands(rng, CASES["strides"])
    x, w, b = x.astype(dtype), w.astype(dtype), b.astype(dtype)
    lin = K_.conv2d_forward(x, w, b, **kw)
    assert np.array_equal(K_.conv2d_forward(x, w, b, relu=True, **kw), np.maximum(lin, 0))


# Large enough for threads: blocks of samples to threads, GEMMs taking the
# threads (few samples), dW in several chunks, depthwise, LeNet's first layer.
THREAD_CASES = {
    "blocks": (16, 8, 16, 16, 16, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "few_samples": (2, 8, 32, 32, 16, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "small_outputs": (64, 6, 6, 6, 16, 3, 3, (1, 1), (0, 0, 0, 0), (1, 1), 1),
    "depthwise": (16, 16, 16, 16, 16, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 16),
    "lenet1": (64, 1, 28, 28, 6, 5, 5, (1, 1), (0, 0, 0, 0), (1, 1), 1),
}


@pytest.mark.parametrize("name,algorithm", with_algorithms(THREAD_CASES))
def test_conv2d_same_bits_for_any_thread_count(isa, dtype, rng, threads, name, algorithm):
    x, w, b, kw = operands(rng, THREAD_CASES[name])
    kw["algorithm"] = algorithm
    x, w, b = x.astype(dtype), w.astype(dtype), b.astype(dtype)
    dy = rng.standard_normal(K_.conv2d_forward(x[:1], w, **kw).shape[1:])
    dy = np.broadcast_to(dy, (x.shape[0], *dy.shape)) * rng.standard_normal((x.shape[0], 1, 1, 1))
    dy = np.ascontiguousarray(dy, dtype=dtype)
    runs = []
    for n in (1, 2, 3):
        _core.set_num_threads(n)
        runs.append((K_.conv2d_forward(x, w, b, relu=True, **kw), *K_.conv2d_backward(x, w, dy, **kw)))
    for other in runs[1:]:
        for a, c in zip(runs[0], other):
            assert np.array_equal(a, c)


# ------------------------------------------------------ finite differences
FD_CASES = {
    "valid": (2, 2, 5, 6, 3, 3, 2, (1, 1), (0, 0, 0, 0), (1, 1), 1),
    "same_odd": (2, 2, 5, 6, 3, 2, 4, (1, 1), (0, 1, 1, 2), (1, 1), 1),
    "int_padding_strides": (2, 2, 6, 7, 3, 3, 3, (2, 3), (1, 1, 1, 1), (1, 1), 1),
    "dilation": (1, 2, 7, 7, 2, 3, 3, (1, 1), (2, 2, 2, 2), (2, 2), 1),
    "groups": (2, 4, 5, 5, 6, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2),
    "depthwise": (2, 3, 5, 5, 3, 3, 3, (2, 1), (1, 1, 1, 1), (1, 1), 3),
    "pointwise": (2, 4, 4, 4, 3, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 1),
    "conv1d": (2, 3, 1, 9, 4, 1, 3, (1, 2), (0, 0, 1, 1), (1, 2), 1),
    "conv1d_depthwise": (2, 3, 1, 10, 6, 1, 3, (1, 3), (0, 0, 2, 1), (1, 2), 3),
    "one_channel_strided_dilated": (2, 1, 7, 9, 3, 3, 2, (2, 3), (1, 0, 2, 1), (2, 2), 1),
}


@pytest.mark.parametrize("name,algorithm", with_algorithms(FD_CASES))
def test_conv2d_gradients_by_finite_differences(rng, name, algorithm):
    x, w, b, kw = operands(rng, FD_CASES[name])
    kw["algorithm"] = algorithm
    g = rng.standard_normal(K_.conv2d_forward(x, w, b, **kw).shape)   # loss = sum(g * y)
    dx, dW, db = K_.conv2d_backward(x, w, g, **kw)
    check_gradient(lambda v: np.sum(g * K_.conv2d_forward(v, w, b, **kw)), dx, x, what="dx")
    check_gradient(lambda v: np.sum(g * K_.conv2d_forward(x, v, b, **kw)), dW, w, what="dW")
    check_gradient(lambda v: np.sum(g * K_.conv2d_forward(x, w, v, **kw)), db, b, what="db")


def test_reference_same_padding_follows_keras():
    assert ref.same_padding(5, 3) == (1, 1)
    assert ref.same_padding(6, 4) == (1, 2)            # the odd element after
    assert ref.same_padding(7, 3, stride=2) == (1, 1)  # ceil(7 / 2) = 4 outputs
    assert ref.same_padding(8, 3, stride=2) == (0, 1)
    assert ref.same_padding(5, 3, dilation=2) == (2, 2)
    assert ref.same_padding(4, 1, stride=3) == (0, 0)


# ------------------------------------------------------ against PyTorch
def _torch_conv(torch, x, w, b, strides, padding, dilation, groups):
    F = torch.nn.functional
    pt, pb, pl, pr = padding
    xp = F.pad(x, (pl, pr, pt, pb))
    return F.conv2d(xp, w, b, stride=strides, dilation=dilation, groups=groups)


def test_kernels_match_torch_on_random_shapes(rng):
    torch = pytest.importorskip("torch")
    for trial in range(40):
        groups = int(rng.choice([1, 1, 2, 3]))
        C = groups * int(rng.integers(1, 4))
        F = groups * int(rng.integers(1, 4))
        if trial % 5 == 0:  # depthwise
            groups, C = C, C
            F = C * int(rng.integers(1, 3))
        kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
        sh, sw = (int(v) for v in rng.integers(1, 4, size=2))
        dh, dw = (int(v) for v in rng.integers(1, 3, size=2))
        pad = tuple(int(v) for v in rng.integers(0, 3, size=4))
        H = max(1, (kh - 1) * dh + 1 - pad[0] - pad[1]) + int(rng.integers(0, 8))
        W = max(1, (kw - 1) * dw + 1 - pad[2] - pad[3]) + int(rng.integers(0, 8))
        n = int(rng.integers(1, 5))
        kwargs = dict(strides=(sh, sw), padding=pad, dilation=(dh, dw), groups=groups)
        for dtype in (np.float64, np.float32):
            x = rng.standard_normal((n, C, H, W)).astype(dtype)
            w = rng.standard_normal((F, C // groups, kh, kw)).astype(dtype)
            b = rng.standard_normal(F).astype(dtype)
            tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
            ty = _torch_conv(torch, tx, tw, tb, (sh, sw), pad, (dh, dw), groups)
            dy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
            ty.backward(torch.from_numpy(dy))
            y = K_.conv2d_forward(x, w, b, **kwargs)
            dx, dW, db = K_.conv2d_backward(x, w, dy, **kwargs)
            rtol, atol = (1e-11, 1e-11) if dtype == np.float64 else (1e-4, 2e-4)
            what = f"trial {trial} {dtype.__name__} {kwargs} x{x.shape} W{w.shape}"
            np.testing.assert_allclose(y, ty.detach().numpy(), rtol=rtol, atol=atol, err_msg=what)
            for got, t in ((dx, tx), (dW, tw), (db, tb)):
                np.testing.assert_allclose(got, t.grad.numpy(), rtol=rtol, atol=atol, err_msg=what)


def _copy_into_torch(torch, module, W, b):
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(W.copy()))
        if b is not None:
            module.bias.copy_(torch.from_numpy(b.copy()))


@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
def test_layers_in_a_model_match_torch(rng, dtype_name):
    # Two convolutions, so that the first one's gradients also check the
    # second one's dx; "same" with stride 2 pads asymmetrically.
    torch = pytest.importorskip("torch")
    nn = torch.nn
    tdtype = getattr(torch, dtype_name)
    m = entrena.Sequential([
        L.Conv2D(6, (3, 4), strides=2, padding="same", activation="relu"),
        L.Conv2D(4, 3, padding=1, dilation_rate=(1, 2), groups=2, activation="tanh"),
        L.Conv2D(4, 1, groups=4, use_bias=False),
    ], input_shape=(3, 11, 12), dtype=dtype_name, seed=5)
    params = dict(m.named_parameters())
    c1 = nn.Conv2d(3, 6, (3, 4), stride=2)
    c2 = nn.Conv2d(6, 4, 3, padding=1, dilation=(1, 2), groups=2)
    c3 = nn.Conv2d(4, 4, 1, groups=4, bias=False)
    for mod in (c1, c2, c3):
        mod.to(tdtype)
    _copy_into_torch(torch, c1, params["conv2d_0.W"], params["conv2d_0.b"])
    _copy_into_torch(torch, c2, params["conv2d_1.W"], params["conv2d_1.b"])
    _copy_into_torch(torch, c3, params["conv2d_2.W"], None)
    pt, pb = ref.same_padding(11, 3, 2)
    pl, pr = ref.same_padding(12, 4, 2)

    def torch_forward(x):
        h = torch.relu(c1(nn.functional.pad(x, (pl, pr, pt, pb))))
        return c3(torch.tanh(c2(h)))

    X = rng.standard_normal((5, 3, 11, 12)).astype(dtype_name)
    out = m(X)
    assert out.shape == (5, 4, 6, 4)
    G = rng.standard_normal(out.shape).astype(dtype_name)
    tx = torch.tensor(X, requires_grad=True)
    tout = torch_forward(tx)
    rtol, atol = (1e-10, 1e-11) if dtype_name == "float64" else (1e-4, 1e-5)
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=rtol, atol=atol)
    m.zero_grad()
    m.backward(G)
    tout.backward(torch.from_numpy(G))
    grads = dict(m.gradients())
    for lname, mod in (("conv2d_0", c1), ("conv2d_1", c2), ("conv2d_2", c3)):
        np.testing.assert_allclose(grads[f"{lname}.W"], mod.weight.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"{lname}.W")
        if mod.bias is not None:
            np.testing.assert_allclose(grads[f"{lname}.b"], mod.bias.grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"{lname}.b")


def test_conv1d_layers_match_torch(rng):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    m = entrena.Sequential([
        L.Conv1D(6, 5, strides=3, padding="same", activation="leaky_relu", alpha=0.1),
        L.Conv1D(6, 3, dilation_rate=2, padding=2, groups=3),
    ], input_shape=(2, 40), dtype="float64", seed=1)
    params = dict(m.named_parameters())
    c1 = nn.Conv1d(2, 6, 5, stride=3).double()
    c2 = nn.Conv1d(6, 6, 3, dilation=2, padding=2, groups=3).double()
    _copy_into_torch(torch, c1, params["conv1d_0.W"], params["conv1d_0.b"])
    _copy_into_torch(torch, c2, params["conv1d_1.W"], params["conv1d_1.b"])
    pl, pr = ref.same_padding(40, 5, 3)
    X = rng.standard_normal((4, 2, 40))
    tx = torch.tensor(X)
    tout = c2(nn.functional.leaky_relu(c1(nn.functional.pad(tx, (pl, pr))), 0.1))
    out = m(X)
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-11, atol=1e-12)
    G = rng.standard_normal(out.shape)
    m.zero_grad()
    m.backward(G)
    tout.backward(torch.from_numpy(G))
    grads = dict(m.gradients())
    for lname, mod in (("conv1d_0", c1), ("conv1d_1", c2)):
        np.testing.assert_allclose(grads[f"{lname}.W"], mod.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads[f"{lname}.b"], mod.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------ the layers
def test_layer_config_shapes_and_initial_values():
    c = L.Conv2D(8, 3, padding="same", groups=2)
    assert c.engine_config() == {
        "type": "Conv2D", "filters": 8, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
        "dilation_rate": [1, 1], "groups": 2, "activation": None, "use_bias": True,
        "kernel_init": {"name": "glorot_uniform"}, "bias_init": {"name": "zeros"}}
    assert L.Conv1D(4, 3, padding=2).engine_config()["padding"] == [2]
    assert L.Conv2D(4, (1, 3), padding=(0, 1)).engine_config()["padding"] == [0, 1]
    m = entrena.Sequential([c, L.Conv2D(5, (2, 3), strides=(2, 1), padding=(1, 0))],
                           input_shape=(6, 9, 10), seed=0)
    assert m.output_shape == (5, 5, 8)
    W, b, W2, b2 = m.parameters()
    assert W.shape == (8, 3, 3, 3) and b.shape == (8,) and W2.shape == (5, 8, 2, 3)
    assert m.count_params() == 8 * 3 * 9 + 8 + 5 * 8 * 6 + 5
    # glorot_uniform with fan_in = C/groups · kh·kw, fan_out = filters · kh·kw (Keras, PyTorch)
    limit = np.sqrt(6 / (3 * 9 + 8 * 9))
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.8 * limit and not b.any()
    m1 = entrena.Sequential([L.Conv1D(4, 5, strides=2, padding="same")], input_shape=(3, 11))
    assert m1.output_shape == (4, 6)


def test_save_and_load_round_trip(tmp_path, rng):
    m = entrena.Sequential([
        L.Conv1D(4, 3, padding="same", activation="relu", input_shape=(2, 30)),
        L.Conv1D(4, 5, strides=2, dilation_rate=2, groups=4, activation="elu", alpha=0.3,
                 kernel_init=("normal", {"std": 0.2}), bias_init="ones"),
        L.Flatten(), L.Dense(3)], seed=7)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=0.01))
    X = rng.standard_normal((16, 2, 30)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    m.fit(X, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "conv1d.safetensors"
    m.save(path)
    again = entrena.load(path)
    assert [layer.engine_config() for layer in again.layers] == [layer.engine_config() for layer in m.layers]
    np.testing.assert_array_equal(again.predict(X), m.predict(X))
    m2 = entrena.Sequential([L.Conv2D(3, 3, strides=2, padding=(1, 2), input_shape=(1, 9, 9)),
                             L.Conv2D(6, 2, groups=3, use_bias=False, activation="silu")], seed=2)
    m2.save(tmp_path / "conv2d.safetensors")
    again2 = entrena.load(tmp_path / "conv2d.safetensors")
    X2 = rng.standard_normal((3, 1, 9, 9))
    with pytest.warns(UserWarning):
        np.testing.assert_array_equal(again2.predict(X2), m2.predict(X2))
    assert json.loads(_core.layer_config(json.dumps(again2.layers[1].engine_config()))) == \
        m2.layers[1].engine_config()


@pytest.mark.parametrize("layers", [
    lambda: [L.Conv2D(3, 3, padding="same", activation="tanh"), L.Flatten(), L.Dense(3)],
    lambda: [L.Conv2D(4, (2, 3), strides=2, dilation_rate=(1, 2), padding=1, activation="gelu"),
             L.Conv2D(4, 3, groups=4, padding="same", activation="softplus"), L.Flatten(), L.Dense(3)],
    lambda: [L.Conv2D(2, 3, groups=2, use_bias=False, activation="relu"), L.Flatten(), L.Dense(3)],
], ids=["same_tanh", "strided_dilated_depthwise", "grouped_nobias_relu"])
def test_gradcheck_small_cnn(rng, layers):
    m = entrena.Sequential(layers(), input_shape=(2, 7, 8), dtype="float64", seed=3)
    m.compile(loss="categorical_crossentropy")
    X = rng.standard_normal((4, 2, 7, 8))
    y = rng.integers(0, 3, 4)
    report = entrena.gradcheck(m, X, y, max_checks=None)
    assert max(report.values()) < 1e-6, report


def test_gradcheck_conv1d_with_activations(rng):
    m = entrena.Sequential([L.Conv1D(3, 3, strides=2, padding="same", activation="sigmoid"),
                            L.Conv1D(3, 2, dilation_rate=2, groups=3, activation="leaky_relu", alpha=0.2),
                            L.Flatten(), L.Dense(2)], input_shape=(3, 12), dtype="float64", seed=4)
    X = rng.standard_normal((5, 3, 12))
    y = rng.integers(0, 2, 5)
    report = entrena.gradcheck(m, X, y, loss="categorical_crossentropy", max_checks=None)
    assert max(report.values()) < 1e-6, report


def _bars(rng, n):
    """8×8 images with a horizontal (class 0) or vertical (class 1) bar, noisy."""
    X = 0.3 * rng.standard_normal((n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 2, n)
    pos = rng.integers(1, 7, n)
    for i in range(n):
        if y[i]:
            X[i, 0, :, pos[i]] += 1
        else:
            X[i, 0, pos[i], :] += 1
    return X, y


def test_a_small_cnn_learns(rng):
    X, y = _bars(rng, 256)
    m = entrena.Sequential([L.Conv2D(4, 3, padding="same", activation="relu"),
                            L.Conv2D(4, 3, strides=2, activation="relu"), L.Flatten(), L.Dense(2)],
                           input_shape=(1, 8, 8), seed=0)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=0.01), metrics=["accuracy"])
    h = m.fit(X, y, epochs=15, batch_size=32, verbose=0)
    assert h.history["loss"][-1] < 0.25 * h.history["loss"][0]
    Xt, yt = _bars(rng, 128)
    assert m.evaluate(Xt, yt)["accuracy"] > 0.9


def test_training_is_the_same_for_any_thread_count(rng, threads):
    X, y = _bars(rng, 96)
    results = []
    for n in (1, 2):
        _core.set_num_threads(n)
        m = entrena.Sequential([L.Conv2D(8, 3, padding="same", activation="relu"), L.Conv2D(8, 3, groups=8),
                                L.Flatten(), L.Dense(2)], input_shape=(1, 8, 8), seed=1)
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        m.fit(X, y, epochs=2, batch_size=48, verbose=0)
        results.append([p.copy() for p in m.parameters()])
    for a, b in zip(*results):
        assert np.array_equal(a, b)


# ------------------------------------------------------ bad input
def test_huge_padding_and_strides_stay_cheap():
    # Every tap of the single output falls into the padding: y = b. The
    # padded input (2·10^5 squared) is never materialised.
    m = entrena.Sequential([L.Conv2D(2, 3, strides=10**6, padding=10**5, bias_init="ones")],
                           input_shape=(1, 4, 4), dtype="float64")
    assert m.output_shape == (2, 1, 1)
    np.testing.assert_array_equal(m.predict(np.ones((3, 1, 4, 4))), np.ones((3, 2, 1, 1)))


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="filters: expected an integer >= 1, got 0"):
        L.Conv2D(0, 3)
    with pytest.raises(ValueError, match="filters: missing"):
        L.Layer("Conv2D", kernel_size=3)
    with pytest.raises(ValueError, match="kernel_size: missing"):
        L.Layer("Conv1D", filters=3)
    with pytest.raises(ValueError, match=r"kernel_size\[1\]: expected an integer >= 1, got 0"):
        L.Conv2D(2, (3, 0))
    with pytest.raises(TypeError, match="kernel_size: expected an integer or a list of 2 integers, got an array of 3"):
        L.Conv2D(2, (3, 3, 3))
    with pytest.raises(TypeError, match="kernel_size: expected an integer or a list of 1 integers, got an array of 2"):
        L.Conv1D(2, (3, 3))
    with pytest.raises(TypeError, match=r'strides\[0\]: expected an integer, got string "2"'):
        L.Conv2D(2, 3, strides=("2", 1))
    with pytest.raises(ValueError, match="strides: expected an integer >= 1, got 0"):
        L.Conv2D(2, 3, strides=0)
    with pytest.raises(ValueError, match="dilation_rate: expected an integer >= 1, got -1"):
        L.Conv1D(2, 3, dilation_rate=-1)
    with pytest.raises(ValueError, match="padding: expected 'valid', 'same', an integer >= 0 or a list of 2 "
                                         "of them, got 'full'"):
        L.Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match=r"padding\[1\]: expected an integer >= 0, got -1"):
        L.Conv2D(2, 3, padding=(1, -1))
    with pytest.raises(TypeError, match="padding: expected 'valid', 'same', an integer or a list of 2 "
                                        "integers, got number 1.5"):
        L.Conv2D(2, 3, padding=1.5)
    with pytest.raises(ValueError, match=r"groups: expected a divisor of filters \(4\), got 3"):
        L.Conv2D(4, 3, groups=3)
    with pytest.raises(ValueError, match="groups: expected an integer >= 1, got 0"):
        L.Conv2D(4, 3, groups=0)
    with pytest.raises(ValueError, match="activation: expected one of"):
        L.Conv2D(4, 3, activation="rleu")
    with pytest.raises(ValueError, match="alpha"):
        L.Conv2D(4, 3, activation="relu", alpha=0.1)
    with pytest.raises(ValueError, match="Conv2D: unknown argument 'dilation'"):
        L.Layer("Conv2D", filters=2, kernel_size=3, dilation=2)


def test_bad_input_shapes_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"groups: expected a divisor of the input channels \(6\) and of "
                                         r"filters \(4\), got 4"):
        entrena.Sequential([L.Conv2D(4, 3, groups=4)], input_shape=(6, 8, 8))
    with pytest.raises(ValueError, match=r"Conv2D: expected inputs of shape \(n, channels, height, width\), "
                                         r"got \(n, 3, 8\)"):
        entrena.Sequential([L.Conv2D(4, 3)], input_shape=(3, 8))
    with pytest.raises(ValueError, match=r"Conv1D: expected inputs of shape \(n, channels, length\), "
                                         r"got \(n, 3, 8, 8\)"):
        entrena.Sequential([L.Conv1D(4, 3)], input_shape=(3, 8, 8))
    with pytest.raises(ValueError, match=r"Conv2D: the input \(n, 1, 4, 4\) padded by \[1, 0\] on each side "
                                         r"is smaller than the dilated kernel \(5 × 9\)"):
        entrena.Sequential([L.Conv2D(2, (3, 5), dilation_rate=2, padding=(1, 0))], input_shape=(1, 4, 4))
    m = entrena.Sequential([L.Conv2D(2, 3)], input_shape=(1, 8, 8))
    with pytest.raises(ValueError, match=r"X: expected shape \(n, 1, 8, 8\)"):
        m.predict(np.zeros((2, 1, 8, 7), np.float32))


def test_kernel_bad_input_raises():
    x = np.ones((2, 4, 6, 6))
    w = np.ones((6, 2, 3, 3))
    with pytest.raises(ValueError, match=r"W: expected 4 input channels per group \(dimension 1\), got 2"):
        K_.conv2d_forward(x, w)
    with pytest.raises(ValueError, match=r"groups: expected a divisor of the input channels \(4\) and of "
                                         r"filters \(6\), got 4"):
        K_.conv2d_forward(x, w, groups=4)
    with pytest.raises(ValueError, match=r"b: expected shape \(6,\), got \(5,\)"):
        K_.conv2d_forward(x, w, np.ones(5), groups=2)
    with pytest.raises(ValueError, match=r"kernel_size: the padded input \(2 × 6\) is smaller than the dilated "
                                         r"kernel \(3 × 3\)"):
        K_.conv2d_forward(x[:, :, :2], w, groups=2)
    with pytest.raises(ValueError, match=r"dy: expected shape \(2, 6, 4, 4\), got \(2, 6, 4, 3\)"):
        K_.conv2d_backward(x, w, np.ones((2, 6, 4, 3)), groups=2)
    with pytest.raises(ValueError, match="x: expected a 4-D array, got 3-D"):
        K_.conv2d_forward(x[0], w, groups=2)
    with pytest.raises(ValueError, match="strides: expected an integer >= 1, got 0"):
        K_.conv2d_forward(x, w, strides=(0, 1), groups=2)
    with pytest.raises(ValueError, match=r"relu_y: expected shape \(2, 6, 4, 4\) \(the shape of dy\), got \(2, 6, 4\)"):
        K_.conv2d_backward(x, w, np.ones((2, 6, 4, 4)), groups=2, relu_y=np.ones((2, 6, 4)))
    with pytest.raises(ValueError, match="algorithm: expected 'auto', 'gemm' or 'direct', got 'winograd'"):
        K_.conv2d_backward(x, w, np.ones((2, 6, 4, 4)), groups=2, algorithm="winograd")


def test_summary_lists_shapes_and_parameters():
    m = entrena.Sequential([L.Conv2D(8, 3, padding="same", activation="relu"), L.Conv2D(4, 3, groups=4),
                            L.Flatten(), L.Dense(3)], input_shape=(2, 6, 6))
    text = m.summary(print_fn=None)
    rows = [line.split() for line in text.splitlines()[2:6]]
    assert [r[1] for r in rows] == ["Conv2D", "Conv2D", "Flatten", "Dense"]
    assert " ".join(rows[0][2:]) == f"(None, 8, 6, 6) {8 * 2 * 9 + 8}"
    assert " ".join(rows[1][2:]) == f"(None, 4, 4, 4) {4 * 2 * 9 + 4}"     # groups=4: W is (4, 2, 3, 3)
    assert f"Total params: {8 * 2 * 9 + 8 + 4 * 2 * 9 + 4 + 64 * 3 + 3:,}" in text
