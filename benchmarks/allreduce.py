"""The gradient averaging of data-parallel training (entrena.distributed):
its time against the buffer size, measured here, and a cost model that
predicts training throughput for P = 2 ... 64 ranks on real networks.

    python benchmarks/allreduce.py [--ranks 2] [--out benchmarks/results/allreduce.md]

Without mpiexec around it, the script starts itself under
``mpiexec -n RANKS``. Rank 0 prints (and writes) a Markdown report:

1. measured: entrena's fixed-order sum (MPI_Alltoall + sum in rank order +
   MPI_Allgather, called from C++) and MPI's own MPI_Allreduce (mpi4py),
   median of repeated calls, float32 buffers from 4 KiB to 64 MiB;
2. the model: a ring-class allreduce of B bytes over P ranks costs
       t(P, B) = 2 (P - 1) / P * B / bandwidth + 2 (P - 1) * latency
   (entrena's algorithm sends the same bytes: (P - 1)/P of the buffer in
   the all-to-all and again in the all-gather). With a compute time t_c
   per step at per-rank batch b, a step takes t_c + t(P, B) without
   overlap, and P * b / (t_c + t) samples per second. The latency and the
   per-rank compute time are taken as stated in the table; the bandwidths
   are 10, 25 and 100 Gb/s.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cpu_model, write_report  # noqa: E402

# The MLPs of BENCHMARKS.md: parameters, per-rank batch, and the measured
# 2-thread training speed of one process (samples/s, AMD EPYC Zen 3, 2 cores).
WORKLOADS = {
    "medium 784-256-128-10": {"params": 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, "batch": 128,
                              "samples_per_s": 79_187},
    "large 784-1024-1024-10": {"params": 784 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 10 + 10, "batch": 256,
                               "samples_per_s": 11_923},
}
LINKS_GBPS = (10, 25, 100)
LATENCY_S = {10: 25e-6, 25: 10e-6, 100: 3e-6}     # per message: TCP on 10/25 GbE, RDMA on 100 Gb/s
RANKS = (2, 4, 8, 16, 32, 64)


def comm_time(P: int, nbytes: float, gbps: float) -> float:
    if P <= 1:
        return 0.0
    return 2 * (P - 1) / P * nbytes / (gbps * 1e9 / 8) + 2 * (P - 1) * LATENCY_S[gbps]


def model_table() -> list[str]:
    lines = []
    for name, w in WORKLOADS.items():
        nbytes = 4 * w["params"]
        t_c = w["batch"] / w["samples_per_s"]
        lines += [f"**{name}**: {w['params']:,} parameters ({nbytes / 2**20:.2f} MiB of float32 gradients), "
                  f"per-rank batch {w['batch']}, compute {t_c * 1e3:.2f} ms per step "
                  f"({w['samples_per_s']:,} samples/s on one 2-core process)", "",
                  "| ranks | " + " | ".join(f"{g} Gb/s: samples/s (comm share)" for g in LINKS_GBPS) + " |",
                  "|---|" + "---|" * len(LINKS_GBPS)]
        for P in RANKS:
            cells = []
            for g in LINKS_GBPS:
                t = comm_time(P, nbytes, g)
                cells.append(f"{P * w['batch'] / (t_c + t):,.0f} ({t / (t_c + t):.0%})")
            lines.append(f"| {P} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def reading(threshold: float = 0.25) -> str:
    """Where the communication share of a step first passes `threshold`:
    from there on, overlapping it with the backward pass pays."""
    parts = []
    for name, w in WORKLOADS.items():
        nbytes, t_c = 4 * w["params"], w["batch"] / w["samples_per_s"]
        for g in LINKS_GBPS:
            first = next((P for P in RANKS if comm_time(P, nbytes, g) / (t_c + comm_time(P, nbytes, g)) > threshold),
                         None)
            where = f"from P = {first}" if first else "not up to P = 64"
            parts.append(f"{name.split()[0]} MLP at {g} Gb/s: {where}")
    return ("Reading it: the communication share grows with P towards 2 B / bandwidth per step (it stops "
            "depending on P) and is larger when a step computes faster. Once it passes a quarter of the step, "
            "overlapping the averaging of one layer's gradients with the backward pass of the layers below "
            "(not done yet), or a larger per-rank batch, is what keeps the scaling: " + "; ".join(parts) + ".")


def measure(comm, sizes, repeats):
    from mpi4py import MPI
    from entrena import distributed
    rows = []
    for nbytes in sizes:
        n = nbytes // 4
        a = np.random.default_rng(comm.rank).standard_normal(n).astype(np.float32)
        out = np.empty_like(a)
        times = {"entrena": [], "mpi": []}
        for r in range(repeats + 1):
            comm.Barrier()
            t0 = time.perf_counter()
            distributed.allreduce_sum(a)
            t1 = time.perf_counter()
            comm.Barrier()
            t2 = time.perf_counter()
            comm.Allreduce(a, out, op=MPI.SUM)
            t3 = time.perf_counter()
            if r:        # the first call warms up
                times["entrena"].append(t1 - t0)
                times["mpi"].append(t3 - t2)
            a /= comm.size    # keep the values bounded
        med = {k: comm.allreduce(float(np.median(v)), op=MPI.MAX) for k, v in times.items()}
        rows.append((nbytes, med["entrena"], med["mpi"]))
    return rows


def worker(args) -> int:
    from entrena import distributed
    distributed.init()
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    sizes = [2**k for k in range(12, 27, 2)]
    rows = measure(comm, sizes, args.repeats)
    if comm.rank != 0:
        return 0
    cpu = f"{cpu_model()}, {os.cpu_count()} cores"
    lines = [f"# Gradient averaging over MPI: {comm.size} ranks on one machine", "",
             f"{cpu}; {MPI.Get_library_version().splitlines()[0].strip()}; shared memory between the ranks "
             "(one machine), so these are the costs of the algorithm and the library calls, not of a network.",
             "", "| buffer | entrena fixed-order sum | GB/s (algorithm) | MPI_Allreduce | entrena ÷ MPI |",
             "|---|---|---|---|---|"]
    P = comm.size
    for nbytes, te, tm in rows:
        algbw = 2 * (P - 1) / P * nbytes / te / 1e9
        lines.append(f"| {_bytes(nbytes)} | {_t(te)} | {algbw:.2f} | {_t(tm)} | {te / tm:.2f}× |")
    lines += ["", "## Cost model on real networks", "",
              "t(P, B) = 2 (P − 1)/P · B / bandwidth + 2 (P − 1) · latency per step, no overlap with the "
              f"backward pass; latency per message {', '.join(f'{LATENCY_S[g] * 1e6:g} µs at {g} Gb/s' for g in LINKS_GBPS)}. "
              "Samples/s of P ranks (each a 2-core process as measured in BENCHMARKS.md); the share of each "
              "step spent communicating in parentheses.", ""]
    lines += model_table()
    lines += [reading(), ""]
    write_report("\n".join(lines), args.out)
    return 0


def _t(s):
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms"


def _bytes(n):
    return f"{n // 2**20} MiB" if n >= 2**20 else f"{n // 2**10} KiB"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "allreduce.md"))
    p.add_argument("--model-only", action="store_true", help="print the cost model without measuring")
    args = p.parse_args()
    if args.model_only:
        print("\n".join(model_table()))
        return 0
    if "OMPI_COMM_WORLD_SIZE" in os.environ or "PMI_SIZE" in os.environ:
        return worker(args)
    mpiexec = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
    cmd = [mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", str(args.ranks), sys.executable,
           os.path.abspath(__file__), "--repeats", str(args.repeats), "--out", args.out]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
