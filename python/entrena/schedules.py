"""Learning-rate schedules, per epoch, with PyTorch's formulas. Each is a
thin Python object over the C++ schedule that the C++ fit uses too.

Use one through a callback::

    model.fit(X, y, epochs=30, callbacks=[
        entrena.callbacks.LearningRateScheduler(entrena.schedules.StepDecay(step_size=10, gamma=0.5))])

or ``entrena.callbacks.ReduceLROnPlateau(monitor="val_loss", ...)``.
"""
from __future__ import annotations

import math

from . import _checks, _core


class Schedule:
    """``reset(base_lr)`` starts the schedule from the optimizer's rate;
    ``lr_at(epoch, metric=nan)`` returns the rate for an epoch."""

    def __init__(self):
        self._core = None

    def _make_core(self):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @property
    def core(self):
        if self._core is None:
            self._core = self._make_core()
        return self._core

    def reset(self, base_lr: float) -> None:
        self.core.reset(_checks.check_float(base_lr, "base_lr", minimum=0.0))

    def lr_at(self, epoch: int, metric: float = math.nan) -> float:
        return float(self.core.lr_at(_checks.check_int(epoch, "epoch", minimum=0), float(metric)))

    @property
    def uses_metric(self) -> bool:
        return bool(self.core.uses_metric)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """lr = base_lr."""

    def _make_core(self):
        return _core.ConstantSchedule()


class ExponentialDecay(Schedule):
    """lr = base_lr · gamma^epoch."""

    def __init__(self, gamma: float):
        super().__init__()
        self.gamma = _checks.check_float(gamma, "gamma", minimum=0.0, open_min=True)

    def _make_core(self):
        return _core.ExponentialDecay(self.gamma)

    def get_config(self):
        return {"gamma": self.gamma}


class StepDecay(Schedule):
    """lr = base_lr · gamma^floor(epoch / step_size): × gamma every step_size epochs."""

    def __init__(self, step_size: int, gamma: float = 0.1):
        super().__init__()
        self.step_size = _checks.check_int(step_size, "step_size", minimum=1)
        self.gamma = _checks.check_float(gamma, "gamma", minimum=0.0, open_min=True)

    def _make_core(self):
        return _core.StepDecay(self.step_size, self.gamma)

    def get_config(self):
        return {"step_size": self.step_size, "gamma": self.gamma}


class CosineAnnealing(Schedule):
    """lr = eta_min + (base_lr − eta_min) · (1 + cos(π · epoch / t_max)) / 2."""

    def __init__(self, t_max: int, eta_min: float = 0.0):
        super().__init__()
        self.t_max = _checks.check_int(t_max, "t_max", minimum=1)
        self.eta_min = _checks.check_float(eta_min, "eta_min", minimum=0.0)

    def _make_core(self):
        return _core.CosineAnnealing(self.t_max, self.eta_min)

    def get_config(self):
        return {"t_max": self.t_max, "eta_min": self.eta_min}


class LambdaSchedule(Schedule):
    """lr = base_lr · factor(epoch), for a function of the epoch."""

    def __init__(self, factor):
        super().__init__()
        if not callable(factor):
            raise TypeError(f"factor: expected a function of the epoch, got {type(factor).__name__}")
        self.factor = factor

    def _make_core(self):
        return _core.LambdaSchedule(self.factor)


class ReduceLROnPlateau(Schedule):
    """Multiplies the rate by ``factor`` when the monitored value has not
    improved for more than ``patience`` epochs (PyTorch's rules, including
    ``threshold``/``threshold_mode``, ``cooldown`` and ``min_lr``)."""

    def __init__(self, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode: expected 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode: expected 'rel' or 'abs', got {threshold_mode!r}")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = _checks.check_float(factor, "factor", minimum=0.0, maximum=1.0, open_max=True)
        self.patience = _checks.check_int(patience, "patience", minimum=0)
        self.threshold = _checks.check_float(threshold, "threshold", minimum=0.0)
        self.cooldown = _checks.check_int(cooldown, "cooldown", minimum=0)
        self.min_lr = _checks.check_float(min_lr, "min_lr", minimum=0.0)
        self.eps = _checks.check_float(eps, "eps", minimum=0.0)

    def _make_core(self):
        return _core.ReduceLROnPlateau(
            mode=self.mode, factor=self.factor, patience=self.patience, threshold=self.threshold,
            threshold_mode=self.threshold_mode, cooldown=self.cooldown, min_lr=self.min_lr, eps=self.eps)

    def get_config(self):
        return {"mode": self.mode, "factor": self.factor, "patience": self.patience,
                "threshold": self.threshold, "threshold_mode": self.threshold_mode,
                "cooldown": self.cooldown, "min_lr": self.min_lr, "eps": self.eps}


def get(identifier) -> Schedule:
    if isinstance(identifier, Schedule):
        return identifier
    if identifier in (None, "constant"):
        return Constant()
    raise TypeError(f"schedule: expected a Schedule, got {type(identifier).__name__}")
