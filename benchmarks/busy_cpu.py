"""entrena training while other processes keep cores busy.

    python benchmarks/busy_cpu.py [--quick] [--threads 1,2] [--busy 0,1,2]
                                  [--policy default,passive,spin=300000] [--site new=DIR]

For each workload (MLPs 20-64-64-2 batch 32, 784-256-128-10 batch 128,
784-1024-1024-10 batch 256, synthetic data), each entrena thread count
(``entrena.set_num_threads``) and each number of busy cores, it starts that
many busy-loop Python processes, then a fresh worker process that trains
with ``model.fit(X, y, epochs=1, batch_size=b, shuffle=False, verbose=0)``
once to warm up and then for several timed epochs, and kills the busy
processes when the worker is done. Reported: the median epoch time (and
the spread), the ratio to one thread on idle cores, the CPU time the worker
used per second of its epochs, and how much work the busy processes got
done while entrena trained, as a share of what they do alone.

Policies (``--policy``, comma-separated) set the OpenMP wait policy of the
worker through its environment, which OpenMP reads when the library loads:

    default       no OMP_WAIT_POLICY / GOMP_SPINCOUNT: what entrena does by itself
    active        OMP_WAIT_POLICY=ACTIVE (waiting threads spin)
    passive       OMP_WAIT_POLICY=PASSIVE (waiting threads sleep at once)
    spin=N        GOMP_SPINCOUNT=N (GNU OpenMP: spin N rounds, then sleep);
                  spin=300000 is GNU OpenMP's own default
    VAR=VALUE     any other environment variable
    a+b           both, e.g. passive+spin=1000

``--site LABEL=DIR`` (repeatable) measures the entrena installed in DIR
(``pip install --target DIR ...``) instead of the one Python imports; with
several sites every site runs every policy, interleaved.

Each measurement runs in its own process with a clean environment; the
variants (site × policy) are interleaved cell by cell and, with
``--rounds N``, round by round, so that other work on the machine is spread
over all of them. The table shows the median over all rounds' epochs.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _common as C  # noqa: E402

# (name, sizes, batch, samples full, samples --quick)
WORKLOADS = [
    ("small", (20, 64, 64, 2), 32, 16384, 4096),
    ("medium", (784, 256, 128, 10), 128, 4096, 1024),
    ("large", (784, 1024, 1024, 10), 256, 1024, 512),
]

POLICY_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "OMP_NUM_THREADS",
               "OMP_DYNAMIC", "OMP_SCHEDULE", "OMP_PROC_BIND", "OMP_PLACES", "GOMP_CPU_AFFINITY")

# A busy process: counts loop iterations; SIGUSR1 records (count, time),
# SIGTERM prints the records as JSON and exits.
BUSY = r"""
import json, signal, sys, time
n = 0
marks = []
def mark(*_):
    marks.append((n, time.perf_counter()))
def stop(*_):
    sys.stdout.write(json.dumps(marks) + "\n")
    sys.stdout.flush()
    sys.exit(0)
signal.signal(signal.SIGUSR1, mark)
signal.signal(signal.SIGTERM, stop)
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    n += 1
"""


def policy_env(policy: str) -> dict:
    """The variables a policy sets (the OpenMP ones it does not set are removed)."""
    env = {}
    for part in policy.strip().split("+"):
        p = part.strip()
        if p.lower() == "default":
            continue
        if p.lower() in ("active", "passive"):
            env["OMP_WAIT_POLICY"] = p.upper()
        elif p.lower().startswith("spin="):
            n = int(p.split("=", 1)[1])
            if n < 0:
                raise ValueError(f"--policy: spin count must be >= 0, got {n}")
            env["GOMP_SPINCOUNT"] = str(n)
        elif "=" in p and p.split("=", 1)[0].isupper():
            k, v = p.split("=", 1)
            env[k] = v
        else:
            raise ValueError("--policy: expected default, active, passive, spin=N or VAR=VALUE "
                             f"(joined by +), got {policy!r}")
    return env


# ------------------------------------------------------------------ busy work
class Busy:
    """k busy-loop processes, started on entry and killed on exit."""

    def __init__(self, k: int):
        self.k = k
        self.procs = []
        self.marks = []

    def __enter__(self):
        env = dict(os.environ, PYTHONPATH="")
        for _ in range(self.k):
            p = subprocess.Popen([sys.executable, "-c", BUSY], stdout=subprocess.PIPE, text=True,
                                 env=env)
            self.procs.append(p)
        for p in self.procs:
            p.stdout.readline()  # "ready": its loop is about to start
        time.sleep(0.2 if self.k else 0.0)  # let the scheduler spread them
        return self

    @property
    def pids(self):
        return [p.pid for p in self.procs]

    def mark(self):
        for p in self.procs:
            os.kill(p.pid, signal.SIGUSR1)

    def __exit__(self, *exc):
        for p in self.procs:
            try:
                p.send_signal(signal.SIGTERM)
                out, _ = p.communicate(timeout=10)
                self.marks.append(json.loads(out.strip().splitlines()[-1]) if out.strip() else [])
            except Exception:  # noqa: BLE001 - a busy process that does not answer is killed
                p.kill()
                p.wait()
                self.marks.append([])
        return False

    def rate(self):
        """Loop iterations per second summed over the processes, between
        their first two marks (None when any process lacks them)."""
        total = 0.0
        for m in self.marks:
            if len(m) < 2 or m[1][1] <= m[0][1]:
                return None
            total += (m[1][0] - m[0][0]) / (m[1][1] - m[0][1])
        return total


def busy_alone_rate(k: int, seconds: float) -> float | None:
    """What k busy processes achieve with nothing else running."""
    if k == 0:
        return None
    with Busy(k) as b:
        b.mark()
        time.sleep(seconds)
        b.mark()
    return b.rate()


# ------------------------------------------------------------ other work
def cpu_busy_seconds():
    """CPU seconds the whole machine has spent busy (not idle or waiting for
    I/O) since boot, from /proc/stat; None where that file is missing."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(v[:8]) - v[3] - v[4]) / hz


def children_cpu_seconds():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class OtherLoad:
    """How many cores other processes (not this benchmark's) kept busy on
    average while the block ran."""

    def __enter__(self):
        self.m0, self.c0, self.t0 = cpu_busy_seconds(), children_cpu_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        m1, c1, t1 = cpu_busy_seconds(), children_cpu_seconds(), time.perf_counter()
        self.cores = None
        if self.m0 is not None and m1 is not None and t1 > self.t0:
            self.cores = max(0.0, ((m1 - self.m0) - (c1 - self.c0)) / (t1 - self.t0))
        return False


def wait_for_quiet(limit_s: float, threshold: float = 0.25):
    """Waits (at most limit_s) until other processes use less than
    `threshold` cores over half a second; returns the seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        with OtherLoad() as o:
            time.sleep(0.5)
        if o.cores is not None and o.cores < threshold:
            break
    return time.perf_counter() - t0


# --------------------------------------------------------------------- worker
def worker(spec: dict) -> dict:
    """One measurement, in a fresh process."""
    import numpy as np
    import entrena
    site = spec.get("site")
    if site and not os.path.abspath(entrena.__file__).startswith(os.path.abspath(site)):
        raise SystemExit(f"entrena was imported from {entrena.__file__}, not from {site} (an "
                         "editable install takes precedence over PYTHONPATH; set "
                         "SKBUILD_EDITABLE_SKIP to its build directory)")
    entrena.set_num_threads(spec["threads"])
    sizes, batch, n = spec["sizes"], spec["batch"], spec["n"]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], n)
    layers = [entrena.Dense(u, activation="relu") for u in sizes[1:-1]] + [entrena.Dense(sizes[-1])]
    model = entrena.Sequential(layers, seed=0)
    model.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=1e-3))
    out = {"entrena": entrena.__file__,
           "env": {k: os.environ[k] for k in POLICY_VARS if k in os.environ}}
    pids = spec.get("busy_pids", [])

    def mark():
        for pid in pids:
            os.kill(pid, signal.SIGUSR1)

    if spec["mode"] == "train":
        model.fit(X, y, epochs=1, batch_size=batch, shuffle=False, verbose=0)  # warm up
        times = []
        mark()
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(spec["epochs"]):
            t = time.perf_counter()
            model.fit(X, y, epochs=1, batch_size=batch, shuffle=False, verbose=0)
            times.append(time.perf_counter() - t)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        mark()
        out.update(epoch_seconds=times, cpu_per_wall=cpu / wall)
    else:  # predict latency, one sample
        model.build(sizes[0])
        x = X[:1]
        mark()
        ts = C.time_calls(lambda: model.predict(x), spec["calls"], warmup=max(5, spec["calls"] // 10))
        mark()
        out.update(predict_seconds=C.median(ts))
    return out


def run_worker(spec: dict, env_vars: dict, site: str | None, timeout: float) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in POLICY_VARS}
    env.update(env_vars)
    env["OPENBLAS_NUM_THREADS"] = env["MKL_NUM_THREADS"] = "1"  # NumPy only makes the data
    if site:
        env["PYTHONPATH"] = site + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
                          env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- driver
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer samples and epochs")
    ap.add_argument("--threads", default="1,2", help="entrena thread counts (default 1,2)")
    ap.add_argument("--busy", default="0,1,2", help="numbers of busy cores (default 0,1,2)")
    ap.add_argument("--workloads", default="small,medium,large")
    ap.add_argument("--policy", default="default",
                    help="comma-separated: default, active, passive, spin=N (default: default)")
    ap.add_argument("--site", action="append", default=[], metavar="LABEL=DIR",
                    help="measure the entrena installed in DIR (repeatable)")
    ap.add_argument("--epochs", type=int, default=None, help="timed epochs per worker (5; 3 with --quick)")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds (default 1)")
    ap.add_argument("--predict", action="store_true",
                    help="also time predict() of one sample (medium MLP) on idle cores")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                    help="before each measurement, wait up to S seconds for other processes "
                         "to leave the cores idle")
    ap.add_argument("--max-other", type=float, default=None, metavar="CORES",
                    help="repeat a measurement (3 tries) while processes outside the benchmark "
                         "kept more than CORES cores busy during it")
    ap.add_argument("--json", default=None, help="write every measurement to this file")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed per worker")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def measure_train(spec, k, policy, args):
    """One training measurement with k busy processes; with --max-other, it
    is repeated (up to 3 times in all) while other processes kept more than
    that many cores busy during it, and the least disturbed one is kept."""
    best = None
    for _ in range(3 if args.max_other is not None else 1):
        waited = wait_for_quiet(args.wait_quiet) if args.wait_quiet > 0 else 0.0
        with OtherLoad() as other, Busy(k) as b:
            out = run_worker(dict(spec, busy_pids=b.pids), policy_env(policy), spec["site"],
                             args.timeout)
        out.update(busy_rate=b.rate(), loadavg=C.loadavg(), other_cores=other.cores,
                   waited_for_quiet_s=waited)
        if best is None or (out["other_cores"] or 0.0) < (best["other_cores"] or 0.0):
            best = out
        if args.max_other is None or (out["other_cores"] or 0.0) <= args.max_other:
            break
    return best


def kernel_variant(site):
    """entrena.cpu_info()["isa"] of the build in site (or the importable one)."""
    env = dict(os.environ)
    if site:
        env["PYTHONPATH"] = site + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-c", "import entrena; print(entrena.cpu_info()['isa'])"],
                          env=env, capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def ints(s):
    return [int(x) for x in s.split(",") if x.strip()]


def fmt_ms(s):
    return f"{s * 1e3:.1f}" if s < 10 else f"{s * 1e3:.0f}"


def main(argv=None):
    args = parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    threads, busy = ints(args.threads), ints(args.busy)
    epochs = args.epochs or (3 if args.quick else 5)
    policies = [p.strip() for p in args.policy.split(",") if p.strip()]
    for p in policies:
        policy_env(p)  # validate before measuring anything
    sites = []
    for s in args.site:
        label, _, path = s.partition("=")
        if not path:
            raise SystemExit(f"--site: expected LABEL=DIR, got {s!r}")
        sites.append((label, os.path.abspath(path)))
    variants = [((f"{lab}:" if len(sites) > 1 else "") + p, site, p)
                for lab, site in (sites or [("", None)]) for p in policies]
    wls = [w for w in WORKLOADS if w[0] in args.workloads.split(",")]

    isa = kernel_variant(variants[0][1])
    print(f"CPU: {C.cpu_model()} ({C.cpu_count()} CPUs available, entrena kernels: {isa}); "
          f"load average at start: {C.loadavg()}", flush=True)
    alone = {}  # the fastest of the per-round measurements of k busy processes alone

    results = {}  # (variant, workload, threads, busy) -> list of worker outputs
    cells = [(w, t, k) for w in wls for t in threads for k in busy]
    for r in range(args.rounds):
        for k in busy:
            if k > 0:
                if args.wait_quiet > 0:
                    wait_for_quiet(args.wait_quiet)
                rate = busy_alone_rate(k, 1.0)
                if rate and rate > alone.get(k, 0.0):
                    alone[k] = rate
        for i, (w, t, k) in enumerate(cells):
            name, sizes, batch, n_full, n_quick = w
            order = variants[(i + r) % len(variants):] + variants[:(i + r) % len(variants)]
            for label, site, pol in order:
                spec = {"mode": "train", "sizes": sizes, "batch": batch,
                        "n": n_quick if args.quick else n_full, "threads": t, "epochs": epochs,
                        "site": site}
                out = measure_train(spec, k, pol, args)
                results.setdefault((label, name, t, k), []).append(out)
                print(f"  round {r + 1}: {label:>16} {name:>6} threads={t} busy={k}: "
                      f"{fmt_ms(C.median(out['epoch_seconds']))} ms/epoch, other work "
                      f"{out['other_cores'] if out['other_cores'] is None else round(out['other_cores'], 2)} "
                      "cores", file=sys.stderr, flush=True)
    predict = {}
    if args.predict:
        for r in range(args.rounds):
            for t in threads:
                for label, site, pol in variants:
                    spec = {"mode": "predict", "sizes": WORKLOADS[1][1], "batch": 1, "n": 16,
                            "threads": t, "calls": 300 if args.quick else 3000, "site": site}
                    out = run_worker(spec, policy_env(pol), site, args.timeout)
                    predict.setdefault((label, t), []).append(out["predict_seconds"])

    print(f"load average at end: {C.loadavg()}\n")
    report(results, predict, variants, wls, threads, busy, alone, args.quick, epochs, args.rounds)
    if args.json:
        C.dump_json({"cpu": C.cpu_model(), "isa": isa, "busy_alone_rate": alone,
                     "results": [{"variant": v, "workload": w, "threads": t, "busy": k, "runs": runs}
                                 for (v, w, t, k), runs in results.items()],
                     "predict": [{"variant": v, "threads": t, "seconds": s}
                                 for (v, t), s in predict.items()]}, args.json)
    return 0


def report(results, predict, variants, wls, threads, busy, alone, quick, epochs, rounds):
    print(f"Median epoch time in ms over {epochs} epochs × {rounds} round(s) (min–max of the "
          "epochs); ×: ratio to 1 thread with no core busy (same policy); cpu: CPU seconds the "
          "worker used per second of training; busy: work the busy processes got done "
          "meanwhile, as a share of what they do alone; other: cores kept busy by processes "
          "outside this benchmark (median over the rounds).\n")
    for name, sizes, batch, n_full, n_quick in wls:
        n = n_quick if quick else n_full
        print(f"### {name}: {'-'.join(map(str, sizes))}, batch {batch}, {n} samples\n")
        head = "| policy | threads | " + " | ".join(f"{k} busy" for k in busy) + " |"
        print(head)
        print("|" + "---|" * (2 + len(busy)))
        for label, _, _ in variants:
            base_runs = results.get((label, name, 1, 0))
            base = C.median([s for r in base_runs for s in r["epoch_seconds"]]) if base_runs else None
            for t in threads:
                row = [label, str(t)]
                for k in busy:
                    runs = results.get((label, name, t, k))
                    if not runs:
                        row.append("—")
                        continue
                    secs = [s for r in runs for s in r["epoch_seconds"]]
                    med = C.median(secs)
                    cell = f"{fmt_ms(med)} ({fmt_ms(min(secs))}–{fmt_ms(max(secs))})"
                    if base:
                        cell += f" ×{med / base:.2f}"
                    cell += f", cpu {statistics.median(r['cpu_per_wall'] for r in runs):.2f}"
                    rates = [r["busy_rate"] for r in runs if r.get("busy_rate")]
                    if k and rates and alone.get(k):
                        cell += f", busy {100 * statistics.median(rates) / alone[k]:.0f}%"
                    others = [r["other_cores"] for r in runs if r.get("other_cores") is not None]
                    if others:
                        cell += f", other {statistics.median(others):.1f}"
                    row.append(cell)
                print("| " + " | ".join(row) + " |")
        print()
    if predict:
        print("### predict latency, one sample, 784-256-128-10, idle cores (median, µs)\n")
        print("| policy | " + " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in threads) + " |")
        print("|" + "---|" * (1 + len(threads)))
        for label, _, _ in variants:
            cells = []
            for t in threads:
                v = predict.get((label, t))
                cells.append(f"{1e6 * C.median(v):.1f}" if v else "—")
            print(f"| {label} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    sys.exit(main())
