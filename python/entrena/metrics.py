"""Metrics over targets and predictions (NumPy, vectorised)."""
from __future__ import annotations

import numpy as np


def _labels(a):
    a = np.asarray(a)
    if a.ndim == 2 and a.shape[1] > 1:
        return a.argmax(axis=1)
    return a.reshape(len(a))


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose predicted class (argmax of probabilities or
    a label) equals the true class (a label or a one-hot row)."""
    t, p = _labels(y_true), _labels(y_pred)
    if len(t) != len(p):
        raise ValueError(f"y_pred: expected {len(t)} rows (one per target), got {len(p)}")
    return float(np.mean(t == p))


class Metric:
    def __init__(self, name, fn):
        self.name = name
        self.fn = fn

    def __call__(self, y_true, y_pred):
        return self.fn(y_true, y_pred)


_REGISTRY = {"accuracy": accuracy, "acc": accuracy}


def get(identifier) -> Metric:
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _REGISTRY:
            raise ValueError(f"metrics: expected one of {sorted(_REGISTRY)}, got {identifier!r}")
        return Metric("accuracy" if key == "acc" else key, _REGISTRY[key])
    if callable(identifier):
        return Metric(getattr(identifier, "__name__", "metric"), identifier)
    raise TypeError(f"metrics: expected a name or a callable, got {type(identifier).__name__}")
