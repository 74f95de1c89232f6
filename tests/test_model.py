"""The training slice end to end: Sequential, Dense, ReLU, softmax
cross-entropy, SGD; fit/predict/evaluate; parameters as views; threads."""
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import entrena
from entrena.datasets import load_digits, load_iris


def small_model(seed=0, dtype="float32", hidden=16, out=3):
    m = entrena.Sequential([entrena.Dense(hidden, activation="relu"), entrena.Dense(out)],
                           seed=seed, dtype=dtype)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.SGD(lr=0.1), metrics=["accuracy"])
    return m


def test_version_comes_from_pyproject():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert entrena.__version__ == re.search(r'^version = "(.+)"', text, re.M).group(1)


def test_threads_roundtrip():
    old = entrena.get_num_threads()
    try:
        entrena.set_num_threads(1)
        assert entrena.get_num_threads() == 1
        entrena.set_num_threads(2)
        assert entrena.get_num_threads() == (2 if entrena.cpu_info()["openmp"] else 1)
    finally:
        entrena.set_num_threads(old)
    with pytest.raises(ValueError, match="n: expected an integer >= 1, got 0"):
        entrena.set_num_threads(0)
    with pytest.raises(TypeError):
        entrena.set_num_threads("two")


def test_digits_above_95_percent():
    X, y = load_digits()
    X = X / 16.0
    order = np.random.default_rng(0).permutation(len(X))
    test, train = order[:360], order[360:]
    model = entrena.Sequential([entrena.Dense(64, activation="relu"), entrena.Dense(10)], seed=0)
    model.compile(loss="categorical_crossentropy", optimizer=entrena.SGD(lr=0.1), metrics=["accuracy"])
    hist = model.fit(X[train], y[train], epochs=20, batch_size=32, verbose=0, seed=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0] / 5
    acc = entrena.metrics.accuracy(y[test], model.predict(X[test]))
    assert acc > 0.95
    assert model.evaluate(X[test], y[test])["accuracy"] == pytest.approx(acc)


def test_main_job_prints_epochs_and_accuracy(capsys):
    from entrena.__main__ import main
    assert main(["--epochs", "20", "--quiet-bar"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^Epoch 1/20 - [\d.]+s - loss [\d.]+ - accuracy [\d.]+$", out, re.M)
    acc = float(re.search(r"test accuracy: ([\d.]+)", out).group(1))
    assert acc > 0.95


def test_parameters_are_writable_views():
    X, y = load_iris()
    m = small_model()
    m.fit(X, y, epochs=1, verbose=0)
    params = m.parameters()
    assert [p.shape for p in params] == [(4, 16), (16,), (16, 3), (3,)]
    assert all(p.dtype == np.float32 for p in params)
    before = m.predict(X[:5])
    for p in params:
        p[...] = 0.0   # writes through to the engine
    after = m.predict(X[:5])
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(after, np.zeros_like(after))
    # The views see training updates: they are the engine's memory.
    W = params[0]
    m.fit(X, y, epochs=1, verbose=0)
    assert np.shares_memory(W, m.parameters()[0])


def test_dense_matches_numpy_forward():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(7, 5))
    m = entrena.Sequential([entrena.Dense(4, activation="relu"), entrena.Dense(3)], dtype="float64", seed=1)
    m.build(5)
    W1, b1, W2, b2 = m.parameters()
    want = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    np.testing.assert_allclose(m.predict(X), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_same_result_and_thread_independent(dtype):
    X, y = load_iris()
    results = []
    old = entrena.get_num_threads()
    try:
        for threads in (1, 2, 1):
            entrena.set_num_threads(threads)
            m = small_model(seed=7, dtype=dtype, hidden=256)
            h = m.fit(X, y, epochs=3, batch_size=16, verbose=0)
            results.append((h.history["loss"], [p.copy() for p in m.parameters()]))
    finally:
        entrena.set_num_threads(old)
    for loss, params in results[1:]:
        assert loss == results[0][0]
        for a, b in zip(params, results[0][1]):
            np.testing.assert_array_equal(a, b)
    # A different seed gives a different model.
    other = small_model(seed=8, dtype=dtype, hidden=256)
    other.build(4)
    assert not np.array_equal(other.parameters()[0], results[0][1][0])


def test_step_api_matches_fit_full_batch():
    X, y = load_iris()
    a, b = small_model(seed=3), small_model(seed=3)
    a.fit(X, y, epochs=5, batch_size=len(X), shuffle=False, verbose=0)
    loss_fn = entrena.losses.CategoricalCrossentropy()
    b.build(4)
    opt = entrena.SGD(b.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        out = b(X)
        losses.append(loss_fn(out, y))
        b.zero_grad()
        loss_fn.backward()
        opt.step()
    assert opt.iterations == 5
    np.testing.assert_allclose(losses, a.history.history["loss"], rtol=1e-6)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-6, atol=1e-7)


def test_gradients_accumulate_until_zero_grad():
    X, y = load_iris()
    m = small_model()
    m.build(4)
    loss_fn = entrena.losses.CategoricalCrossentropy()
    m.zero_grad()
    loss_fn(m(X), y)
    loss_fn.backward()
    g1 = [g.copy() for _, g in m.gradients()]
    loss_fn(m(X), y)
    loss_fn.backward()
    for (_, g), g0 in zip(m.gradients(), g1):
        np.testing.assert_allclose(g, 2 * g0, rtol=1e-5, atol=1e-7)
    m.zero_grad()
    assert all(not g.any() for _, g in m.gradients())


def test_iterations_per_epoch_counted_by_trainer():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(203, 4)).astype(np.float32)
    y = rng.integers(0, 3, 203)
    m = small_model()
    h = m.fit(X, y, epochs=2, batch_size=10, verbose=0)
    assert h.history["iterations"] == [21, 21]
    assert h.iterations == 42
    h = m.fit(X, y, epochs=1, batch_size=10, drop_last=True, verbose=0)
    assert h.history["iterations"] == [20]
    assert m.steps_per_epoch(35000, 50) == 700


def test_fit_releases_the_gil():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 256)).astype(np.float32)
    y = rng.integers(0, 10, len(X))
    m = entrena.Sequential([entrena.Dense(256, activation="relu"), entrena.Dense(10)], seed=0)
    m.compile(optimizer=entrena.SGD(lr=0.01))
    m.build(256)
    t = threading.Thread(target=lambda: m.fit(X, y, epochs=1, batch_size=64, verbose=0))
    stamps = []
    t.start()
    start = time.perf_counter()
    while t.is_alive():
        stamps.append(time.perf_counter())
        time.sleep(0.001)
    duration = time.perf_counter() - start
    t.join()
    assert duration > 0.05, "the epoch was too short to tell"
    gaps = np.diff([start] + stamps)
    # With the GIL held for the epoch, this thread would stall for all of it.
    assert gaps.max() < 0.5 * duration


# ----------------------------------------------------------------- bad input
@pytest.fixture
def iris_model():
    X, y = load_iris()
    m = small_model()
    m.fit(X, y, epochs=1, verbose=0)
    return m, X, y


def test_bad_inputs_to_fit(iris_model):
    m, X, y = iris_model
    cases = [
        (dict(X=X[:, :3], y=y), ValueError, r"X: expected shape \(n, 4\)"),
        (dict(X=X[0], y=y), ValueError, r"X: expected a at least 2-D|X: expected"),
        (dict(X=X, y=y[:-1]), ValueError, r"y: expected 150 rows"),
        (dict(X=np.where(X > 7, np.nan, X), y=y), ValueError, r"X: expected finite values, got \d+ NaN"),
        (dict(X=X, y=np.arange(150) % 5), ValueError, r"y: 5 distinct labels but the model has 3 outputs"),
        (dict(X=X, y=np.where(y > 1, np.nan, y)), ValueError, r"y: .*(class labels|finite)"),
        (dict(X=X.astype(str), y=y), TypeError, r"X: expected numeric data"),
        (dict(X=[[object()] * 4] * 150, y=y), TypeError, r"X: expected numeric data"),
        (dict(X=X, y=np.zeros((150, 3))), ValueError, r"y: .*one-hot"),
        (dict(X=X, y=y, batch_size=0), ValueError, r"batch_size: expected an integer >= 1, got 0"),
        (dict(X=X, y=y, batch_size=2.5), TypeError, r"batch_size: expected an integer"),
        (dict(X=X, y=y, epochs=-1), ValueError, r"epochs: expected an integer >= 0"),
        (dict(X=X, y=y, validation_split=1.5), ValueError, r"validation_split"),
        (dict(X=X, y=y, batch_size=500, drop_last=True), ValueError, r"batch_size: 500 is larger"),
        (dict(X=X, y=y, validation_data=(X[:, :2], y)), ValueError, r"validation_data X|X: expected shape"),
        (dict(X=X, y=y, callbacks=[print]), TypeError, r"callbacks: expected Callback objects"),
        (dict(X=np.empty((0, 4)), y=y[:0]), ValueError, r"X: expected at least one sample"),
    ]
    before = [p.copy() for p in m.parameters()]
    for kwargs, exc, pattern in cases:
        kw = dict(kwargs)
        Xa, ya = kw.pop("X"), kw.pop("y")
        with pytest.raises(exc, match=pattern):
            m.fit(Xa, ya, verbose=0, **kw)
    # No failed call changed the model.
    for a, b in zip(before, m.parameters()):
        np.testing.assert_array_equal(a, b)


def test_bad_inputs_elsewhere(iris_model):
    m, X, y = iris_model
    with pytest.raises(ValueError, match=r"X: expected shape \(n, 4\)"):
        m.predict(X[:, :2])
    with pytest.raises(ValueError, match="X: expected finite values"):
        m.predict(np.full((2, 4), np.inf))
    with pytest.raises(ValueError, match="y: expected 150 rows|y: expected"):
        m.evaluate(X, y[:10])
    with pytest.raises(ValueError, match="grad: expected shape"):
        m(X[:5])
        m.backward(np.ones((4, 3)))
    with pytest.raises(TypeError, match="dtype: expected float32 or float64"):
        entrena.Sequential([entrena.Dense(2)], dtype="int32")
    with pytest.raises(ValueError, match="units: expected an integer >= 1, got 0"):
        entrena.Dense(0)
    with pytest.raises(TypeError, match="units: expected an integer"):
        entrena.Dense("8")
    with pytest.raises(ValueError, match="activation: expected one of"):
        entrena.Dense(3, activation="sparkle")
    with pytest.raises(ValueError, match="kernel_init: expected one of"):
        entrena.Dense(3, kernel_init="magic")
    with pytest.raises(ValueError, match="loss: expected one of"):
        m.compile(loss="nope")
    with pytest.raises(ValueError, match="optimizer: expected one of"):
        m.compile(optimizer="nope")
    with pytest.raises(ValueError, match="lr: expected a finite number >= 0"):
        entrena.SGD(lr=-1)
    with pytest.raises(ValueError, match="lr: expected a finite number"):
        entrena.SGD(lr=float("nan"))
    with pytest.raises(TypeError, match="layer: expected an entrena layer"):
        entrena.Sequential(["dense"])
    fresh = entrena.Sequential([entrena.Dense(3)])
    with pytest.raises(RuntimeError, match="call compile"):
        fresh.fit(X, y)
    with pytest.raises(RuntimeError, match="not built yet"):
        fresh.parameters()
    with pytest.raises(ValueError, match="no layers"):
        entrena.Sequential().build(4)
    with pytest.raises(RuntimeError, match="call the loss on a model output first"):
        entrena.losses.CategoricalCrossentropy().backward()
    with pytest.raises(RuntimeError, match="no model"):
        entrena.SGD(lr=0.1).step()
    with pytest.raises(ValueError, match=r"X: expected shape \(n, 5\)"):
        g = entrena.Sequential([entrena.Dense(3, input_dim=5)])
        g.compile()
        g.fit(X, y, verbose=0)


def test_kernels_reject_bad_shapes():
    k = entrena._core.kernels
    with pytest.raises(ValueError, match="W: expected 3 rows"):
        k.dense_forward(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match="labels: expected class indices"):
        k.categorical_crossentropy_forward(np.ones((2, 3)), np.array([0.0, 3.0]))
    with pytest.raises(ValueError, match="grad: expected shape"):
        k.sgd_step(np.ones(3), np.ones(4), lr=0.1)
    with pytest.raises(TypeError):
        k.sgd_step(np.ones(3, np.float32), np.ones(3), lr=0.1)  # mixed dtypes, no silent copy
