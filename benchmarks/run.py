"""entrena side by side with the NumPy reference trainer, PyTorch (CPU,
eager) and scikit-learn, on the same machine, data, initial weights,
batches and optimizer.

    python benchmarks/run.py              # the full run (tens of minutes)
    python benchmarks/run.py --quick      # about a minute, for development
    python benchmarks/run.py --threads 1,2 --out DIR

Every measurement runs in its own fresh process (_worker.py) with the
thread count set for every library. Each library is first verified to
reach the float64 reference's loss after the same optimizer steps; only
then is it timed. Results: DIR/results.json and DIR/results.md; a full run
also rewrites BENCHMARKS.md at the repository root. See benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import _common as C  # noqa: E402
import _libs  # noqa: E402

# Verification tolerances (relative, on the loss). Every library trains in
# float32 and is compared with a float64 run of the reference trainer on the
# same batches, on two numbers:
#  - the mean batch loss over the steps: float32 rounding (about 6e-8 per
#    operation, growing with the length of the dot products) moves it by
#    1e-9 to 1e-4; TOL_EPOCH = 1e-3.
#  - the loss after the last step: Adam's update is about lr * sign(g) in
#    the first steps, so a tiny gradient component whose sign float32
#    rounding flips moves its weight by a whole lr; on the large MLP this
#    spreads float32 runs by up to ~1.5e-3 after 20 steps (1e-8 to 1e-6 on
#    the smaller ones). Its tolerance is a quarter of how much the last step
#    moved the reference's loss, capped at TOL_AFTER_MAX: so a library off by
#    even one step, or with another learning rate, fails, while rounding
#    passes. The report shows the observed differences beside both.
TOL_EPOCH = 1e-3
TOL_AFTER_MAX = 5e-3
# scikit-learn with 2 classes has one logistic output unit, not two softmax
# ones: the same initial predictions, a different trajectory. Its check is a
# loose sanity check, marked "approx" in the report.
TOL_APPROX = 0.1

# Predictions of float32 libraries vs the float64 reference (probabilities):
# float32 rounding gives ~1e-6; a wrong weight layout gives ~1e-1.
PREDICT_TOL = 1e-4

TARGETS_VS_TORCH = {"small": 10.0, "medium": 3.0, "large": 2.0}
TARGET_VS_NUMPY = 4.0
TARGET_PEAK = 0.60
TARGET_PREDICT = {"1": 3.0, "1024": 2.0}

DIGITS = {"sizes": (64, 128, 10), "batch_size": 32, "target_acc": 0.97, "max_epochs": 200,
          "split_seed": 0}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- setup
def choose_optimizer():
    import entrena
    if hasattr(entrena.optimizers, "Adam"):
        return {"name": "adam", "lr": 1e-3}, {"name": "adam", "lr": 1e-3}
    # Until entrena has Adam: plain SGD, said loudly in the report.
    return {"name": "sgd", "lr": 0.01}, {"name": "sgd", "lr": 0.05}


def init_params(sizes, seed):
    """Initial weights from an entrena model (Glorot-uniform W, zero b)."""
    import entrena
    layers = [entrena.Dense(u, activation="relu") for u in sizes[1:-1]] + [entrena.Dense(sizes[-1])]
    m = entrena.Sequential(layers, dtype="float32", seed=seed)
    m.build(sizes[0])
    return [p.copy() for p in m.parameters()]


def save_params(params, path):
    np.savez(path, **{f"p{i}": p for i, p in enumerate(params)})


def reference_verification(params, X, y, wl, opt):
    """The float64 reference's epoch loss and loss after wl.verify_steps
    steps, and how much the last step changed it (the sensitivity)."""
    from entrena.reference import trainer as ref
    b = wl.batch_size
    k = wl.verify_steps
    Xv, yv = X[:k * b].astype(np.float64), y[:k * b]
    o = ref.Adam(lr=opt["lr"]) if opt["name"] == "adam" else ref.SGD(lr=opt["lr"])
    t = ref.MLPTrainer(params, optimizer=o, dtype=np.float64)
    total = 0.0
    before_last = None
    for s in range(k):
        if s == k - 1:
            before_last = C.cross_entropy(t.predict(Xv), yv, "logits")
        total += t.train_step(Xv[s * b:(s + 1) * b], yv[s * b:(s + 1) * b]) * b
    after = C.cross_entropy(t.predict(Xv), yv, "logits")
    one_step = C.rel_diff(before_last, after)
    return {"steps": k, "epoch_loss": total / (k * b), "loss_after": after,
            "one_step_rel_change": one_step, "tol_epoch": TOL_EPOCH,
            "tol_after": min(TOL_AFTER_MAX, one_step / 4), "tol_approx": TOL_APPROX}


# --------------------------------------------------------------- workers
def run_worker(spec, threads, workdir, timeout):
    fd, spec_path = tempfile.mkstemp(suffix=".json", dir=workdir)
    os.close(fd)
    spec = dict(spec, threads=threads, out=spec_path + ".out")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    env = C.thread_env(threads)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [HERE, env.get("PYTHONPATH", "")] if p)
    t0 = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, os.path.join(HERE, "_worker.py"), spec_path], env=env,
                           capture_output=True, text=True, timeout=timeout)
        if os.path.exists(spec["out"]):
            with open(spec["out"]) as f:
                res = json.load(f)
        else:
            res = {"error": f"worker exited with {r.returncode}: {r.stderr.strip()[-2000:]}"}
    except subprocess.TimeoutExpired:
        res = {"error": f"timed out after {timeout} s"}
    for p in (spec_path, spec["out"]):
        if os.path.exists(p):
            os.remove(p)
    res.setdefault("lib", spec["lib"])
    res.setdefault("threads", threads)
    log(f"  {spec['mode']:7s} {spec.get('workload', {}).get('name', ''):7s} "
        f"{spec['lib']:8s} t={threads}  {_brief(res)}  ({time.perf_counter() - t0:.1f} s)")
    return res


def _brief(res):
    if "skipped" in res:
        return "skipped: " + res["skipped"][:60]
    if "error" in res:
        return "ERROR: " + res["error"][:200]
    if "samples_per_s" in res:
        v = res["verify"]
        return f"{res['samples_per_s']:,.0f} samples/s (verify d={v['rel_diff_after']:.1e})"
    if "delta_bytes" in res:
        return f"{res['delta_bytes'] / 2**20:.1f} MiB"
    if "epochs" in res and "accuracies" in res:
        return f"{res['epochs']} epochs, {res['seconds']} s" if res["epochs"] else "target not reached"
    if "1" in res:
        return f"1: {res['1']['median_s'] * 1e6:.0f} us, 1024: {res['1024']['median_s'] * 1e3:.2f} ms"
    return "ok"


# ------------------------------------------------------ GEMM and CNN scripts
def run_json_script(name, args, outdir, timeout):
    """benchmarks/<name>.py --json <outdir>/<name>.json *args in a
    subprocess: {"data": its JSON, "stdout": ...} or {"missing": why}."""
    script = os.path.join(HERE, f"{name}.py")
    if not os.path.exists(script):
        return {"missing": f"benchmarks/{name}.py does not exist yet"}
    path = os.path.join(outdir, f"{name}.json")
    cmd = [sys.executable, script, "--json", path] + list(args)
    log(f"{name}: " + " ".join(shlex.quote(c) for c in cmd))
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=C.ROOT)
    except subprocess.TimeoutExpired:
        return {"missing": f"benchmarks/{name}.py timed out after {timeout} s"}
    if r.returncode != 0 or not os.path.exists(path):
        return {"missing": f"benchmarks/{name}.py failed ({r.returncode}): {r.stderr.strip()[-1500:]}"}
    with open(path) as f:
        return {"data": json.load(f), "stdout": r.stdout}


def run_gemm(quick, outdir, timeout):
    res = run_json_script("gemm", ["--quick"] if quick else [], outdir, timeout)
    if "data" in res:
        res["peaks"] = gemm_peaks(res["data"])
    return res


# The scripts comparing a family of networks with PyTorch (benchmarks/_peers.py):
# key in results, title of their section.
PEER_SCRIPTS = {"cnn": "Convolutional networks", "rnn": "Recurrent networks"}


def run_peer_script(name, quick, threads, outdir, timeout):
    """benchmarks/<name>.py (cnn.py: LeNet-5 and a CIFAR-sized CNN; rnn.py:
    LSTM and GRU) against PyTorch."""
    args = ["--threads", ",".join(map(str, threads))] + (["--quick", "--rounds", "1"] if quick else [])
    return run_json_script(name, args, outdir, timeout)


def gemm_peaks(data):
    """{threads: peak GFLOP/s} from gemm.py's JSON. Accepts a key holding
    'peak' and 'gflop' (or a 'peak' dict) either as a number — with a
    'threads' key beside it — or as a {threads: number} mapping."""
    peaks = {}

    def walk(node, threads=None):
        if isinstance(node, dict):
            t = node.get("threads", node.get("num_threads", threads))
            for k, v in node.items():
                kl = str(k).lower()
                if "peak" in kl and "%" not in kl and "pct" not in kl and "percent" not in kl \
                        and "frac" not in kl:
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and t is not None:
                        peaks.setdefault(int(t), float(v))
                    elif isinstance(v, dict):
                        for tk, tv in v.items():
                            if str(tk).isdigit() and isinstance(tv, (int, float)):
                                peaks.setdefault(int(tk), float(tv))
                            elif isinstance(tv, dict):
                                g = next((x for kk, x in tv.items() if "gflop" in str(kk).lower()
                                          and isinstance(x, (int, float))), None)
                                if str(tk).isdigit() and g is not None:
                                    peaks.setdefault(int(tk), float(g))
                walk(v, t)
        elif isinstance(node, list):
            for v in node:
                walk(v, threads)

    walk(data)
    return peaks


# ----------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small data and few repetitions (about a minute)")
    p.add_argument("--threads", default=None,
                   help="comma-separated thread counts (default: 1 and all cores; "
                        "with --quick, all cores)")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="output directory")
    p.add_argument("--libs", default=",".join(C.LIBS), help="subset of " + ",".join(C.LIBS))
    p.add_argument("--only", default="gemm,train,predict,memory,digits,cnn,rnn",
                   help="subset of gemm,train,predict,memory,digits,cnn,rnn")
    p.add_argument("--update-doc", choices=("auto", "yes", "no"), default="auto",
                   help="rewrite BENCHMARKS.md (auto: after a full run of everything)")
    p.add_argument("--rounds", type=int, default=None,
                   help="interleaved rounds of the training measurements, epochs pooled "
                        "(default 2; 1 with --quick)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per worker process")
    p.add_argument("--report", metavar="RESULTS_JSON",
                   help="only re-render results.md (and BENCHMARKS.md with --update-doc yes) "
                        "from an earlier results.json")
    return p.parse_args(argv)


def merge_rounds(prev, new, n):
    """Pools the timed epochs of several rounds of one measurement, in round
    order; summarize_rounds turns them into the reported throughput."""
    if prev is None or "epoch_seconds" not in prev or "epoch_seconds" not in new:
        if prev is not None and "epoch_seconds" in prev:
            return prev   # a later round failed: keep the earlier numbers
        return new
    out = dict(new)
    out["epoch_seconds"] = prev["epoch_seconds"] + new["epoch_seconds"]
    out["loadavg"] = prev.get("loadavg", []) + new.get("loadavg", [])
    return out


def summarize_rounds(res):
    """For each training measurement: the median epoch time of each round,
    and the throughput from the least disturbed round (the one with the
    lowest median). Other work on the machine only ever adds time, and on a
    shared machine it tends to hit a whole process; the median inside a
    round still discards single slow epochs."""
    for wl, per_t in res.get("train", {}).items():
        wd = res["workloads"][wl]
        e = wd["epochs"]
        for per_lib in per_t.values():
            for r in per_lib.values():
                es = r.get("epoch_seconds")
                if not es:
                    continue
                meds = [C.median(es[i:i + e]) for i in range(0, len(es), e)]
                best = min(meds)
                n_w = sum(a * b for a, b in zip(wd["sizes"][:-1], wd["sizes"][1:]))
                done = 6 * n_w - 2 * wd["sizes"][0] * wd["sizes"][1]
                r.update({"round_median_seconds": meds, "median_epoch_seconds": best,
                          "rounds": len(meds), "samples_per_s": wd["n"] / best,
                          "samples_per_s_all_epochs_median": wd["n"] / C.median(es),
                          "gflops": 6.0 * n_w * wd["n"] / best / 1e9,
                          "gflops_done": done * wd["n"] / best / 1e9})


def write_report(res, outdir, update_doc):
    import _report
    summarize_rounds(res)
    res["targets"] = _report.evaluate_targets(res)
    C.dump_json(res, os.path.join(outdir, "results.json"))
    md = _report.markdown(res)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(md)
    if update_doc:
        with open(os.path.join(C.ROOT, "BENCHMARKS.md"), "w") as f:
            f.write(_report.benchmarks_doc(res, md))
        log("wrote BENCHMARKS.md")
    return md


def main(argv=None):
    args = parse_args(argv)
    if args.report:
        with open(args.report) as f:
            res = json.load(f)
        print(write_report(res, os.path.dirname(os.path.abspath(args.report)), args.update_doc == "yes"))
        return 0
    import entrena

    ncpu = C.cpu_count()
    # Default: 1 thread and all cores; --quick measures all cores only.
    default_threads = f"{ncpu}" if args.quick else f"1,{ncpu}"
    threads = sorted({int(t) for t in (args.threads or default_threads).split(",") if t.strip()})
    libs = [lib for lib in args.libs.split(",") if lib]
    only = set(args.only.split(","))
    os.makedirs(args.out, exist_ok=True)
    workdir = os.path.join(args.out, "work")
    os.makedirs(workdir, exist_ok=True)
    opt, digits_opt = choose_optimizer()
    t_start = time.perf_counter()

    argv_used = sys.argv[1:] if argv is None else list(argv)
    info = entrena.cpu_info()
    res = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "python benchmarks/run.py " + " ".join(shlex.quote(a) for a in argv_used),
        "quick": args.quick,
        "machine": {"cpu": info.get("model") or C.cpu_model(), "logical_cpus": ncpu,
                    "entrena_cpu_info": info, "loadavg_start": C.loadavg()},
        "versions": C.versions(),
        "threads": threads,
        "optimizer": opt,
        "libraries": {lib: dict(zip(("available", "detail"), _libs.available(lib))) for lib in libs},
        "verification": {"tol_epoch": TOL_EPOCH, "tol_after_max": TOL_AFTER_MAX,
                         "tol_approx": TOL_APPROX, "predict_tol": PREDICT_TOL},
    }
    log(f"entrena benchmarks on {res['machine']['cpu']} ({ncpu} CPUs), ISA "
        f"{info.get('isa')}, threads {threads}, optimizer {opt}")
    log(f"load average: {res['machine']['loadavg_start']}")

    if "gemm" in only:
        res["gemm"] = run_gemm(args.quick, args.out, args.timeout)
        if "missing" in res["gemm"]:
            log("GEMM: " + res["gemm"]["missing"])

    wls = C.workloads(args.quick)
    res["workloads"] = {w.name: w.as_dict() for w in wls}
    data_paths, init_paths = {}, {}
    for wl in wls:
        X, y = C.synthetic_data(wl.n, wl.sizes[0], wl.sizes[-1], wl.seed)
        params = init_params(wl.sizes, wl.seed)
        data_paths[wl.name] = os.path.join(workdir, f"{wl.name}_data.npz")
        init_paths[wl.name] = os.path.join(workdir, f"{wl.name}_init.npz")
        np.savez(data_paths[wl.name], X=X, y=y)
        save_params(params, init_paths[wl.name])
        if "train" in only:
            res["workloads"][wl.name]["reference"] = reference_verification(params, X, y, wl, opt)

    if "train" in only:
        log("training throughput")
        res["train"] = {}
        rounds = args.rounds or (1 if args.quick else 2)
        res["train_rounds"] = rounds
        for wl in wls:
            spec = {"mode": "train", "workload": wl.as_dict(), "opt": opt, "data": data_paths[wl.name],
                    "init": init_paths[wl.name], "verify": res["workloads"][wl.name]["reference"]}
            for t in threads:
                per = res["train"].setdefault(wl.name, {}).setdefault(str(t), {})
                # Rounds interleave the libraries (in a rotated order), so that a
                # burst of other work on the machine hits them all alike.
                for rnd in range(rounds):
                    for lib in libs[rnd % len(libs):] + libs[:rnd % len(libs)]:
                        r = run_worker(dict(spec, lib=lib), t, workdir, args.timeout)
                        per[lib] = merge_rounds(per.get(lib), r, wl.n)

    for name, title in PEER_SCRIPTS.items():
        if name not in only:
            continue
        if _libs.available("torch")[0]:
            log(title.lower())
            res[name] = run_peer_script(name, args.quick, threads, args.out, args.timeout)
            if "missing" in res[name]:
                log(f"{name}: " + res[name]["missing"])
        else:
            res[name] = {"missing": f"PyTorch is not installed (benchmarks/{name}.py compares with it)"}

    if "predict" in only:
        log("predict latency (medium MLP)")
        calls = {"1": 300, "1024": 30} if args.quick else {"1": 3000, "1024": 200}
        res["predict"] = {"calls": calls}
        spec = {"mode": "predict", "opt": opt, "init": init_paths["medium"], "calls": calls,
                "probe": probe_expected(init_paths["medium"]), "tol": PREDICT_TOL}
        for t in threads:
            for lib in libs:
                r = run_worker(dict(spec, lib=lib), t, workdir, args.timeout)
                res["predict"].setdefault(str(t), {})[lib] = r

    if "memory" in only:
        log("peak training memory")
        res["memory"] = {"threads": threads[-1]}
        for wl in wls:
            if wl.name == "small" or (args.quick and wl.name != "large"):
                continue
            spec = {"mode": "memory", "workload": wl.as_dict(), "opt": opt, "data": data_paths[wl.name],
                    "init": init_paths[wl.name], "epochs": 1}
            for lib in libs:
                r = run_worker(dict(spec, lib=lib), threads[-1], workdir, args.timeout)
                res["memory"].setdefault(wl.name, {})[lib] = r

    if "digits" in only:
        log("time to 97% test accuracy on digits")
        path = os.path.join(workdir, "digits_init.npz")
        save_params(init_params(DIGITS["sizes"], 0), path)
        res["digits"] = {"config": dict(DIGITS, sizes=list(DIGITS["sizes"]), opt=digits_opt)}
        spec = dict(DIGITS, mode="digits", opt=digits_opt, init=path, sizes=list(DIGITS["sizes"]))
        for t in threads:
            for lib in libs:
                r = run_worker(dict(spec, lib=lib), t, workdir, args.timeout)
                res["digits"].setdefault(str(t), {})[lib] = r

    shutil.rmtree(workdir, ignore_errors=True)   # data and weights: tens of MB
    res["machine"]["loadavg_end"] = C.loadavg()
    res["seconds"] = time.perf_counter() - t_start
    full = not args.quick and only >= {"gemm", "train", "predict", "memory", "digits"}
    md = write_report(res, args.out, args.update_doc == "yes" or (args.update_doc == "auto" and full))
    print(md)
    log(f"results: {os.path.join(args.out, 'results.json')} and results.md "
        f"({res['seconds']:.0f} s in all)")
    return 0


def probe_expected(init_path, n=64, seed=5):
    """A probe batch and its class probabilities from the float64 reference,
    which every library must reproduce before its predict is timed."""
    from entrena.reference import trainer as ref
    with np.load(init_path) as f:
        params = [f[f"p{i}"] for i in range(len(f.files))]
    x = np.random.default_rng(seed).standard_normal((n, params[0].shape[0]), dtype=np.float32)
    z = ref.MLPTrainer(params, dtype=np.float64).predict(x.astype(np.float64))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return {"x": x.tolist(), "proba": (e / e.sum(axis=1, keepdims=True)).tolist()}


if __name__ == "__main__":
    sys.exit(main())
