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

    def diagnose(self):
        """What the learning curves say, in plain words with the numbers
        behind them: healthy, not learning, diverging or diverged,
        overfitting (from which epoch, and the best epoch), underfitting,
        noisy. Returns an ``entrena.diagnose.Diagnosis`` (``labels``,
        ``findings``, ``best_epoch``, ``overfitting_from``; ``print`` it).
        The rules and thresholds: ``entrena.diagnose``."""
        from .diagnose import diagnose
        return diagnose(self.history)

    def plot(self, path, *, title=None, dpi=100):
        """Draws the learning curves (loss and each metric, training against
        validation, per epoch) to an image file (PNG). Needs matplotlib."""
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("History.plot needs matplotlib: pip install 'entrena[plot]'") from e
        if not self.epoch:
            raise ValueError("History.plot: no epoch was recorded")
        skip = ("lr", "seconds", "iterations")
        names = [k for k in self.history if not k.startswith("val_") and k not in skip]
        fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.8), squeeze=False)
        epochs = [e + 1 for e in self.epoch]
        for ax, name in zip(axes[0], names):
            ax.plot(epochs, self.history[name], marker="o", ms=3, label=f"training {name}")
            if f"val_{name}" in self.history:
                ax.plot(epochs, self.history[f"val_{name}"], marker="o", ms=3, label=f"validation {name}")
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
            ax.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        return path

    def __getitem__(self, key):
        return self.history[key]

    def __repr__(self):
        return f"History(epochs={self.epochs}, keys={sorted(self.history)})"
