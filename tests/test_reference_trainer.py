"""entrena's fit, entrena's step API (a custom loop) and the NumPy reference
trainer follow the same trajectory: same initial weights, data and batch
order give the same epoch losses and the same trained weights."""
import numpy as np
import pytest

import entrena
from entrena.reference import trainer as ref

# (loss rtol, weights rtol, weights atol) per dtype. float64 runs agree to
# rounding; float32 runs differ by summation order inside the GEMMs, which
# over a few epochs stays far below 1e-4 in the loss.
TOL = {np.float64: (1e-10, 1e-9, 1e-11), np.float32: (1e-4, 2e-3, 1e-4)}


def _data(n=300, d=12, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    T = rng.standard_normal((d, k))
    y = np.argmax(X @ T + 0.5 * rng.standard_normal((n, k)), axis=1)
    return X, y


def _model(dtype, sizes=(16, 8), k=3):
    layers = [entrena.Dense(u, activation="relu") for u in sizes] + [entrena.Dense(k)]
    return entrena.Sequential(layers, dtype=dtype, seed=7)


def _make_opt(kind, lib, lr, params=None):
    """The optimizer of entrena (bound to params for the step API, if given)
    or of the reference."""
    if lib == "ref":
        return ref.SGD(lr=lr) if kind == "sgd" else ref.Adam(lr=lr, betas=(0.9, 0.999), eps=1e-8)
    if kind == "sgd":
        return entrena.SGD(params, lr=lr)
    return entrena.optimizers.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)


def _compare(dtype, kind, lr, *, epochs=4, batch_size=32, n=300):
    X, y = _data(n)
    X = X.astype(dtype)
    model = _model(dtype)
    model.build(X.shape[1:])
    init = [p.copy() for p in model.parameters()]
    model.compile(loss="categorical_crossentropy", optimizer=_make_opt(kind, "entrena", lr))
    hist = model.fit(X, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0)
    got = hist.history["loss"]

    trainer = ref.MLPTrainer(init, optimizer=_make_opt(kind, "ref", lr), dtype=dtype)
    want = trainer.fit(X, y, epochs=epochs, batch_size=batch_size)

    # The step API: one C++ call per forward, backward and update.
    stepped = _model(dtype)
    stepped.build(X.shape[1:])
    stepped.load_state_dict(dict(zip([n for n, _ in stepped.named_parameters()], init)))
    opt = _make_opt(kind, "entrena", lr, stepped.parameters())
    loss_fn = entrena.losses.CategoricalCrossentropy()
    by_step = []
    for _ in range(epochs):
        total = 0.0
        for xb, yb in entrena.data.iterate_batches(X, y, batch_size=batch_size, shuffle=False):
            total += loss_fn(stepped(xb), yb) * len(xb)
            stepped.zero_grad()
            loss_fn.backward()
            opt.step()
        by_step.append(total / len(X))

    rtol, wrtol, watol = TOL[dtype]
    np.testing.assert_allclose(got, want, rtol=rtol, err_msg="per-epoch losses, fit vs reference")
    np.testing.assert_allclose(by_step, want, rtol=rtol, err_msg="per-epoch losses, step API vs reference")
    for p, q in zip(stepped.parameters(), model.parameters()):
        np.testing.assert_allclose(p, q, rtol=wrtol, atol=watol, err_msg="step API vs fit weights")
    assert want[-1] < want[0], "the reference did not learn: the comparison would be vacuous"
    for (name, p), q in zip(model.named_parameters(), trainer.params):
        np.testing.assert_allclose(p, q, rtol=wrtol, atol=watol, err_msg=f"trained {name}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_sgd_same_trajectory(dtype):
    _compare(dtype, "sgd", lr=0.1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_sgd_uneven_last_batch(dtype):
    # 300 samples in batches of 64: the last batch has 44 rows.
    _compare(dtype, "sgd", lr=0.05, batch_size=64, epochs=3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_adam_same_trajectory(dtype):
    _compare(dtype, "adam", lr=1e-2)


def test_order_is_the_batch_order():
    # Training on X[perm] in stored order == training on X with order=perm.
    X, y = _data(96)
    params = ref.mlp_params([12, 8, 3], rng=1, dtype=np.float64)
    perm = np.random.default_rng(2).permutation(len(X))
    a = ref.MLPTrainer(params, ref.Adam(lr=1e-2), dtype=np.float64)
    b = ref.MLPTrainer(params, ref.Adam(lr=1e-2), dtype=np.float64)
    la = a.fit(X[perm], y[perm], epochs=2, batch_size=16)
    lb = b.fit(X, y, epochs=2, batch_size=16, orders=[perm, perm])
    np.testing.assert_array_equal(la, lb)
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p, q)


def test_gradients_match_finite_differences():
    from helpers import numerical_gradient
    X, y = _data(20, d=5)
    params = ref.mlp_params([5, 4, 3], rng=3, dtype=np.float64)
    params[1] += 0.1  # non-zero biases, so no ReLU input sits exactly at 0
    t = ref.MLPTrainer(params, dtype=np.float64)
    logits, inputs, pre = t.forward(X, keep=True)
    grads = [g.copy() for g in t.backward(inputs, pre, ref.categorical_crossentropy_backward(logits, y))]
    for i, p in enumerate(t.params):
        def f(v, i=i):
            saved = t.params[i].copy()
            t.params[i][...] = v
            out = t.loss(X, y)
            t.params[i][...] = saved
            return out
        np.testing.assert_allclose(grads[i], numerical_gradient(f, p), rtol=1e-5, atol=1e-8)


def test_adam_first_step_is_lr_times_sign():
    # With m and v fresh, the bias-corrected first step is lr * g / (|g| + eps).
    p = [np.array([1.0, -2.0, 3.0])]
    g = [np.array([0.5, -4.0, 1e-3])]
    opt = ref.Adam(lr=0.1)
    opt.step(p, g)
    np.testing.assert_allclose(p[0], [0.9, -1.9, 2.9], rtol=1e-6)


def test_bad_params():
    with pytest.raises(ValueError, match="params"):
        ref.MLPTrainer([np.zeros((3, 2))])
    with pytest.raises(ValueError, match="layer 1"):
        ref.MLPTrainer([np.zeros((3, 2)), np.zeros(2), np.zeros((4, 2)), np.zeros(2)])
    with pytest.raises(ValueError, match="optimizer"):
        ref.make_optimizer("rmsprop")
