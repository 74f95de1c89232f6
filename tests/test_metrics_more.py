"""balanced_accuracy, top_k_accuracy, log_loss and roc_auc: the engine's
metrics (computed during fit and evaluate) against their NumPy twins in
entrena.metrics and against scikit-learn."""
import numpy as np
import pytest

import entrena
from entrena import metrics as M

sk = pytest.importorskip("sklearn.metrics")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_twins_equal_scikit_learn(rng):
    y = rng.integers(0, 4, 300)
    z = rng.normal(size=(300, 4)) + 1.5 * np.eye(4)[y]
    p = softmax(z)
    assert M.balanced_accuracy(y, p) == pytest.approx(sk.balanced_accuracy_score(y, p.argmax(1)))
    for k in (1, 2, 3):
        assert M.top_k_accuracy(y, p, k) == pytest.approx(sk.top_k_accuracy_score(y, p, k=k, labels=range(4)))
    assert M.log_loss(y, p) == pytest.approx(sk.log_loss(y, p, labels=range(4)))
    assert M.roc_auc(y, p) == pytest.approx(sk.roc_auc_score(y, p, multi_class="ovr", labels=range(4)))
    # Binary, with ties in the scores.
    yb = rng.integers(0, 2, 200)
    sb = np.round(rng.normal(size=200) + yb, 1)
    assert M.roc_auc(yb, sb) == pytest.approx(sk.roc_auc_score(yb, sb))
    pb = 1 / (1 + np.exp(-sb))
    assert M.log_loss(yb, pb) == pytest.approx(sk.log_loss(yb, pb))


def _model(loss, width, seed=0):
    m = entrena.Sequential([entrena.Dense(16, activation="relu"), entrena.Dense(width)], input_shape=(6,),
                           dtype="float64", seed=seed)
    m.compile(loss=loss, optimizer="adam",
              metrics=["balanced_accuracy", "top_k_accuracy", "top_2_accuracy", "log_loss", "roc_auc", "auc"]
              if width > 2 else ["balanced_accuracy", "log_loss", "roc_auc"])
    return m


def test_engine_metrics_equal_the_twins_for_any_batch_size(rng):
    X = rng.normal(size=(257, 6))
    y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0.3)
    m = _model("categorical_crossentropy", 7)
    m.fit(X, y, epochs=3, verbose=0, seed=0)
    p = m.predict_proba(X)
    want = {"balanced_accuracy": M.balanced_accuracy(y, p), "top_k_accuracy": M.top_k_accuracy(y, p, 5),
            "top_2_accuracy": M.top_k_accuracy(y, p, 2), "log_loss": M.log_loss(y, p), "roc_auc": M.roc_auc(y, p),
            "auc": M.roc_auc(y, p)}
    for bs in (1024, 7):
        got = m.evaluate(X, y, batch_size=bs)
        for k, v in want.items():
            assert got[k] == pytest.approx(v, rel=1e-9), (k, bs)
    # Binary logits with one output column.
    yb = (X[:, 0] + 0.5 * X[:, 2] > 0).astype(int)
    mb = _model("binary_crossentropy_with_logits", 1)
    mb.fit(X, yb[:, None], epochs=3, verbose=0, seed=0)
    pb = mb.predict_proba(X)[:, 0]
    got = mb.evaluate(X, yb[:, None])
    assert got["roc_auc"] == pytest.approx(sk.roc_auc_score(yb, pb), rel=1e-9)
    assert got["log_loss"] == pytest.approx(sk.log_loss(yb, pb), rel=1e-9)
    assert got["balanced_accuracy"] == pytest.approx(sk.balanced_accuracy_score(yb, pb > 0.5), rel=1e-12)


def test_usable_as_early_stopping_monitors(rng):
    X = rng.normal(size=(200, 6))
    y = (X[:, 0] > 0).astype(int)
    m = _model("categorical_crossentropy", 2)
    stop = entrena.callbacks.EarlyStopping(monitor="val_roc_auc", patience=2, restore_best_weights=True)
    h = m.fit(X, y, epochs=40, validation_split=0.25, callbacks=[stop], verbose=0, seed=0)
    assert "val_roc_auc" in h.history and "val_log_loss" in h.history
    # roc_auc is better higher, log_loss lower: the best epoch is the highest AUC.
    assert stop.best == pytest.approx(max(h.history["val_roc_auc"]))


def test_bad_uses():
    m = entrena.Sequential([entrena.Dense(1)], input_shape=(3,))
    m.compile(loss="mse", optimizer="sgd", metrics=["top_k_accuracy"])
    with pytest.raises(ValueError, match="top_k_accuracy expected outputs of one column per class"):
        m.fit(np.zeros((4, 3)), np.zeros((4, 1)), verbose=0)
    h = entrena.Sequential([entrena.Dense(3)], input_shape=(3,))
    h.compile(loss="multiclass_hinge", optimizer="sgd", metrics=["log_loss"])
    with pytest.raises(ValueError, match="log_loss needs probabilities, but the outputs of multiclass_hinge"):
        h.fit(np.zeros((4, 3)), np.zeros(4), verbose=0)
    with pytest.raises(ValueError, match="k: expected an integer >= 1, got 0"):
        M.top_k_accuracy([0, 1], [[0.2, 0.8], [0.1, 0.9]], k=0)
    assert np.isnan(M.roc_auc([1, 1, 1], [0.2, 0.3, 0.9]))
