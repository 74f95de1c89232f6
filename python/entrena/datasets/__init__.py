"""Data sets: two small real ones that ship with entrena (no network
needed) and synthetic generators for experiments.

Real: ``load_digits`` (8×8 handwritten digits), ``load_iris``.
Synthetic (the same seed gives the same data; samples come shuffled, with
the classes as balanced as the sample count allows): ``make_moons``,
``make_spirals``, ``make_blobs`` (classification: X float32, y int64) and
``make_regression`` (X float32, y float32).
"""
from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np

from .. import _checks

_HERE = Path(__file__).resolve().parent


def _load(name):
    with np.load(_HERE / f"{name}.npz") as f:
        return {k: f[k] for k in f.files}


def load_digits(dtype="float32", *, as_images: bool = False):
    """8×8 handwritten digits: X of shape (1797, 64) with pixel values 0..16,
    or (1797, 1, 8, 8) images (n, channels, height, width) with
    ``as_images=True``; y of shape (1797,) with the digit 0..9 (int64).
    Returns (X, y)."""
    d = _load("digits")
    X = d["data"].astype(dtype)
    if as_images:
        X = X.reshape(-1, 1, 8, 8)
    return X, d["target"].astype(np.int64)


def load_iris(dtype="float32"):
    """Fisher's iris: X of shape (150, 4) (sepal and petal length and width,
    cm), y of shape (150,) with the species 0..2 (int64). Returns (X, y)."""
    d = _load("iris")
    return d["data"].astype(dtype), d["target"].astype(np.int64)


IRIS_CLASSES = ("setosa", "versicolor", "virginica")


# -------------------------------------------------------------- synthetic
def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(_checks.check_int(seed, "seed", minimum=0))


def _balanced_labels(n: int, k: int) -> np.ndarray:
    """Labels 0..k-1 in blocks, sizes n // k, the first n % k one larger."""
    counts = np.full(k, n // k) + (np.arange(k) < n % k)
    return np.repeat(np.arange(k, dtype=np.int64), counts)


def _position_in_class(labels: np.ndarray) -> np.ndarray:
    """For block labels from _balanced_labels: each sample's place along its
    class, from 0 (first) to 1 (last); 0 for a class of one sample."""
    counts = np.bincount(labels)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    pos = np.arange(len(labels)) - starts[labels]
    return pos / np.maximum(counts[labels] - 1, 1)


def _shuffled(rng, X, y):
    order = rng.permutation(len(X))
    return X[order], y[order]


def make_moons(n_samples: int = 200, noise: float = 0.1, seed=None):
    """Two interleaving half circles in the plane: class 0 is the upper arc
    (cos t, sin t), class 1 the lower arc (1 - cos t, 0.5 - sin t), t in
    [0, π], with Gaussian noise of standard deviation ``noise`` added to
    each coordinate. Not linearly separable; a small MLP separates it.

    Returns (X, y): X (n_samples, 2) float32, y (n_samples,) int64.
    """
    n = _checks.check_int(n_samples, "n_samples", minimum=2)
    noise = _checks.check_float(noise, "noise", minimum=0.0)
    rng = _rng(seed)
    y = _balanced_labels(n, 2)
    t = np.pi * _position_in_class(y)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    X = np.where((y == 0)[:, None], upper, lower) + noise * rng.standard_normal((n, 2))
    X, y = _shuffled(rng, X, y)
    return X.astype(np.float32), y


def make_spirals(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, seed=None):
    """Interleaved spiral arms, one per class, winding out from the origin.

    Arm k starts at angle 2πk / n_classes; a point at radius r in [0, 1]
    lies at angle start + 4r (radians), plus Gaussian noise of standard
    deviation ``noise`` on the angle: X = r (cos angle, sin angle).

    Returns (X, y): X (n_samples, 2) float32, y (n_samples,) int64 in
    0..n_classes-1.
    """
    k = _checks.check_int(n_classes, "n_classes", minimum=2)
    n = _checks.check_int(n_samples, "n_samples", minimum=1)
    if n < k:
        raise ValueError(f"n_samples: expected at least n_classes={k} (one sample per class), got {n}")
    noise = _checks.check_float(noise, "noise", minimum=0.0)
    rng = _rng(seed)
    y = _balanced_labels(n, k)
    r = _position_in_class(y)
    angle = 2.0 * np.pi * y / k + 4.0 * r + noise * rng.standard_normal(n)
    X = r[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X, y = _shuffled(rng, X, y)
    return X.astype(np.float32), y


def make_regression(n_samples: int = 200, n_features: int = 5, n_informative=None,
                    noise: float = 0.1, seed=None, return_coef: bool = False):
    """A linear regression problem: X has independent standard-normal
    features, ``y = X @ coef + noise · N(0, 1)``. ``n_informative`` features
    (all by default), chosen at random, have a coefficient of magnitude in
    [1, 10) and random sign; the others have 0.

    Returns (X, y), or (X, y, coef) with return_coef=True: X (n_samples,
    n_features) float32, y (n_samples,) float32, coef (n_features,) float64.
    y is a vector; use y.reshape(-1, 1) where a (n, 1) target is needed.
    """
    n = _checks.check_int(n_samples, "n_samples", minimum=1)
    f = _checks.check_int(n_features, "n_features", minimum=1)
    if n_informative is None:
        n_informative = f
    n_inf = _checks.check_int(n_informative, "n_informative", minimum=0)
    if n_inf > f:
        raise ValueError(f"n_informative: expected at most n_features={f}, got {n_inf}")
    noise = _checks.check_float(noise, "noise", minimum=0.0)
    if not isinstance(return_coef, (bool, np.bool_)):
        raise TypeError(f"return_coef: expected True or False, got {type(return_coef).__name__}")
    rng = _rng(seed)
    X = rng.standard_normal((n, f)).astype(np.float32)
    coef = np.zeros(f)
    chosen = rng.choice(f, size=n_inf, replace=False)
    coef[chosen] = rng.uniform(1.0, 10.0, n_inf) * rng.choice((-1.0, 1.0), n_inf)
    y = (X.astype(np.float64) @ coef + noise * rng.standard_normal(n)).astype(np.float32)
    return (X, y, coef) if return_coef else (X, y)


def make_blobs(n_samples: int = 300, centers=3, n_features: int = 2, cluster_std=1.0, seed=None,
               return_centers: bool = False):
    """Gaussian clusters, one class per cluster.

    ``centers`` is a number of clusters (centres drawn uniformly in
    [-10, 10] per coordinate) or an array (clusters, n_features) of centres.
    ``cluster_std`` is one standard deviation for all clusters or one per
    cluster.

    Returns (X, y), or (X, y, centers) with return_centers=True: X
    (n_samples, n_features) float32, y (n_samples,) int64, centers float64.
    """
    n = _checks.check_int(n_samples, "n_samples", minimum=1)
    d = _checks.check_int(n_features, "n_features", minimum=1)
    rng = _rng(seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, (bool, np.bool_)):
        k = _checks.check_int(centers, "centers", minimum=1)
        C = None
    else:
        if isinstance(centers, (bool, np.bool_)):
            raise TypeError(f"centers: expected a number of clusters or an array of centres, got {centers!r}")
        C = _checks.as_float_array(centers, "centers", np.float64, min_ndim=2, max_ndim=2)
        if C.shape[1] != d:
            raise ValueError(f"centers: expected centres with n_features={d} coordinates, got shape "
                             f"{C.shape}; pass n_features={C.shape[1]}")
        k = len(C)
    if n < k:
        raise ValueError(f"n_samples: expected at least one sample per cluster ({k}), got {n}")
    if isinstance(cluster_std, numbers.Real) and not isinstance(cluster_std, (bool, np.bool_)):
        std = np.full(k, _checks.check_float(cluster_std, "cluster_std", minimum=0.0))
    else:
        std = _checks.as_float_array(cluster_std, "cluster_std", np.float64, min_ndim=1, max_ndim=1)
        if len(std) != k or std.min() < 0:
            raise ValueError(f"cluster_std: expected one value >= 0 per cluster ({k}), got "
                             f"{std.tolist()}")
    if not isinstance(return_centers, (bool, np.bool_)):
        raise TypeError(f"return_centers: expected True or False, got {type(return_centers).__name__}")
    if C is None:
        C = rng.uniform(-10.0, 10.0, (k, d))
    y = _balanced_labels(n, k)
    X = C[y] + std[y, None] * rng.standard_normal((n, d))
    X, y = _shuffled(rng, X, y)
    X = X.astype(np.float32)
    return (X, y, C) if return_centers else (X, y)


__all__ = ["load_digits", "load_iris", "IRIS_CLASSES", "make_moons", "make_spirals",
           "make_regression", "make_blobs"]
