"""The record of a training run: one entry per epoch."""
from __future__ import annotations


class History:
    """``history.history["loss"]`` is the list of per-epoch training losses;
    likewise every metric, ``val_*``, ``lr``, ``seconds`` and ``iterations``."""

    def __init__(self):
        self.epoch = []
        self.history = {}

    def _record(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    @property
    def iterations(self) -> int:
        """Optimizer steps taken over the whole run."""
        return int(sum(self.history.get("iterations", [])))

    @property
    def epochs(self) -> int:
        return len(self.epoch)

    def __getitem__(self, key):
        return self.history[key]

    def __repr__(self):
        return f"History(epochs={self.epochs}, keys={sorted(self.history)})"
