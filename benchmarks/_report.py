"""Turns run.py's results into the target verdicts and the Markdown report."""
from __future__ import annotations

import _common as C

NAMES = C.LIB_TITLES


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _sps(res, wl, t, lib):
    return _get(res, "train", wl, str(t), lib, "samples_per_s")


def _lat(res, t, lib, batch):
    return _get(res, "predict", str(t), lib, batch, "median_s")


def _mem(res, wl, lib):
    return _get(res, "memory", wl, lib, "delta_bytes")


def _target(what, threads, measured, goal, ratio, unit="×", note=""):
    met = None if ratio is None else bool(ratio >= goal)
    return {"target": what, "threads": threads, "measured": measured, "goal": goal, "ratio": ratio,
            "unit": unit, "met": met, "note": note}


def evaluate_targets(res):
    """One verdict per target and thread count: met True/False, or None
    when a number is missing (library absent, failed verification)."""
    from run import TARGET_PEAK, TARGET_PREDICT, TARGET_VS_NUMPY, TARGETS_VS_TORCH
    out = []
    threads = res["threads"]
    peaks = {int(k): v for k, v in (_get(res, "gemm", "peaks") or {}).items()}
    if "train" in res:
        for other, title in (("torch", "PyTorch"), ("numpy", "NumPy reference")):
            for wl, goal in TARGETS_VS_TORCH.items():
                if other == "numpy":
                    goal = TARGET_VS_NUMPY
                if wl not in res["train"]:
                    continue
                for t in threads:
                    e, o = _sps(res, wl, t, "entrena"), _sps(res, wl, t, other)
                    r = e / o if e and o else None
                    out.append(_target(f"training {wl}: entrena ≥ {goal:g}× {title}", t, r, goal, r,
                                       note=_ceiling_note(res, wl, t, other, goal, peaks)))
        for t in threads:
            if "large" not in res["train"]:
                break
            g = _get(res, "train", "large", str(t), "entrena", "gflops")
            done = _get(res, "train", "large", str(t), "entrena", "gflops_done")
            pk = peaks.get(t)
            frac = g / pk if g and pk else None
            if not pk:
                note = "no measured FMA peak (benchmarks/gemm.py missing or no peak for this thread count)"
            elif done:
                note = (f"6 × weights per sample, as the target counts; counting only the FLOPs done "
                        f"(no dX for the first layer): {done / pk:.0%}")
            else:
                note = ""
            out.append(_target(f"large MLP end to end ≥ {TARGET_PEAK:.0%} of FMA peak", t, frac,
                               TARGET_PEAK, frac, unit="%", note=note))
    if "predict" in res:
        for batch, goal in TARGET_PREDICT.items():
            for t in threads:
                e, p = _lat(res, t, "entrena", batch), _lat(res, t, "torch", batch)
                r = p / e if e and p else None
                note = ""
                pk = peaks.get(t)
                wd = res.get("workloads", {}).get("medium")
                if p and pk and wd and int(batch) > 1:
                    need = goal * 2.0 * _n_weights(wd) * int(batch) / p / 1e9
                    note = (f"unreachable here: {goal:g}× needs {need:.0f} GFLOP/s, above the {pk:.0f} "
                            f"GFLOP/s FMA peak (ceiling {pk / (need / goal):.2f}×)" if need > pk
                            else f"needs {need / pk:.0%} of the FMA peak")
                out.append(_target(f"predict, batch {batch}: entrena ≥ {goal:g}× faster than PyTorch",
                                   t, r, goal, r, note=note))
    if "memory" in res:
        for wl in ("medium", "large"):
            if wl not in res["memory"]:
                continue
            e, p = _mem(res, wl, "entrena"), _mem(res, wl, "torch")
            r = p / e if e and p else None
            met = None if r is None else bool(e < p)
            out.append({"target": f"peak training memory ({wl}): entrena below PyTorch",
                        "threads": res["memory"].get("threads"), "measured": r, "goal": 1.0,
                        "ratio": r, "unit": "×", "met": met,
                        "note": "" if r is None else f"{e / 2**20:.1f} MiB vs {p / 2**20:.1f} MiB"})
    for key in ("cnn", "rnn"):
        for wl, wr in (_get(res, key, "data", "workloads") or {}).items():
            for t, per in wr.get("timing", {}).items():
                e, p = per.get("entrena", {}), per.get("torch", {})
                es, ps = e.get("samples_per_s"), p.get("samples_per_s")
                goal = wr.get("targets", {}).get("vs_torch")
                if isinstance(goal, dict):   # one goal per thread count
                    goal = goal.get(str(t), goal.get(t))
                r = es / ps if es and ps else None
                if goal:
                    out.append(_target(f"{key.upper()} {wl}: entrena ≥ {goal:g}× PyTorch", int(t), r, goal, r,
                                       note=wr.get("limits", "")))
                peak = wr.get("targets", {}).get("peak")
                if peak:
                    f = e.get("peak_fraction")
                    out.append(_target(f"{key.upper()} {wl} end to end ≥ {peak:.0%} of FMA peak", int(t), f, peak,
                                       f, unit="%", note=wr.get("limits", "")))
            mems = [(per.get("entrena", {}).get("peak_delta_bytes"), per.get("torch", {}).get("peak_delta_bytes"))
                    for per in wr.get("timing", {}).values()]
            mems = [(a, b) for a, b in mems if a is not None and b]
            if mems:
                e, p = max(m[0] for m in mems), max(m[1] for m in mems)
                r = p / e if e else float("inf")
                out.append({"target": f"peak training memory ({key.upper()} {wl}): entrena below PyTorch",
                            "threads": "all", "measured": r, "goal": 1.0, "ratio": r, "unit": "×", "met": bool(e < p),
                            "note": f"{e / 2**20:.1f} MiB vs {p / 2**20:.1f} MiB added by training"})
    return out


def _ceiling_note(res, wl, t, other, goal, peaks):
    """How far a throughput-ratio target is from what the FMA peak allows:
    the other library's GFLOP/s times the goal, as a share of the peak."""
    o = _sps(res, wl, t, other)
    pk = peaks.get(t)
    wd = res["workloads"].get(wl)
    if not o or not pk or not wd:
        return ""
    need = goal * _train_flops(wd) * o / 1e9
    if need > pk:
        return (f"unreachable here: {goal:g}× needs {need:.0f} GFLOP/s, above the "
                f"{pk:.0f} GFLOP/s FMA peak (ceiling {pk / (need / goal):.2f}×)")
    return f"needs {need / pk:.0%} of the FMA peak"


# --------------------------------------------------------------- format
def _fmt_num(x, digits=3):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _cell_status(r):
    """A table cell for a library result without a number."""
    if r is None:
        return "not run"
    if "skipped" in r:
        return "not installed"
    if "error" in r:
        return "failed" if "verification" not in r["error"] else "**failed verification**"
    return None


def _met(m):
    return "–" if m is None else ("**met**" if m else "**not met**")


def _table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def markdown(res):
    libs = list(res["libraries"])
    m = res["machine"]
    info = m["entrena_cpu_info"]
    opt = res["optimizer"]
    lines = [
        f"Run {res['date']} — `{res['command'].strip()}`" + (" (quick: small data, few repetitions)" if res["quick"] else ""),
        "",
        f"- Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs; entrena kernels: "
        f"**{info.get('isa')}** (best supported {info.get('best_isa')}), OpenMP {info.get('openmp')}; "
        f"load average {m.get('loadavg_start')} at the start, {m.get('loadavg_end')} at the end.",
        f"- Threads measured: {', '.join(map(str, res['threads']))} (entrena.set_num_threads, "
        "torch.set_num_threads, OMP/OPENBLAS/MKL_NUM_THREADS; one fresh process per measurement).",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()
                                   if not k.endswith("_error") and v) + ".",
        f"- Optimizer: **{opt['name']}** (lr {opt['lr']:g}, PyTorch's defaults otherwise), float32, "
        "same initial weights and same batches (stored order) in every library.",
    ]
    la = m.get("loadavg_start") or [0]
    if la and max(la[0], (m.get("loadavg_end") or [0])[0]) > 0.5 * m["logical_cpus"]:
        lines.append(f"- **The machine was shared and busy (1-minute load average {la[0]}"
                     f"{' → ' + str(m['loadavg_end'][0]) if m.get('loadavg_end') else ''} on "
                     f"{m['logical_cpus']} CPUs). Multi-threaded numbers then measure contention "
                     "as much as the libraries: an OpenMP or BLAS team waits for its slowest thread, "
                     "and a thread that shares its core with other work is slow. The 1-thread numbers "
                     "are the more reliable ones.**")
    if opt["name"] != "adam":
        lines.append("- **entrena has no Adam yet: all training workloads use SGD instead of Adam.**")
    absent = [f"{NAMES[l]} ({res['libraries'][l]['detail']})" for l in libs
              if not res["libraries"][l]["available"]]
    if absent:
        lines.append("- Not installed, skipped: " + "; ".join(absent) + ".")
    lines.append("")

    # ---- targets
    if res.get("targets"):
        lines += ["### Targets", ""]
        rows = []
        for t in res["targets"]:
            if t["measured"] is None:
                meas = "not measured"
            elif t["unit"] == "%":
                meas = f"{t['measured']:.1%}"
            else:
                meas = f"{t['measured']:.2f}×"
            rows.append([t["target"], t["threads"], meas, _met(t["met"]), t.get("note", "")])
        lines += [_table(["target", "threads", "measured", "verdict", "note"], rows), ""]

    # ---- GEMM
    g = res.get("gemm")
    if g is not None:
        lines += ["### GEMM (benchmarks/gemm.py)", ""]
        if "missing" in g:
            lines += [f"GEMM section missing: {g['missing']}.", ""]
        else:
            if g.get("peaks"):
                lines.append("Measured FMA peak: " + ", ".join(
                    f"{v:.1f} GFLOP/s at {k} thread{'s' * (int(k) > 1)}" for k, v in sorted(g["peaks"].items())) + ".")
                lines.append("")
            if g.get("stdout", "").strip():
                lines += ["```", g["stdout"].rstrip(), "```", ""]

    # ---- convolutional and recurrent networks
    from run import PEER_SCRIPTS
    for key, title in PEER_SCRIPTS.items():
        c = res.get(key)
        if c is None:
            continue
        lines += [f"### {title} (benchmarks/{key}.py)", ""]
        if "missing" in c:
            lines += [f"{key.upper()} section missing: {c['missing']}.", ""]
        else:
            lines += [c["data"].get("about", ""), "", c["data"]["table"], ""]

    # ---- training
    if "train" in res:
        rounds = res.get("train_rounds", 1)
        lines += ["### Training throughput (samples/s)", "",
                  "One epoch after a warm-up epoch; samples divided by the median epoch time"
                  + (f" of the least disturbed of {rounds} interleaved rounds (a fresh process each; "
                     "every epoch time is in results.json)" if rounds > 1 else "") +
                  ". Ratios are entrena's throughput divided by the other library's.", ""]
        for wl, wd in res["workloads"].items():
            if wl not in res["train"]:
                continue
            sizes = "-".join(map(str, wd["sizes"]))
            lines.append(f"**{wl}** {sizes}, batch {wd['batch_size']}, {wd['n']:,} samples, "
                         f"{wd['epochs']} timed epochs per round; 6 × weights = {6 * _n_weights(wd) / 1e6:.2f} MFLOP per "
                         f"sample, {_train_flops(wd) / 1e6:.2f} MFLOP actually done (no dX for the first layer)")
            lines.append("")
            rows = []
            for t in res["threads"]:
                row = [t]
                per = res["train"][wl].get(str(t), {})
                for lib in libs:
                    r = per.get(lib)
                    row.append(_cell_status(r) or _fmt_num(r["samples_per_s"]))
                e = _sps(res, wl, t, "entrena")
                for other in ("torch", "numpy", "sklearn"):
                    o = _sps(res, wl, t, other)
                    row.append(f"{e / o:.2f}×" if e and o else "–")
                gf = _get(per, "entrena", "gflops")
                row.append(_fmt_num(gf))
                row.append(_fmt_num(_get(per, "entrena", "gflops_done")))
                rows.append(row)
            lines += [_table(["threads"] + [NAMES[l] for l in libs] +
                             ["÷ PyTorch", "÷ NumPy", "÷ sklearn", "entrena GFLOP/s (6×W)",
                              "entrena GFLOP/s done"], rows), ""]

        ver = res["verification"]
        lines += ["### Verification before timing", "",
                  "Each library trains a fresh copy for the given steps on the first batches; its mean "
                  f"batch loss must be within a relative {ver['tol_epoch']:g} of a float64 run of the "
                  "NumPy reference, and its loss on those samples after the last step within the "
                  "\"tolerance\" column: a quarter of what the reference's last step changed (\"one step\"), "
                  f"at most {ver['tol_after_max']:g}. A library off by one step, or with another learning "
                  "rate, fails; float32 rounding passes. Shown: the largest differences over the thread "
                  "counts; only verified libraries are timed.", ""]
        rows = []
        for wl, wd in res["workloads"].items():
            ref = wd.get("reference")
            if not ref or wl not in res["train"]:
                continue
            for lib in libs:
                diffs, oks, approx, status = [], [], False, None
                for t in res["threads"]:
                    r = _get(res, "train", wl, str(t), lib)
                    v = _get(r, "verify")
                    if v is None:
                        status = status or _cell_status(r)
                        continue
                    diffs.append((v["rel_diff_epoch"], v["rel_diff_after"], v.get("tol_after")))
                    oks.append(v["ok"])
                    approx = approx or v.get("approx", False)
                if not diffs:
                    rows.append([wl, NAMES[lib], ref["steps"], "–", "–", f"{ref['loss_after']:.6f}", "–",
                                 f"{ref['one_step_rel_change']:.1e}", "–", status or "–"])
                    continue
                last = None
                for t in res["threads"]:
                    last = _get(res, "train", wl, str(t), lib, "verify") or last
                verdict = ("ok" if all(oks) else "**FAILED**") + (" (approx: 1 logistic output)" if approx else "")
                rows.append([wl, NAMES[lib], ref["steps"], f"{max(d[0] for d in diffs):.1e}",
                             f"{last['loss_after']:.6f}", f"{ref['loss_after']:.6f}",
                             f"{max(d[1] for d in diffs):.1e}", f"{ref['one_step_rel_change']:.1e}",
                             f"{diffs[-1][2]:.1e}", verdict])
        lines += [_table(["workload", "library", "steps", "mean batch loss rel. diff", "loss after",
                          "float64 reference", "rel. diff", "one step", "tolerance", "verdict"], rows), ""]

    # ---- predict
    if "predict" in res:
        calls = res["predict"].get("calls", {})
        lines += ["### Predict latency (medium MLP 784-256-128-10)", "",
                  f"Median over {calls.get('1')} calls of one sample and {calls.get('1024')} calls of "
                  "1,024 samples, NumPy array in, NumPy array out; predictions checked against the "
                  "float64 reference first.", ""]
        rows = []
        for t in res["threads"]:
            for batch, unit, scale in (("1", "µs", 1e6), ("1024", "ms", 1e3)):
                row = [t, batch]
                for lib in libs:
                    r = _get(res, "predict", str(t), lib)
                    v = _lat(res, t, lib, batch)
                    row.append(f"{v * scale:.3g} {unit}" if v else (_cell_status(r) or "–"))
                e, p = _lat(res, t, "entrena", batch), _lat(res, t, "torch", batch)
                row.append(f"{p / e:.2f}×" if e and p else "–")
                rows.append(row)
        lines += [_table(["threads", "batch"] + [NAMES[l] for l in libs] + ["PyTorch ÷ entrena"], rows), ""]

    # ---- memory
    if "memory" in res:
        lines += ["### Peak training memory", "",
                  f"One epoch of training in a fresh process ({res['memory'].get('threads')} threads): "
                  "peak RSS minus the RSS after importing the library and loading the data "
                  "(the data set itself is not counted).", ""]
        rows = []
        for wl in ("medium", "large"):
            if wl not in res["memory"]:
                continue
            row = [wl]
            for lib in libs:
                r = res["memory"][wl].get(lib)
                v = _mem(res, wl, lib)
                row.append(f"{v / 2**20:.1f} MiB" if v is not None else (_cell_status(r) or "–"))
            params = _get(res, "memory", wl, "entrena", "model_bytes")
            row.append(f"{params / 2**20:.1f} MiB" if params else "–")
            rows.append(row)
        lines += [_table(["workload"] + [NAMES[l] for l in libs] + ["weights alone"], rows), ""]

    # ---- digits
    if "digits" in res:
        cfg = res["digits"]["config"]
        lines += ["### Time to 97% test accuracy on digits", "",
                  f"entrena.datasets.load_digits(), pixels / 16, 80/20 split (seed {cfg['split_seed']}), "
                  f"MLP {'-'.join(map(str, cfg['sizes']))}, {cfg['opt']['name']} lr {cfg['opt']['lr']:g}, "
                  f"batch {cfg['batch_size']}, same initial weights; seconds of training plus one test "
                  "evaluation per epoch until the test accuracy reaches 97%.", ""]
        rows = []
        for t in res["threads"]:
            for lib in libs:
                r = _get(res, "digits", str(t), lib)
                st = _cell_status(r)
                if st:
                    rows.append([t, NAMES[lib], st, "–", "–"])
                elif not r.get("epochs"):
                    rows.append([t, NAMES[lib], "not reached", f"{cfg['max_epochs']}", f"{r['accuracy']:.3f}"])
                else:
                    rows.append([t, NAMES[lib], f"{r['seconds']:.3f} s", r["epochs"], f"{r['accuracy']:.3f}"])
        lines += [_table(["threads", "library", "time", "epochs", "test accuracy"], rows), ""]
    lines.append(f"Total benchmark time: {res.get('seconds', 0):.0f} s.")
    return "\n".join(lines) + "\n"


def _train_flops(wd):
    s = wd["sizes"]
    return 6 * _n_weights(wd) - 2 * s[0] * s[1]


def _n_weights(wd):
    s = wd["sizes"]
    return sum(a * b for a, b in zip(s[:-1], s[1:]))


def benchmarks_doc(res, md):
    return (
        "# entrena benchmarks\n\n"
        "The latest full run of `python benchmarks/run.py` (how it measures and verifies: "
        "[benchmarks/README.md](benchmarks/README.md)). Targets are goals, not tests: a row marked "
        "**not met** is a real gap, measured on this machine.\n\n"
        "To reproduce:\n\n"
        "```\n"
        "tools/devbuild.sh build/bench\n"
        "pip install torch==2.13.0 scikit-learn psutil   # optional peers; each is skipped if absent\n"
        f"PYTHONPATH=build/bench/stage {res['command'].strip().replace('python ', 'python3 ', 1)}\n"
        "```\n\n"
        + md
    )
