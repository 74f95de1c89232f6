"""Callbacks: hooks called by fit at the start and end of training and of
each epoch. ``logs`` holds the epoch's loss, metrics, val_* values, lr,
seconds and iterations."""
from __future__ import annotations

import sys


class Callback:
    """Base class; override what you need. ``self.model`` is set by fit."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


def format_epoch(epoch: int, epochs: int, logs: dict) -> str:
    """'Epoch 3/50 - 1.2s - loss 0.2103 - accuracy 0.9312 - val_loss 0.2519'"""
    parts = [f"Epoch {epoch + 1}/{epochs}", f"{logs.get('seconds', 0.0):.1f}s"]
    for k, v in logs.items():
        if k in ("seconds", "lr", "iterations", "nan"):
            continue
        parts.append(f"{k} {v:.4f}")
    return " - ".join(parts)


class ProgressBar(Callback):
    """A tqdm bar per epoch (batches, it/s, running loss) with verbose=1,
    and one summary line per epoch (verbose >= 1)."""

    def __init__(self, verbose: int = 1, file=None):
        self.verbose = verbose
        self.file = file
        self._bar = None

    def on_train_begin(self, logs=None):
        self._epochs = self.params["epochs"]

    def progress_hook(self):
        if self.verbose != 1:
            return None, 0
        from tqdm.auto import tqdm
        steps = self.params["steps"]
        out = self.file or sys.stderr
        self._bar = tqdm(total=steps, unit="batch", leave=False, file=out, dynamic_ncols=True,
                         desc=f"Epoch {self.params['epoch'] + 1}/{self._epochs}")

        def update(done, total, running_loss):
            self._bar.update(done - self._bar.n)
            self._bar.set_postfix(loss=f"{running_loss:.4f}", refresh=False)
            return not self.model.stop_training

        every = max(1, steps // 100)
        return update, every

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.verbose >= 1:
            print(format_epoch(epoch, self._epochs, logs or {}), file=self.file or sys.stdout, flush=True)


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

    def on_train_begin(self):
        for cb in self.callbacks:
            cb.on_train_begin()

    def on_epoch_begin(self, epoch):
        self.params["epoch"] = epoch
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch)

    def progress_hook(self):
        """(function, every) for the C++ loop, or (None, 0) for no per-batch calls."""
        if self.progress is None:
            return None, 0
        return self.progress.progress_hook()

    def on_epoch_end(self, epoch, logs):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_end(self):
        for cb in self.callbacks:
            cb.on_train_end()
