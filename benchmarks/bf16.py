"""bfloat16 mixed precision against float32, and against PyTorch.

    python benchmarks/bf16.py [--threads 1,2] [--out benchmarks/results/bf16.md]

Measured in one run, on this machine:

1. GEMM GFLOP/s (square sizes): entrena float32, entrena bf16 (operands
   rounded to bfloat16 while packed, float32 accumulation), torch.mm in
   float32 and bfloat16; the float32 FMA peak and the bfloat16 peak of the
   machine (its vdpbf16ps / AMX throughput where it has them; without them
   bfloat16 runs on the float32 FMAs, so its peak is the FMA peak);
2. training the medium and large MLPs of BENCHMARKS.md (Adam, the same
   batches): samples/s of entrena float32, entrena bf16, PyTorch float32
   and PyTorch bf16 autocast, with the loss each reached (each library
   starts from its own initialization; the check is that bf16 reaches its
   float32 loss).

The report quotes the CPU and which bfloat16 instructions it has.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cpu_model, write_report  # noqa: E402


def best_time(fn, repeats=5, min_time=0.2):
    fn()
    best = float("inf")
    start = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() - start > 10 * min_time:
            break
    return best


def gemm_rows(threads):
    import entrena
    from entrena import _core
    K = _core.kernels
    try:
        import torch
    except ImportError:
        torch = None
    rows = []
    rng = np.random.default_rng(0)
    for t in threads:
        entrena.set_num_threads(t)
        if torch is not None:
            torch.set_num_threads(t)
        peak = K.fma_peak_gflops(0.3, "", t)
        for n in (256, 512, 1024):
            A = rng.standard_normal((n, n)).astype(np.float32)
            B = rng.standard_normal((n, n)).astype(np.float32)
            flops = 2.0 * n ** 3
            f32 = flops / best_time(lambda: K.gemm_fused(A, B)) / 1e9
            b16 = flops / best_time(lambda: K.gemm_fused(A, B, bf16=True)) / 1e9
            if torch is not None:
                ta, tb = torch.from_numpy(A), torch.from_numpy(B)
                ha, hb = ta.bfloat16(), tb.bfloat16()
                t32 = flops / best_time(lambda: torch.mm(ta, tb)) / 1e9
                t16 = flops / best_time(lambda: torch.mm(ha, hb)) / 1e9
            else:
                t32 = t16 = float("nan")
            rows.append((t, n, f32, b16, t32, t16, peak))
    return rows


MLPS = {"medium": (784, 256, 128, 10, 128), "large": (784, 1024, 1024, 10, 256)}


def train_entrena(sizes, X, y, precision, epochs):
    import entrena
    d_in, h1, h2, d_out, batch = sizes
    m = entrena.Sequential([entrena.Dense(h1, activation="relu"), entrena.Dense(h2, activation="relu"),
                            entrena.Dense(d_out)], input_shape=(d_in,), seed=0, precision=precision)
    m.compile(optimizer=entrena.Adam(lr=1e-3))
    m.fit(X[:batch * 4], y[:batch * 4], epochs=1, batch_size=batch, verbose=0)     # warm up
    t0 = time.perf_counter()
    h = m.fit(X, y, epochs=epochs, batch_size=batch, verbose=0, shuffle=False)
    return len(X) * epochs / (time.perf_counter() - t0), h["loss"][-1]


def train_torch(sizes, X, y, bf16, epochs):
    import torch
    d_in, h1, h2, d_out, batch = sizes
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(d_in, h1), torch.nn.ReLU(), torch.nn.Linear(h1, h2), torch.nn.ReLU(),
                              torch.nn.Linear(h2, d_out))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def epoch(n):
        total = 0.0
        for s in range(0, n, batch):
            xb, yb = Xt[s:s + batch], yt[s:s + batch]
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = net(xb)
            loss = lossf(out.float(), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        return total / n
    epoch(batch * 4)
    t0 = time.perf_counter()
    for _ in range(epochs):
        last = epoch(len(X))
    return len(X) * epochs / (time.perf_counter() - t0), last


def train_rows(threads, samples, epochs):
    import entrena
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    rows = []
    for name, sizes in MLPS.items():
        X = rng.standard_normal((samples, sizes[0])).astype(np.float32)
        W = rng.standard_normal((sizes[0], sizes[3]))
        y = (X @ W).argmax(axis=1)
        for t in threads:
            entrena.set_num_threads(t)
            r = {"mlp": name, "threads": t}
            r["entrena f32"] = train_entrena(sizes, X, y, "float32", epochs)
            r["entrena bf16"] = train_entrena(sizes, X, y, "bf16", epochs)
            if torch is not None:
                torch.set_num_threads(t)
                r["torch f32"] = train_torch(sizes, X, y, False, epochs)
                r["torch bf16"] = train_torch(sizes, X, y, True, epochs)
            rows.append(r)
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", default="1,2")
    p.add_argument("--samples", type=int, default=8192)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "bf16.md"))
    args = p.parse_args()
    import entrena
    threads = [int(t) for t in args.threads.split(",")]
    info = entrena.cpu_info()
    feats = info["features"]
    has = [k for k in ("avx512bf16", "amx-bf16") if feats.get(k)]
    lines = [f"# bfloat16 mixed precision: {cpu_model()}, {info['hardware_threads']} hardware threads", "",
             f"bfloat16 instructions: {', '.join(has) if has else 'none (no AVX512-BF16, no AMX)'}; entrena's "
             f"bfloat16 kernel here: {info['bf16_kernel']}. "
             + ("" if has else "Without bfloat16 instructions the bfloat16 peak is the float32 FMA peak: "
                "bfloat16 products run on float32 FMAs after rounding, so they cannot be faster than float32 "
                "here, and the targets for AMX (≥ 2× PyTorch autocast, ≥ 3× float32) and AVX512-BF16 "
                "(≥ 1.6× float32) cannot be measured on this machine."), "",
             "## GEMM (GFLOP/s)", "",
             "| threads | n | entrena f32 | entrena bf16 | bf16 ÷ f32 | torch f32 | torch bf16 | bf16 peak (= FMA peak here) | entrena bf16 ÷ peak |",
             "|---|---|---|---|---|---|---|---|---|"]
    for t, n, f32, b16, t32, t16, peak in gemm_rows(threads):
        lines.append(f"| {t} | {n} | {f32:.1f} | {b16:.1f} | {b16 / f32:.2f}× | {t32:.1f} | {t16:.1f} | {peak:.1f} | "
                     f"{b16 / peak:.0%} |")
    lines += ["", f"## Training ({args.samples:,} samples, {args.epochs} timed epochs, Adam; samples/s, last epoch's loss)",
              "", "| MLP | threads | entrena f32 | entrena bf16 | torch f32 | torch bf16 autocast | entrena bf16 ÷ entrena f32 | entrena bf16 ÷ torch bf16 |",
              "|---|---|---|---|---|---|---|---|"]
    for r in train_rows(threads, args.samples, args.epochs):
        def cell(k):
            v = r.get(k)
            return f"{v[0]:,.0f} ({v[1]:.3f})" if v else "–"
        ratio = r["entrena bf16"][0] / r["entrena f32"][0]
        vs = r["entrena bf16"][0] / r["torch bf16"][0] if "torch bf16" in r else float("nan")
        lines.append(f"| {r['mlp']} | {r['threads']} | {cell('entrena f32')} | {cell('entrena bf16')} | "
                     f"{cell('torch f32')} | {cell('torch bf16')} | {ratio:.2f}× | {vs:.2f}× |")
    write_report("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
