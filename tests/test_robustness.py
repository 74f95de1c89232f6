"""Misuse, load and interruption: a battery of bad arguments (each a clear
exception naming the argument), corrupt and fuzzed model files, kills
during save, one model used from several threads, Ctrl-C during fit, and
the friction a new user hits. Cases that could crash the interpreter run in
a subprocess, so a crash is a test failure, not a lost test run."""
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

import entrena
from entrena import _core
from entrena import callbacks as cb


def _run(code, timeout=120, **kw):
    """Runs Python code in a fresh interpreter; returns the finished process."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, **kw)


def _model(seed=0, **kw):
    m = entrena.Sequential([entrena.Dense(8, activation="relu"), entrena.Dense(3)], seed=seed, **kw)
    m.compile(optimizer=entrena.Adam(lr=0.01), metrics=["accuracy"])
    return m


def _iris():
    X, y = entrena.datasets.load_iris()
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32), y


# --------------------------------------------------------- bad arguments
BAD_CALLS = [
    # (id, call, exception, message pattern)
    ("dense-units-huge", lambda: entrena.Sequential([entrena.Dense(2**62 + 1, bias_init="ones")]).build(3),
     ValueError, "2\\^40"),
    ("dense-units-2-61", lambda: entrena.Sequential([entrena.Dense(2**61), entrena.Dense(2)]).build(4),
     ValueError, "2\\^40"),
    ("dense-units-64-bit", lambda: entrena.Dense(2**64), ValueError, "units: expected an integer of at most 63 bits"),
    ("dense-units-float", lambda: entrena.Dense(2.5), TypeError, "units: expected an integer"),
    ("dense-units-bool", lambda: entrena.Dense(True), TypeError, "units: expected an integer"),
    ("dense-units-neg", lambda: entrena.Dense(-3), ValueError, "units: expected an integer >= 1, got -3"),
    ("dense-activation-int", lambda: entrena.Dense(3, activation=3), TypeError, "activation"),
    ("dense-init-object", lambda: entrena.Dense(3, kernel_init=object()), TypeError, "kernel_init"),
    ("dense-use-bias-str", lambda: entrena.Dense(3, use_bias="yes"), TypeError, "use_bias: expected true or false"),
    ("dropout-rate-nan", lambda: entrena.Dropout(float("nan")), ValueError, "rate: expected a finite number"),
    ("dropout-rate-neg", lambda: entrena.Dropout(-0.1), ValueError, "rate: expected a finite number in \\[0, 1\\)"),
    ("input-shape-str", lambda: entrena.Sequential([entrena.Dense(2)], input_shape="4"), TypeError,
     "input_shape: expected a tuple"),
    ("input-shape-huge", lambda: entrena.Sequential([entrena.Dense(2)], input_shape=(2**31, 2**31)), ValueError,
     "2\\^40"),
    ("build-twice", lambda: entrena.Sequential([entrena.Dense(2)], input_shape=(3,)).build(3), RuntimeError,
     "already built"),
    ("set-threads-huge", lambda: entrena.set_num_threads(2**31), ValueError, "n: expected an integer in \\[1, 4096\\]"),
    ("set-threads-float", lambda: entrena.set_num_threads(2.0), TypeError, "n: expected an integer"),
    ("set-threads-zero", lambda: entrena.set_num_threads(0), ValueError, "n: expected an integer >= 1, got 0"),
    ("set-seed-neg", lambda: entrena.set_seed(-1), ValueError, "seed: expected an integer >= 0"),
    ("set-seed-huge", lambda: entrena.set_seed(2**64), ValueError, "seed: expected an integer in \\[0"),
    ("model-seed-str", lambda: entrena.Sequential(seed="0"), TypeError, "seed: expected an integer"),
    ("model-dtype", lambda: entrena.Sequential(dtype="float16"), TypeError, "dtype: expected float32 or float64"),
    ("loss-unknown", lambda: entrena.losses.get("kl"), ValueError, "loss: expected one of"),
    ("loss-type", lambda: entrena.losses.get(3), TypeError, "loss: expected a Loss or a name"),
    ("loss-huber-delta", lambda: entrena.losses.Huber(delta=0), ValueError, "delta: expected a finite number > 0"),
    ("loss-smoothing", lambda: entrena.losses.CategoricalCrossentropy(label_smoothing=1.5), ValueError,
     "label_smoothing: expected a finite number in \\[0, 1\\]"),
    ("optimizer-unknown", lambda: entrena.optimizers.get("lion"), ValueError, "optimizer: expected one of"),
    ("optimizer-lr-inf", lambda: entrena.Adam(lr=float("inf")), ValueError, "lr: expected a finite number"),
    ("optimizer-lr-none", lambda: entrena.SGD(lr=None), TypeError, "lr: expected a value, got None"),
    ("optimizer-momentum-str", lambda: entrena.SGD(momentum="0.9"), TypeError, "momentum: expected a number"),
    ("optimizer-params-list", lambda: entrena.SGD([np.zeros(3)]), TypeError, "params"),
    ("metric-unknown", lambda: entrena.metrics.get("aucc"), ValueError, "metrics: expected one of"),
    ("metric-type", lambda: entrena.metrics.get(1.5), TypeError, "metrics: expected a name or a callable"),
    ("callback-type", lambda: _model().fit(*_iris(), callbacks=[len], verbose=0), TypeError,
     "callbacks: expected Callback objects"),
    ("early-stopping-patience", lambda: cb.EarlyStopping(patience=-1), ValueError, "patience: expected an integer >= 0"),
    ("early-stopping-mode", lambda: cb.EarlyStopping(mode="up"), ValueError, "mode: expected 'auto', 'min' or 'max'"),
    ("early-stopping-monitor", lambda: cb.EarlyStopping(monitor=3), TypeError, "monitor: expected the name"),
    ("plateau-factor", lambda: cb.ReduceLROnPlateau(factor=1.5), ValueError, "factor"),
    ("schedule-step-size", lambda: entrena.schedules.StepDecay(step_size=0), ValueError, "step_size"),
    ("schedule-lambda", lambda: entrena.schedules.LambdaSchedule(3), TypeError, "factor: expected a function"),
]


@pytest.mark.parametrize("call,exc,pattern", [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_bad_arguments_raise_clear_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def _fit_case(kw, X=None, y=None):
    Xi, yi = _iris()
    m = _model()
    return m.fit(Xi if X is None else X, yi if y is None else y, **{"verbose": 0, **kw})


BAD_FITS = [
    ("batch-2-63", dict(batch_size=2**63), ValueError, "batch_size: expected an integer in \\[1, "),
    ("batch-zero", dict(batch_size=0), ValueError, "batch_size: expected an integer >= 1"),
    ("batch-float", dict(batch_size=3.0), TypeError, "batch_size: expected an integer"),
    ("epochs-neg", dict(epochs=-1), ValueError, "epochs: expected an integer >= 0"),
    ("epochs-huge", dict(epochs=2**70), ValueError, "epochs: expected an integer in \\[0, "),
    ("initial-epoch", dict(initial_epoch=-2), ValueError, "initial_epoch: expected an integer >= 0"),
    ("verbose-str", dict(verbose="yes"), TypeError, "verbose: expected an integer"),
    ("seed-neg", dict(seed=-5), ValueError, "seed: expected an integer >= 0"),
    ("split-one", dict(validation_split=1.0), ValueError, "validation_split"),
    ("split-and-data", dict(validation_split=0.2, validation_data=(np.zeros((2, 4)), np.zeros(2))), ValueError,
     "give validation_data or validation_split"),
    ("val-data-shape", dict(validation_data=(np.zeros((2, 3)), np.zeros(2))), ValueError, "validation_data X"),
    ("val-data-tuple", dict(validation_data=np.zeros((2, 4))), ValueError, "validation_data: expected a tuple"),
    ("drop-last", dict(batch_size=500, drop_last=True), ValueError, "batch_size: 500 is larger"),
]


@pytest.mark.parametrize("kw,exc,pattern", [c[1:] for c in BAD_FITS], ids=[c[0] for c in BAD_FITS])
def test_bad_fit_arguments(kw, exc, pattern):
    with pytest.raises(exc, match=pattern):
        _fit_case(kw)


BAD_DATA = [
    ("x-nan", lambda X, y: (np.where(X > 1.5, np.nan, X), y), ValueError, "X: expected finite values"),
    ("x-inf", lambda X, y: (np.where(X > 1.5, np.inf, X), y), ValueError, "X: expected finite values"),
    ("x-str", lambda X, y: (X.astype(str), y), TypeError, "X: expected numeric data"),
    ("x-complex", lambda X, y: (X.astype(complex), y), TypeError, "X: expected real numbers"),
    ("x-1d", lambda X, y: (X[:, 0], y), ValueError, "X: expected a at least 2-D array|X: expected"),
    ("x-empty", lambda X, y: (X[:0], y[:0]), ValueError, "X: expected at least one sample"),
    ("x-wrong-width", lambda X, y: (X[:, :3], y), ValueError, "X: expected shape \\(n, 4\\)"),
    ("y-short", lambda X, y: (X, y[:-1]), ValueError, "y: expected 150 rows"),
    ("y-none", lambda X, y: (X, None), TypeError, "y: expected an array of targets, got None"),
    ("y-nan", lambda X, y: (X, np.where(y > 1, np.nan, y)), ValueError, "y"),
    ("y-too-many-labels", lambda X, y: (X, np.arange(150)), ValueError, "150 distinct labels but the model has 3 outputs"),
    ("y-bad-onehot", lambda X, y: (X, np.full((150, 3), 0.7)), ValueError, "one-hot"),
    ("y-mixed-types", lambda X, y: (X, np.array(["a", 1] * 75, dtype=object)), TypeError,
     "class labels must be comparable"),
]


@pytest.mark.parametrize("make,exc,pattern", [c[1:] for c in BAD_DATA], ids=[c[0] for c in BAD_DATA])
def test_bad_data(make, exc, pattern):
    X, y = _iris()
    Xb, yb = make(X, y)
    m = _model()
    m.build(4)
    before = [p.copy() for p in m.parameters()]
    with pytest.raises(exc, match=pattern):
        m.fit(Xb, yb, verbose=0)
    for a, b in zip(before, m.parameters()):   # a failed call changes nothing
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------ model files
def _saved(tmp_path, name="m.safetensors"):
    X, y = _iris()
    m = _model()
    m.fit(X, y, epochs=2, verbose=0)
    path = tmp_path / name
    m.save(path)
    return m, path


def _rewrite_metadata(path, out, **changes):
    """A copy of a model file with metadata entries changed (None: removed)."""
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    for k, v in changes.items():
        if v is None:
            header["__metadata__"].pop(k, None)
        else:
            header["__metadata__"][k] = v
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    out.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + n:])
    return out


MALFORMED = [
    ("py-not-json", dict(entrena_python="{oops"), "metadata 'entrena_python' is not valid JSON"),
    ("py-deep", dict(entrena_python="[" * 100000 + "]" * 100000), "metadata 'entrena_python' is not valid JSON"),
    ("py-list", dict(entrena_python="[1, 2]"), "expected a JSON object"),
    ("py-seed", dict(entrena_python=json.dumps({"seed": "x"})), "seed must be an integer"),
    ("py-loss", dict(entrena_python=json.dumps({"loss": "mse"})), "loss must be"),
    ("py-loss-unknown", dict(entrena_python=json.dumps({"loss": {"name": "nope", "config": {}}})),
     "compile settings are not valid"),
    ("py-loss-config", dict(entrena_python=json.dumps({"loss": {"name": "mse", "config": {"delta": 1}}})),
     "compile settings are not valid"),
    ("py-metrics", dict(entrena_python=json.dumps({"metrics": "accuracy"})), "metrics must be a list"),
    ("py-classes", dict(entrena_python=json.dumps({"classes": []})), "classes must be a non-empty list"),
    ("opt-name", dict(optimizer_state=json.dumps({"name": "sgd", "steps": 3})), "saved by 'sgd'"),
    ("opt-state-json", dict(optimizer_state="{"), "optimizer_state"),
    ("arch-missing", dict(architecture=None), "architecture"),
    ("arch-not-json", dict(architecture="{"), "not valid JSON"),
    ("arch-layer", dict(architecture=json.dumps({"input_shape": [4], "layers": [{"type": "Magic"}]})),
     "unknown type 'Magic'"),
    ("param-options", dict(param_options=json.dumps({"layers.9.W": {"weight_decay": False}})), "not a parameter"),
    ("format", dict(format="other"), "not an entrena model file"),
    ("dtype", dict(dtype="int8"), "'float32' or 'float64'"),
    ("rng", dict(rng_state="zz"), "rng_state"),
]


@pytest.mark.parametrize("changes,pattern", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_files_raise_one_error_naming_the_file(tmp_path, changes, pattern):
    _, path = _saved(tmp_path)
    bad = _rewrite_metadata(path, tmp_path / "bad.safetensors", **changes)
    with pytest.raises(ValueError, match=pattern) as info:
        entrena.load(bad)
    assert "bad.safetensors" in str(info.value)


def test_optimizer_state_of_the_wrong_length_is_refused_at_load(tmp_path):
    _, path = _saved(tmp_path)
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    # Drop the last 4 values of optimizer.exp_avg: a file whose buffers do not fit the model.
    entry = header["optimizer.exp_avg"]
    begin, end = entry["data_offsets"]
    payload = data[8 + n:]
    payload = payload[:end - 16] + payload[end:]
    entry["shape"] = [entry["shape"][0] - 4]
    entry["data_offsets"] = [begin, end - 16]
    for k, v in header.items():
        if k != "__metadata__" and v["data_offsets"][0] >= end:
            v["data_offsets"] = [v["data_offsets"][0] - 16, v["data_offsets"][1] - 16]
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    bad = tmp_path / "short.safetensors"
    bad.write_bytes(struct.pack("<Q", len(text)) + text + payload)
    with pytest.raises(ValueError, match="short.safetensors.*exp_avg"):
        entrena.load(bad)


def test_paths_with_nul_bytes_are_refused(tmp_path):
    m, path = _saved(tmp_path)
    with pytest.raises(ValueError, match="embedded null byte"):
        entrena.load(str(path) + "\x00.evil")
    with pytest.raises(ValueError, match="embedded null byte"):
        m.save(str(tmp_path / "out.safetensors") + "\x00/../../x")
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]


def test_fuzzed_model_files_never_crash(tmp_path):
    """Thousands of randomly mutated model files, loaded in a subprocess:
    every one loads or raises ValueError / OSError."""
    _, path = _saved(tmp_path)
    code = f"""
    import random, entrena
    data = open({str(path)!r}, "rb").read()
    rng = random.Random(1)
    outcomes = {{"ok": 0, "ValueError": 0, "OSError": 0}}
    for i in range(2000):
        b = bytearray(data)
        for _ in range(rng.choice([1, 2, 8])):
            k = rng.randrange(len(b)) if rng.random() < 0.5 else rng.randrange(min(len(b), 400))
            b[k] = rng.randrange(256)
        if rng.random() < 0.1:
            b = b[:rng.randrange(len(b))]
        p = {str(tmp_path / 'fuzz.safetensors')!r}
        open(p, "wb").write(bytes(b))
        try:
            entrena.load(p)
            outcomes["ok"] += 1
        except (ValueError, OSError) as e:
            outcomes[type(e).__name__ if type(e) in (ValueError, OSError) else "ValueError"] += 1
    print(outcomes)
    """
    proc = _run(code, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcomes = eval(proc.stdout.strip().splitlines()[-1])
    assert sum(outcomes.values()) == 2000 and outcomes["ValueError"] > 1000


def test_headers_with_many_entries_parse_quickly(tmp_path):
    """150,000 tensor entries: the header is read in well under the time a
    quadratic duplicate-key check takes."""
    entries = {f"t{i}": {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]} for i in range(150000)}
    entries["__metadata__"] = {"format": "other"}
    text = json.dumps(entries).encode()
    path = tmp_path / "many.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + bytes(4 * 150000))
    t0 = time.perf_counter()
    meta, tensors = _core.inspect(path)
    assert len(tensors) == 150000
    with pytest.raises(ValueError, match="not an entrena model file"):
        entrena.load(path)
    assert time.perf_counter() - t0 < 10


def test_kill_during_save_keeps_the_old_file_and_the_next_save_cleans_up(tmp_path):
    target = tmp_path / "big.safetensors"
    code = f"""
    import numpy as np, entrena, sys
    m = entrena.Sequential([entrena.Dense(2048), entrena.Dense(2048)], input_shape=(2048,), seed=0)
    m.save({str(target)!r})
    sys.stdout.write("saved\\n"); sys.stdout.flush()
    while True:
        m.parameters()[0][0, 0] += 1
        m.save({str(target)!r})
    """
    for attempt in range(6):
        proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "saved"
        time.sleep(0.05 + 0.07 * attempt)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        m = entrena.load(target)          # the old file is always whole
        assert m.count_params() == 2048 * 2048 * 2 + 4096
    # Killed writers may leave temporary files; the next save removes them.
    m.save(target)
    assert [f for f in os.listdir(tmp_path) if ".tmp-" in f] == []


def test_stale_temporary_files_of_dead_writers_are_removed(tmp_path):
    m, path = _saved(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f".m.safetensors.tmp-{dead}-0123456789abcdef"
    live = tmp_path / f".m.safetensors.tmp-{os.getppid()}-0123456789abcdef"   # a running writer's
    other = tmp_path / f".other.safetensors.tmp-{dead}-0123456789abcdef"       # another target's
    for f in (stale, live, other):
        f.write_bytes(b"partial")
    m.save(path)
    assert not stale.exists() and live.exists() and other.exists()


# ------------------------------------------------------------ threads
def test_one_model_from_two_threads(tmp_path):
    code = """
    import threading, numpy as np, entrena
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 20)).astype(np.float32)
    y = rng.integers(0, 3, 3000)
    m = entrena.Sequential([entrena.Dense(64, activation="relu"), entrena.Dense(3)], seed=0)
    m.compile(optimizer="adam")
    m.fit(X[:10], y[:10], verbose=0)
    errors = []
    def fit(bs):
        try:
            m.fit(X, y, epochs=3, batch_size=bs, verbose=0)
        except Exception as e:
            errors.append(e)
    ts = [threading.Thread(target=fit, args=(b,)) for b in (7, 300)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert not errors, errors
    # Predictions from threads are those of one thread at a time.
    want_small, want_big = m.predict(X[:5]), m.predict(X)
    bad = []
    def pred(rows, want):
        for _ in range(40):
            if not np.array_equal(m.predict(X[:rows]), want):
                bad.append(rows)
    ts = [threading.Thread(target=pred, args=(5, want_small)), threading.Thread(target=pred, args=(3000, want_big))]
    for t in ts: t.start()
    for t in ts: t.join()
    assert not bad, bad
    # Two models in two threads still train at the same time.
    m2 = entrena.Sequential([entrena.Dense(64, activation="relu"), entrena.Dense(3)], seed=1)
    m2.compile(optimizer="adam")
    ts = [threading.Thread(target=lambda mm=mm: mm.fit(X, y, epochs=2, verbose=0)) for mm in (m, m2)]
    for t in ts: t.start()
    for t in ts: t.join()
    print("ok")
    """
    proc = _run(code, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]


# ------------------------------------------------------------ interrupts
def test_sigint_during_a_long_fit_stops_within_half_a_second():
    code = """
    import os, signal, threading, time, numpy as np, entrena
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50000, 64)).astype(np.float32)
    y = rng.integers(0, 10, 50000)
    m = entrena.Sequential([entrena.Dense(256, activation="relu"), entrena.Dense(10)], seed=0)
    m.compile(optimizer="adam")
    sent = []
    def interrupt():
        time.sleep(1.0)
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=interrupt, daemon=True).start()
    try:
        m.fit(X, y, epochs=100, batch_size=16, verbose=0)
        print("not interrupted")
    except KeyboardInterrupt as e:
        delay = time.perf_counter() - sent[0]
        print("interrupted", round(delay, 3), "|", e)
    assert all(np.isfinite(p).all() for p in m.parameters())
    m.fit(X[:64], y[:64], epochs=1, verbose=0)   # the model is whole
    """
    proc = _run(code, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = proc.stdout.strip().splitlines()[-1]
    assert line.startswith("interrupted"), line
    delay = float(line.split()[1])
    assert delay < 0.5, line
    # Between two batches ("at epoch e, batch b of B"), or, when the signal
    # lands in a callback between epochs, "at the end of epoch e".
    assert ("training stopped at epoch" in line or "training stopped at the end of epoch" in line) \
        and "weights of the last finished batch" in line


def test_nan_with_validation_monitoring_stops_cleanly_and_restores():
    X, y = _iris()
    m = entrena.Sequential([entrena.Dense(8, activation="relu"), entrena.Dense(3)], seed=0)
    m.compile(optimizer=entrena.SGD(lr=0.01))
    m.fit(X, y, epochs=3, verbose=0)
    good = [p.copy() for p in m.parameters()]
    m.optimizer.lr = 1e7
    stop = cb.EarlyStopping(monitor="val_loss", restore_best_weights=True, patience=5)
    h = m.fit(X, y, epochs=20, batch_size=10, verbose=0, validation_split=0.2,
              callbacks=[stop, cb.TerminateOnNaN()])
    assert h.stop_reason == "nonfinite_loss"
    assert all(np.isfinite(p).all() for p in m.parameters())
    if stop.best_epoch is not None:     # the best epoch's weights are back
        assert stop.restored_best_weights
    else:                               # NaN in the first epoch: the weights from before it are kept
        for p, q in zip(m.parameters(), good):
            assert np.isfinite(p).all()


# ------------------------------------------------------------ friction
def test_progress_output_in_a_log_file_is_one_line_per_epoch(tmp_path):
    code = """
    import numpy as np, entrena
    X, y = entrena.datasets.load_iris()
    m = entrena.Sequential([entrena.Dense(3)], seed=0)
    m.compile(optimizer="adam")
    m.fit(X, y, epochs=2, verbose=1)
    """
    log = tmp_path / "log.txt"
    with open(log, "w") as f:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], stdout=f, stderr=subprocess.STDOUT)
    text = log.read_text()
    assert proc.returncode == 0, text
    assert "\r" not in text and text.count("Epoch ") == 2, text


def test_softmax_before_a_loss_on_logits_warns():
    X, y = _iris()
    m = entrena.Sequential([entrena.Dense(3, activation="softmax")], seed=0)
    m.compile(loss="categorical_crossentropy")
    with pytest.warns(UserWarning, match="ends with softmax.*applies softmax to its input"):
        m.fit(X, y, verbose=0)
    m = entrena.Sequential([entrena.Dense(1, activation="sigmoid")], seed=0)
    m.compile(loss="binary_crossentropy_with_logits")
    with pytest.warns(UserWarning, match="ends with sigmoid"):
        m.fit(X, (y > 0).astype(int), verbose=0)
    m = entrena.Sequential([entrena.Dense(3)], seed=0)
    m.compile(loss="categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.fit(X, y, verbose=0)


@pytest.mark.parametrize("labels", [["cat", "dog", "eel"], [3, 7, 9], [-1.5, 0.5, 2.5]])
def test_any_class_labels(tmp_path, labels):
    X, y = _iris()
    named = np.array(labels, dtype=object if isinstance(labels[0], str) else None)[y]
    m = _model()
    h = m.fit(X, named, epochs=30, verbose=0, validation_split=0.2)
    assert list(m.classes_) == sorted(labels)
    pred = m.predict_classes(X)
    assert set(pred.tolist()) <= set(labels)
    assert np.mean(pred == named) > 0.8
    assert m.evaluate(X, named)["accuracy"] == pytest.approx(np.mean(pred == named))
    path = tmp_path / "labels.safetensors"
    m.save(path)
    again = entrena.load(path)
    np.testing.assert_array_equal(again.predict_classes(X), pred)
    with pytest.raises(ValueError, match="label 'bird' is not one of the classes|label 'bird'"):
        again.evaluate(X[:2], np.array(["bird", labels[0]], dtype=object))
    assert h.history["val_accuracy"]


def test_validation_targets_are_named_as_such():
    X, y = _iris()
    m = _model()
    with pytest.raises(ValueError, match=r"^validation_data y: categorical_crossentropy expected integer class"):
        m.fit(X, y, epochs=1, verbose=0, validation_data=(X[:5], np.full(5, 7)))


def test_binary_labels_by_name():
    X, y = _iris()
    yes_no = np.where(y == 0, "yes", "no")
    m = entrena.Sequential([entrena.Dense(1)], seed=0)
    m.compile(loss="binary_crossentropy_with_logits", optimizer=entrena.Adam(lr=0.05), metrics=["accuracy"])
    m.fit(X, yes_no, epochs=30, verbose=0)
    assert list(m.classes_) == ["no", "yes"]
    assert np.mean(m.predict_classes(X) == yes_no) > 0.95


@pytest.mark.parametrize("loss", ["binary_crossentropy_with_logits", "binary_crossentropy"])
def test_binary_crossentropy_reads_floats_in_0_1_as_probabilities(loss):
    """Soft targets in one output column (0.2/0.8, or many values) are
    probabilities, as in Keras and PyTorch, not two or more class labels."""
    X, y = _iris()
    rng = np.random.default_rng(0)
    for soft in (np.where(y == 0, 0.8, 0.2), rng.uniform(0, 1, len(y))):
        layers = [entrena.Dense(1)] + ([entrena.Sigmoid()] if loss == "binary_crossentropy" else [])
        m = entrena.Sequential(layers, seed=0, dtype="float64")
        m.compile(loss=loss, optimizer=entrena.SGD(lr=0.01))
        m.fit(X, soft, epochs=1, verbose=0)
        assert m.classes_ is None
        p = m.predict_proba(X).reshape(-1)
        t = soft.reshape(-1)
        bce = -np.mean(t * np.log(p) + (1 - t) * np.log1p(-p))
        assert m.evaluate(X, soft)["loss"] == pytest.approx(bce, rel=1e-6)
    # Labels that cannot be probabilities are still class labels.
    m = entrena.Sequential([entrena.Dense(1)], seed=0)
    m.compile(loss="binary_crossentropy_with_logits")
    m.fit(X, np.where(y == 0, 1.5, 2.5), epochs=1, verbose=0)
    assert list(m.classes_) == [1.5, 2.5]


def test_validation_split_is_a_stratified_sample_by_default():
    X, y = _iris()                       # sorted by class: the tail is all class 2
    seen = {}

    class Peek(cb.Callback):
        def on_train_begin(self, logs=None):
            seen["ok"] = True

    m = _model()
    h = m.fit(X, y, epochs=1, verbose=0, validation_split=0.2, callbacks=[Peek()])
    # A stratified 20 % of iris: 10 of each class; the model's val accuracy is then not that of one class.
    ev = {c: m.evaluate(X[y == c], y[y == c])["accuracy"] for c in range(3)}
    assert h.history["val_accuracy"][0] == pytest.approx(np.mean(list(ev.values())), abs=0.15)
    tail = _model()
    h_tail = tail.fit(X, y, epochs=1, verbose=0, validation_split=0.2, validation_tail=True)
    assert h_tail.history["val_loss"][0] == pytest.approx(tail.evaluate(X[-30:], y[-30:])["loss"], rel=1e-5)
    # Reproducible: the same model seed, the same split.
    again = _model()
    h2 = again.fit(X, y, epochs=1, verbose=0, validation_split=0.2)
    assert h2.history["val_loss"] == h.history["val_loss"]


def test_predict_before_training_warns_once():
    m = entrena.Sequential([entrena.Dense(2)], input_shape=(3,), seed=0)
    with pytest.warns(UserWarning, match="has not been trained"):
        m.predict(np.zeros((1, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.predict(np.zeros((1, 3)))
        loaded = entrena.Sequential([entrena.Dense(2)], input_shape=(3,), seed=0)
        loaded.load_state_dict(m.state_dict())
        loaded.predict(np.zeros((1, 3)))


def test_summary_prints_once():
    m = entrena.Sequential([entrena.Dense(2)], input_shape=(3,))
    lines = []
    assert m.summary(print_fn=lines.append) is None and len(lines) == 1
    assert "Total params: 8" in m.summary(print_fn=None)


def test_unknown_isa_request_warns():
    proc = _run("import entrena", env=dict(os.environ, ENTRENA_ISA="bogus"))
    assert proc.returncode == 0 and "ENTRENA_ISA='bogus' is not a kernel variant" in proc.stderr


def test_cli_help_shows_defaults_and_trains_with_early_stopping():
    proc = _run("import sys; from entrena.__main__ import main; sys.argv = ['entrena']; main(['train', '--help'])")
    assert "(default: 10)" in proc.stdout and "(default: 128,64)" in proc.stdout


def test_the_test_tools_are_listed_once():
    """README's second command installs tests/requirements.txt; the "test"
    extra of pyproject.toml lists the same packages."""
    tomllib = pytest.importorskip("tomllib")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        extra = tomllib.load(f)["project"]["optional-dependencies"]["test"]
    with open(os.path.join(root, "tests", "requirements.txt")) as f:
        listed = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert sorted(extra) == sorted(listed)
    with open(os.path.join(root, "README.md")) as f:
        assert "pip install -r tests/requirements.txt && python -m pytest" in f.read()
