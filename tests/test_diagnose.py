"""History.diagnose(): what the learning curves say, on synthetic
histories of every kind and on real runs."""
import math

import numpy as np
import pytest

import entrena
from entrena.diagnose import LABELS, diagnose


def curve(first, last, n, noise=0.0, seed=0):
    """A falling exponential from first to last over n epochs, with noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / max(n - 1, 1)
    base = last + (first - last) * np.exp(-5 * t)
    return (base * (1 + noise * rng.standard_normal(n))).tolist()


def test_healthy():
    d = diagnose({"loss": curve(2.3, 0.1, 20), "val_loss": curve(2.3, 0.15, 20)})
    assert d.labels == ["healthy"]
    assert d.best_epoch == 20 and d.overfitting_from is None
    assert "2.3" in str(d) and "0.1" in str(d)


def test_not_learning():
    d = diagnose({"loss": [2.3026, 2.3025, 2.3027, 2.3026, 2.3026], "val_loss": [2.3026] * 5})
    assert d.labels == ["not_learning"]
    assert "2.303" in d.findings[0]["message"] and "not learning" in d.findings[0]["message"]


def test_diverged_names_the_epoch():
    d = diagnose({"loss": [1.0, 3.0, 40.0, math.inf]})
    assert d.labels == ["diverged"] and d.findings[0]["epoch"] == 4
    d = diagnose({"loss": [1.0, 0.9, 0.8], "val_loss": [1.0, math.nan, 0.7]})
    assert d.labels == ["diverged"] and "validation" in str(d) and d.findings[0]["epoch"] == 2


def test_diverging():
    d = diagnose({"loss": [1.0, 1.4, 2.2, 3.9, 8.0]})
    assert d.labels == ["diverging"] and "learning rate" in str(d)
    # Rising for the last three epochs, though still below the start.
    d = diagnose({"loss": [5.0, 1.0, 0.5, 0.6, 0.8, 1.1]})
    assert "diverging" in d


def test_overfitting_names_the_best_epoch_and_where_it_starts():
    train = curve(2.0, 0.01, 30)
    val = [v for v in curve(2.0, 0.5, 12)] + [0.5 + 0.04 * k for k in range(1, 19)]
    d = diagnose({"loss": train, "val_loss": val})
    assert d.labels == ["overfitting"]
    assert d.best_epoch == 12 and d.overfitting_from == 13
    assert "epoch 12" in str(d) and "from epoch 13" in str(d)


def test_underfitting():
    d = diagnose({"loss": curve(2.3, 1.8, 20), "val_loss": curve(2.3, 1.85, 20)})
    assert d.labels == ["underfitting"]
    assert "capacity" in str(d)


def test_noisy():
    loss = [2.0, 1.6, 1.9, 1.2, 1.5, 1.0, 1.3, 0.8, 1.2, 0.7, 1.0]
    d = diagnose({"loss": loss})
    assert "noisy" in d and d.findings[-1]["rises"] == 5
    # Small wiggles are not noise.
    assert "noisy" not in diagnose({"loss": curve(2.0, 0.1, 15, noise=0.005)})


def test_every_label_is_documented_and_reachable():
    seen = set()
    for h in ({"loss": curve(2.3, 0.1, 20)}, {"loss": [2.3] * 4}, {"loss": [1.0, math.nan]},
              {"loss": [1.0, 2.0, 3.0, 4.0]}, {"loss": curve(2.0, 0.01, 30), "val_loss": curve(2.0, 0.5, 10) +
                                                  [0.5 + 0.1 * k for k in range(1, 21)]},
              {"loss": curve(2.3, 1.8, 20)}, {"loss": [2.0, 1.6, 1.9, 1.2, 1.5, 1.0, 1.3, 0.8, 1.2]}):
        seen.update(diagnose(h).labels)
    assert seen == set(LABELS)
    assert all(label in entrena.diagnose.__doc__.replace(" ", "_") or label.replace("_", " ") in
               entrena.diagnose.__doc__ for label in LABELS)


def test_bad_histories():
    with pytest.raises(ValueError, match="diagnose: the history has no training loss"):
        diagnose({})
    with pytest.raises(ValueError, match="no training loss"):
        entrena.History().diagnose()
    for bad, exc, match in [({"loss": "9871"}, TypeError, r"history\['loss'\]: expected a sequence of numbers"),
                            ({"loss": 0.5}, TypeError, "expected a sequence"),
                            ({"loss": [1.0, None]}, TypeError, "at epoch 1"),
                            ({"loss": ["a"]}, TypeError, "expected numbers"),
                            ([1.0, 0.5], TypeError, "history: expected a dict"),
                            (None, TypeError, "history: expected a dict"),
                            ({"loss": [1.0, 0.9, 0.8], "val_loss": [1.0]}, ValueError, "one value per epoch")]:
        with pytest.raises(exc, match=match):
            diagnose(bad)
    # A History from fit is read as its per-epoch logs.
    h = entrena.History()
    h.history.update(loss=[1.0, 0.5, 0.3, 0.2])
    assert diagnose(h).labels == diagnose(h.history).labels


def test_a_real_overfitting_run_is_found():
    # A wide network on a small noisy table, no regularization: validation
    # loss turns up while training loss keeps falling.
    X, y = entrena.datasets.make_regression(n_samples=80, n_features=8, noise=8.0, seed=1)
    y = (y - y.mean()) / y.std()
    m = entrena.Sequential([entrena.Dense(512, activation="relu"), entrena.Dense(512, activation="relu"),
                            entrena.Dense(1)], seed=0)
    m.compile(loss="mse", optimizer=entrena.Adam(lr=1e-3))
    h = m.fit(X, y[:, None], epochs=150, batch_size=16, validation_split=0.25, verbose=0, seed=0)
    d = h.diagnose()
    val = h.history["val_loss"]
    best = int(np.argmin(val)) + 1
    assert d.labels == ["overfitting"], str(d)
    assert d.best_epoch == best and d.overfitting_from == best + 1
    assert val[-1] > 1.05 * val[best - 1] and h.history["loss"][-1] < h.history["loss"][best - 1]


def test_a_real_healthy_run_and_the_fit_printout(capsys):
    X, y = entrena.datasets.load_digits()
    m = entrena.Sequential([entrena.Dense(64, activation="relu"), entrena.Dense(10)], seed=0)
    m.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    h = m.fit(X / 16.0, y, epochs=8, validation_split=0.2, verbose=1, diagnose=True, seed=0)
    out = capsys.readouterr().out
    assert "learning curves:" in out and "healthy" in out
    assert h.diagnose().labels == ["healthy"]
    with pytest.raises(TypeError, match="diagnose: expected True or False, got str"):
        m.fit(X / 16.0, y, epochs=1, verbose=0, diagnose="yes")
