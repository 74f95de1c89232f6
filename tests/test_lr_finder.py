"""model.find_lr: the learning-rate range test."""
import numpy as np
import pytest

import entrena
from entrena.datasets import load_digits


def digits_split():
    X, y = load_digits()
    return entrena.train_test_split(X / 16.0, y, test_size=0.25, stratify=True, seed=0)


def mlp(seed=0):
    return entrena.Sequential([entrena.Dense(128, activation="relu"), entrena.Dense(10)], input_shape=(64,),
                              seed=seed)


def test_the_suggested_rate_trains_digits_to_97_percent(tmp_path):
    Xtr, Xte, ytr, yte = digits_split()
    m = mlp()
    m.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    before = [p.copy() for p in m.parameters()]
    r = m.find_lr(Xtr, ytr, plot=tmp_path / "lr.png" if _has_matplotlib() else None)
    # The model itself is untouched; the curve covers the range.
    for a, b in zip(before, m.parameters()):
        np.testing.assert_array_equal(a, b)
    assert r.lrs[0] == pytest.approx(1e-6) and len(r.lrs) == len(r.losses) == len(r.raw_losses)
    assert all(b > a for a, b in zip(r.lrs, r.lrs[1:]))
    assert r.stopped_early            # Adam at lr 10 diverges
    assert 1e-4 < r.suggestion < 1.0 and r.suggestion <= r.min_loss_lr
    # The loss at the suggested rate is well below the start: it is learning there.
    at = int(np.searchsorted(r.lrs, r.suggestion))
    assert r.losses[at] < r.losses[0]
    fresh = mlp(seed=1)
    fresh.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=r.suggestion), metrics=["accuracy"])
    fresh.fit(Xtr, ytr, epochs=30, batch_size=32, verbose=0, seed=0)
    acc = fresh.evaluate(Xte, yte)["accuracy"]
    assert acc >= 0.97, (r, acc)
    if _has_matplotlib():
        assert (tmp_path / "lr.png").stat().st_size > 1000


def _has_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


def test_the_range_test_trains_in_the_models_precision():
    Xtr, _, ytr, _ = digits_split()
    runs = {}
    for precision in ("float32", "bf16"):
        m = mlp()
        m.precision = precision
        m.compile(loss="categorical_crossentropy", optimizer="sgd")
        runs[precision] = m.find_lr(Xtr[:256], ytr[:256], num_steps=20).raw_losses
    assert runs["float32"] != runs["bf16"]       # the copy's products are bfloat16 too
    np.testing.assert_allclose(runs["float32"], runs["bf16"], rtol=0.05)


def test_bad_arguments():
    Xtr, _, ytr, _ = digits_split()
    m = mlp()
    with pytest.raises(RuntimeError, match="find_lr: call compile"):
        m.find_lr(Xtr, ytr)
    m.compile(loss="categorical_crossentropy", optimizer="sgd")
    with pytest.raises(ValueError, match=r"end_lr: expected a rate above start_lr \(0.1\), got 0.01"):
        m.find_lr(Xtr, ytr, start_lr=0.1, end_lr=0.01)
    with pytest.raises(ValueError, match="num_steps: expected an integer >= 3, got 2"):
        m.find_lr(Xtr, ytr, num_steps=2)
    with pytest.raises(ValueError, match="find_lr: the loss diverged within"):
        m.find_lr(Xtr, ytr, start_lr=1e6, end_lr=1e9, num_steps=50)
