"""Two builds of entrena side by side, in one run: training throughput
(small, medium, large MLPs of benchmarks/run.py), training with a metric,
and predict latency, each measured in a fresh process per build,
interleaved round by round so that both builds see the same machine.

    python benchmarks/compare_builds.py --a DIR_A --b DIR_B [--threads 1,2] [--rounds 3]

DIR_A and DIR_B are directories from which ``import entrena`` loads a
build (e.g. ``pip install --target DIR dist/entrena-*.whl``). Reports the
median of the rounds and the ratio B / A (> 1: B is faster).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _common as C  # noqa: E402

WORKER = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[2])
import _common as C
import entrena
spec = json.loads(sys.argv[1])
if not entrena.__file__.startswith(spec["site"]):
    sys.exit(f"entrena was imported from {entrena.__file__}, not from {spec['site']} (an editable "
             "install takes precedence over PYTHONPATH; set SKBUILD_EDITABLE_SKIP to its build directory)")
entrena.set_num_threads(spec["threads"])
sizes, batch, n = spec["sizes"], spec["batch"], spec["n"]
X, y = C.synthetic_data(n, sizes[0], sizes[-1], seed=0)
X = X.astype(np.float32)
layers = [entrena.Dense(u, activation="relu") for u in sizes[1:-1]] + [entrena.Dense(sizes[-1])]
m = entrena.Sequential(layers, seed=0)
m.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=1e-3),
          metrics=["accuracy"] if spec["mode"] == "train_metrics" else None)
out = {}
if spec["mode"] in ("train", "train_metrics"):
    m.fit(X[:batch * 2], y[:batch * 2], epochs=1, batch_size=batch, shuffle=False, verbose=0)  # warm up
    times = []
    for _ in range(spec["epochs"]):
        t0 = time.perf_counter()
        m.fit(X, y, epochs=1, batch_size=batch, shuffle=False, verbose=0)
        times.append(time.perf_counter() - t0)
    out["samples_per_s"] = n / min(times)
else:
    m.build(sizes[0])
    rows = spec["rows"]
    x = X[:rows]
    calls = spec["calls"]
    ts = C.time_calls(lambda: m.predict(x), calls, warmup=max(5, calls // 10))
    out["seconds"] = C.median(ts)
print(json.dumps(out))
"""

CASES = [
    # name, mode, sizes, batch, n, extra
    ("small train", "train", (20, 64, 64, 2), 32, 16384, {}),
    ("medium train", "train", (784, 256, 128, 10), 128, 8192, {}),
    ("medium train + accuracy", "train_metrics", (784, 256, 128, 10), 128, 8192, {}),
    ("large train", "train", (784, 1024, 1024, 10), 256, 4096, {}),
    ("medium predict 1", "predict", (784, 256, 128, 10), 1, 1024, {"rows": 1, "calls": 2000}),
    ("medium predict 1024", "predict", (784, 256, 128, 10), 1024, 1024, {"rows": 1024, "calls": 200}),
    ("large predict 1024", "predict", (784, 1024, 1024, 10), 1024, 1024, {"rows": 1024, "calls": 50}),
]


def measure(site, case, threads, epochs):
    name, mode, sizes, batch, n, extra = case
    spec = {"site": os.path.abspath(site), "mode": mode, "sizes": sizes, "batch": batch, "n": n, "threads": threads, "epochs": epochs, **extra}
    env = dict(os.environ, PYTHONPATH=site, **C.thread_env(threads))
    proc = subprocess.run([sys.executable, "-c", WORKER, json.dumps(spec), HERE], env=env,
                          capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["samples_per_s"] if "samples_per_s" in out else 1.0 / out["seconds"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="directory of build A (before)")
    ap.add_argument("--b", required=True, help="directory of build B (after)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--cases", default="", help="comma-separated substrings of the case names to run")
    args = ap.parse_args()
    cases = [c for c in CASES if not args.cases or any(k in c[0] for k in args.cases.split(","))]
    threads = [int(t) for t in args.threads.split(",")]
    results = {}
    for r in range(args.rounds):
        for case in cases:
            for t in threads:
                for label, site in (("a", args.a), ("b", args.b)) if r % 2 == 0 else (("b", args.b), ("a", args.a)):
                    v = measure(site, case, t, args.epochs)
                    results.setdefault((case[0], t, label), []).append(v)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    print(f"CPU: {C.cpu_model()}, {C.cpu_count()} cores; median of {args.rounds} rounds "
          "(training: samples/s; predict: calls/s)")
    print(f"{'case':<26} {'threads':>7} {'A':>12} {'B':>12} {'B/A':>6}")
    for case in cases:
        for t in threads:
            a = C.median(results[(case[0], t, "a")])
            b = C.median(results[(case[0], t, "b")])
            print(f"{case[0]:<26} {t:>7} {a:>12.1f} {b:>12.1f} {b / a:>6.2f}")


if __name__ == "__main__":
    main()
