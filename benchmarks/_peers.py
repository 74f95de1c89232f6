"""The comparison driver shared by cnn.py and rnn.py: entrena against
PyTorch on the same model, initial weights, batches and optimizer. Each
script defines its workloads, the worker that builds and trains one library
in a fresh process, and the FLOPs of a training sample; this module checks
that both libraries compute the same thing (a few steps compared with
PyTorch in float64), times the training epochs (rounds alternating the
order of the libraries) and writes the table."""
from __future__ import annotations

import json
import os
import subprocess
import sys

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
