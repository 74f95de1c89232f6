"""The comparison driver shared by cnn.py and rnn.py: entrena against
PyTorch on the same model, initial weights, batches and optimizer. Each
script defines its workloads, the worker that builds and trains one library
in a fresh process, and the FLOPs of a training sample; this module checks
that both libraries compute the same thing (a few steps compared with
PyTorch in float64), times the training epochs (rounds alternating the
order of the libraries) and writes the table."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import _common as C


def run_worker(script, spec, threads):
    """One worker of `script` (``--worker <spec>``) in a fresh process with
    `threads` threads: its JSON result, or {"error": ...}."""
    env = dict(os.environ, **C.thread_env(threads))
    spec = dict(spec, threads=threads)
    r = subprocess.run([sys.executable, script, "--worker", json.dumps(spec)], env=env, capture_output=True,
                       text=True, timeout=3600)
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-1500:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def peaks_for(threads, quick):
    import entrena
    return {t: entrena._core.kernels.fma_peak_gflops(0.3 if quick else 1.0, entrena.cpu_info()["best_isa"], t)
            for t in threads}


def compare(script, wl, base, threads, rounds, peaks, n, flops_per_sample, targets, limits, verify_tol):
    """Verification and timing of one workload: the result entry of the JSON."""
    ref = run_worker(script, dict(base, lib="torch", mode="verify", dtype="float64"), 1)
    verify = {}
    for lib in ("entrena", "torch"):
        got = run_worker(script, dict(base, lib=lib, mode="verify"), 1)
        d = C.rel_diff(got.get("loss_after", float("nan")), ref.get("loss_after", float("nan")))
        verify[lib] = {"loss_after": got.get("loss_after"), "rel_diff": d, "ok": bool(d < verify_tol),
                       **({"error": got["error"]} if "error" in got else {})}
    res = {"verify": verify, "reference_loss": ref.get("loss_after"), "flops_per_sample": flops_per_sample,
           "targets": targets, "limits": limits, "timing": {}}
    for t in threads:
        per = {}
        for r in range(rounds):
            for lib in (("entrena", "torch") if r % 2 == 0 else ("torch", "entrena")):
                if not verify[lib]["ok"]:
                    continue
                got = run_worker(script, dict(base, lib=lib, mode="time"), t)
                prev = per.setdefault(lib, {"epoch_seconds": [], "peak_delta_bytes": 0})
                if "error" in got:
                    prev["error"] = got["error"]
                    continue
                prev["epoch_seconds"] += got["epoch_seconds"]
                prev["peak_delta_bytes"] = max(prev["peak_delta_bytes"], got["peak_delta_bytes"])
        for lib, v in per.items():
            if v["epoch_seconds"]:
                v["samples_per_s"] = n / C.median(v["epoch_seconds"])
                v["peak_fraction"] = v["samples_per_s"] * flops_per_sample / 1e9 / peaks[t]
        res["timing"][t] = per
    print(f"{wl}: verify " + ", ".join(f"{k} d={v['rel_diff']:.1e} {'ok' if v['ok'] else 'FAILED'}"
                                       for k, v in verify.items()), file=sys.stderr)
    return res


def target_text(tgt, threads):
    """'>= 1.3x' (or per thread count: {"vs_torch": {1: 1.3, 2: 2.0}}), plus the peak share."""
    v = tgt.get("vs_torch")
    if isinstance(v, dict):
        v = v.get(threads, v.get(str(threads)))
    text = f">= {v}x" if v is not None else "-"
    return text + (f", >= {tgt['peak']:.0%} peak" if "peak" in tgt else "")


def table(out, unit="samples/s"):
    """The Markdown table of a comparison's JSON (out["workloads"])."""
    lines = [f"CPU: {out['cpu']}, {out['cores']} cores; FMA peak " +
             ", ".join(f"{t} thread(s) {p:.0f} GFLOP/s" for t, p in out["peaks_gflops"].items()),
             "", f"| workload | threads | entrena {unit} | PyTorch {unit} | ratio | target | "
             "entrena % of peak | PyTorch % of peak | entrena MiB | PyTorch MiB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for wl, res in out["workloads"].items():
        for t, per in res["timing"].items():
            e, p = per.get("entrena", {}), per.get("torch", {})
            es, ps = e.get("samples_per_s"), p.get("samples_per_s")
            ratio = es / ps if es and ps else float("nan")
            lines.append(f"| {wl} | {t} | {es or float('nan'):,.0f} | {ps or float('nan'):,.0f} | {ratio:.2f} | "
                         f"{target_text(res['targets'], t)} | {e.get('peak_fraction', float('nan')):.1%} | "
                         f"{p.get('peak_fraction', float('nan')):.1%} | "
                         f"{e.get('peak_delta_bytes', 0) / 2**20:.1f} | {p.get('peak_delta_bytes', 0) / 2**20:.1f} |")
    return "\n".join(lines)


def train_worker(spec, batch, X, y, entrena_model, torch_net, verify_steps):
    """The body of a worker process: build one library's model (entrena_model(dtype)
    or torch_net(params, torch dtype), an object with parameters() that maps
    inputs to logits), then verify (the loss after `verify_steps` Adam steps)
    or time training epochs (stored order) and the peak memory they add."""
    lib, threads = spec["lib"], spec["threads"]
    params = [np.asarray(p) for p in np.load(spec["params"]).values()]
    __import__("entrena" if lib == "entrena" else "torch")
    # Memory: from here (library imported, data in memory) to the peak of
    # building the model and training it.
    base = C.rss_bytes()
    C.reset_peak_rss()
    if lib == "entrena":
        import entrena
        entrena.set_num_threads(threads)
        m = entrena_model(spec.get("dtype", "float32"))
        m.load_state_dict(dict(zip([n for n, _ in m.named_parameters()], params)))

        def epoch(Xe, ye):
            return m.fit(Xe, ye, epochs=1, batch_size=batch, shuffle=False, verbose=0)

        def loss_of(Xe, ye):
            return m.evaluate(Xe, ye, batch_size=256)["loss"]
    else:
        import torch
        torch.set_num_threads(threads)
        dt = torch.float64 if spec.get("dtype") == "float64" else torch.float32
        net = torch_net(params, dt)
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
        Xv, yv = X[:verify_steps * batch], y[:verify_steps * batch]
        epoch(Xv, yv)
        return {"loss_after": loss_of(Xv, yv)}
    epoch(X[:2 * batch], y[:2 * batch])     # warm up (allocations, thread start)
    times = []
    for _ in range(spec["epochs"]):
        t0 = time.perf_counter()
        epoch(X, y)
        times.append(time.perf_counter() - t0)
    return {"epoch_seconds": times, "peak_delta_bytes": max(0, C.peak_rss_bytes() - base)}


def main(argv, doc, script, worker, workloads, about, plan, initial_params, unit="samples/s", verify_tol=2e-3):
    """The command line of a comparison script. ``--worker SPEC`` runs
    worker(spec) (in the fresh process run_worker starts); otherwise each
    workload is verified and timed: plan(wl, quick) gives (samples, timed
    epochs, FLOPs per sample, targets, limits), initial_params(wl, path)
    writes the shared initial weights, about(quick) the table's caption."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", default=None)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", default=None)
    ap.add_argument("--workloads", default=",".join(workloads))
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, C.cpu_count()})
    peaks = peaks_for(threads, args.quick)
    tmp = os.path.join(os.path.dirname(os.path.abspath(script)), "results")
    os.makedirs(tmp, exist_ok=True)
    name = os.path.splitext(os.path.basename(script))[0]
    out = {"cpu": C.cpu_model(), "cores": C.cpu_count(), "peaks_gflops": peaks, "workloads": {},
           "about": about(args.quick)}
    for wl in args.workloads.split(","):
        n, epochs, flops, targets, limits = plan(wl, args.quick)
        params = os.path.join(tmp, f"{name}_{wl}_init.npz")
        initial_params(wl, params)
        base = {"workload": wl, "params": params, "n": n, "epochs": epochs}
        out["workloads"][wl] = compare(script, wl, base, threads, args.rounds, peaks, n, flops, targets, limits,
                                       verify_tol)
    out["table"] = table(out, unit)
    print(out["table"])
    if args.json:
        C.dump_json(out, args.json)
    return 0
