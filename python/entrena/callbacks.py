"""Callbacks: hooks that fit calls at the start and end of training and of
each epoch (and of each batch, only for callbacks that define
``on_train_batch_end``). ``logs`` holds the epoch's loss, metrics, ``val_*``
values, ``lr``, ``seconds`` and ``iterations``. A callback may set
``self.model.stop_training = True`` to end training after the epoch.

EarlyStopping, LearningRateScheduler, ReduceLROnPlateau and TerminateOnNaN
are rules of training that the engine's epoch loop applies (the same C++
code as for C++ users); these classes describe them and report what
happened (e.g. ``EarlyStopping.best_epoch``) after fit."""
from __future__ import annotations

import csv
import math
import os
import sys

import numpy as np

from . import _checks, _core, schedules
from . import distributed as _distributed


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
    # Called after every batch (with the running loss and metrics) only when
    # a callback overrides it: a Python call per batch costs time.
    def on_train_batch_end(self, batch, logs=None): pass


_QUIET_KEYS = ("seconds", "lr", "iterations")


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


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
        """(update(done, total, running_logs), every) for the engine's loop."""
        if not self._bar_wanted():
            return None, 0

        def update(done, total, running):
            if self._bar is not None:
                self._bar.update(done - self._bar.n)
                self._bar.set_postfix(loss=f"{running['loss']:.4f}", refresh=False)
            return not self.model.stop_training

        return update, max(1, self.params["steps"] // 100)

    def _bar_wanted(self):
        # A bar only where it is drawn in place: a terminal (or a notebook).
        # In a log file or CI output, one line per epoch.
        stream = self.file or sys.stderr
        return self.verbose == 1 and (getattr(stream, "isatty", lambda: False)() or _in_notebook())

    def on_epoch_begin(self, epoch, logs=None):
        if self._bar_wanted():
            # Imported here, not with entrena: tqdm takes ~80 ms to import
            # and only fits with a progress bar need it.
            from tqdm.auto import tqdm
            self._bar = tqdm(total=self.params["steps"], unit="batch", leave=False,
                             file=self.file or sys.stderr, dynamic_ncols=True,
                             desc=f"Epoch {epoch + 1}/{self.params['epochs']}")

    def on_train_end(self, logs=None):
        self._close()

    def _close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

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
        self.model = model

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
        """(function(done, total, running_logs), every) for the C++ loop, or
        (None, 0): no per-batch calls."""
        bar, every = self.progress.progress_hook() if self.progress is not None else (None, 0)
        batch_cbs = [cb for cb in self.callbacks
                     if type(cb).on_train_batch_end is not Callback.on_train_batch_end]
        if not batch_cbs:
            return bar, every

        def hook(done, total, running):
            for cb in batch_cbs:
                cb.on_train_batch_end(done - 1, dict(running))
            if bar is not None and (done % every == 0 or done == total):
                return bar(done, total, running)
            return not self.model.stop_training
        return hook, 1

    def on_epoch_end(self, epoch, logs):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_end(self):
        for cb in self.callbacks:
            cb.on_train_end()

    def close(self):
        """After an exception in fit: closes bars and files; nothing else runs."""
        for cb in self.callbacks:
            close = getattr(cb, "_close", None)
            if close is not None:
                close()


def _check_mode(mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode: expected 'auto', 'min' or 'max', got {mode!r}")
    return mode


def _check_monitor(monitor):
    if not isinstance(monitor, str):
        raise TypeError(f"monitor: expected the name of a logged value, got {type(monitor).__name__}")
    return monitor


def resolve_mode(mode, monitor, model) -> str:
    """"min" or "max" for a logged value: "auto" is max for metrics where a
    larger value is better (accuracy, f1, r2, ...) and min for losses and
    the rest."""
    if mode != "auto":
        return mode
    base = monitor[4:] if monitor.startswith("val_") else monitor
    for m in getattr(model, "metrics", []):
        if m.name == base:
            if m.engine_name is not None:
                return "max" if _core.f64.make_metric(m.engine_name).higher_is_better else "min"
            return "max" if m._higher else "min"
    return "min"


class _Monitor:
    """Tracks the best value of a logged quantity (mode min or max)."""

    def __init__(self, monitor, mode, min_delta):
        self.monitor, self.mode = _check_monitor(monitor), _check_mode(mode)
        self.min_delta = abs(_checks.check_float(min_delta, "min_delta"))
        self.best = math.nan

    def start(self, model):
        self.resolved = resolve_mode(self.mode, self.monitor, model)
        self.best = math.inf if self.resolved == "min" else -math.inf

    def value(self, logs):
        if self.monitor not in logs:
            raise KeyError(f"monitor: {self.monitor!r} is not logged; available: {sorted(logs)} "
                           "(val_* needs validation data)")
        return float(logs[self.monitor])

    def improved(self, v):
        if self.resolved == "min":
            return v < self.best - self.min_delta
        return v > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stops training once ``monitor`` has not improved by more than
    ``min_delta`` for ``patience`` epochs in a row (Keras' rules: patience=0
    stops at the first epoch without improvement; with a ``baseline`` the
    wait only restarts when the value also beats it; epochs before
    ``start_from_epoch`` are not watched). mode "auto" maximizes metrics
    where higher is better and minimizes losses. With
    ``restore_best_weights`` the model ends training with the parameters
    and buffers of its best epoch, however training ends (as Keras 3 does).
    After fit: ``best``, ``best_epoch``, ``stopped_epoch`` (None if it did
    not stop training) and ``wait``."""

    def __init__(self, monitor="val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode="auto", restore_best_weights: bool = False, baseline=None,
                 start_from_epoch: int = 0):
        self.monitor = _check_monitor(monitor)
        self.patience = _checks.check_int(patience, "patience", minimum=0)
        self.min_delta = _checks.check_float(min_delta, "min_delta")
        self.mode = _check_mode(mode)
        self.restore_best_weights = bool(restore_best_weights)
        self.baseline = None if baseline is None else _checks.check_float(baseline, "baseline")
        self.start_from_epoch = _checks.check_int(start_from_epoch, "start_from_epoch", minimum=0)
        self.best = None
        self.best_epoch = None
        self.stopped_epoch = None
        self.wait = 0

    def _rule(self, model) -> dict:
        return {"monitor": self.monitor, "patience": self.patience, "min_delta": self.min_delta,
                "mode": resolve_mode(self.mode, self.monitor, model),
                "restore_best_weights": self.restore_best_weights, "baseline": self.baseline,
                "start_from_epoch": self.start_from_epoch}

    def _report(self, result: dict) -> None:
        self.best = None if math.isnan(result["best"]) else result["best"]
        self.best_epoch = None if result["best_epoch"] < 0 else result["best_epoch"]
        self.stopped_epoch = None if result["stopped_epoch"] < 0 else result["stopped_epoch"]
        self.wait = result["wait"]
        self.restored_best_weights = result["restored_best_weights"]


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

    def on_train_begin(self, logs=None):
        self._mon.start(self.model)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            v = self._mon.value(logs)
            if not self._mon.improved(v):
                return
            self._mon.best = v
        path = self.path.format(epoch=epoch + 1, **logs)
        if _distributed.is_main():     # in data-parallel training, rank 0 writes
            self.model.save(path, include_optimizer=self.include_optimizer)
        self.saved.append(path)


class TerminateOnNaN(Callback):
    """Stops training, without raising, when the loss becomes NaN or infinite.
    (Without it, fit raises FloatingPointError naming the epoch and batch.)
    The parameters keep their last finite values."""


class CSVLogger(Callback):
    """Writes one CSV row per epoch: epoch and every logged value."""

    def __init__(self, path, separator=",", append=False):
        self.path = os.fspath(path)
        self.separator = separator
        self.append = bool(append)
        self._file = None

    def on_train_begin(self, logs=None):
        if not _distributed.is_main():     # in data-parallel training, rank 0 writes
            return
        exists = self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self._file = open(self.path, "a" if self.append else "w", newline="")
        self._writer = None
        self._header_done = exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._file is None:
            return
        if self._writer is None:
            self._keys = ["epoch"] + list(logs)
            self._writer = csv.writer(self._file, delimiter=self.separator)
            if not self._header_done:
                self._writer.writerow(self._keys)
        row = {"epoch": epoch, **logs}
        self._writer.writerow([row.get(k, "") for k in self._keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        self._close()

    def _close(self):
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
    training begins (a schedule used by an earlier fit continues, so a fit
    with ``initial_epoch`` resumes it). ``history["lr"]`` records the rate
    each epoch used. ``monitor`` is the logged value a metric-reading
    schedule sees (default: val_loss with validation data, else loss)."""

    def __init__(self, schedule, monitor: str | None = None):

        self.schedule = schedules.get(schedule)
        self.monitor = None if monitor is None else _check_monitor(monitor)

    def _schedule(self, model):
        return self.schedule.core, self.monitor or ""


class ReduceLROnPlateau(Callback):
    """Lowers the learning rate by ``factor`` when ``monitor`` has stopped
    improving for more than ``patience`` epochs (PyTorch's ReduceLROnPlateau
    rules; the new rate applies from the next epoch). mode "auto" as in
    EarlyStopping."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):

        self.monitor = _check_monitor(monitor)
        self.mode = _check_mode(mode)
        self._args = dict(factor=factor, patience=patience, threshold=threshold,
                          threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr, eps=eps)
        # Checks the arguments now (mode "min" stands in for "auto").
        self.schedule = schedules.ReduceLROnPlateau(mode="min" if mode == "auto" else mode, **self._args)

    def _schedule(self, model):

        mode = resolve_mode(self.mode, self.monitor, model)
        if mode != self.schedule.mode:
            self.schedule = schedules.ReduceLROnPlateau(mode=mode, **self._args)
        return self.schedule.core, self.monitor
