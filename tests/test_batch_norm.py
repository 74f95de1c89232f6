"""Batch and layer normalization: the kernels against the NumPy reference
(float32 and float64, every ISA path, one and two threads bitwise), finite
differences (batch norm in training mode through the batch statistics, and
in inference mode; layer norm), PyTorch's batch_norm and layer_norm on
random shapes (outputs, running statistics and every gradient), and the
layers inside models: running statistics are buffers (saved, in
state_dict, never trained, not gradchecked) that inference uses."""
import numpy as np
import pytest

import entrena
from entrena import _core
from entrena import layers as L
from entrena.reference import batch_norm as ref

from helpers import assert_same, check_gradient, same_on_one_and_two_threads

K = _core.kernels

BN_SHAPES = [(7, 3), (300, 70), (2000, 130), (4, 5, 9), (3, 4, 5, 6), (16, 8, 32, 32), (1, 3, 2)]


def _bn_inputs(rng, shape, dtype):
    C = shape[1]
    x = (rng.normal(size=shape) * rng.uniform(0.5, 3, (1, C) + (1,) * (len(shape) - 2))
         + rng.normal(size=(1, C) + (1,) * (len(shape) - 2)) * 2)
    cast = lambda a: np.ascontiguousarray(a, dtype=dtype)   # noqa: E731
    return (cast(x), cast(rng.uniform(0.5, 1.5, C)), cast(rng.normal(size=C)), cast(rng.normal(size=C)),
            cast(rng.uniform(0.5, 2, C)), cast(rng.normal(size=shape)))


@pytest.mark.parametrize("shape", BN_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("affine", ["both", "none"])
def test_batch_norm_kernels_match_reference(isa, dtype, rng, shape, affine):
    x, gamma, beta, rm, rv, dy = _bn_inputs(rng, shape, dtype)
    if affine == "none":
        gamma = beta = None
    f64 = lambda a: None if a is None else a.astype(np.float64)   # noqa: E731
    for training in (True, False):
        got = same_on_one_and_two_threads(K.batch_norm_forward, x, gamma, beta, rm, rv, 0.2, 1e-3, training)
        want = ref.batch_norm_forward(f64(x), f64(gamma), f64(beta), f64(rm), f64(rv), 0.2, 1e-3, training)
        for g, w, name in zip(got, want, ("y", "running_mean", "running_var", "mean", "invstd")):
            assert_same(g, w, dtype, what=f"{name} (training={training})")
        mean, invstd = got[3], got[4]
        dx, dgamma, dbeta = same_on_one_and_two_threads(K.batch_norm_backward, x, dy, gamma, mean, invstd, training)
        want = ref.batch_norm_backward(f64(x), f64(dy), f64(gamma), f64(mean), f64(invstd), training)
        # dx in training subtracts means of similar size: absolute error of the dtype's epsilon times |dy|.
        atol = 2e-5 if dtype == np.float32 else 1e-12
        for g, w, name in zip((dx, dgamma, dbeta), want, ("dx", "dgamma", "dbeta")):
            assert_same(g, w, dtype, atol=atol * max(1.0, np.abs(w).max()), what=f"{name} (training={training})")


def test_batch_norm_backward_matches_finite_differences(rng):
    for shape in ((6, 3), (3, 2, 5), (2, 3, 2, 3)):
        x, gamma, beta, rm, rv, w = _bn_inputs(rng, shape, np.float64)
        for training in (True, False):
            def forward(x_=x, gamma_=gamma, beta_=beta):
                return K.batch_norm_forward(x_, gamma_, beta_, rm, rv, 0.1, 1e-5, training)[0]
            _, _, _, mean, invstd = K.batch_norm_forward(x, gamma, beta, rm, rv, 0.1, 1e-5, training)
            dx, dgamma, dbeta = K.batch_norm_backward(x, w, gamma, mean, invstd, training)
            what = f"{shape} training={training}"
            check_gradient(lambda v: (forward(x_=v) * w).sum(), dx, x, what=f"dx {what}")
            check_gradient(lambda v: (forward(gamma_=v) * w).sum(), dgamma, gamma, what=f"dgamma {what}")
            check_gradient(lambda v: (forward(beta_=v) * w).sum(), dbeta, beta, what=f"dbeta {what}")


def test_batch_norm_kernel_bad_input():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"running_var: expected shape \(3,\), got \(2,\)"):
        K.batch_norm_forward(x, None, None, np.zeros(3), np.ones(2))
    with pytest.raises(ValueError, match="x: training needs more than one value per channel"):
        K.batch_norm_forward(np.zeros((1, 3)), None, None, np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=r"gamma: expected shape \(3,\)"):
        K.batch_norm_backward(x, x, np.ones(4), np.zeros(3), np.ones(3))


@pytest.mark.parametrize("shape", [(1, 1), (9, 5), (300, 70), (2000, 130), (40, 1)], ids=str)
def test_layer_norm_kernels_match_reference(isa, dtype, rng, shape):
    x = (rng.normal(size=shape) * 3 + 1).astype(dtype)
    dy = rng.normal(size=shape).astype(dtype)
    gamma, beta = rng.normal(size=shape[1]).astype(dtype), rng.normal(size=shape[1]).astype(dtype)
    f64 = lambda a: None if a is None else a.astype(np.float64)   # noqa: E731
    for g_, b_ in ((gamma, beta), (None, None)):
        y, mean, invstd = same_on_one_and_two_threads(K.layer_norm_forward, x, g_, b_, 1e-5)
        want = ref.layer_norm_forward(f64(x), f64(g_), f64(b_), 1e-5)
        for g, w, name in zip((y, mean, invstd), want, ("y", "mean", "invstd")):
            assert_same(g, w, dtype, what=name)
        got = same_on_one_and_two_threads(K.layer_norm_backward, x, dy, g_, mean, invstd)
        want = ref.layer_norm_backward(f64(x), f64(dy), f64(g_), f64(mean), f64(invstd))
        atol = 2e-5 if dtype == np.float32 else 1e-12
        for g, w, name in zip(got, want, ("dx", "dgamma", "dbeta")):
            assert_same(g, w, dtype, atol=atol * max(1.0, np.abs(w).max()), what=name)


def test_layer_norm_backward_matches_finite_differences(rng):
    x, w = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
    gamma, beta = rng.normal(size=7), rng.normal(size=7)
    y, mean, invstd = K.layer_norm_forward(x, gamma, beta)
    dx, dgamma, dbeta = K.layer_norm_backward(x, w, gamma, mean, invstd)
    check_gradient(lambda v: (K.layer_norm_forward(v, gamma, beta)[0] * w).sum(), dx, x, what="dx")
    check_gradient(lambda v: (K.layer_norm_forward(x, v, beta)[0] * w).sum(), dgamma, gamma, what="dgamma")
    check_gradient(lambda v: (K.layer_norm_forward(x, gamma, v)[0] * w).sum(), dbeta, beta, what="dbeta")


# ------------------------------------------------------------ PyTorch
def test_batch_norm_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(11)
    for trial in range(12):
        ndim = 2 + trial % 3
        shape = tuple(int(v) for v in rng.integers(2, 7, ndim))
        x, gamma, beta, rm, rv, dy = _bn_inputs(rng, shape, np.float64)
        momentum, eps, training = float(rng.uniform(0, 1)), float(rng.uniform(1e-6, 1e-2)), trial % 4 != 3
        tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
        trm, trv = torch.tensor(rm), torch.tensor(rv)
        ty = F.batch_norm(tx, trm, trv, tg, tb, training=training, momentum=momentum, eps=eps)
        ty.backward(torch.tensor(dy))
        y, new_rm, new_rv, mean, invstd = K.batch_norm_forward(x, gamma, beta, rm, rv, momentum, eps, training)
        dx, dgamma, dbeta = K.batch_norm_backward(x, dy, gamma, mean, invstd, training)
        what = f"{shape} training={training}"
        for ours, theirs, name in ((y, ty.detach(), "y"), (new_rm, trm, "running_mean"), (new_rv, trv, "running_var"),
                                   (dx, tx.grad, "dx"), (dgamma, tg.grad, "dgamma"), (dbeta, tb.grad, "dbeta")):
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"{name} {what}")


def test_layer_norm_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(12)
    for trial in range(6):
        shape = tuple(int(v) for v in rng.integers(1, 9, 2 + trial % 2))
        x, dy = rng.normal(size=shape) * 2 + 1, rng.normal(size=shape)
        gamma, beta = rng.normal(size=shape[-1]), rng.normal(size=shape[-1])
        tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
        ty = F.layer_norm(tx, (shape[-1],), tg, tb, eps=1e-5)
        ty.backward(torch.tensor(dy))
        m = entrena.Sequential([L.LayerNormalization()], input_shape=shape[1:], dtype="float64")
        m.load_state_dict({"layernormalization_0.gamma": gamma, "layernormalization_0.beta": beta})
        np.testing.assert_allclose(m.predict(x), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        rows = x.reshape(-1, shape[-1])
        _, mean, invstd = K.layer_norm_forward(rows, gamma, beta, 1e-5)
        dx, dgamma, dbeta = K.layer_norm_backward(rows, dy.reshape(rows.shape), gamma, mean, invstd)
        m.zero_grad()
        m(x)
        m.backward(dy)
        grads = dict(m.gradients())
        for ours, theirs in ((dx.reshape(shape), tx.grad), (dgamma, tg.grad), (dbeta, tb.grad),
                             (grads["layernormalization_0.gamma"], tg.grad),
                             (grads["layernormalization_0.beta"], tb.grad)):
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_batch_norm_layer_trains_like_torch():
    """A Dense + BatchNormalization model and its torch twin, three SGD steps:
    the same outputs, running statistics, gradients and weights."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    X, Y = rng.normal(size=(3, 16, 2, 5)), rng.normal(size=(3, 16, 2, 4))
    m = entrena.Sequential([L.Dense(4), L.BatchNormalization(momentum=0.3, eps=1e-3)], input_shape=(2, 5),
                           dtype="float64", seed=0)
    named = dict(m.named_parameters())
    lin, bn = torch.nn.Linear(5, 4).double(), torch.nn.BatchNorm1d(2, momentum=0.3, eps=1e-3).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(named["dense_0.W"].T.copy()))
        lin.bias.copy_(torch.from_numpy(named["dense_0.b"]))
    opt = entrena.SGD(m.parameters(), lr=0.1)
    topt = torch.optim.SGD(list(lin.parameters()) + list(bn.parameters()), lr=0.1)
    for step in range(3):
        x, y = X[step], Y[step]
        m.zero_grad()
        out = m(x)
        m.backward(2 * (out - y) / out.size)
        opt.step()
        topt.zero_grad()
        tout = bn(lin(torch.from_numpy(x)))
        torch.nn.functional.mse_loss(tout, torch.from_numpy(y)).backward()
        topt.step()
        np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    buffers = dict(m.named_buffers())
    np.testing.assert_allclose(buffers["batchnormalization_1.running_mean"], bn.running_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(buffers["batchnormalization_1.running_var"], bn.running_var.numpy(), rtol=1e-10)
    np.testing.assert_allclose(named["batchnormalization_1.gamma"], bn.weight.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(named["batchnormalization_1.beta"], bn.bias.detach().numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(named["dense_0.W"], lin.weight.detach().numpy().T, rtol=1e-10)
    # Inference uses the running statistics.
    bn.eval()
    np.testing.assert_allclose(m.predict(X[0]), bn(lin(torch.from_numpy(X[0]))).detach().numpy(), rtol=1e-10,
                               atol=1e-12)


# ------------------------------------------------------------ layers in models
def _bn_model(seed=0, **kw):
    return entrena.Sequential([L.Dense(6, activation="tanh"), L.BatchNormalization(**kw), L.Dense(3)],
                              input_shape=(4,), dtype="float64", seed=seed)


def test_training_mode_gradients_through_batch_statistics():
    """Backprop in training mode against finite differences of the
    training-mode loss, for every parameter (the first Dense's gradient
    flows through the batch statistics)."""
    rng = np.random.default_rng(14)
    X, Y = rng.normal(size=(10, 4)), rng.normal(size=(10, 3))
    m = _bn_model(momentum=0.5)
    loss = lambda: float(((m(X) - Y) ** 2).sum())   # noqa: E731
    m.train()
    m.zero_grad()
    m.backward(2 * (m(X) - Y))
    for (name, p), (_, g) in zip(m.named_parameters(), m.gradients()):
        start = p.copy()

        def loss_at(v):
            p[...] = v
            return loss()
        check_gradient(loss_at, g.copy(), start, what=name)
        p[...] = start


def test_running_statistics_are_buffers_saved_and_used_in_inference(tmp_path):
    rng = np.random.default_rng(15)
    X = rng.normal(size=(64, 4)) * 3 + 2
    y = (X[:, 0] > 2).astype(int) + (X[:, 1] > 2).astype(int)
    m = _bn_model(seed=1)
    m.set_param_options(["gamma", "beta"], weight_decay=False)
    assert m.param_options()["batchnormalization_1.gamma"] == {"weight_decay": False}
    assert m.param_options()["dense_0.W"] == {"weight_decay": True}
    assert [n for n, _ in m.named_buffers()] == ["batchnormalization_1.running_mean",
                                                 "batchnormalization_1.running_var"]
    np.testing.assert_array_equal(dict(m.named_buffers())["batchnormalization_1.running_var"], np.ones(6))
    assert "Buffers (not trained): 12" in m.summary(print_fn=None)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.AdamW(lr=0.02, weight_decay=0.1))
    m.fit(X, y, epochs=5, batch_size=16, verbose=0)
    state = m.state_dict()
    rm, rv = state["batchnormalization_1.running_mean"], state["batchnormalization_1.running_var"]
    assert not np.allclose(rm, 0) and not np.allclose(rv, 1)
    # Inference normalizes with the running statistics (not the batch's).
    W, b = state["dense_0.W"], state["dense_0.b"]
    h = (np.tanh(X @ W + b) - rm) / np.sqrt(rv + 1e-5) * state["batchnormalization_1.gamma"] + \
        state["batchnormalization_1.beta"]
    np.testing.assert_allclose(m.predict(X), h @ state["dense_2.W"] + state["dense_2.b"], rtol=1e-10)
    np.testing.assert_array_equal(m.predict(X[:5]), m.predict(X)[:5])   # no batch dependence
    # gradcheck checks parameters only (inference mode, so the running statistics stay).
    report = entrena.gradcheck(m, X[:16], y[:16])
    assert set(report) == {n for n, _ in m.named_parameters()} and max(report.values()) < 1e-6
    np.testing.assert_array_equal(m.state_dict()["batchnormalization_1.running_mean"], rm)
    path = tmp_path / "bn.safetensors"
    m.save(path)
    again = entrena.load(path)
    for name, v in again.state_dict().items():
        np.testing.assert_array_equal(v, state[name], err_msg=name)
    assert again.param_options() == m.param_options()
    np.testing.assert_array_equal(again.predict(X), m.predict(X))
    # Training mode moves the running statistics; eval mode leaves them.
    again.eval()
    again(X)
    np.testing.assert_array_equal(dict(again.named_buffers())["batchnormalization_1.running_mean"], rm)
    again.train()
    again(X)
    assert not np.array_equal(dict(again.named_buffers())["batchnormalization_1.running_mean"], rm)


def test_batch_norm_options_and_errors():
    bn = L.BatchNormalization()
    assert bn.get_config() == {"momentum": 0.1, "eps": 1e-5, "center": True, "scale": True}
    m = entrena.Sequential([L.BatchNormalization(center=False, scale=False)], input_shape=(3, 4))
    assert m.named_parameters() == [] and len(m.named_buffers()) == 2
    m = entrena.Sequential([L.BatchNormalization(center=False)], input_shape=(3, 4))
    assert [n for n, _ in m.named_parameters()] == ["batchnormalization_0.gamma"]
    with pytest.raises(ValueError, match=r"momentum: expected a finite number in \[0, 1\], got 2"):
        L.BatchNormalization(momentum=2)
    with pytest.raises(ValueError, match="eps: expected a finite number > 0, got 0"):
        L.BatchNormalization(eps=0)
    with pytest.raises(TypeError, match="center: expected true or false"):
        L.BatchNormalization(center=1)
    with pytest.raises(ValueError, match="LayerNormalization: unknown argument 'momentum'"):
        L.Layer("LayerNormalization", momentum=0.1)
    # One value per channel cannot give batch statistics (as in PyTorch).
    dense = entrena.Sequential([L.BatchNormalization()], input_shape=(3,), dtype="float64")
    with pytest.raises(ValueError, match=r"BatchNormalization: training needs more than one value per channel, "
                                         r"got a batch of 1 sample of per-sample shape \(3,\)"):
        dense(np.zeros((1, 3)))
    assert dense.predict(np.ones((1, 3))).shape == (1, 3)     # inference is fine
    spatial = entrena.Sequential([L.BatchNormalization()], input_shape=(3, 2), dtype="float64")
    assert spatial(np.arange(6.0).reshape(1, 3, 2)).shape == (1, 3, 2)
    # fit: drop_last=True leaves out a last batch of one sample.
    rng = np.random.default_rng(16)
    m = _bn_model()
    m.compile(loss="mse", optimizer="sgd")
    X, Y = rng.normal(size=(17, 4)), rng.normal(size=(17, 3))
    with pytest.raises(ValueError, match="drop_last=True drops a last batch of one"):
        m.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    m.fit(X, Y, epochs=1, batch_size=8, drop_last=True, verbose=0)


def test_layer_norm_layer_options_and_gradcheck():
    rng = np.random.default_rng(17)
    X, y = rng.normal(size=(12, 3, 5)), rng.integers(0, 2, 12)
    m = entrena.Sequential([L.Dense(4), L.LayerNormalization(eps=1e-3), L.Flatten(), L.Dense(2)], input_shape=(3, 5),
                           dtype="float64", seed=2)
    assert m.layers[1].get_config() == {"eps": 1e-3, "center": True, "scale": True}
    assert [n for n, _ in m.named_parameters()][2:4] == ["layernormalization_1.gamma", "layernormalization_1.beta"]
    assert m.named_buffers() == []
    assert max(entrena.gradcheck(m, X, y, max_checks=None).values()) < 1e-6
    m = entrena.Sequential([L.LayerNormalization(scale=False)], input_shape=(5,))
    assert [p.shape for p in m.parameters()] == [(5,)]
