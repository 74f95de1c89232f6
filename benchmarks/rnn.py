"""Recurrent networks: entrena against PyTorch (CPU, eager) on the same
model, initial weights, batches and optimizer (Adam, lr 1e-3).

    python benchmarks/rnn.py [--quick] [--threads 1,2] [--json out.json]

Workloads (sequences (batch, steps, features), the last output -> Dense(10),
softmax cross-entropy):
  lstm        LSTM, steps 50, features 32, units 128, batch 64
  gru         GRU, the same sizes
  small_lstm  LSTM, steps 20, features 8, units 32, batch 16: per-step
              overhead dominates

Each library is first checked to compute the same thing (a few Adam steps
from the same weights on the same batches, compared with PyTorch in
float64); then training epochs (stored order) are timed in a fresh process
per library and thread count. The table gives sequences per second (median
epoch), the ratio to PyTorch, the share of the FMA peak (training FLOPs:
forward, backward through time, weight gradients; no input gradient) and
the peak memory added by training.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import _common as C  # noqa: E402
import _peers as P  # noqa: E402

# name: (cell, steps, features, units, batch)
WORKLOADS = {
    "lstm": ("LSTM", 50, 32, 128, 64),
    "gru": ("GRU", 50, 32, 128, 64),
    "small_lstm": ("LSTM", 20, 8, 32, 16),
}
CLASSES = 10
TARGETS = {"lstm": {"vs_torch": {1: 1.3, 2: 2.0}}, "gru": {"vs_torch": {1: 1.3, 2: 2.0}},
           "small_lstm": {"vs_torch": 5.0}}
# What limits each workload, from a profile (perf, 1 thread, AMD EPYC Zen 3,
# AVX2): shown beside a target the run does not meet.
LIMITS = {
    "lstm": "GEMM-bound: the per-step products (64x128 by 128x512 forward, 64x512 by 512x128 backward) "
            "run at 65-80% of the FMA peak and the weight gradients at 70%; the fused gate passes "
            "(5 sigmoid/tanh per unit and step) take about a tenth of the time",
    "gru": "as for LSTM, with three gates",
    "small_lstm": "per-step work is a 16x32 by 32x128 product (a few microseconds): call overhead and "
                  "the gate pass dominate",
}
VERIFY_STEPS = 5
VERIFY_TOL = 2e-3


def gates(cell):
    return {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}[cell]


def train_flops(wl):
    """FLOPs of one training sequence: input projection and recurrent
    products forward (2·(F + H)·G·H per step), backward the recurrent
    product and both weight gradients (2·(2H + F)·G·H per step), and the
    Dense head (3 products)."""
    cell, steps, F, H, _ = WORKLOADS[wl]
    GH = gates(cell) * H
    return steps * (2 * (F + H) * GH + 2 * (2 * H + F) * GH) + 3 * 2 * H * CLASSES


def data(wl, n, seed=0):
    _, steps, F, _, _ = WORKLOADS[wl]
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, steps, F)).astype(np.float32), rng.integers(0, CLASSES, n)


# ---------------------------------------------------------------- models
def entrena_model(wl, dtype="float32"):
    import entrena
    cell, steps, F, H, _ = WORKLOADS[wl]
    layer = getattr(entrena, cell)(H)
    m = entrena.Sequential([layer, entrena.Dense(CLASSES)], input_shape=(steps, F), seed=0, dtype=dtype)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=1e-3))
    return m


class TorchNet:
    """nn.LSTM / nn.GRU (batch first) -> the last output -> nn.Linear."""

    def __init__(self, wl, params, dtype):
        import torch
        cell, _, F, H, _ = WORKLOADS[wl]
        self.rnn = getattr(torch.nn, cell)(F, H, batch_first=True).to(dtype)
        self.lin = torch.nn.Linear(H, CLASSES).to(dtype)
        W_ih, W_hh, b_ih, b_hh, W, b = params
        with torch.no_grad():
            # entrena keeps W in (in, out) orientation: PyTorch's is its transpose.
            self.rnn.weight_ih_l0.copy_(torch.from_numpy(W_ih.T.copy()))
            self.rnn.weight_hh_l0.copy_(torch.from_numpy(W_hh.T.copy()))
            self.rnn.bias_ih_l0.copy_(torch.from_numpy(b_ih))
            self.rnn.bias_hh_l0.copy_(torch.from_numpy(b_hh))
            self.lin.weight.copy_(torch.from_numpy(W.T.copy()))
            self.lin.bias.copy_(torch.from_numpy(b))

    def parameters(self):
        return list(self.rnn.parameters()) + list(self.lin.parameters())

    def __call__(self, x):
        out, _ = self.rnn(x)
        return self.lin(out[:, -1])


# --------------------------------------------------------------- workers
def worker(spec):
    """Runs in a fresh process: verify or time one library."""
    wl, lib, threads = spec["workload"], spec["lib"], spec["threads"]
    batch = WORKLOADS[wl][4]
    X, y = data(wl, spec["n"])
    params = [np.asarray(p) for p in np.load(spec["params"]).values()]
    __import__("entrena" if lib == "entrena" else "torch")
    base = C.rss_bytes()
    C.reset_peak_rss()
    if lib == "entrena":
        import entrena
        entrena.set_num_threads(threads)
        m = entrena_model(wl, spec.get("dtype", "float32"))
        m.load_state_dict(dict(zip([n for n, _ in m.named_parameters()], params)))

        def epoch(Xe, ye):
            return m.fit(Xe, ye, epochs=1, batch_size=batch, shuffle=False, verbose=0)

        def loss_of(Xe, ye):
            return m.evaluate(Xe, ye, batch_size=256)["loss"]
    else:
        import torch
        torch.set_num_threads(threads)
        dt = torch.float64 if spec.get("dtype") == "float64" else torch.float32
        net = TorchNet(wl, params, dt)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        lossf = torch.nn.CrossEntropyLoss()

        def epoch(Xe, ye):
            Xt, yt = torch.from_numpy(Xe).to(dt), torch.from_numpy(ye)
            for s in range(0, len(Xe), batch):
                opt.zero_grad()
                loss = lossf(net(Xt[s:s + batch]), yt[s:s + batch])
                loss.backward()
                opt.step()

        def loss_of(Xe, ye):
            with torch.no_grad():
                return float(lossf(net(torch.from_numpy(Xe).to(dt)), torch.from_numpy(ye)))
    if spec["mode"] == "verify":
        Xv, yv = X[:VERIFY_STEPS * batch], y[:VERIFY_STEPS * batch]
        epoch(Xv, yv)
        return {"loss_after": loss_of(Xv, yv)}
    epoch(X[:2 * batch], y[:2 * batch])     # warm up (allocations, thread start)
    times = []
    for _ in range(spec["epochs"]):
        t0 = time.perf_counter()
        epoch(X, y)
        times.append(time.perf_counter() - t0)
    return {"epoch_seconds": times, "peak_delta_bytes": max(0, C.peak_rss_bytes() - base)}


def initial_params(wl, path):
    m = entrena_model(wl)
    np.savez(path, **{f"p{i:02d}": p for i, p in enumerate(m.parameters())})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", default=None)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", default=None)
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, C.cpu_count()})
    peaks = P.peaks_for(threads, args.quick)
    tmp = os.path.join(HERE, "results")
    os.makedirs(tmp, exist_ok=True)
    out = {"cpu": C.cpu_model(), "cores": C.cpu_count(), "peaks_gflops": peaks, "workloads": {},
           "about": "LSTM and GRU (50 steps of 32 features, 128 units, batch 64) and a small LSTM (20 steps of "
                    "8 features, 32 units, batch 16), the last output into Dense(10), Adam, against PyTorch "
                    "eager with the same weights and batches (each first checked to reach the same loss "
                    f"after {VERIFY_STEPS} steps as PyTorch in float64); sequences/s of the median epoch; "
                    "% of the FMA peak counts the training FLOPs (no input gradient); MiB: the peak memory of "
                    "building the model and training it, beyond the library and the data."}
    for wl in args.workloads.split(","):
        batch = WORKLOADS[wl][4]
        n = batch * (8 if args.quick else 32)
        epochs = 3 if args.quick else 4
        params = os.path.join(tmp, f"rnn_{wl}_init.npz")
        initial_params(wl, params)
        base = {"workload": wl, "params": params, "n": n, "epochs": epochs}
        out["workloads"][wl] = P.compare(__file__, wl, base, threads, args.rounds, peaks, n, train_flops(wl),
                                         TARGETS[wl], LIMITS[wl], VERIFY_TOL)
    out["table"] = P.table(out, unit="sequences/s")
    print(out["table"])
    if args.json:
        C.dump_json(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
