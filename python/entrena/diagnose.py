"""Reading learning curves: what a training run's losses say, in plain
words with the numbers behind them (``History.diagnose()``).

The rules are the ones a course teaches for reading the curves of training
and validation loss, with the thresholds stated here:

- **diverged** — a loss became NaN or infinite (training stops there).
- **diverging** — the training loss ended higher than it started (by more
  than 10%) or rose for the last three epochs running: the steps overshoot
  (learning rate too high).
- **not learning** — the training loss changed by less than 1% of its first
  value over the whole run (at least 3 epochs).
- **overfitting** — the validation loss reached its lowest value at some
  epoch and then rose by more than 5% of it (and by at least two epochs'
  worth) while the training loss kept falling: the model learns the
  training set's noise from the epoch after the best one.
- **underfitting** — both losses flattened (the last third of the epochs
  improved the training loss by less than 2%) while the training loss stayed
  above half its first value, and validation is not much worse than
  training (the model cannot fit the data better: more capacity, more
  epochs, a higher learning rate).
- **noisy** — the training loss rose from one epoch to the next in at least
  40% of the epochs, by more than 2% each time: steps too large for the
  batch (learning rate too high or batch too small).
- **healthy** — none of the above.
"""
from __future__ import annotations

import math

import numpy as np

LABELS = ("diverged", "diverging", "not_learning", "overfitting", "underfitting", "noisy", "healthy")


class Diagnosis:
    """The findings about a training run. ``labels``: what was found (see
    LABELS); ``findings``: one dict per label with ``label``, ``message``
    (plain words with the numbers) and the numbers themselves;
    ``best_epoch``: the epoch (counted from 1) with the lowest validation
    loss, or training loss without validation; ``overfitting_from``: the
    first epoch of overfitting, or None. ``str(d)`` reads as a paragraph."""

    def __init__(self, findings, best_epoch, overfitting_from):
        self.findings = findings
        self.labels = [f["label"] for f in findings]
        self.best_epoch = best_epoch
        self.overfitting_from = overfitting_from

    def __contains__(self, label):
        return label in self.labels

    def __str__(self):
        return "\n".join(f"- {f['message']}" for f in self.findings)

    def __repr__(self):
        return f"Diagnosis(labels={self.labels}, best_epoch={self.best_epoch})"


def _finite(xs):
    return all(isinstance(x, (int, float)) and math.isfinite(x) for x in xs)


def _rel(a, b):
    """|a - b| relative to |b| (b the reference), safe at 0."""
    return abs(a - b) / max(abs(b), 1e-12)


def _series(history, key):
    """history[key] as a list of floats ([] when absent)."""
    values = history.get(key, [])
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"history[{key!r}]: expected a sequence of numbers, got {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"history[{key!r}]: expected numbers, got {type(v).__name__} {v!r} at epoch {i}")
        out.append(float(v))
    return out


def diagnose(history: dict) -> Diagnosis:
    """The findings about a run from its per-epoch logs ({"loss": [...],
    "val_loss": [...], ...}, as History.history holds them)."""
    if hasattr(history, "history") and isinstance(history.history, dict):
        history = history.history          # a History from fit
    if not isinstance(history, dict):
        raise TypeError(f"history: expected a dict of per-epoch lists (History.history) or a History, got "
                        f"{type(history).__name__}")
    loss = _series(history, "loss")
    val = _series(history, "val_loss") or None
    if val is not None and len(val) != len(loss):
        raise ValueError(f"history['val_loss']: expected one value per epoch ({len(loss)}), got {len(val)}")
    if not loss:
        raise ValueError("diagnose: the history has no training loss (no epoch was recorded)")
    n = len(loss)
    findings = []

    def add(label, message, **numbers):
        findings.append({"label": label, "message": message, **numbers})

    bad = next((i for i, v in enumerate(loss) if not math.isfinite(v)), None)
    bad_val = next((i for i, v in enumerate(val) if not math.isfinite(v)), None) if val else None
    if bad is not None or bad_val is not None:
        i = bad if bad is not None else bad_val
        which = "training" if bad is not None else "validation"
        add("diverged", f"the {which} loss became {(loss if bad is not None else val)[i]} at epoch {i + 1}: "
            "training diverged (lower the learning rate, clip gradients, check the inputs for huge values)",
            epoch=i + 1)
        return Diagnosis(findings, None, None)

    first, last, low = loss[0], loss[-1], min(loss)
    best = (min(range(n), key=lambda i: val[i]) if val else min(range(n), key=lambda i: loss[i])) + 1

    rising_tail = n >= 4 and all(loss[i + 1] > loss[i] for i in range(n - 4, n - 1))
    if last > first * 1.1 + 1e-12 or rising_tail:
        add("diverging", f"the training loss went from {first:.4g} (epoch 1) to {last:.4g} (epoch {n})"
            + (", rising over the last three epochs" if rising_tail else "")
            + ": the steps overshoot; lower the learning rate", first=first, last=last)
    elif n >= 3 and _rel(low, first) < 0.01 and _rel(last, first) < 0.01:
        add("not_learning", f"the training loss stayed at {first:.4g} (it moved by {_rel(low, first):.2%} in "
            f"{n} epochs): the model is not learning; raise the learning rate, check the labels and the loss, "
            "and look for dead units (all-zero ReLU outputs)", loss=first, change=_rel(low, first))

    overfitting_from = None
    if val and n >= 3 and not findings:
        vb, ve = val[best - 1], val[-1]
        after = n - best
        if after >= 2 and ve > vb * 1.05 + 1e-12 and loss[-1] < loss[best - 1]:
            overfitting_from = best + 1
            add("overfitting", f"the validation loss was lowest at epoch {best} ({vb:.4g}) and rose to {ve:.4g} "
                f"by epoch {n} while the training loss fell from {loss[best - 1]:.4g} to {loss[-1]:.4g}: the "
                f"model overfits from epoch {best + 1}; keep the weights of epoch {best} "
                "(EarlyStopping(restore_best_weights=True)), add dropout or weight decay, or use more data",
                best_epoch=best, best_val_loss=vb, last_val_loss=ve, from_epoch=best + 1)

    if not findings and n >= 3:
        tail = max(1, n // 3)
        start = loss[n - 1 - tail]
        flat = _rel(min(loss[n - tail:]), start) < 0.02
        high = last > 0.5 * first
        close = not val or val[-1] < 1.5 * last + 1e-12
        if flat and high and close:
            add("underfitting", f"both losses flattened (the last {tail} epoch(s) improved the training loss by "
                f"{_rel(min(loss[n - tail:]), start):.2%}) at {last:.4g}, more than half the first epoch's "
                f"{first:.4g}" + (f", validation at {val[-1]:.4g}" if val else "")
                + ": the model underfits; give it more capacity (wider or deeper), more epochs or a higher "
                "learning rate", loss=last, first=first)

    if n >= 5 and not any(f["label"] in ("diverging", "not_learning") for f in findings):
        ups = [(loss[i + 1] - loss[i]) / max(abs(loss[i]), 1e-12) for i in range(n - 1)]
        big = [u for u in ups if u > 0.02]
        if len(big) >= 0.4 * (n - 1):
            add("noisy", f"the training loss rose from one epoch to the next {len(big)} times in {n} epochs, "
                f"by up to {max(big):.1%}: the steps are too large for the batch; lower the learning rate or "
                "use larger batches", rises=len(big), largest=max(big))

    if not findings:
        gap = f", validation {val[best - 1]:.4g} at its best (epoch {best})" if val else ""
        add("healthy", f"the training loss fell from {first:.4g} to {last:.4g}{gap}: the curves look healthy",
            first=first, last=last)
    return Diagnosis(findings, best, overfitting_from)
