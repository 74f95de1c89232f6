"""The learning-rate range test (L. Smith, "Cyclical learning rates", 2017):
train a copy of the model for a few hundred batches while the learning rate
grows exponentially from tiny to huge, record the loss at each rate, and
pick a rate where the loss falls fastest. The course's "try 0.001, 0.01,
0.1, 1.0" done for the user, on a curve.

``model.find_lr(X, y)`` returns an LRFinderResult; the model itself is not
changed.
"""
from __future__ import annotations

import math

import numpy as np

from . import _checks
from .data import iterate_batches


class LRFinderResult:
    """``lrs`` and ``losses`` (the loss of each batch, smoothed with an
    exponential moving average), ``raw_losses``, and ``suggestion``: the rate
    at the steepest descent of the smoothed loss before its minimum, divided
    by ``margin`` (a step back from the edge; 1: none). ``min_loss_lr``: the
    rate of the lowest smoothed loss. ``plot(path)`` draws the curve (PNG,
    needs matplotlib)."""

    def __init__(self, lrs, losses, raw_losses, suggestion, min_loss_lr, stopped_early):
        self.lrs = lrs
        self.losses = losses
        self.raw_losses = raw_losses
        self.suggestion = suggestion
        self.min_loss_lr = min_loss_lr
        self.stopped_early = stopped_early

    def plot(self, path, *, dpi=100):
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("LRFinderResult.plot needs matplotlib: pip install 'entrena[plot]'") from e
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.lrs, self.raw_losses, alpha=0.3, label="loss per batch")
        ax.plot(self.lrs, self.losses, label="smoothed")
        ax.axvline(self.suggestion, color="C3", ls="--", label=f"suggested lr {self.suggestion:.2g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        return path

    def __repr__(self):
        return (f"LRFinderResult(suggestion={self.suggestion:.3g}, min_loss_lr={self.min_loss_lr:.3g}, "
                f"steps={len(self.lrs)})")


def find_lr(model, X, y, *, start_lr=1e-6, end_lr=10.0, num_steps=200, batch_size=32, smoothing=0.9,
            diverge=4.0, margin=1.0, seed=0, plot=None):
    """The range test on a copy of `model` (compiled: its loss and the kind
    of its optimizer are used, with fresh optimizer state). The rate goes
    from start_lr to end_lr geometrically over num_steps batches (epochs of
    (X, y) repeat as needed, shuffled with `seed`); the test stops early when
    the smoothed loss exceeds `diverge` times its lowest value."""
    from .layers import from_config
    from .models import Sequential
    model._require_compiled("find_lr")
    start_lr = _checks.check_float(start_lr, "start_lr", minimum=0.0, open_min=True)
    end_lr = _checks.check_float(end_lr, "end_lr", minimum=0.0, open_min=True)
    if end_lr <= start_lr:
        raise ValueError(f"end_lr: expected a rate above start_lr ({start_lr:g}), got {end_lr:g}")
    num_steps = _checks.check_int(num_steps, "num_steps", minimum=3)
    batch_size = _checks.check_int(batch_size, "batch_size", minimum=1)
    smoothing = _checks.check_float(smoothing, "smoothing", minimum=0.0, maximum=1.0, open_max=True)
    diverge = _checks.check_float(diverge, "diverge", minimum=1.0, open_min=True)
    margin = _checks.check_float(margin, "margin", minimum=1.0)
    X = model._inputs(X, finite=True)
    Y, _ = model._targets(y, len(X), classes=model.classes_, learn=model.classes_ is None)

    copy = Sequential([from_config(layer.engine_config()) for layer in model.layers],
                      input_shape=model.input_shape, dtype=model.dtype, seed=model.seed, precision=model.precision)
    copy.load_state_dict(model.state_dict())
    opt = type(model.optimizer)(**model.optimizer.get_config())
    copy.compile(loss=model.loss, optimizer=opt)
    loss_fn = copy.loss
    copy.train()

    ratio = (end_lr / start_lr) ** (1.0 / (num_steps - 1))
    lrs, raw, smooth = [], [], []
    avg, best, stopped = 0.0, math.inf, False
    step, epoch = 0, 0
    while step < num_steps and not stopped:
        for xb, yb in iterate_batches(X, Y, batch_size=batch_size, shuffle=True, seed=seed + epoch):
            if step >= num_steps:
                break
            lr = start_lr * ratio ** step
            opt.lr = lr
            out = copy(xb)
            value = loss_fn(out, yb)
            if not math.isfinite(value):
                stopped = True
                break
            copy.zero_grad()
            loss_fn.backward()
            opt.step()
            avg = smoothing * avg + (1 - smoothing) * value
            s = avg / (1 - smoothing ** (step + 1))      # bias-corrected, as Adam's moments
            lrs.append(lr)
            raw.append(value)
            smooth.append(s)
            best = min(best, s)
            step += 1
            if s > diverge * best:
                stopped = True
                break
        epoch += 1
    if len(lrs) < 3:
        raise ValueError(f"find_lr: the loss diverged within {len(lrs)} steps; lower start_lr "
                         f"(got {start_lr:g})" if stopped else
                         f"find_lr: only {len(lrs)} steps ran (too few samples for batch_size {batch_size}?)")
    lrs_a, s_a = np.array(lrs), np.array(smooth)
    low = int(np.argmin(s_a))
    # The steepest fall of the smoothed loss against log(lr), before its minimum.
    grad = np.gradient(s_a[:low + 1], np.log(lrs_a[:low + 1])) if low >= 2 else np.array([0.0])
    steep = int(np.argmin(grad)) if low >= 2 else 0
    result = LRFinderResult(lrs, smooth, raw, float(lrs_a[steep] / margin), float(lrs_a[low]), stopped)
    if plot is not None:
        result.plot(plot)
    return result
