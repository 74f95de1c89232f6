"""The layer system and the one epoch loop: every layer built by the
engine's registry from its config, name tables owned by the engine,
tensors of any rank (Dense on the last axis, per-timestep losses), models
built from an input shape, parameter options (weight decay per tensor,
against torch's parameter groups), reproducible scripts with set_seed,
training metrics from the batches' own outputs, Keras' early stopping, batch
callbacks and Ctrl-C."""
import _thread
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import entrena
from entrena import _core
from entrena import callbacks as cb
from entrena import layers as L
from entrena.reference import losses as ref_losses

LAYER_EXAMPLES = {
    "Dense": lambda: L.Dense(3, activation="leaky_relu", alpha=0.2, kernel_init=("normal", {"std": 0.1})),
    "Activation": lambda: L.Activation("elu", alpha=0.5),
    "Dropout": lambda: L.Dropout(0.3),
    "Flatten": lambda: L.Flatten(),
    "Normalization": lambda: L.Normalization(),
    "RandomFlip": lambda: L.RandomFlip("horizontal"),
    "RandomTranslation": lambda: L.RandomTranslation(0.1, (-0.2, 0.1)),
    "RandomCrop": lambda: L.RandomCrop(28, 28, padding=2),
    "RandomRotation": lambda: L.RandomRotation(0.05),
    "GaussianNoise": lambda: L.GaussianNoise(0.1),
    "MaxPool1D": lambda: L.MaxPool1D(3, strides=2, padding="same"),
    "MaxPool2D": lambda: L.MaxPool2D((2, 3), strides=1),
    "AvgPool1D": lambda: L.AvgPool1D([2]),
    "AvgPool2D": lambda: L.AvgPool2D(3, strides=(2, 1), padding="same"),
    "GlobalMaxPooling1D": lambda: L.GlobalMaxPooling1D(),
    "GlobalMaxPooling2D": lambda: L.GlobalMaxPooling2D(),
    "GlobalAveragePooling1D": lambda: L.GlobalAveragePooling1D(),
    "GlobalAveragePooling2D": lambda: L.GlobalAveragePooling2D(),
    "BatchNormalization": lambda: L.BatchNormalization(momentum=0.01, eps=1e-3, center=False),
    "LayerNormalization": lambda: L.LayerNormalization(eps=1e-6, scale=False),
    "Reshape": lambda: L.Reshape((2, -1)),
    "ZeroPadding2D": lambda: L.ZeroPadding2D(((1, 0), (2, 2))),
    "Conv1D": lambda: L.Conv1D(4, 3, strides=2, padding="same", groups=2, activation="elu", alpha=0.5),
    "Conv2D": lambda: L.Conv2D(6, (3, 2), padding=(1, 0), dilation_rate=(2, 1), activation="relu",
                               kernel_init="he_normal", use_bias=False),
    "Embedding": lambda: L.Embedding(50, 8, padding_idx=0, embeddings_init=("uniform", {"low": -0.1, "high": 0.1})),
    "Masking": lambda: L.Masking(-1.0),
    "SimpleRNN": lambda: L.SimpleRNN(5, "relu", return_sequences=True, dropout=0.2),
    "LSTM": lambda: L.LSTM(4, return_state=True, go_backwards=True, recurrent_init="glorot_uniform"),
    "GRU": lambda: L.GRU(3, use_bias=False),
    "Bidirectional": lambda: L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode="ave"),
}


# ------------------------------------------------------ one definition
def test_every_engine_layer_type_has_a_python_declaration():
    engine_types, _ = _core.names("layer")
    assert sorted(engine_types) == sorted(L._CLASSES) == sorted(LAYER_EXAMPLES)
    for t in engine_types:
        layer = LAYER_EXAMPLES[t]()
        assert layer.type == t
        cfg = layer.engine_config()
        assert cfg["type"] == t
        # from_config is a lookup: the same engine config comes back.
        assert L.from_config(cfg).engine_config() == cfg
        # The engine reads what it writes.
        assert json.loads(_core.layer_config(json.dumps(cfg))) == cfg


def test_layer_arguments_are_checked_by_the_engine_when_created():
    with pytest.raises(ValueError, match="units: expected an integer >= 1, got 0"):
        L.Dense(0)
    with pytest.raises(TypeError, match='units: expected an integer, got string "3"'):
        L.Dense("3")
    with pytest.raises(ValueError, match="rate: expected a finite number in \\[0, 1\\), got 1"):
        L.Dropout(1.0)
    with pytest.raises(ValueError, match="kernel_init std: expected a finite number >= 0"):
        L.Dense(2, kernel_init={"name": "normal", "std": -1})
    with pytest.raises(ValueError, match="kernel_init: unknown argument 'sd'"):
        L.Dense(2, kernel_init={"name": "normal", "sd": 1})
    with pytest.raises(ValueError, match="alpha: expected a finite number, got nan"):
        L.LeakyReLU(float("nan"))
    with pytest.raises(TypeError, match="Layer: expected the engine layer type"):
        L.Layer()
    with pytest.raises(ValueError, match="unknown type 'Conv9D'; expected one of Dense"):
        L.Layer("Conv9D")
    # A layer declared generically is the same layer.
    assert L.Layer("Dense", units=3).engine_config() == L.Dense(3).engine_config()


def test_names_come_from_the_engine():
    for kind in ("activation", "initializer", "loss", "optimizer", "metric", "layer"):
        names, aliases = _core.names(kind)
        assert names and all(a not in names for a in aliases) and set(aliases.values()) <= set(names)
    for name in _core.names("optimizer")[0] + list(_core.names("optimizer")[1]):
        assert entrena.optimizers.get(name).name in _core.names("optimizer")[0]
    # Aliases and case work everywhere the engine reads names.
    assert L.Dense(2, activation="Swish").activation == "silu"
    assert L.Dense(2, kernel_init="xavier_uniform").kernel_init == {"name": "glorot_uniform"}
    assert entrena.losses.get("Sparse_Categorical_Crossentropy").name == "categorical_crossentropy"


# ------------------------------------------------------ tensors of any rank
def _sequence_task(rng, n=96, T=6, F=3, C=3):
    X = rng.normal(size=(n, T, F))
    y = np.digitize(X[:, :, 0] + 0.5 * X[:, :, 1], [-0.5, 0.5])   # a class per timestep
    return X, y


def test_dense_on_sequences_with_a_per_timestep_cross_entropy(tmp_path):
    rng = np.random.default_rng(0)
    X, y = _sequence_task(rng)
    m = entrena.Sequential([entrena.Dense(16, activation="tanh"), entrena.Dense(3)], seed=3,
                           input_shape=(6, 3), dtype="float64")
    out = m.predict(X)
    W1, b1, W2, b2 = m.parameters()
    assert out.shape == (96, 6, 3)
    np.testing.assert_allclose(out, np.tanh(X @ W1 + b1) @ W2 + b2, rtol=1e-12)
    # The loss averages over every position: the reference over n*T rows.
    loss = entrena.losses.CategoricalCrossentropy()
    assert loss(out, y) == pytest.approx(
        ref_losses.categorical_crossentropy_forward(out.reshape(-1, 3), y.reshape(-1).astype(float)),
        rel=1e-12)
    assert loss(out, np.eye(3)[y]) == pytest.approx(loss(out, y), rel=1e-12)   # one-hot (n, T, C)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=0.03), metrics=["accuracy"])
    report = entrena.gradcheck(m, X[:8], y[:8])
    assert max(report.values()) < 1e-6
    h = m.fit(X, y, epochs=40, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]
    ev = m.evaluate(X, y)
    assert ev["accuracy"] > 0.85
    assert ev["accuracy"] == pytest.approx(entrena.metrics.accuracy(y.reshape(-1), m.predict(X).reshape(-1, 3)))
    np.testing.assert_array_equal(m.predict_classes(X), m.predict(X).argmax(-1))
    path = tmp_path / "seq.safetensors"
    m.save(path)
    again = entrena.load(path)
    assert again.input_shape == (6, 3) and again.output_shape == (6, 3)
    np.testing.assert_array_equal(again.predict(X), m.predict(X))
    assert again.evaluate(X, y) == ev


def test_regression_targets_per_position():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 5, 2))
    y = X.sum(axis=-1)                 # (n, T) targets for (n, T, 1) outputs
    m = entrena.Sequential([entrena.Dense(1)], input_shape=(5, 2), seed=0)
    m.compile(loss="mse", optimizer=entrena.SGD(lr=0.1), metrics=["mae"])
    h = m.fit(X, y, epochs=30, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < 1e-3
    assert m.evaluate(X, y[..., None])["loss"] == pytest.approx(m.evaluate(X, y)["loss"])
    with pytest.raises(ValueError, match=r"y: mse expected targets of shape \(n, 5\) or \(n, 5, 1\)"):
        m.evaluate(X, y[:, :4])


# ------------------------------------------------------ built from a shape
@pytest.mark.parametrize("form", ["model", "Input", "first_layer", "input_dim"])
def test_a_model_with_an_input_shape_is_built_at_once(form, rng):
    layers = [entrena.Dense(4, activation="relu"), entrena.Dense(2)]
    if form == "model":
        m = entrena.Sequential(layers, input_shape=(3,), seed=0)
    elif form == "Input":
        m = entrena.Sequential([entrena.Input(shape=(3,))] + layers, seed=0)
    elif form == "first_layer":
        m = entrena.Sequential([entrena.Dense(4, activation="relu", input_shape=(3,)), layers[1]], seed=0)
    else:
        m = entrena.Sequential([entrena.Dense(4, activation="relu", input_dim=3), layers[1]], seed=0)
    assert m.built and m.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    text = m.summary(print_fn=None)
    assert "Total params: 26" in text
    assert len(m.parameters()) == 4
    assert m.predict(rng.normal(size=(5, 3))).shape == (5, 2)
    with pytest.raises(ValueError, match=r"X: expected shape \(n, 3\)"):
        m.predict(rng.normal(size=(5, 4)))


def test_input_shape_errors():
    with pytest.raises(ValueError, match="Input\\(shape\\) must come first"):
        entrena.Sequential([entrena.Dense(2), entrena.Input((3,))])
    with pytest.raises(ValueError, match="input_shape: expected an integer >= 1, got 0"):
        entrena.Sequential([entrena.Dense(2)], input_shape=(0,))
    with pytest.raises(ValueError, match="give input_dim or input_shape"):
        entrena.Dense(2, input_dim=3, input_shape=(3,))


# ------------------------------------------------------ parameter options
def _mlp(seed=0, dtype="float64"):
    return entrena.Sequential([entrena.Dense(5, activation="tanh"), entrena.Dense(3)], input_shape=(4,),
                              seed=seed, dtype=dtype)


def test_set_param_options_and_weight_decay_per_tensor(tmp_path):
    m = _mlp()
    assert all(o == {"weight_decay": True} for o in m.param_options().values())
    m.set_param_options("b", weight_decay=False)
    assert m.param_options() == {"dense_0.W": {"weight_decay": True}, "dense_0.b": {"weight_decay": False},
                                 "dense_1.W": {"weight_decay": True}, "dense_1.b": {"weight_decay": False}}
    # With zero gradients, SGD's weight decay moves only the decayed tensors.
    before = [p.copy() for p in m.parameters()]
    opt = entrena.SGD(m.parameters(), lr=0.5, weight_decay=0.1)
    m.zero_grad()
    opt.step()
    for (name, p), b in zip(m.named_parameters(), before):
        want = b * (1 - 0.05) if name.endswith(".W") else b
        np.testing.assert_allclose(p, want, rtol=1e-15)
    path = tmp_path / "opts.safetensors"
    m.compile(loss="mse", optimizer=opt)
    m.save(path)
    assert entrena.load(path).param_options() == m.param_options()
    with pytest.raises(ValueError, match="'gamma' matches no parameter; parameters: dense_0.W"):
        m.set_param_options("gamma", weight_decay=False)
    with pytest.raises(TypeError, match="weight_decay: expected True or False"):
        m.set_param_options("b", weight_decay=0)


def test_param_groups_keras_and_pytorch_styles_agree():
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(32, 4)), rng.normal(size=(32, 3))
    a, b, c = _mlp(), _mlp(), _mlp()
    named = dict(a.named_parameters())
    opt_a = entrena.AdamW([{"params": [named["dense_0.W"], named["dense_1.W"]]},
                           {"params": [named["dense_0.b"], named["dense_1.b"]], "weight_decay": 0.0}],
                          lr=0.01, weight_decay=0.2)
    opt_b = entrena.AdamW(lr=0.01, weight_decay=0.2)
    opt_b.exclude_from_weight_decay(var_names=["b"])
    b.compile(loss="mse", optimizer=opt_b)
    c.compile(loss="mse", optimizer=entrena.AdamW(lr=0.01, weight_decay=0.2))
    assert a.param_options() == b.param_options()
    a.compile(loss="mse", optimizer=opt_a)
    for m in (a, b, c):
        m.fit(X, Y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa, pb)
    assert not np.array_equal(a.parameters()[1], c.parameters()[1])   # the biases decayed in c
    with pytest.raises(ValueError, match="'params' and 'weight_decay'"):
        entrena.AdamW([{"params": [named["dense_0.W"]], "lr": 0.1}])
    with pytest.raises(ValueError, match="expected 0 \\(no weight decay\\) or the optimizer's weight_decay"):
        entrena.AdamW([{"params": [named["dense_0.W"]], "weight_decay": 0.5}], weight_decay=0.2)


def test_weight_decay_groups_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(16, 4)), rng.normal(size=(16, 3))
    m = _mlp(seed=2)
    m.set_param_options("b", weight_decay=False)
    named = dict(m.named_parameters())
    lin1, lin2 = torch.nn.Linear(4, 5).double(), torch.nn.Linear(5, 3).double()
    with torch.no_grad():
        for lin, k in ((lin1, 0), (lin2, 1)):
            lin.weight.copy_(torch.from_numpy(named[f"dense_{k}.W"].T.copy()))
            lin.bias.copy_(torch.from_numpy(named[f"dense_{k}.b"].copy()))
    tm = torch.nn.Sequential(lin1, torch.nn.Tanh(), lin2)
    topt = torch.optim.AdamW([{"params": [lin1.weight, lin2.weight]},
                              {"params": [lin1.bias, lin2.bias], "weight_decay": 0.0}], lr=0.05,
                             weight_decay=0.3)
    m.compile(loss="mse", optimizer=entrena.AdamW(lr=0.05, weight_decay=0.3))
    m.fit(X, Y, epochs=5, batch_size=16, shuffle=False, verbose=0)
    for _ in range(5):
        topt.zero_grad()
        torch.nn.functional.mse_loss(tm(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
        topt.step()
    np.testing.assert_allclose(named["dense_0.W"], lin1.weight.detach().numpy().T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(named["dense_1.b"], lin2.bias.detach().numpy(), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------ reproducible scripts
SCRIPT = """
import sys
import numpy as np
import entrena
entrena.set_seed(int(sys.argv[1]))
X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
y = (X[:, 0] > 0).astype(int)
m = entrena.Sequential([entrena.Dense(8, activation="relu"), entrena.Dropout(0.2), entrena.Dense(2)])
m.compile(loss="categorical_crossentropy", optimizer="adam")
m.fit(X, y, epochs=3, batch_size=16, verbose=0)
m2 = entrena.Sequential([entrena.Dense(8)], input_shape=(4,))
sys.stdout.write(np.concatenate([p.ravel() for p in m.parameters() + m2.parameters()]).tobytes().hex())
"""


def _script_weights(seed):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(seed)], capture_output=True, text=True,
                         check=True, env=dict(os.environ))
    return bytes.fromhex(out.stdout)


def test_set_seed_makes_a_script_reproducible():
    first, second, other = _script_weights(0), _script_weights(0), _script_weights(1)
    assert first == second
    assert first != other


def test_set_seed_in_process_and_seed_given_to_fit():
    entrena.set_seed(7)
    a = _mlp(seed=None)
    b = _mlp(seed=None)
    entrena.set_seed(7)
    a2 = _mlp(seed=None)
    for p, q in zip(a.parameters(), a2.parameters()):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a.parameters()[0], b.parameters()[0])
    # A seed given to fit covers the initial weights of a model that fit builds.
    X = np.random.default_rng(0).normal(size=(20, 4))
    y = np.zeros(20, dtype=int)
    runs = []
    for _ in range(2):
        m = entrena.Sequential([entrena.Dense(3)])
        m.compile(optimizer=entrena.SGD(lr=0.1))
        m.fit(X, y, epochs=2, batch_size=4, seed=11, verbose=0)
        runs.append(np.concatenate([p.ravel() for p in m.parameters()]))
    np.testing.assert_array_equal(runs[0], runs[1])
    with pytest.raises(ValueError, match="seed: expected an integer >= 0"):
        entrena.set_seed(-1)


# ------------------------------------------------------ the epoch loop
def _iris():
    X, y = entrena.datasets.load_iris()
    return (X - X.mean(0)) / X.std(0), y


def test_training_metrics_come_from_the_batches_of_the_epoch():
    X, y = _iris()
    m = entrena.Sequential([entrena.Dense(3)], seed=0)
    calls = []

    def batch_accuracy(y_true, y_pred):
        calls.append(len(y_true))
        return entrena.metrics.accuracy(y_true, y_pred)

    m.compile(loss="categorical_crossentropy", optimizer=entrena.SGD(lr=0.0),
              metrics=["accuracy", batch_accuracy])
    h = m.fit(X, y, epochs=2, batch_size=32, verbose=0, validation_split=0.2)
    # One call per training batch and per validation batch; no pass over the training set after the epoch.
    assert calls == ([32, 32, 32, 24] + [30]) * 2
    # lr = 0: the running value over the batches is the data set's value.
    ev = m.evaluate(X[:120], y[:120])
    assert h.history["accuracy"] == [pytest.approx(ev["accuracy"])] * 2
    assert h.history["batch_accuracy"] == [pytest.approx(ev["accuracy"])] * 2
    # With learning, the training value is the running one (Keras), not an after-epoch pass.
    m2 = entrena.Sequential([entrena.Dense(3)], seed=0)
    m2.compile(loss="categorical_crossentropy", optimizer=entrena.SGD(lr=0.5), metrics=["accuracy"])
    logs = []
    m2.fit(X, y, epochs=1, batch_size=10, verbose=0, shuffle=False,
           callbacks=[cb.LambdaCallback(on_epoch_end=lambda e, l: logs.append(l))])
    assert logs[0]["accuracy"] != pytest.approx(m2.evaluate(X, y)["accuracy"])


def test_batch_callbacks_see_running_logs():
    X, y = _iris()
    m = entrena.Sequential([entrena.Dense(3)], seed=0)
    m.compile(optimizer=entrena.SGD(lr=0.1), metrics=["accuracy"])
    seen = []

    class Batches(cb.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((batch, sorted(logs)))

    m.fit(X, y, epochs=2, batch_size=50, verbose=0, callbacks=[Batches()])
    assert [b for b, _ in seen] == [0, 1, 2, 0, 1, 2]
    assert seen[0][1] == ["accuracy", "loss"]


def test_early_stopping_rules_of_keras():
    X, y = _iris()

    def run(*stoppers, lr=0.0, epochs=40, metrics=("accuracy",), **fit_kw):
        m = entrena.Sequential([entrena.Dense(3)], seed=0)
        m.compile(optimizer=entrena.SGD(lr=lr), metrics=list(metrics))
        return m, m.fit(X, y, epochs=epochs, batch_size=150, verbose=0, callbacks=list(stoppers), **fit_kw)

    # Nothing changes (lr = 0): the first epoch is the best; patience 3 stops after epoch 3.
    s = cb.EarlyStopping(monitor="loss", patience=3)
    assert run(s)[1].epochs == 4 and s.stopped_epoch == 3 and s.best_epoch == 0 and s.wait == 3
    # mode "auto" maximizes accuracy (it would stop at once minimizing a constant too, so use a rising one).
    s = cb.EarlyStopping(monitor="accuracy", patience=2)
    m, h = run(s, lr=0.3, epochs=15)
    best = int(np.argmax(h.history["accuracy"]))
    assert s.best == max(h.history["accuracy"]) and s.best_epoch == best
    # A baseline never beaten: the wait never restarts.
    s = cb.EarlyStopping(monitor="loss", patience=3, baseline=1e-9)
    assert run(s)[1].epochs == 3
    # Epochs before start_from_epoch are not watched.
    s = cb.EarlyStopping(monitor="loss", patience=2, start_from_epoch=5)
    assert run(s)[1].epochs == 8
    # restore_best_weights puts the best epoch back even when training runs to the end (Keras 3).
    s = cb.EarlyStopping(monitor="loss", mode="max", patience=100, restore_best_weights=True)
    seen = []
    rec = cb.LambdaCallback(on_epoch_end=lambda e, logs: seen.append([p.copy() for p in rec.model.parameters()]))
    m, h = run(rec, s, lr=0.3, epochs=5)
    assert s.stopped_epoch is None and s.best_epoch == 0
    for p, q in zip(m.parameters(), seen[0]):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="monitor 'val_f1' is not logged; expected one of loss, accuracy"):
        run(cb.EarlyStopping(monitor="val_f1"))
    with pytest.raises(ValueError, match="one learning-rate schedule per fit"):
        run(cb.ReduceLROnPlateau(monitor="loss"), cb.LearningRateScheduler(entrena.schedules.Constant()))


def test_reduce_lr_on_plateau_mode_auto_follows_the_metric():
    X, y = _iris()
    m = entrena.Sequential([entrena.Dense(3)], seed=0)
    m.compile(optimizer=entrena.SGD(lr=0.0), metrics=["accuracy"])
    # Constant accuracy: in mode auto (max) no epoch after the first improves.
    h = m.fit(X, y, epochs=6, batch_size=150, verbose=0,
              callbacks=[cb.ReduceLROnPlateau(monitor="accuracy", factor=0.5, patience=1)])
    assert h.history["lr"] == [0.0] * 6   # 0 stays 0; the schedule ran without error
    m.compile(optimizer=entrena.SGD(lr=0.1), metrics=["accuracy"])
    plateau = cb.ReduceLROnPlateau(monitor="accuracy", factor=0.5, patience=0)
    m.fit(X, y, epochs=3, batch_size=150, verbose=0, callbacks=[plateau])
    assert plateau.schedule.mode == "max"


def test_ctrl_c_stops_training_between_batches():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 64)).astype(np.float32)
    y = rng.integers(0, 10, 20000)
    m = entrena.Sequential([entrena.Dense(256, activation="relu"), entrena.Dense(10)], seed=0)
    m.compile(optimizer="adam")
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            m.fit(X, y, epochs=1000, batch_size=8, verbose=0)
    finally:
        timer.cancel()
    assert time.perf_counter() - t0 < 30
    assert all(np.isfinite(p).all() for p in m.parameters())
    # The model is whole: training goes on.
    h = m.fit(X[:100], y[:100], epochs=1, verbose=0)
    assert np.isfinite(h.history["loss"][0])
