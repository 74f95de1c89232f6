"""Data sets: three small real ones that ship with entrena (no network
needed) and synthetic generators for experiments.

Real: ``load_digits`` (8×8 handwritten digits), ``load_iris``, ``load_co2``
(monthly atmospheric CO2 at Mauna Loa, 1958–2001: a time series).
Synthetic (the same seed gives the same data; samples come shuffled, with
the classes as balanced as the sample count allows): ``make_moons``,
``make_spirals``, ``make_blobs`` (classification: X float32, y int64) and
``make_regression`` (X float32, y float32).
Sequences, for recurrent networks (X of shape (n, steps, features), float32
unless ``window_series`` is given float64 data): ``make_adding_problem``,
``make_sine_forecast`` (synthetic, the same seed gives the same data) and
``window_series``, which cuts any series (such as ``load_co2``'s) into input
windows and the values that follow them.
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


def load_co2(dtype="float32", *, return_weeks: bool = False):
    """Monthly mean atmospheric CO2 at Mauna Loa Observatory, Hawaii, in ppm
    (parts per million by volume), March 1958 to December 2001: 526 months.

    The means are made from the Scripps Institution of Oceanography's weekly
    averages (continuous air samples): each month is the mean of the weekly
    values dated in it; the 5 months without any weekly value (1958-06,
    1958-10, 1964-02 to 1964-04) are interpolated linearly between the
    neighbouring months (see SOURCES.md). The series rises from 316 ppm
    (March 1958) to 371 ppm (December 2001), with a yearly cycle of about
    5 to 7 ppm from peak (May) to trough (September-October).

    Returns (t, co2), or (t, co2, weeks) with return_weeks=True: t (526,)
    float64, the time in decimal years at the middle of each month,
    year + (month - 0.5) / 12 (so ``np.floor(t)`` is the year and
    ``np.floor(t % 1 * 12) + 1`` the month); co2 (526,) of ``dtype``
    (float32 or float64); weeks (526,) int64, the number of weekly values
    averaged for each month (0 where the value is interpolated).
    """
    dt = _checks.resolve_dtype(dtype)
    if not isinstance(return_weeks, (bool, np.bool_)):
        raise TypeError(f"return_weeks: expected True or False, got {type(return_weeks).__name__}")
    d = _load("co2")
    t = d["year"].astype(np.float64) + (d["month"].astype(np.float64) - 0.5) / 12.0
    co2 = d["co2"].astype(dt)
    return (t, co2, d["weeks"].astype(np.int64)) if return_weeks else (t, co2)


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


# -------------------------------------------------------------- sequences
def make_adding_problem(n_samples: int = 1000, steps: int = 50, seed=None):
    """The adding problem (Hochreiter & Schmidhuber, 1997), a test of memory
    over long sequences: each sample is a sequence of ``steps`` pairs
    (value, marker). The values are uniform in [0, 1); the marker is 1 at
    exactly two time steps, one in the first half (t < steps // 2) and one
    in the second half (t >= steps // 2), and 0 elsewhere. The target is the
    sum of the two marked values, in [0, 2). Always predicting 1 gives a
    mean squared error of 1/6 ≈ 0.167; a network that solves the task does
    much better.

    Returns (X, y): X (n_samples, steps, 2) float32 with the values in
    channel 0 and the markers in channel 1; y (n_samples, 1) float32.
    """
    n = _checks.check_int(n_samples, "n_samples", minimum=1)
    steps = _checks.check_int(steps, "steps", minimum=2)
    rng = _rng(seed)
    values = rng.random((n, steps)).astype(np.float32)
    half = steps // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, steps, n)
    rows = np.arange(n)
    markers = np.zeros((n, steps), dtype=np.float32)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = np.stack([values, markers], axis=2)
    y = (values[rows, first] + values[rows, second]).reshape(n, 1)
    return X, y


def make_sine_forecast(n_samples: int = 1000, steps: int = 30, horizon: int = 1,
                       noise: float = 0.1, seed=None):
    """Forecasting sine waves: each sample is a window of ``steps`` noisy
    values of its own sine wave; the target is the wave's next ``horizon``
    values, without noise.

    Sample i is the wave s_i(t) = a_i · sin(2π f_i t + φ_i) at the time
    steps t = 0, 1, ..., with amplitude a_i uniform in [0.5, 1.5),
    frequency f_i uniform in [0.025, 0.2) cycles per step (periods of 5 to
    40 steps) and phase φ_i uniform in [0, 2π):

        X[i, t, 0] = s_i(t) + noise · ε_it    for t = 0 .. steps-1,
                     ε_it independent standard-normal
        y[i, k]    = s_i(steps + k)           for k = 0 .. horizon-1

    y is noise-free: the best forecast is the wave itself, and the noise in
    X has standard deviation ``noise``. The waves do not depend on
    ``noise`` (the same seed gives the same waves for any noise).

    Returns (X, y): X (n_samples, steps, 1) float32, y (n_samples, horizon)
    float32.
    """
    n = _checks.check_int(n_samples, "n_samples", minimum=1)
    steps = _checks.check_int(steps, "steps", minimum=1)
    horizon = _checks.check_int(horizon, "horizon", minimum=1)
    noise = _checks.check_float(noise, "noise", minimum=0.0)
    rng = _rng(seed)
    amplitude = rng.uniform(0.5, 1.5, (n, 1))
    frequency = rng.uniform(0.025, 0.2, (n, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, (n, 1))
    t = np.arange(steps + horizon)
    wave = amplitude * np.sin(2.0 * np.pi * frequency * t + phase)
    X = wave[:, :steps] + noise * rng.standard_normal((n, steps))
    return X.astype(np.float32)[:, :, None], wave[:, steps:].astype(np.float32)


def window_series(series, steps: int, horizon: int = 1, stride: int = 1):
    """Cut a series into overlapping windows for sequence models: each
    window's ``steps`` values are an input sequence and the ``horizon``
    values right after it are its target.

    ``series`` is a 1-D series (T,) or a multivariate one (T, F), time along
    the first axis. Window i starts at time i·stride:

        X[i] = series[i·stride : i·stride + steps]
        y[i] = series[i·stride + steps : i·stride + steps + horizon]

    for every i whose target fits in the series: n = (T - steps - horizon)
    // stride + 1 windows (values at the end that do not fill a window are
    left out).

    Returns (X, y): X (n, steps, F) with F = 1 for a 1-D series; y
    (n, horizon) for a 1-D series, (n, horizon, F) for a multivariate one.
    Both are float64 if ``series`` is a float64 array, float32 otherwise
    (lists, integers, float32), and are copies (C-contiguous), not views.
    Raises ValueError if the series is shorter than one window (steps +
    horizon values) or holds NaN or infinite values.
    """
    steps = _checks.check_int(steps, "steps", minimum=1)
    horizon = _checks.check_int(horizon, "horizon", minimum=1)
    stride = _checks.check_int(stride, "stride", minimum=1)
    dtype = np.float64 if getattr(series, "dtype", None) == np.float64 else np.float32
    s = _checks.as_float_array(series, "series", dtype, min_ndim=1, max_ndim=2)
    if s.ndim == 2 and s.shape[1] == 0:
        raise ValueError(f"series: expected at least one feature (column), got shape {s.shape}")
    need = steps + horizon
    if len(s) < need:
        raise ValueError(f"series: expected at least steps + horizon = {need} time steps (one "
                         f"window), got {len(s)}")
    starts = np.arange(0, len(s) - need + 1, stride)
    X = s[starts[:, None] + np.arange(steps)]
    y = s[starts[:, None] + steps + np.arange(horizon)]
    if s.ndim == 1:
        X = X[:, :, None]
    return np.ascontiguousarray(X), np.ascontiguousarray(y)


__all__ = ["load_digits", "load_iris", "IRIS_CLASSES", "load_co2", "make_moons", "make_spirals",
           "make_regression", "make_blobs", "make_adding_problem", "make_sine_forecast",
           "window_series"]
