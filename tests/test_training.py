"""The training library as a textbook describes it: worked examples,
iterations, schedules, callbacks, dropout, initializers, gradcheck."""
import csv
import io
import math
import sys

import numpy as np
import pytest

import entrena
from entrena import callbacks as cb
from entrena.datasets import load_digits, load_iris


def iris_std():
    X, y = load_iris()
    return (X - X.mean(0)) / X.std(0), y


def classifier(hidden=(16,), seed=0, opt=None, dtype="float32", metrics=("accuracy",)):
    layers = [entrena.Dense(h, activation="relu") for h in hidden] + [entrena.Dense(3)]
    m = entrena.Sequential(layers, seed=seed, dtype=dtype)
    m.compile(loss="categorical_crossentropy", optimizer=opt or entrena.SGD(lr=0.1), metrics=list(metrics))
    return m


# ------------------------------------------------------- textbook examples
def test_textbook_worked_example_forward_and_one_sgd_step():
    x = np.array([[2.0, 3.0]])
    target = np.array([[1.0]])
    m = entrena.Sequential([entrena.Dense(2), entrena.Dense(1)], dtype="float64", seed=0)
    m.compile(loss="half_mse", optimizer=entrena.SGD(lr=0.05))
    m.build(2)
    W1, b1, W2, b2 = m.parameters()
    W1[...] = [[0.11, 0.12], [0.21, 0.08]]
    b1[...] = [1.0, 1.0]
    W2[...] = [[0.14], [0.15]]
    b2[...] = [1.0]
    hidden = x @ W1 + b1
    np.testing.assert_allclose(hidden, [[1.85, 1.48]], rtol=1e-12)
    pred = m.predict(x)
    np.testing.assert_allclose(pred, [[1.481]], rtol=1e-12)
    assert m.evaluate(x, target)["loss"] == pytest.approx(0.5 * (1.481 - 1) ** 2, rel=1e-12)
    assert m.evaluate(x, target)["loss"] == pytest.approx(0.1157, abs=5e-5)

    # Chain rule by hand: delta = dE/dpred = pred - target.
    delta = 1.481 - 1.0
    gW2 = np.array([[1.85 * delta], [1.48 * delta]])
    gb2 = np.array([delta])
    dh = delta * np.array([0.14, 0.15])            # linear hidden units
    gW1 = np.array([[2.0 * dh[0], 2.0 * dh[1]], [3.0 * dh[0], 3.0 * dh[1]]])
    gb1 = dh
    want = [np.array([[0.11, 0.12], [0.21, 0.08]]) - 0.05 * gW1, np.array([1.0, 1.0]) - 0.05 * gb1,
            np.array([[0.14], [0.15]]) - 0.05 * gW2, np.array([1.0]) - 0.05 * gb2]
    h = m.fit(x, target, epochs=1, batch_size=1, verbose=0)
    assert h.history["loss"][0] == pytest.approx(0.11568, abs=1e-5)
    for got, w in zip(m.parameters(), want):
        np.testing.assert_allclose(got, w, rtol=1e-12)


def test_batch_gradient_is_mean_of_per_example_gradients():
    # A linear unit with zero weights and target -1 has residual 1, so under
    # ½·MSE each example's weight gradient is its input vector.
    per_example = np.array([[1.5, -2, 1.1, 0.4, -0.9], [1.2, 2.3, -1.1, -0.8, -0.7]])
    m = entrena.Sequential([entrena.Dense(1, use_bias=False, kernel_init="zeros")], dtype="float64")
    m.build(5)
    loss_fn = entrena.losses.get("half_mse")
    for i in range(2):
        m.zero_grad()
        loss_fn(m(per_example[i:i + 1]), np.array([[-1.0]]))
        loss_fn.backward()
        np.testing.assert_allclose(m.gradients()[0][1][:, 0], per_example[i], rtol=1e-12)
    m.zero_grad()
    loss_fn(m(per_example), np.array([[-1.0], [-1.0]]))
    loss_fn.backward()
    np.testing.assert_allclose(m.gradients()[0][1][:, 0], [1.35, 0.15, 0.0, -0.2, -0.8], atol=1e-12)


def test_steps_per_epoch_counted_by_trainer():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(35000, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    m = entrena.Sequential([entrena.Dense(2)], seed=0)
    m.compile(optimizer=entrena.SGD(lr=0.01))
    h = m.fit(X, y, epochs=1, batch_size=50, verbose=0)
    assert h.history["iterations"] == [700]

    X, y = X[:200], y[:200]
    m = entrena.Sequential([entrena.Dense(2)], seed=0)
    opt = entrena.SGD(lr=0.01)
    m.compile(optimizer=opt)
    h = m.fit(X, y, epochs=1000, batch_size=5, verbose=0)
    assert set(h.history["iterations"]) == {40}
    assert h.iterations == 40000 and opt.iterations == 40000 and h.epochs == 1000
    # Batch gradient descent and SGD are the same fit.
    assert m.fit(X, y, epochs=2, batch_size=200, verbose=0).history["iterations"] == [1, 1]
    assert m.fit(X, y, epochs=1, batch_size=1, verbose=0).history["iterations"] == [200]


def test_iris_4_8_9_3_adam_full_batch():
    X, y = iris_std()
    m = entrena.Sequential([entrena.Dense(8, activation="relu"), entrena.Dense(9, activation="relu"),
                            entrena.Dense(3)], seed=0)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.optimizers.Adam(lr=0.1))
    h = m.fit(X, y, epochs=100, batch_size=len(X), verbose=0)
    assert 0.8 < h.history["loss"][0] < 1.6
    assert h.history["loss"][-1] < 0.1


def test_digits_mlp_reaches_97_percent():
    X, y = load_digits()
    Xtr, Xv, Xte, ytr, yv, yte = entrena.train_val_test_split(X / 16.0, y, stratify=True, seed=0)
    m = entrena.Sequential([entrena.Dense(128, activation="relu"), entrena.Dense(10)], seed=0)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.optimizers.Adam(lr=1e-3),
              metrics=["accuracy"])
    m.fit(Xtr, ytr, epochs=40, batch_size=32, validation_data=(Xv, yv), verbose=0)
    assert m.evaluate(Xte, yte)["accuracy"] >= 0.97


# ---------------------------------------------------------------- dropout
def test_dropout_identity_in_eval_and_inverted_scaling_in_training():
    p = 0.25
    m = entrena.Sequential([entrena.Dropout(p)], seed=3)
    m.build(1000)
    x = np.ones((100, 1000), dtype=np.float32)
    out = np.asarray(m(x))  # training mode
    kept = out != 0
    assert set(np.unique(out)) <= {0.0, np.float32(1 / (1 - p))}
    assert abs(kept.mean() - (1 - p)) < 0.01
    assert abs(out.mean() - 1.0) < 0.02            # expectation preserved
    # The gradient flows through the same mask.
    g = np.full_like(out, 2.0)
    m.backward(g)
    m.eval()
    np.testing.assert_array_equal(np.asarray(m(x)), x)
    np.testing.assert_array_equal(m.predict(x), x)
    assert not m.training
    m.train()
    assert not np.array_equal(np.asarray(m(x)), out)  # a fresh mask per call


def test_dropout_backward_uses_mask():
    m = entrena.Sequential([entrena.Dense(4, use_bias=False, kernel_init="ones"), entrena.Dropout(0.5)],
                           seed=1, dtype="float64")
    m.build(3)
    x = np.ones((50, 3))
    out = np.asarray(m(x))
    m.zero_grad()
    m.backward(np.ones_like(out))
    # dL/dW = xᵀ · (mask-scaled ones): column j sums the kept scale factors.
    mask = out / 3.0
    np.testing.assert_allclose(m.gradients()[0][1], np.ones((3, 1)) * mask.sum(0), rtol=1e-12)


def test_flatten():
    m = entrena.Sequential([entrena.Flatten(), entrena.Dense(2)], seed=0)
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    out = m.predict(x)
    W, b = m.parameters()
    np.testing.assert_allclose(out, x.reshape(2, 12) @ W + b, rtol=1e-5)
    assert m.output_shape == (2,)
    # Without Flatten, Dense acts on the last axis (as in Keras).
    per_row = entrena.Sequential([entrena.Dense(2)], seed=0)
    out = per_row.predict(x)
    W, b = per_row.parameters()
    assert out.shape == (2, 3, 2)
    np.testing.assert_allclose(out, x @ W + b, rtol=1e-5)


# ----------------------------------------------------------- initializers
@pytest.mark.parametrize("name,std", [
    ("he_normal", math.sqrt(2 / 400)), ("glorot_normal", math.sqrt(2 / 700)),
    ("lecun_normal", math.sqrt(1 / 400)), ("he_uniform", math.sqrt(2 / 400)),
    ("glorot_uniform", math.sqrt(2 / 700)), ("lecun_uniform", math.sqrt(1 / 400)),
])
def test_initializer_statistics(name, std):
    m = entrena.Sequential([entrena.Dense(300, kernel_init=name)], seed=5, dtype="float64")
    m.build(400)
    W = m.parameters()[0]
    assert abs(W.mean()) < 0.05 * std * 10
    assert W.std() == pytest.approx(std, rel=0.02)
    if name.endswith("uniform"):
        limit = std * math.sqrt(3)
        assert np.abs(W).max() <= limit and np.abs(W).max() > 0.99 * limit
    np.testing.assert_array_equal(m.parameters()[1], 0.0)


def test_initializer_fixed_values():
    m = entrena.Sequential([entrena.Dense(3, kernel_init=("constant", {"value": 0.5}), bias_init="ones"),
                            entrena.Dense(2, kernel_init=("normal", {"mean": 1.0, "std": 0.0}),
                                          bias_init=("uniform", {"low": 2.0, "high": 2.0}))], seed=0)
    m.build(4)
    W1, b1, W2, b2 = m.parameters()
    assert (W1 == 0.5).all() and (b1 == 1).all() and (W2 == 1).all() and (b2 == 2).all()
    with pytest.raises(ValueError, match="kernel_init std"):
        entrena.Dense(3, kernel_init=("normal", {"std": -1.0}))


# -------------------------------------------------------------- schedules
def _lrs(schedule_cb, epochs=8, lr=0.1, monitor_mode=None):
    X, y = iris_std()
    m = classifier(opt=entrena.SGD(lr=lr))
    h = m.fit(X, y, epochs=epochs, batch_size=50, verbose=0, callbacks=[schedule_cb])
    return np.array(h.history["lr"]), h


def test_schedules_give_textbook_rates():
    from entrena import schedules as S
    e = np.arange(8)
    lrs, _ = _lrs(cb.LearningRateScheduler(S.ExponentialDecay(gamma=0.9)))
    np.testing.assert_allclose(lrs, 0.1 * 0.9 ** e, rtol=1e-12)
    lrs, _ = _lrs(cb.LearningRateScheduler(S.StepDecay(step_size=3, gamma=0.5)))
    np.testing.assert_allclose(lrs, 0.1 * 0.5 ** (e // 3), rtol=1e-12)
    lrs, _ = _lrs(cb.LearningRateScheduler(S.CosineAnnealing(t_max=7, eta_min=0.01)))
    np.testing.assert_allclose(lrs, 0.01 + 0.09 * (1 + np.cos(np.pi * e / 7)) / 2, rtol=1e-12)
    lrs, _ = _lrs(cb.LearningRateScheduler(S.LambdaSchedule(lambda ep: 1.0 / (1 + ep))))
    np.testing.assert_allclose(lrs, 0.1 / (1 + e), rtol=1e-12)
    lrs, _ = _lrs(cb.LearningRateScheduler(S.Constant()))
    np.testing.assert_allclose(lrs, 0.1)


def test_reduce_lr_on_plateau_lowers_at_the_right_epoch():
    # Monitoring the (falling) training loss in "max" mode: epoch 0 is the
    # best, every later epoch is bad. patience=2 -> the third bad epoch
    # (epoch 3) triggers the cut, which applies from epoch 4; cooldown=1
    # then skips one epoch before counting again.
    plateau = cb.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=2, cooldown=1)
    lrs, _ = _lrs(plateau, epochs=10)
    np.testing.assert_allclose(lrs, [0.1] * 4 + [0.05] * 4 + [0.025] * 2, rtol=1e-12)


# -------------------------------------------------------------- callbacks
def test_early_stopping_restores_best_weights():
    X, y = iris_std()
    m = classifier()
    seen = []
    rec = cb.LambdaCallback(on_epoch_end=lambda e, logs: seen.append([p.copy() for p in m.parameters()]))
    # The training loss falls every epoch, so in "max" mode epoch 0 stays the best.
    stop = cb.EarlyStopping(monitor="loss", mode="max", patience=3, restore_best_weights=True)
    h = m.fit(X, y, epochs=50, batch_size=50, verbose=0, callbacks=[rec, stop])
    # patience=3: epochs 1, 2, 3 without improvement, stop after epoch 3.
    assert h.epochs == 4 and stop.stopped_epoch == 3 and stop.best_epoch == 0
    for p, best in zip(m.parameters(), seen[0]):
        np.testing.assert_array_equal(p, best)
    assert not np.array_equal(seen[-1][0], seen[0][0])


def test_early_stopping_on_val_loss_min_delta():
    X, y = iris_std()
    m = classifier()
    stop = cb.EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0)
    h = m.fit(X, y, epochs=30, verbose=0, validation_split=0.2, callbacks=[stop])
    assert h.epochs == 2   # epoch 0 sets the best; epoch 1 does not improve by 10
    with pytest.raises(ValueError, match="monitor 'val_loss' needs validation data"):
        m.fit(X, y, epochs=1, verbose=0, callbacks=[cb.EarlyStopping()])


def test_nonfinite_loss_names_epoch_and_batch_and_keeps_weights():
    X, y = iris_std()
    m = classifier(opt=entrena.SGD(lr=1e6))
    with pytest.raises(FloatingPointError, match=r"at epoch \d+, batch \d+ of 3"):
        m.fit(X, y, epochs=50, batch_size=50, verbose=0)
    assert all(np.isfinite(p).all() for p in m.parameters())
    m2 = classifier(opt=entrena.SGD(lr=1e6))
    h = m2.fit(X, y, epochs=50, batch_size=50, verbose=0, callbacks=[cb.TerminateOnNaN()])
    assert h.epochs < 50 and not math.isfinite(h.history["loss"][-1])
    assert all(np.isfinite(p).all() for p in m2.parameters())


def test_csv_logger_and_lambda(tmp_path):
    X, y = iris_std()
    m = classifier()
    path = tmp_path / "log.csv"
    begun = []
    h = m.fit(X, y, epochs=3, verbose=0, validation_split=0.2,
              callbacks=[cb.CSVLogger(path), cb.LambdaCallback(on_train_begin=lambda logs: begun.append(1))])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert float(rows[2]["val_accuracy"]) == pytest.approx(h.history["val_accuracy"][2])
    assert float(rows[1]["loss"]) == pytest.approx(h.history["loss"][1])
    assert begun == [1]


def test_history_contents_and_validation_split():
    X, y = iris_std()
    m = classifier()
    h = m.fit(X, y, epochs=2, verbose=0, validation_split=0.2, validation_tail=True)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds", "iterations"):
        assert len(h.history[key]) == 2
    assert h.history["iterations"] == [4, 4]          # 120 training rows at batch 32
    # The validation part is the last 20% (as given, before shuffling).
    assert m.evaluate(X[-30:], y[-30:])["loss"] == pytest.approx(h.history["val_loss"][-1], rel=1e-6)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_and_epoch_lines(capsys, monkeypatch):
    X, y = iris_std()
    m = classifier()
    m.fit(X, y, epochs=2, verbose=1, validation_split=0.2)
    cap = capsys.readouterr()
    lines = [l for l in cap.out.splitlines() if l.startswith("Epoch")]
    assert len(lines) == 2
    assert lines[1].startswith("Epoch 2/2 - ") and " - loss " in lines[1] and " - val_accuracy " in lines[1]
    assert cap.err == ""        # not a terminal: no bar, the epoch lines only
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    m.fit(X, y, epochs=1, verbose=1)
    assert "batch" in terminal.getvalue()   # the tqdm bar, drawn in a terminal
    monkeypatch.undo()
    capsys.readouterr()
    m.fit(X, y, epochs=1, verbose=0)
    assert capsys.readouterr() == ("", "")


def test_history_plot(tmp_path):
    pytest.importorskip("matplotlib")
    X, y = iris_std()
    m = classifier()
    h = m.fit(X, y, epochs=3, verbose=0, validation_split=0.2)
    out = h.plot(tmp_path / "curves.png")
    with open(out, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


# ------------------------------------------------------ gradcheck, summary
def test_gradcheck_small_errors_and_detects_a_wrong_gradient():
    X, y = iris_std()
    m = entrena.Sequential([entrena.Dense(6, activation="tanh"), entrena.Dense(5, activation="relu"),
                            entrena.Dense(3)], seed=2)
    m.compile()
    report = entrena.gradcheck(m, X[:20], y[:20])
    assert set(report) == {n for n, _ in m.named_parameters()}
    assert max(report.values()) < 1e-5

    class Wrong(entrena.losses.CategoricalCrossentropy):
        def backward(self):
            output, *_ = self._last
            output.model.backward(2 * self.gradient(output, self._last[2]))
    bad = entrena.gradcheck(m, X[:20], y[:20], loss=Wrong())
    assert max(bad.values()) > 0.3


def test_summary_and_state_dict():
    m = classifier(hidden=(8,))
    m.build(4)
    text = m.summary(print_fn=None)
    assert "dense_0" in text and "(None, 8)" in text and "Total params: 67" in text
    sd = m.state_dict()
    assert list(sd) == ["dense_0.W", "dense_0.b", "dense_1.W", "dense_1.b"]
    other = classifier(hidden=(8,), seed=99)
    other.build(4)
    other.load_state_dict(sd)
    for a, b in zip(other.parameters(), m.parameters()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"state\['dense_0.W'\]: expected shape \(4, 8\)"):
        other.load_state_dict({**sd, "dense_0.W": np.zeros((3, 8))})
    with pytest.raises(ValueError, match="names do not match"):
        other.load_state_dict({"x": 1})


def test_predict_proba_and_classes():
    X, y = iris_std()
    m = classifier()
    m.fit(X, y, epochs=5, verbose=0)
    p = m.predict_proba(X)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(m.predict_classes(X), p.argmax(1))


# ------------------------------------------------------------ save, load
def test_save_load_roundtrip_resumes_training(tmp_path):
    X, y = iris_std()
    m = entrena.Sequential([entrena.Dense(8, activation="tanh", name="hidden"), entrena.Dropout(0.2),
                            entrena.Dense(3)], seed=0)
    m.compile(optimizer=entrena.optimizers.Adam(lr=0.01), metrics=["accuracy"])
    m.fit(X, y, epochs=3, verbose=0)
    path = tmp_path / "model.safetensors"
    m.save(path, metadata={"note": "iris"})
    m2 = entrena.load(path)
    np.testing.assert_array_equal(m.predict(X), m2.predict(X))
    assert m2.metadata == {"note": "iris"} and m2.layers[0].name == "hidden"
    assert isinstance(m2.optimizer, entrena.optimizers.Adam) and m2.optimizer.lr == 0.01
    assert m2.optimizer.iterations == m.optimizer.iterations == 15
    assert [mm.name for mm in m2.metrics] == ["accuracy"]
    # Same weights, optimizer state and generator: training continues
    # identically (same shuffles, same dropout masks).
    h1 = m.fit(X, y, epochs=2, verbose=0)
    h2 = m2.fit(X, y, epochs=2, verbose=0)
    assert h1.history["loss"] == h2.history["loss"]
    for a, b in zip(m.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a, b)
    # float64 conversion on load.
    m3 = entrena.load(path, dtype="float64")
    assert m3.dtype == np.float64
    np.testing.assert_allclose(m3.predict(X), entrena.load(path).predict(X), rtol=1e-5, atol=1e-6)


def test_saved_file_is_plain_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    X, y = iris_std()
    m = classifier(hidden=(5,))
    m.fit(X, y, epochs=1, verbose=0)
    m.save(tmp_path / "m.safetensors", include_optimizer=False)
    tensors = st.load_file(str(tmp_path / "m.safetensors"))
    assert sorted(tensors) == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b"]
    np.testing.assert_array_equal(tensors["layers.0.W"], m.parameters()[0])
    assert not list(tmp_path.glob("*.tmp*"))


def test_load_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    with pytest.raises(ValueError):
        entrena.load(bad)
    with pytest.raises(OSError):
        entrena.load(tmp_path / "missing.safetensors")
    m = classifier()
    m.build(4)
    with pytest.raises(ValueError, match="metadata: the key 'format' is entrena's own"):
        m.save(tmp_path / "x.safetensors", metadata={"format": "x"})


def test_model_checkpoint_best_only(tmp_path):
    X, y = iris_std()
    m = classifier()
    ck = cb.ModelCheckpoint(tmp_path / "best-{epoch:02d}.safetensors", monitor="val_loss", save_best_only=True)
    h = m.fit(X, y, epochs=6, verbose=0, validation_split=0.2, validation_tail=True, callbacks=[ck])
    val = h.history["val_loss"]
    improving = [e + 1 for e in range(6) if val[e] < min(val[:e], default=np.inf)]
    assert [p.split("best-")[1][:2] for p in ck.saved] == [f"{e:02d}" for e in improving]
    last = entrena.load(ck.saved[-1])
    assert last.evaluate(X[-30:], y[-30:])["loss"] == pytest.approx(min(val), rel=1e-5)


# ------------------------------------------------------------------- CLI
def _write_csv(path, X, y, names, target):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names + [target])
        for row, t in zip(X, y):
            w.writerow(list(row) + [t])


def test_cli_train_and_predict_classification(tmp_path, capsys):
    from entrena.__main__ import main
    X, y = load_iris()
    species = np.array(["setosa", "versicolor", "virginica"])[y]
    data = tmp_path / "iris.csv"
    _write_csv(data, X, species, ["sl", "sw", "pl", "pw"], "species")
    model = tmp_path / "iris.safetensors"
    rc = main(["train", "--data", str(data), "--target", "species", "--hidden", "16",
               "--epochs", "60", "--lr", "0.01", "--out", str(model), "--no-bar"])
    out = capsys.readouterr().out
    assert rc == 0 and "classification" in out and "Epoch 60/60" in out
    # What the learning curves say comes after training.
    assert "learning curves:\n- " in out and any(w in out for w in ("healthy", "overfits", "underfits", "noisy"))
    acc = float(out.split("test accuracy ")[1].split()[0])
    assert acc > 0.85
    preds = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(model), "--data", str(data), "--out", str(preds), "--proba"]) == 0
    with open(preds, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 150 and set(rows[0]) == {"species", "p_setosa", "p_versicolor", "p_virginica"}
    assert np.mean([r["species"] == s for r, s in zip(rows, species)]) > 0.85


def test_cli_regression_and_errors(tmp_path, capsys):
    from entrena.__main__ import main
    X, y = entrena.datasets.make_regression(n_samples=300, n_features=4, noise=0.05, seed=0)
    data = tmp_path / "reg.csv"
    _write_csv(data, X, y, ["a", "b", "c", "d"], "target")
    rc = main(["train", "--data", str(data), "--target", "target", "--hidden", "32", "--epochs", "40",
               "--out", str(tmp_path / "reg.safetensors"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "regression" in out
    assert float(out.split(" r2 ")[1].split()[0]) > 0.9
    assert main(["train", "--data", str(data), "--target", "nope", "--quiet"]) == 2
    assert "--target: no column 'nope'" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "none.csv"), "--target", "x"]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,t\n1,x,0\n2,3,1\n")
    assert main(["train", "--data", str(bad), "--target", "t"]) == 2
    assert "column 'b' row 2: expected a number, got 'x'" in capsys.readouterr().err
    # Flags are named as flags, in the subcommands and in the demo.
    for flags, said in ((["--epochs", "0"], "--epochs: expected a positive integer"),
                        (["--threads", "-1"], "--threads: expected an integer >= 0"),
                        (["--dropout", "1.5"], "--dropout: expected a rate in [0, 1)")):
        with pytest.raises(SystemExit) as e:
            main(["train", "--data", str(data), "--target", "target", *flags])
        assert e.value.code == 2 and said in capsys.readouterr().err
    for flags, said in ((["--epochs", "-1"], "--epochs"), (["--batch-size", "0"], "--batch-size")):
        with pytest.raises(SystemExit) as e:
            main(flags)
        assert e.value.code == 2 and said in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["export", "--model", str(tmp_path / "reg.safetensors"), "--out", str(tmp_path)])
    assert e.value.code == 2 and "--out: expected a file path" in capsys.readouterr().err


def test_cli_predict_model_saved_from_python(tmp_path, capsys):
    """'entrena predict' takes any saved model: CSV rows are samples flattened
    row-major and reshaped to the model's input shape."""
    from entrena.__main__ import main
    X, y = entrena.datasets.load_digits(as_images=True)
    X, y = X[:300] / 16.0, y[:300]
    m = entrena.Sequential([entrena.Input((1, 8, 8)), entrena.Conv2D(4, 3, padding="same", activation="relu"),
                            entrena.BatchNormalization(), entrena.MaxPool2D(2), entrena.Flatten(),
                            entrena.Dense(10)], seed=0)
    m.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    m.fit(X, y, epochs=10, verbose=0)
    path = tmp_path / "digits.safetensors"
    m.save(path)
    data = tmp_path / "pixels.csv"
    with open(data, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"px{i}" for i in range(64)])
        w.writerows(X.reshape(len(X), -1).tolist())
    out = tmp_path / "out.csv"
    assert main(["predict", "--model", str(path), "--data", str(data), "--out", str(out), "--proba"]) == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 300 and list(rows[0]) == ["class"] + [f"p_{i}" for i in range(10)]
    np.testing.assert_array_equal([int(r["class"]) for r in rows], m.predict_classes(X))
    np.testing.assert_allclose([[float(r[f"p_{i}"]) for i in range(10)] for r in rows],
                               m.predict_proba(X), rtol=1e-5, atol=1e-6)
    short = tmp_path / "short.csv"
    short.write_text("a,b\n1,2\n")
    assert main(["predict", "--model", str(path), "--data", str(short)]) == 2
    assert "the model takes 64 values per sample" in capsys.readouterr().err


def test_cli_predict_recurrent_models(tmp_path):
    """'entrena predict' on sequence models: a row holds a sequence's ids
    (Embedding + GRU classifier, padding masked), or its steps' features
    flattened step by step (LSTM regressor)."""
    from entrena.__main__ import main
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 12, (120, 9))
    for i, length in enumerate(rng.integers(2, 10, 120)):
        ids[i, length:] = 0
    y = (ids == 3).sum(axis=1) > (ids == 4).sum(axis=1)
    clf = entrena.Sequential([entrena.Input((9,)), entrena.Embedding(12, 4, padding_idx=0), entrena.GRU(8),
                              entrena.Dense(2)], seed=0)
    clf.compile(loss="categorical_crossentropy", optimizer="adam")
    clf.fit(ids, y.astype(int), epochs=3, verbose=0)
    X = rng.normal(size=(50, 6, 2)).astype(np.float32)
    reg = entrena.Sequential([entrena.Input((6, 2)), entrena.Bidirectional(entrena.LSTM(5)), entrena.Dense(1)],
                             seed=0)
    reg.compile(loss="mse", optimizer="adam")
    reg.fit(X, X.sum(axis=(1, 2))[:, None], epochs=2, verbose=0)
    for model, data, name in ((clf, ids, "clf"), (reg, X, "reg")):
        path = tmp_path / f"{name}.safetensors"
        model.save(path)
        csv_path = tmp_path / f"{name}.csv"
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([f"v{i}" for i in range(data[0].size)])
            w.writerows(data.reshape(len(data), -1).tolist())
        out = tmp_path / f"{name}_out.csv"
        assert main(["predict", "--model", str(path), "--data", str(csv_path), "--out", str(out)]) == 0
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
        if name == "clf":
            np.testing.assert_array_equal([int(r["class"]) for r in rows], clf.predict_classes(ids))
        else:
            np.testing.assert_allclose([float(r["output_0"]) for r in rows], reg.predict(X)[:, 0], rtol=1e-6)


# ------------------------------------------------- binary and multi-label
def test_binary_moons_with_logits_and_hinge():
    X, y = entrena.datasets.make_moons(n_samples=400, noise=0.1, seed=0)
    for loss, metric in (("bce_with_logits", "binary_accuracy"), ("hinge", "accuracy")):
        m = entrena.Sequential([entrena.Dense(32, activation="relu"), entrena.Dense(1)], seed=0)
        m.compile(loss=loss, optimizer=entrena.optimizers.Adam(lr=0.01), metrics=[metric])
        h = m.fit(X, y.reshape(-1, 1) if loss == "bce_with_logits" else y, epochs=60, verbose=0)
        assert h.history[metric][-1] > 0.95, loss
        classes = m.predict_classes(X)
        assert classes.shape == (400,) and set(np.unique(classes)) <= {0, 1}
        assert np.mean(classes == y) > 0.95
        if loss == "bce_with_logits":
            p = m.predict_proba(X)
            np.testing.assert_allclose(p, 1 / (1 + np.exp(-m.predict(X).astype(np.float64))), rtol=1e-5)


def test_multilabel_probabilities_are_per_column_sigmoids():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    Y = (X[:, :3] > 0).astype(np.float32)          # three independent labels
    m = entrena.Sequential([entrena.Dense(16, activation="tanh"), entrena.Dense(3)], seed=0)
    m.compile(loss="bce_with_logits", optimizer=entrena.optimizers.Adam(lr=0.02))
    m.fit(X, Y, epochs=60, verbose=0)
    p = m.predict_proba(X)
    assert p.shape == (200, 3) and not np.allclose(p.sum(1), 1.0)
    assert np.mean(m.predict_classes(X) == Y) > 0.95


def test_bad_rng_state_in_file_is_rejected(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    from safetensors import safe_open
    m = classifier()
    m.build(4)
    good = tmp_path / "good.safetensors"
    m.save(good, include_optimizer=False)
    with safe_open(str(good), "np") as f:
        md = dict(f.metadata())
    tensors = st.load_file(str(good))
    for bad in ("zz", "0" * 16 + " " * 5, " ".join(["0" * 16] * 6)):
        md["rng_state"] = bad
        path = tmp_path / "bad.safetensors"
        st.save_file(tensors, str(path), metadata=md)
        with pytest.raises(ValueError, match="rng_state"):
            entrena.load(path)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_dataset_loss_does_not_depend_on_batch_size(reduction):
    X, y = iris_std()
    m = entrena.Sequential([entrena.Dense(5, activation="tanh"), entrena.Dense(1)], seed=0, dtype="float64")
    m.compile(loss=entrena.losses.MeanSquaredError(reduction=reduction), optimizer=entrena.SGD(lr=0.0))
    t = y.astype(np.float64).reshape(-1, 1)
    pred = m.predict(X)
    want = ((pred - t) ** 2).sum() if reduction == "sum" else ((pred - t) ** 2).mean()
    for bs in (1, 7, 150):
        assert m.evaluate(X, t, batch_size=bs)["loss"] == pytest.approx(want, rel=1e-12)
        # lr = 0: the epoch's loss is the same data-set loss.
        assert m.fit(X, t, epochs=1, batch_size=bs, verbose=0).history["loss"][0] == pytest.approx(want, rel=1e-12)


def test_dense_activation_alpha_roundtrip(tmp_path):
    X, _ = iris_std()
    m = entrena.Sequential([entrena.Dense(6, activation="leaky_relu", alpha=0.3), entrena.Dense(2)],
                           seed=0, dtype="float64")
    m.build(4)
    W, b, W2, b2 = m.parameters()
    z = X @ W + b
    np.testing.assert_allclose(m.predict(X), np.where(z > 0, z, 0.3 * z) @ W2 + b2, rtol=1e-12)
    m.compile(loss="mse")
    m.save(tmp_path / "a.safetensors")
    again = entrena.load(tmp_path / "a.safetensors")
    assert again.layers[0].alpha == 0.3
    np.testing.assert_array_equal(again.predict(X), m.predict(X))
    assert max(entrena.gradcheck(m, X[:10], np.zeros((10, 2)), loss="mse").values()) < 1e-6
    with pytest.raises(ValueError, match="alpha: only leaky_relu and elu take alpha"):
        entrena.Dense(3, activation="relu", alpha=0.1)
