"""Convolutional networks: entrena against PyTorch (CPU, eager) on the same
architecture, initial weights, batches and optimizer (Adam, lr 1e-3).

    python benchmarks/cnn.py [--quick] [--threads 1,2] [--json out.json]

Workloads:
  lenet  1x28x28, batch 64: conv 6@5x5 pad 2 -> ReLU -> max-pool 2 ->
         conv 16@5x5 -> ReLU -> max-pool 2 -> 120 -> 84 -> 10
  cifar  3x32x32, batch 64: conv 32@3x3 same -> ReLU -> max-pool 2 ->
         conv 64@3x3 same -> ReLU -> max-pool 2 -> 128 -> 10

Each library is first checked to compute the same thing: a few Adam steps
from the same weights on the same batches, compared with PyTorch in
float64. Then each training epoch (stored order, no shuffling) is timed in
a fresh process per library and thread count; the table gives samples per
second (median epoch), the ratio to PyTorch, the share of the FMA peak
(training FLOPs: forward, input gradients except for the first layer, and
weight gradients) and the peak memory added by training.
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

# name: (input shape, batch, layers); a layer: ("conv", filters, k, pad) | ("pool", 2) | ("dense", units)
WORKLOADS = {
    "lenet": ((1, 28, 28), 64, [("conv", 6, 5, 2), ("pool", 2), ("conv", 16, 5, 0), ("pool", 2),
                                 ("dense", 120), ("dense", 84), ("dense", 10)]),
    "cifar": ((3, 32, 32), 64, [("conv", 32, 3, "same"), ("pool", 2), ("conv", 64, 3, "same"), ("pool", 2),
                                 ("dense", 128), ("dense", 10)]),
}
TARGETS = {"lenet": {"vs_torch": 3.0}, "cifar": {"vs_torch": 1.5, "peak": 0.60}}
# What limits each workload, from a profile (perf, 1 thread, AMD EPYC Zen 3,
# AVX2): the note shown beside a target the run does not meet.
LIMITS = {
    "lenet": "thin layers: 6 and 16 filters over 1 and 6 channels make GEMMs of 6 or 16 rows (the "
             "convolution kernels run at 25-50 GFLOP/s, a third to a half of the FMA peak); im2col / "
             "col2im and pooling, memory-bound, take a quarter of the time",
    "cifar": "the second convolution runs at 75-85% of the FMA peak (GEMM-bound); the rest is "
             "memory-bound: max pooling, im2col / col2im and ReLU masks over 8 MiB activations per batch "
             "(a fifth of the time)",
}
VERIFY_STEPS = 5
VERIFY_TOL = 2e-3


def shapes(wl):
    """Per layer: (kind, in shape, out shape, arguments)."""
    (c, h, w), _, layers = WORKLOADS[wl]
    out, flat = [], None
    for layer in layers:
        if layer[0] == "conv":
            _, f, k, pad = layer
            p = (k - 1) // 2 if pad == "same" else pad
            ho, wo = h + 2 * p - k + 1, w + 2 * p - k + 1
            out.append(("conv", (c, h, w), (f, ho, wo), (f, k, p)))
            c, h, w = f, ho, wo
        elif layer[0] == "pool":
            out.append(("pool", (c, h, w), (c, h // 2, w // 2), layer[1]))
            h, w = h // 2, w // 2
        else:
            n_in = flat if flat is not None else c * h * w
            out.append(("dense", (n_in,), (layer[1],), layer[1]))
            flat = layer[1]
    return out


def train_flops(wl):
    """FLOPs of one training sample: forward, backward to the inputs of every
    layer but the first, and to the weights."""
    total, first = 0, True
    for kind, ins, outs, args in shapes(wl):
        if kind == "pool":
            continue
        if kind == "conv":
            f, k, _ = args
            mac = f * ins[0] * k * k * outs[1] * outs[2]
        else:
            mac = ins[0] * outs[0]
        total += 2 * mac * (2 if first else 3)
        first = False
    return total


def data(wl, n, seed=0):
    shape, _, _ = WORKLOADS[wl]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n,) + shape).astype(np.float32)
    y = rng.integers(0, 10, n)
    return X, y


# ---------------------------------------------------------------- models
def entrena_model(wl, dtype="float32"):
    import entrena
    shape, _, layers = WORKLOADS[wl]
    seq, flat = [], False
    for layer in layers:
        if layer[0] == "conv":
            seq.append(entrena.Conv2D(layer[1], layer[2], padding=layer[3], activation="relu"))
        elif layer[0] == "pool":
            seq.append(entrena.MaxPool2D(layer[1]))
        else:
            if not flat:
                seq.append(entrena.Flatten())
                flat = True
            last = layer is layers[-1]
            seq.append(entrena.Dense(layer[1], activation=None if last else "relu"))
    m = entrena.Sequential(seq, input_shape=shape, seed=0, dtype=dtype)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=1e-3))
    return m


def torch_model(wl, params, dtype):
    import torch
    shape, _, layers = WORKLOADS[wl]
    mods, flat, it = [], False, iter(params)
    for layer in layers:
        if layer[0] == "conv":
            _, f, k, pad = layer
            W, b = next(it), next(it)
            conv = torch.nn.Conv2d(W.shape[1], f, k, padding=(k - 1) // 2 if pad == "same" else pad)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(W))
                conv.bias.copy_(torch.from_numpy(b))
            mods += [conv, torch.nn.ReLU()]
        elif layer[0] == "pool":
            mods.append(torch.nn.MaxPool2d(layer[1]))
        else:
            if not flat:
                mods.append(torch.nn.Flatten())
                flat = True
            W, b = next(it), next(it)
            lin = torch.nn.Linear(W.shape[0], W.shape[1])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            mods.append(lin)
            if layer is not layers[-1]:
                mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods).to(dtype)


# --------------------------------------------------------------- workers
def worker(spec):
    """Runs in a fresh process: verify or time one library."""
    wl, lib, threads = spec["workload"], spec["lib"], spec["threads"]
    _, batch, _ = WORKLOADS[wl]
    X, y = data(wl, spec["n"])
    params = [np.asarray(p) for p in np.load(spec["params"]).values()]
    __import__("entrena" if lib == "entrena" else "torch")
    # Memory: from here (library imported, data in memory) to the peak of
    # building the model and training it.
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
        net = torch_model(wl, params, dt)
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
    ap.add_argument("--workloads", default="lenet,cifar")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, C.cpu_count()})
    n, epochs = (512, 3) if args.quick else (2048, 4)
    peaks = P.peaks_for(threads, args.quick)
    tmp = os.path.join(HERE, "results")
    os.makedirs(tmp, exist_ok=True)
    out = {"cpu": C.cpu_model(), "cores": C.cpu_count(), "peaks_gflops": peaks, "workloads": {},
           "about": "LeNet-5 (1x28x28) and a CIFAR-sized CNN (3x32x32), batch 64, Adam, against PyTorch eager "
                    "with the same weights and batches (each first checked to reach the same loss after "
                    f"{VERIFY_STEPS} steps as PyTorch in float64); samples/s of the median epoch of {n} samples; "
                    "% of the FMA peak counts the training FLOPs (no input gradient for the first layer); "
                    "MiB: the peak memory of building the model and training it, beyond the library and "
                    "the data."}
    for wl in args.workloads.split(","):
        params = os.path.join(tmp, f"cnn_{wl}_init.npz")
        initial_params(wl, params)
        base = {"workload": wl, "params": params, "n": n, "epochs": epochs}
        out["workloads"][wl] = P.compare(__file__, wl, base, threads, args.rounds, peaks, n, train_flops(wl),
                                         TARGETS[wl], LIMITS[wl], VERIFY_TOL)
    out["table"] = P.table(out)
    print(out["table"])
    if args.json:
        C.dump_json(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
