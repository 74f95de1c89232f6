"""Built-in data sets that ship with entrena (no network needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent


def _load(name):
    with np.load(_HERE / f"{name}.npz") as f:
        return {k: f[k] for k in f.files}


def load_digits(dtype="float32"):
    """8×8 handwritten digits: X of shape (1797, 64) with pixel values 0..16,
    y of shape (1797,) with the digit 0..9 (int64). Returns (X, y)."""
    d = _load("digits")
    return d["data"].astype(dtype), d["target"].astype(np.int64)


def load_iris(dtype="float32"):
    """Fisher's iris: X of shape (150, 4) (sepal and petal length and width,
    cm), y of shape (150,) with the species 0..2 (int64). Returns (X, y)."""
    d = _load("iris")
    return d["data"].astype(dtype), d["target"].astype(np.int64)


IRIS_CLASSES = ("setosa", "versicolor", "virginica")

__all__ = ["load_digits", "load_iris", "IRIS_CLASSES"]
