"""Callbacks: hooks that fit calls at the start and end of training and of
each epoch. ``logs`` holds the epoch's loss, metrics, ``val_*`` values,
``lr``, ``seconds`` and ``iterations``. A callback may set
``self.model.stop_training = True`` to end training after the epoch."""
from __future__ import annotations

import csv
import math
import os
import sys

import numpy as np

from . import _checks


class Callback:
    """Base class; override what you need. fit sets ``self.model`` and
    ``self.params`` (epochs, steps per epoch, verbose)."""

    model = None
    params: dict = {}

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass


_QUIET_KEYS = ("seconds", "lr", "iterations")


def format_epoch(epoch: int, epochs: int, logs: dict) -> str:
    """'Epoch 3/50 - 1.2s - loss 0.2103 - accuracy 0.9312 - val_loss 0.2519'"""
    parts = [f"Epoch {epoch + 1}/{epochs}", f"{logs.get('seconds', 0.0):.1f}s"]
    parts += [f"{k} {v:.4f}" for k, v in logs.items() if k not in _QUIET_KEYS]
    return " - ".join(parts)


class ProgressBar(Callback):
    """With verbose=1, a tqdm bar per epoch (batches done/total, it/s,
    running loss); with verbose >= 1, one summary line per epoch."""

    def __init__(self, verbose: int = 1, file=None):
        self.verbose = verbose
        self.file = file
        self._bar = None

    def progress_hook(self):
        if self.verbose != 1:
            return None, 0
        from tqdm.auto import tqdm
        steps = self.params["steps"]
        self._bar = tqdm(total=steps, unit="batch", leave=False, file=self.file or sys.stderr,
                         dynamic_ncols=True,
                         desc=f"Epoch {self.params['epoch'] + 1}/{self.params['epochs']}")

        def update(done, total, running_loss):
            self._bar.update(done - self._bar.n)
            self._bar.set_postfix(loss=f"{running_loss:.4f}", refresh=False)
            return not self.model.stop_training

        return update, max(1, steps // 100)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.verbose >= 1:
            print(format_epoch(epoch, self.params["epochs"], logs or {}),
                  file=self.file or sys.stdout, flush=True)


class CallbackList:
    """The callbacks of one fit call (the progress bar first when verbose)."""

    def __init__(self, callbacks, *, model, history, verbose, epochs, steps):
        callbacks = list(callbacks or [])
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks: expected Callback objects, got {type(cb).__name__}")
        self.progress = ProgressBar(verbose) if verbose else None
        self.callbacks = ([self.progress] if self.progress else []) + callbacks
        self.params = {"epochs": epochs, "steps": steps, "verbose": verbose, "epoch": 0}
        for cb in self.callbacks:
            cb.set_model(model)
            cb.params = self.params
        self.history = history

    def has(self, cls) -> bool:
        return any(isinstance(cb, cls) for cb in self.callbacks)

    def on_train_begin(self):
        for cb in self.callbacks:
            cb.on_train_begin()

    def on_epoch_begin(self, epoch):
        self.params["epoch"] = epoch
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch)

    def progress_hook(self):
        """(function, every) for the C++ loop, or (None, 0): no per-batch calls."""
        if self.progress is None:
            return None, 0
        return self.progress.progress_hook()

    def on_epoch_end(self, epoch, logs):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_end(self):
        for cb in self.callbacks:
            cb.on_train_end()


class _Monitor:
    """Tracks the best value of a logged quantity (mode min or max)."""

    def __init__(self, monitor, mode, min_delta):
        if not isinstance(monitor, str):
            raise TypeError(f"monitor: expected the name of a logged value, got {type(monitor).__name__}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode: expected 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if any(w in monitor for w in ("acc", "f1", "precision", "recall", "r2")) else "min"
        self.monitor, self.mode = monitor, mode
        self.min_delta = abs(_checks.check_float(min_delta, "min_delta"))
        self.best = math.inf if mode == "min" else -math.inf

    def value(self, logs):
        if self.monitor not in logs:
            raise KeyError(f"monitor: {self.monitor!r} is not logged; available: {sorted(logs)} "
                           "(val_* needs validation data)")
        return float(logs[self.monitor])

    def improved(self, v):
        if self.mode == "min":
            return v < self.best - self.min_delta
        return v > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stops training once ``monitor`` has not improved by more than
    ``min_delta`` for ``patience`` epochs in a row (patience=0: at the first
    epoch without improvement); optionally restores the weights of the best
    epoch."""

    def __init__(self, monitor="val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode="auto", restore_best_weights: bool = False, baseline=None):
        self._mon = _Monitor(monitor, mode, min_delta)
        self.patience = _checks.check_int(patience, "patience", minimum=0)
        self.restore_best_weights = bool(restore_best_weights)
        self.baseline = baseline
        self.stopped_epoch = None
        self.best_epoch = None

    @property
    def best(self):
        return self._mon.best

    def on_train_begin(self, logs=None):
        self._mon.best = math.inf if self._mon.mode == "min" else -math.inf
        if self.baseline is not None:
            self._mon.best = float(self.baseline)
        self.wait = 0
        self.stopped_epoch = None
        self.best_epoch = None
        self._best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        v = self._mon.value(logs)
        if self._mon.improved(v):
            self._mon.best = v
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self._best_weights = [p.copy() for p in self.model.parameters()]
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self._best_weights is not None and self.stopped_epoch is not None:
            for p, best in zip(self.model.parameters(), self._best_weights):
                p[...] = best


class ModelCheckpoint(Callback):
    """Saves the model after each epoch (``path`` may contain ``{epoch}`` and
    any logged value, e.g. ``"ckpt-{epoch:03d}-{val_loss:.3f}.safetensors"``);
    with ``save_best_only`` only when ``monitor`` improves."""

    def __init__(self, path, monitor="val_loss", save_best_only: bool = False, mode="auto",
                 include_optimizer: bool = True):
        self.path = os.fspath(path)
        self._mon = _Monitor(monitor, mode, 0.0)
        self.save_best_only = bool(save_best_only)
        self.include_optimizer = bool(include_optimizer)
        self.saved = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            v = self._mon.value(logs)
            if not self._mon.improved(v):
                return
            self._mon.best = v
        path = self.path.format(epoch=epoch + 1, **logs)
        self.model.save(path, include_optimizer=self.include_optimizer)
        self.saved.append(path)


class TerminateOnNaN(Callback):
    """Stops training, without raising, when the loss becomes NaN or infinite.
    (Without it, fit raises FloatingPointError naming the epoch and batch.)
    The parameters keep their last finite values."""

    def on_epoch_end(self, epoch, logs=None):
        if not math.isfinite((logs or {}).get("loss", 0.0)):
            self.model.stop_training = True


class CSVLogger(Callback):
    """Writes one CSV row per epoch: epoch and every logged value."""

    def __init__(self, path, separator=",", append=False):
        self.path = os.fspath(path)
        self.separator = separator
        self.append = bool(append)
        self._file = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self._file = open(self.path, "a" if self.append else "w", newline="")
        self._writer = None
        self._header_done = exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._writer is None:
            self._keys = ["epoch"] + list(logs)
            self._writer = csv.writer(self._file, delimiter=self.separator)
            if not self._header_done:
                self._writer.writerow(self._keys)
        row = {"epoch": epoch, **logs}
        self._writer.writerow([row.get(k, "") for k in self._keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class LambdaCallback(Callback):
    """A callback from plain functions: on_epoch_begin(epoch, logs),
    on_epoch_end(epoch, logs), on_train_begin(logs), on_train_end(logs)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None):
        for name, fn in [("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end)]:
            if fn is not None and not callable(fn):
                raise TypeError(f"{name}: expected a callable, got {type(fn).__name__}")
        self._f = (on_epoch_begin, on_epoch_end, on_train_begin, on_train_end)

    def on_epoch_begin(self, epoch, logs=None):
        if self._f[0]:
            self._f[0](epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._f[1]:
            self._f[1](epoch, logs)

    def on_train_begin(self, logs=None):
        if self._f[2]:
            self._f[2](logs)

    def on_train_end(self, logs=None):
        if self._f[3]:
            self._f[3](logs)


class LearningRateScheduler(Callback):
    """Sets the optimizer's learning rate before every epoch from a schedule
    (entrena.schedules), starting from the rate the optimizer has when
    training begins. ``history["lr"]`` records the rate each epoch used."""

    def __init__(self, schedule, monitor: str | None = None):
        from . import schedules
        self.schedule = schedules.get(schedule)
        self.monitor = monitor
        self._metric = math.nan

    def on_train_begin(self, logs=None):
        self.schedule.reset(self.model.optimizer.lr)
        self._metric = math.nan

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.lr = self.schedule.lr_at(epoch, self._metric)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor is not None:
            self._metric = float((logs or {}).get(self.monitor, math.nan))


class ReduceLROnPlateau(Callback):
    """Lowers the learning rate by ``factor`` when ``monitor`` has stopped
    improving for more than ``patience`` epochs (PyTorch's ReduceLROnPlateau
    rules; the new rate applies from the next epoch)."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        from . import schedules
        mon = _Monitor(monitor, mode, 0.0)
        self.monitor = monitor
        self.schedule = schedules.ReduceLROnPlateau(
            mode=mon.mode, factor=factor, patience=patience, threshold=threshold,
            threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr, eps=eps)
        self._mon = mon

    def on_train_begin(self, logs=None):
        self.schedule.reset(self.model.optimizer.lr)

    def on_epoch_end(self, epoch, logs=None):
        value = self._mon.value(logs or {})
        self.model.optimizer.lr = self.schedule.lr_at(epoch, value)
