"""entrena's GEMM against this machine's FMA peak and against NumPy's matmul.

    python benchmarks/gemm.py                 # about two minutes
    python benchmarks/gemm.py --quick         # about half a minute
    python benchmarks/gemm.py --json out.json --threads 1,2

First every GEMM variant (each ISA this CPU runs, float32 and float64, every
transpose combination, odd sizes) is checked against NumPy; nothing is timed
unless all agree. Then, for each thread count, a fresh process with
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS set to it measures:

  * the float32 FMA peak: independent chains of vector FMAs of the widest ISA,
    run from C++ (entrena._core.kernels.fma_peak_gflops) on every thread;
  * float32 GEMM on 1024³ and 2048³ as a fraction of that peak;
  * entrena vs np.matmul on MLP layer shapes (M, K, N), both writing into a
    preallocated output, so neither pays for an allocation (entrena's
    arguments are passed by position: pybind11 parses keywords slowly).

Times are the best of several repeats (the least disturbed by other work on
the machine). --clock cpu times single-thread runs with the thread's CPU
time instead of the wall clock: on a machine busy with other work it leaves
out the time slices the benchmark was not running; on an idle machine it
equals the wall clock. Runs on more threads always use the wall clock.
Every line names the kernel (ISA), thread count and clock.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

MLP_SHAPES = [(128, 784, 256), (128, 256, 128), (256, 784, 1024), (32, 64, 64)]
SQUARE = [1024, 2048]
ISAS = ["generic", "avx2", "avx512"]


def core():
    try:
        from entrena import _core
    except ImportError as e:  # pragma: no cover - environment problem
        sys.exit(f"gemm.py: cannot import entrena ({e}); build it (tools/devbuild.sh) and set "
                 "PYTHONPATH, or pip install the package")
    return _core


def available_isas(_core):
    best = _core.cpu_info()["best_isa"]
    return ISAS[: ISAS.index(best) + 1]


# ------------------------------------------------------------- validation
def validate(_core):
    """Every variant vs NumPy (float64 reference). Returns the lines printed;
    exits with status 1 on a mismatch."""
    k = _core.kernels
    rng = np.random.default_rng(0)
    lines, bad = [], []
    before = _core.get_isa()
    for isa in available_isas(_core):
        _core.set_isa(isa)
        for dt in (np.float32, np.float64):
            worst = 0.0
            for (M, K, N) in [(1, 1, 1), (17, 65, 63), (129, 257, 65), (300, 300, 300)] + MLP_SHAPES:
                for ta in (False, True):
                    for tb in (False, True):
                        A = rng.standard_normal((K, M) if ta else (M, K)).astype(dt)
                        B = rng.standard_normal((N, K) if tb else (K, N)).astype(dt)
                        C = rng.standard_normal((M, N)).astype(dt)
                        got = k.gemm(A, B, ta, tb, 0.75, 0.5, C)
                        a64 = (A.T if ta else A).astype(np.float64)
                        b64 = (B.T if tb else B).astype(np.float64)
                        want = 0.75 * (a64 @ b64) + 0.5 * C
                        err = float(np.max(np.abs(got - want))) / (K + 1)
                        worst = max(worst, err)
            limit = 2e-6 if dt == np.float32 else 1e-14
            ok = worst <= limit
            lines.append(f"  validate {isa:7s} {np.dtype(dt).name}: max |error|/(K+1) = {worst:.1e} "
                         f"({'ok' if ok else 'MISMATCH'})")
            if not ok:
                bad.append((isa, np.dtype(dt).name))
    _core.set_isa(before)
    if bad:
        print("\n".join(lines))
        sys.exit(f"gemm.py: variants disagree with NumPy: {bad}; nothing timed")
    return lines


# ------------------------------------------------------------- measuring
def make_clock(kind, threads):
    return time.thread_time if kind == "cpu" and threads == 1 else time.perf_counter


def best_rate(fn, flops, tmin, repeats, clock=time.perf_counter):
    """Best GFLOP/s over `repeats` timings, each of enough calls to last ~tmin."""
    fn()
    n = 1
    while True:
        t0 = clock()
        for _ in range(n):
            fn()
        dt = clock() - t0
        if dt >= tmin or n >= 1 << 20:
            break
        n = max(2 * n, int(n * tmin / max(dt, 1e-9)))
    best = dt / n
    for _ in range(repeats - 1):
        t0 = clock()
        for _ in range(n):
            fn()
        best = min(best, (clock() - t0) / n)
    return flops / best * 1e-9


def worker(threads, quick, clock_kind):
    """Runs in a fresh process whose BLAS thread count is `threads`."""
    _core = core()
    clock = make_clock(clock_kind, threads)
    clock_kind = "cpu" if clock is time.thread_time else "wall"
    k = _core.kernels
    _core.set_num_threads(threads)
    isa = _core.cpu_info()["best_isa"]
    _core.set_isa(isa)
    rng = np.random.default_rng(1)
    tmin, repeats = (0.05, 3) if quick else (0.2, 5)
    res = {"threads": threads, "isa": isa, "clock": clock_kind}
    peak = max(k.fma_peak_gflops(0.1 if quick else 0.3, isa, threads) for _ in range(2 if quick else 3))
    res["peak_gflops"] = {str(threads): peak}
    res["square"] = []
    for n in SQUARE:
        A = rng.standard_normal((n, n)).astype(np.float32)
        B = rng.standard_normal((n, n)).astype(np.float32)
        C = np.empty((n, n), np.float32)
        flops = 2.0 * n ** 3
        g = best_rate(lambda: k.gemm(A, B, False, False, 1.0, 0.0, None, C), flops, tmin,
                       repeats if n < 2048 or not quick else 2, clock)
        g_np = best_rate(lambda: np.matmul(A, B, out=C), flops, tmin,
                       repeats if n < 2048 or not quick else 2, clock)
        res["square"].append({"n": n, "gflops": g, "pct_of_peak": 100 * g / peak, "numpy_gflops": g_np})
    res["mlp"] = []
    for (M, K, N) in MLP_SHAPES:
        A = rng.standard_normal((M, K)).astype(np.float32)
        B = rng.standard_normal((K, N)).astype(np.float32)
        C = np.empty((M, N), np.float32)
        flops = 2.0 * M * K * N
        g = best_rate(lambda: k.gemm(A, B, False, False, 1.0, 0.0, None, C), flops, tmin, repeats, clock)
        g_np = best_rate(lambda: np.matmul(A, B, out=C), flops, tmin, repeats, clock)
        res["mlp"].append({"M": M, "K": K, "N": N, "gflops": g, "numpy_gflops": g_np,
                           "ratio_vs_numpy": g / g_np})
    return res


def run_worker(threads, quick, clock_kind):
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(threads), "--clock", clock_kind]
    if quick:
        cmd.append("--quick")
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"gemm.py: the {threads}-thread worker failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def report(res):
    t, isa = res["threads"], res["isa"]
    tag = f"[{isa} x{t} {res['clock']}]"
    peak = res["peak_gflops"][str(t)]
    out = [f"{tag} float32 FMA peak: {peak:7.1f} GFLOP/s"]
    for s in res["square"]:
        n = s["n"]
        out.append(f"{tag} sgemm {n}x{n}x{n}: {s['gflops']:7.1f} GFLOP/s = {s['pct_of_peak']:5.1f}% "
                   f"of peak (target 85%)   NumPy {s['numpy_gflops']:6.1f}")
    for m in res["mlp"]:
        shape = f"({m['M']},{m['K']},{m['N']})"
        out.append(f"{tag} sgemm (M,K,N)={shape:16s} entrena {m['gflops']:6.1f}  NumPy "
                   f"{m['numpy_gflops']:6.1f} GFLOP/s  ratio {m['ratio_vs_numpy']:4.2f}x (target 1.5x)")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="shorter timings (about half a minute)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--threads", default=None, help="comma-separated thread counts (default 1 and all cores)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall clock (default), or the thread's CPU time for 1-thread runs (see above)")
    p.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.quick, args.clock)))
        return
    _core = core()
    info = _core.cpu_info()
    if args.threads:
        threads = [int(t) for t in args.threads.split(",")]
    else:
        threads = sorted({1, info["hardware_threads"]})
    print(f"CPU: {info['model']}; kernels: {', '.join(available_isas(_core))} (best {info['best_isa']}); "
          f"hardware threads: {info['hardware_threads']}")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        busy = " (other work is running: wall-clock numbers will be low; try --clock cpu)" \
            if load > 0.5 * info["hardware_threads"] else ""
        print(f"load average: {load:.2f}{busy}")
    print("\n".join(validate(_core)))
    results = []
    for t in threads:
        res = run_worker(t, args.quick, args.clock)
        results.append(res)
        print("\n".join(report(res)), flush=True)
    if args.json:
        data = {"cpu": info, "peak_gflops": {str(r["threads"]): r["peak_gflops"][str(r["threads"])]
                                              for r in results},
                "runs": results}
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)


if __name__ == "__main__":
    main()
