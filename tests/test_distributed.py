"""Data-parallel training over MPI (entrena.distributed), run with
``mpiexec -n 2`` from the suite: the ranks agree bit for bit, runs repeat
bit for bit, 2 ranks with batch b step like 1 process with batch 2b, stops
are agreed (no rank is left waiting), rank 0 alone writes files. Skips
when mpi4py or mpiexec is absent."""
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
if not os.path.exists(MPIEXEC):
    pytest.skip("mpiexec not found", allow_module_level=True)

# A data set and models shared by the scripts: the digits, a float64 MLP.
PRELUDE = """
import json, sys, numpy as np, entrena
from entrena import distributed
X, y = entrena.datasets.load_digits(dtype="float64")
X = X[:360] / 16.0
y = y[:360]

def mlp(seed=0, dtype="float64"):
    m = entrena.Sequential([entrena.Dense(32, activation="tanh"), entrena.Dense(10)], seed=seed, dtype=dtype)
    m.compile(optimizer=entrena.SGD(lr=0.2, momentum=0.9), metrics=["accuracy"])
    return m

def weights(m):
    return np.concatenate([p.ravel() for p in m.get_weights()])

def report(**values):
    print("RESULT " + json.dumps({"rank": distributed.rank(), **values}), flush=True)
"""


def _run(tmp_path, body, ranks=2, timeout=120):
    """Runs PRELUDE + body on `ranks` MPI ranks (ranks=1: a plain process);
    returns the RESULT dicts, by rank."""
    script = tmp_path / "job.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    cmd = ([MPIEXEC, "--allow-run-as-root", "--oversubscribe", "-n", str(ranks), sys.executable, str(script)]
           if ranks > 1 else [sys.executable, str(script)])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp_path, env=env)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    import json
    out = [json.loads(line[len("RESULT "):]) for line in r.stdout.splitlines() if line.startswith("RESULT ")]
    return sorted(out, key=lambda d: d["rank"]), r


def test_ranks_agree_and_runs_repeat(tmp_path):
    body = """
    rank, size = distributed.init()
    m = mlp(seed=rank)                      # different initial weights: rank 0's are broadcast
    h = m.fit(X, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0)
    report(size=size, w=weights(m).tolist(), loss=h["loss"], val=h["val_accuracy"])
    """
    first, _ = _run(tmp_path, body)
    again, _ = _run(tmp_path, body)
    assert [d["size"] for d in first] == [2, 2]
    assert first[0]["w"] == first[1]["w"]                  # the same bits on both ranks
    assert first[0]["loss"] == first[1]["loss"] and first[0]["val"] == first[1]["val"]
    assert first[0]["w"] == again[0]["w"]                  # and in the next run
    assert first[0]["val"][-1] > 0.8


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-11), ("float32", 2e-4)])
def test_two_ranks_with_batch_b_equal_one_process_with_batch_2b(tmp_path, dtype, rtol):
    two, _ = _run(tmp_path, f"""
    distributed.init()
    m = mlp(dtype="{dtype}")
    h = m.fit(X, y, epochs=2, batch_size=12, verbose=0)
    report(w=weights(m).tolist(), loss=h["loss"])
    """)
    one, _ = _run(tmp_path, f"""
    m = mlp(dtype="{dtype}")
    h = m.fit(X, y, epochs=2, batch_size=24, verbose=0)
    report(w=weights(m).tolist(), loss=h["loss"])
    """, ranks=1)
    np.testing.assert_allclose(two[0]["w"], one[0]["w"], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(two[0]["loss"], one[0]["loss"], rtol=rtol)
    # Not the same as a single process with batch b: the gradients really are averaged.
    single_b, _ = _run(tmp_path, f"""
    m = mlp(dtype="{dtype}")
    m.fit(X, y, epochs=2, batch_size=12, verbose=0)
    report(w=weights(m).tolist())
    """, ranks=1)
    assert not np.allclose(two[0]["w"], single_b[0]["w"], rtol=1e-3)


def test_training_metrics_are_over_every_ranks_samples(tmp_path):
    """Each rank's metric state is merged in rank order: the training
    metrics of 2 ranks with batch b are those of 1 process with batch 2b,
    and the same bits on both ranks."""
    body = """
    {init}
    names = ["accuracy", "f1", "balanced_accuracy", "log_loss", "roc_auc", "top_3_accuracy"]
    m = entrena.Sequential([entrena.Dense(32, activation="tanh"), entrena.Dense(10)], seed=0, dtype="float64")
    def first_output(y_true, y_pred):              # a Python metric: batch values averaged by rows
        return float(np.mean(y_pred[:, 0]))
    m.compile(optimizer=entrena.SGD(lr=0.2, momentum=0.9), metrics=names + [first_output])
    h = m.fit(X, y, epochs=2, batch_size={batch}, verbose=0)
    r = entrena.Sequential([entrena.Dense(8), entrena.Dense(3)], seed=0, dtype="float64")
    r.compile(loss="mse", optimizer=entrena.SGD(lr=0.01), metrics=["mse", "mae", "r2"])
    targets = np.stack([X[:, 10], X[:, 20] * 2, X[:, 30] - 1], axis=1)
    hr = r.fit(X, targets, epochs=2, batch_size={batch}, verbose=0)
    report(h={{k: v for k, v in {{**h.history, **hr.history}}.items() if k != "seconds"}})
    """
    two, _ = _run(tmp_path, body.format(init="distributed.init()", batch=12))
    one, _ = _run(tmp_path, body.format(init="", batch=24), ranks=1)
    assert two[0]["h"] == two[1]["h"]
    for key, values in one[0]["h"].items():
        np.testing.assert_allclose(two[0]["h"][key], values, rtol=1e-9, err_msg=key)
    assert two[0]["h"]["accuracy"][-1] > 0.5


def test_uneven_data_gives_equal_batch_counts(tmp_path):
    res, _ = _run(tmp_path, """
    distributed.init()
    m = mlp()
    h = m.fit(X[:101], y[:101], epochs=1, batch_size=10, verbose=0)   # 101 samples: 51 per rank, one padded
    report(iterations=h["iterations"], w=weights(m).tolist())
    """)
    assert res[0]["iterations"] == res[1]["iterations"] == [6]
    assert res[0]["w"] == res[1]["w"]


def test_stops_are_agreed(tmp_path):
    res, _ = _run(tmp_path, """
    rank, size = distributed.init()

    class StopOnRank1(entrena.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if rank == 1 and epoch == 1:
                self.model.stop_training = True

    m = mlp()
    h1 = m.fit(X, y, epochs=6, batch_size=32, verbose=0, callbacks=[StopOnRank1()])
    es = entrena.callbacks.EarlyStopping("val_loss", patience=0, min_delta=10.0)   # stops after epoch 2
    h2 = m.fit(X, y, epochs=6, batch_size=32, verbose=0, validation_split=0.25, callbacks=[es])
    # A training metric is over both ranks' samples, so it can be monitored too.
    es = entrena.callbacks.EarlyStopping("accuracy", patience=0, min_delta=1.0)      # stops after epoch 2
    h3 = m.fit(X, y, epochs=6, batch_size=32, verbose=0, callbacks=[es])
    report(epochs1=len(h1["loss"]), epochs2=len(h2["loss"]), epochs3=len(h3["loss"]), acc=h3["accuracy"],
           w=weights(m).tolist())
    """)
    for d in res:
        assert d["epochs1"] == 2 and d["epochs2"] == 2 and d["epochs3"] == 2
    assert res[0]["acc"] == res[1]["acc"]
    assert res[0]["w"] == res[1]["w"]


def test_nonfinite_loss_stops_every_rank(tmp_path):
    res, _ = _run(tmp_path, """
    rank, size = distributed.init()
    m = entrena.Sequential([entrena.Dense(1)], seed=0, dtype="float64")
    m.compile(loss="mse", optimizer=entrena.SGD(lr=10.0))      # diverges within a few batches
    try:
        m.fit(X, y.astype(float), epochs=5, batch_size=8, verbose=0)
        err = None
    except FloatingPointError as e:
        err = str(e)
    report(err=err)
    """)
    assert all(d["err"] and "loss became" in d["err"] for d in res)
    assert res[0]["err"] == res[1]["err"]            # the same epoch and batch on both ranks


def test_only_rank_0_writes_files(tmp_path):
    res, _ = _run(tmp_path, """
    rank, size = distributed.init()
    m = mlp()
    cbs = [entrena.callbacks.CSVLogger(f"log-{rank}.csv"),
           entrena.callbacks.ModelCheckpoint("ckpt-{epoch}-rank" + str(rank) + ".safetensors", monitor="loss")]
    m.fit(X, y, epochs=2, batch_size=32, verbose=1, callbacks=cbs)
    report(main=distributed.is_main())
    """)
    assert [d["main"] for d in res] == [True, False]
    files = sorted(os.listdir(tmp_path))
    assert "log-0.csv" in files and "log-1.csv" not in files
    assert "ckpt-2-rank0.safetensors" in files and not any("rank1" in f for f in files)


def test_allreduce_adds_in_rank_order(tmp_path):
    res, _ = _run(tmp_path, """
    rank, size = distributed.init()
    # Values whose float32 sum depends on the order: 1e8 + 1 - 1e8.
    parts = [np.array([1e8, 3.0, 0.5], dtype=np.float32), np.array([1.0, -3.0, 0.25], dtype=np.float32)]
    a = parts[rank].copy()
    distributed.allreduce_sum(a)
    b = np.arange(10, dtype=np.float64) * (rank + 1)
    distributed.allreduce_sum(b)
    report(a=a.tolist(), b=b.tolist())
    """)
    want = (np.float32(1e8) + np.float32(1.0), np.float32(0.0), np.float32(0.75))
    for d in res:
        assert d["a"] == [float(v) for v in want]
        assert d["b"] == (np.arange(10) * 3.0).tolist()


def test_single_process_api_without_init():
    from entrena import distributed
    assert (distributed.rank(), distributed.size(), distributed.is_main()) == (0, 1, True)
    assert distributed.communicator() is None
    a = np.ones(3)
    assert distributed.allreduce_sum(a) is a and a.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match="comm"):
        distributed.init(comm="world")


@pytest.mark.parametrize("how", ["sample_weight", "sum"])
def test_weighted_and_summed_losses_equal_one_process_with_batch_2b(tmp_path, how):
    """Each rank's mean weighs by its own weight sum (a 'sum' loss adds up):
    with weights 1 on even samples and 5 on odd ones, rank 0 sees only even
    samples and rank 1 only odd ones, so equal weights per rank would be wrong."""
    fit_args = ("sample_weight=np.where(np.arange(64) % 2, 5.0, 1.0)" if how == "sample_weight" else "")
    compile_loss = ("entrena.CategoricalCrossentropy(reduction='sum')" if how == "sum" else "'categorical_crossentropy'")
    body = f"""
    {{init}}
    m = entrena.Sequential([entrena.Dense(16, activation="tanh"), entrena.Dense(10)], seed=0, dtype="float64")
    m.compile(loss={compile_loss}, optimizer=entrena.SGD(lr=0.01))
    m.fit(X[:64], y[:64], epochs=2, batch_size={{batch}}, shuffle=False, verbose=0, {fit_args})
    report(w=weights(m).tolist())
    """
    two, _ = _run(tmp_path, body.format(init="distributed.init()", batch=8))
    one, _ = _run(tmp_path, body.format(init="", batch=16), ranks=1)
    np.testing.assert_allclose(two[0]["w"], one[0]["w"], rtol=1e-11, atol=1e-12)
    assert two[0]["w"] == two[1]["w"]


def test_batchnorm_statistics_agree(tmp_path):
    res, _ = _run(tmp_path, """
    distributed.init()
    m = entrena.Sequential([entrena.Dense(16), entrena.BatchNormalization(), entrena.Dense(10)], seed=0,
                           dtype="float64")
    m.compile(optimizer="adam")
    h = m.fit(X, y, epochs=2, batch_size=16, validation_split=0.2, verbose=0)
    report(buffers=[b.tolist() for _, b in m.named_buffers()], val=h["val_loss"])
    """)
    assert res[0]["buffers"] == res[1]["buffers"] and res[0]["val"] == res[1]["val"]


def test_an_error_on_one_rank_stops_the_others(tmp_path):
    res, r = _run(tmp_path, """
    rank, size = distributed.init()

    class FailOnRank0(entrena.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if rank == 0 and epoch == 1:
                raise OSError("disk full")

    out = {}
    for name, cbs in (("during", [FailOnRank0()]),
                      ("before", [entrena.callbacks.CSVLogger("/nonexistent/dir/log.csv" if rank == 0 else "ok.csv")])):
        try:
            mlp().fit(X, y, epochs=4, batch_size=32, verbose=0, callbacks=cbs)
            out[name] = None
        except Exception as e:
            out[name] = f"{type(e).__name__}: {e}"
    report(**out)
    """, timeout=90)
    assert res[0]["during"].startswith("OSError: disk full")
    assert "another rank" in res[1]["during"]
    assert res[0]["before"].startswith("FileNotFoundError")
    assert "another rank failed before training started" in res[1]["before"]


def test_allreduce_refuses_arrays_it_cannot_sum_in_place(tmp_path):
    res, _ = _run(tmp_path, """
    distributed.init()
    errors = []
    for a in (np.ones(8)[::2], np.ones(4, dtype=np.int64), np.ones(4, dtype=np.float32)[None].T.copy(order="F")):
        try:
            distributed.allreduce_sum(a)
            errors.append(None)
        except (TypeError, ValueError) as e:
            errors.append(str(e))
    report(errors=errors)
    """)
    errs = res[0]["errors"]
    assert "C-contiguous" in errs[0] and "float32 or float64" in errs[1]


def test_mismatches_and_failures_before_a_collective_raise_on_every_rank(tmp_path):
    """What one rank alone gets wrong (an unpicklable broadcast, an array of
    another size or type, other data, bad input) raises on every rank
    instead of leaving the others waiting in a collective."""
    res, _ = _run(tmp_path, """
    rank, size = distributed.init()
    out = {}

    def attempt(key, fn):
        try:
            fn()
            out[key] = None
        except Exception as e:
            out[key] = f"{type(e).__name__}: {e}"

    attempt("bcast", lambda: distributed.broadcast_object(lambda: 1))
    attempt("size", lambda: distributed.allreduce_sum(np.ones(4 + rank)))
    attempt("dtype", lambda: distributed.allreduce_sum(np.ones(4, dtype=np.float32 if rank else np.float64)))
    attempt("bad_array", lambda: distributed.allreduce_sum(np.ones(8)[::2] if rank == 1 else np.ones(4)))
    attempt("n", lambda: mlp().fit(X[:300 + rank], y[:300 + rank], epochs=1, verbose=0))
    Xbad = X.copy()
    if rank == 1:
        Xbad[3, 3] = np.nan
    attempt("nan", lambda: mlp().fit(Xbad, y, epochs=1, verbose=0))
    m = entrena.Sequential([entrena.Dense(8 + rank), entrena.Dense(10)], seed=0, dtype="float64")
    m.compile(optimizer="sgd")
    attempt("arch", lambda: m.fit(X, y, epochs=1, verbose=0))
    h = mlp().fit(X, y, epochs=1, verbose=0)          # and the ranks still train together afterwards
    report(out=out, loss=h["loss"])
    """)
    r0, r1 = res[0]["out"], res[1]["out"]
    assert "PicklingError" in r0["bcast"] or "AttributeError" in r0["bcast"]
    assert r1["bcast"].startswith("RuntimeError") and "could not pickle" in r1["bcast"]
    for key in ("size", "dtype"):
        for d in (r0, r1):
            assert d[key].startswith("ValueError") and "ranks differ" in d[key], d[key]
    assert r1["bad_array"].startswith("ValueError") and "C-contiguous" in r1["bad_array"]
    assert r0["bad_array"].startswith("RuntimeError") and "refused its array" in r0["bad_array"]
    for d in (r0, r1):
        assert d["n"].startswith("ValueError") and "samples" in d["n"] and "rank 1: 301" in d["n"], d["n"]
        assert d["arch"].startswith("ValueError") and "parameters" in d["arch"], d["arch"]
    assert r1["nan"].startswith("ValueError") and r0["nan"].startswith("RuntimeError")
    assert res[0]["loss"] == res[1]["loss"]


def test_allreduce_checks_its_array_without_init_too():
    from entrena import distributed
    for bad, exc in (([1.0, 2.0], TypeError), (np.ones(4, dtype=np.int64), TypeError),
                     (np.ones(8)[::2], ValueError)):
        with pytest.raises(exc, match="array: expected"):
            distributed.allreduce_sum(bad)
    ro = np.ones(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        distributed.allreduce_sum(ro)
    a = np.ones(3)
    assert distributed.allreduce_sum(a) is a
