"""One measurement in a fresh process: ``python _worker.py SPEC.json``.

run.py starts this once per (library, workload, thread count) with the
thread-count environment variables already set (OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS, MKL_NUM_THREADS), so that every library — and the
BLAS under NumPy and scikit-learn — runs on exactly that many threads and
no library's thread pool or allocator state leaks into another's numbers.
The result is written as JSON to spec["out"].

Modes: train (verify, then time epochs), predict (latency), memory (peak
RSS of a training run), digits (time to a test accuracy).
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import _common as C  # noqa: E402


def _load_params(path):
    with np.load(path) as f:
        return [f[f"p{i}"] for i in range(len(f.files))]


def _load_data(path):
    with np.load(path) as f:
        return f["X"], f["y"]


def verify(lib_name, params, spec, X, y):
    """Trains a fresh copy for spec['verify']['steps'] steps on the first
    batches of the data and compares two losses with the float64
    reference: the epoch's mean batch loss, and the loss on those samples
    after the last step."""
    import _libs
    wl = spec["workload"]
    v = spec["verify"]
    b = wl["batch_size"]
    m = v["steps"] * b
    Xv, yv = X[:m], y[:m]
    lib = _libs.make(lib_name, params, spec["opt"], spec["threads"])
    t0 = time.perf_counter()
    epoch_loss = lib.train_epoch(Xv, yv, b)
    after = C.cross_entropy(lib.predict(Xv), yv, lib.output_kind)
    approx = lib_name == "sklearn" and wl["sizes"][-1] == 2
    tol_e = v["tol_approx"] if approx else v["tol_epoch"]
    tol_a = v["tol_approx"] if approx else v["tol_after"]
    d_epoch = C.rel_diff(epoch_loss, v["epoch_loss"])
    d_after = C.rel_diff(after, v["loss_after"])
    return {
        "steps": v["steps"], "epoch_loss": epoch_loss, "loss_after": after,
        "ref_epoch_loss": v["epoch_loss"], "ref_loss_after": v["loss_after"],
        "rel_diff_epoch": d_epoch, "rel_diff_after": d_after, "tol_epoch": tol_e,
        "tol_after": tol_a, "approx": approx,
        "ok": bool(np.isfinite(after) and d_epoch <= tol_e and d_after <= tol_a),
        "seconds": time.perf_counter() - t0,
    }


def run_train(spec):
    import _libs
    X, y = _load_data(spec["data"])
    params = _load_params(spec["init"])
    wl = spec["workload"]
    out = {"verify": verify(spec["lib"], params, spec, X, y)}
    if not out["verify"]["ok"]:
        out["error"] = "verification failed: not timed"
        return out
    lib = _libs.make(spec["lib"], params, spec["opt"], spec["threads"])
    b = wl["batch_size"]
    warm = lib.train_epoch(X, y, b)
    secs, losses = [], [warm]
    for _ in range(wl["epochs"]):
        t0 = time.perf_counter()
        losses.append(lib.train_epoch(X, y, b))
        secs.append(time.perf_counter() - t0)
    med = C.median(secs)
    out.update({
        "epoch_seconds": secs, "median_epoch_seconds": med,
        "samples_per_s": len(X) / med, "epoch_losses": losses,
        "gflops": 6.0 * C.workload_from_dict(wl).n_weights * len(X) / med / 1e9,
        "gflops_done": C.workload_from_dict(wl).train_flops * len(X) / med / 1e9,
    })
    return out


def run_predict(spec):
    import _libs
    params = _load_params(spec["init"])
    lib = _libs.make(spec["lib"], params, spec["opt"], spec["threads"])
    # Verify first: the same weights must give the reference's probabilities.
    probe = np.asarray(spec["probe"]["x"], dtype=np.float32)
    p = np.asarray(lib.predict(probe), dtype=np.float64)
    if lib.output_kind == "logits":
        e = np.exp(p - p.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
    diff = float(np.max(np.abs(p - np.asarray(spec["probe"]["proba"]))))
    out = {"verify": {"max_abs_diff_proba": diff, "tol": spec["tol"], "ok": diff <= spec["tol"]}}
    if not out["verify"]["ok"]:
        out["error"] = "verification failed: not timed"
        return out
    d = params[0].shape[0]
    rng = np.random.default_rng(6)
    for batch, calls in spec["calls"].items():
        x = rng.standard_normal((int(batch), d), dtype=np.float32)
        assert lib.predict(x).shape[0] == int(batch)
        ts = C.time_calls(lambda: lib.predict(x), calls, warmup=max(5, calls // 10))
        out[batch] = {"median_s": C.median(ts), "calls": calls,
                      "p10_s": float(np.percentile(ts, 10)), "p90_s": float(np.percentile(ts, 90))}
    return out


def run_memory(spec):
    import _libs
    # Import the library and load the data first: the baseline includes both.
    _libs.available(spec["lib"])
    X, y = _load_data(spec["data"])
    params = _load_params(spec["init"])
    base = C.rss_bytes()
    reset_ok = C.reset_peak_rss()
    if not reset_ok:
        base = max(base, C.peak_rss_bytes())
    wl = spec["workload"]
    lib = _libs.make(spec["lib"], params, spec["opt"], spec["threads"])
    for _ in range(spec["epochs"]):
        lib.train_epoch(X, y, wl["batch_size"])
    peak = C.peak_rss_bytes()
    return {"baseline_bytes": base, "peak_bytes": peak, "delta_bytes": peak - base,
            "hwm_reset": reset_ok,
            "model_bytes": int(sum(p.nbytes for p in params)), "epochs": spec["epochs"]}


def run_digits(spec):
    import _libs
    Xtr, ytr, Xte, yte = C.digits_split(spec["split_seed"])
    params = _load_params(spec["init"])
    lib = _libs.make(spec["lib"], params, spec["opt"], spec["threads"])
    target = spec["target_acc"]
    elapsed, accs = 0.0, []
    reached = None
    for epoch in range(1, spec["max_epochs"] + 1):
        t0 = time.perf_counter()
        lib.train_epoch(Xtr, ytr, spec["batch_size"])
        acc = float(np.mean(np.argmax(lib.predict(Xte), axis=1) == yte))
        elapsed += time.perf_counter() - t0
        accs.append(acc)
        if acc >= target:
            reached = epoch
            break
    return {"epochs": reached, "seconds": elapsed if reached else None, "accuracy": accs[-1],
            "accuracies": accs, "n_train": len(Xtr), "n_test": len(Xte)}


MODES = {"train": run_train, "predict": run_predict, "memory": run_memory, "digits": run_digits}


def main(path):
    with open(path) as f:
        spec = json.load(f)
    t0 = time.perf_counter()
    try:
        ok, why = __import__("_libs").available(spec["lib"])
        if not ok:
            res = {"skipped": why}
        else:
            res = MODES[spec["mode"]](spec)
    except Exception as e:  # noqa: BLE001 - report, don't crash the driver
        res = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    res.update({"lib": spec["lib"], "mode": spec["mode"], "threads": spec["threads"],
                "wall_seconds": time.perf_counter() - t0})
    la = C.loadavg()
    res["loadavg"] = [la[0]] if la else []   # 1-minute load average at the end
    C.dump_json(res, spec["out"])


if __name__ == "__main__":
    main(sys.argv[1])
