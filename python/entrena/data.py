"""Data preparation: splits, feature scaling, one-hot labels and a
mini-batch iterator (NumPy, vectorised).

A typical pipeline::

    X_tr, X_val, X_te, y_tr, y_val, y_te = train_val_test_split(X, y, stratify=True, seed=0)
    scaler = StandardScaler().fit(X_tr)          # statistics of the training part only
    X_tr, X_val, X_te = (scaler.transform(a) for a in (X_tr, X_val, X_te))

Fit a scaler on the training data only and apply the same transform to the
validation and test data; fitting it on everything would let the held-out
data leak into training.

``Sequential.fit`` batches and shuffles in C++; ``iterate_batches`` is for
custom training loops and for teaching.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import _checks

__all__ = [
    "train_val_test_split", "train_test_split", "StandardScaler", "MinMaxScaler",
    "one_hot", "from_one_hot", "iterate_batches", "Batches",
]


# ---------------------------------------------------------------- helpers
def _rng(seed, name: str = "seed") -> np.random.Generator:
    """A NumPy Generator from None (fresh entropy), an int >= 0 or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(_checks.check_int(seed, name, minimum=0))


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _samples(a, name: str) -> np.ndarray:
    """a as an array with at least one dimension and one sample (any dtype)."""
    if a is None:
        raise TypeError(f"{name}: expected an array, got None")
    arr = np.asarray(a)
    if arr.ndim == 0:
        raise ValueError(f"{name}: expected an array with one row per sample, got a scalar")
    if len(arr) == 0:
        raise ValueError(f"{name}: expected at least one sample, got shape {arr.shape}")
    return arr


def _integer_labels(y, name: str) -> np.ndarray:
    """Class labels (n,) or (n, 1) of integer values >= 0 -> int64 array (n,)."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected class labels of shape (n,), got shape {arr.shape}")
    arr = _checks.as_float_array(arr, name, np.float64, min_ndim=1, max_ndim=1)
    if not np.all(arr == np.round(arr)) or arr.min() < 0:
        bad = arr[(arr != np.round(arr)) | (arr < 0)][0]
        raise ValueError(f"{name}: expected integer class labels >= 0, got the value {bad:g}")
    if arr.max() >= 2**31:
        raise ValueError(f"{name}: expected class labels below 2**31, got {arr.max():g}")
    return arr.astype(np.int64)


def _stratify_labels(y: np.ndarray) -> np.ndarray:
    """Labels (n,) or (n, 1), or one-hot rows (n, c) -> one label per sample."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 1:
        return y
    if y.ndim == 2:
        Y = _checks.as_float_array(y, "y", np.float64, min_ndim=2, max_ndim=2)
        if not (np.isin(Y, (0.0, 1.0)).all() and (Y.sum(axis=1) == 1).all()):
            raise ValueError("y: stratify=True expected class labels of shape (n,) or one-hot rows "
                             f"of shape (n, {y.shape[1]}); got rows that are not one-hot")
        return Y.argmax(axis=1)
    raise ValueError(f"y: stratify=True expected class labels of shape (n,) or one-hot rows of "
                     f"shape (n, classes), got shape {y.shape}")


def _part_size(value, n: int, name: str) -> int:
    """A part size given as a fraction in [0, 1) or a count in [0, n) -> a count.
    Fractions are rounded up, so a non-zero fraction always gets a sample."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a fraction (float) or a sample count (int), "
                        f"got {type(value).__name__} {value!r}")
    if isinstance(value, numbers.Integral):
        value = int(value)
        if not 0 <= value < n:
            raise ValueError(f"{name}: expected a sample count in [0, {n}) for {n} samples, got {value}")
        return value
    value = _checks.check_float(value, name, minimum=0.0, maximum=1.0, open_max=True)
    return int(math.ceil(value * n - 1e-9))


def _largest_remainder(counts: np.ndarray, total: int, tiebreak: np.ndarray) -> np.ndarray:
    """Integer shares of total proportional to counts (Hamilton's method, in
    exact integer arithmetic): every class gets floor(total·count/sum), and
    the classes with the largest remainders one more each until the shares
    add up to total; equal remainders are ordered by tiebreak."""
    csum = int(counts.sum())
    if total == 0 or csum == 0:
        return np.zeros(len(counts), dtype=np.int64)
    share, remainder = np.divmod(counts * total, csum)
    short = total - int(share.sum())
    if short > 0:
        share[np.lexsort((tiebreak, -remainder))[:short]] += 1
    return share


def _split_indices(n, sizes, labels, shuffle, rng):
    """Index arrays for consecutive parts of the given sizes; the first part
    gets what the other parts leave. With labels, every class is split in
    the same proportions (to within a sample or two)."""
    order = rng.permutation(n) if shuffle else np.arange(n)
    if labels is None:
        bounds = np.cumsum([n - sum(sizes)] + list(sizes))[:-1]
        return np.split(order, bounds)
    # Group the (shuffled) samples by class; rank = position inside the class.
    classes, inverse, counts = np.unique(labels[order], return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    by_class = np.argsort(inverse, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(n, dtype=np.int64)
    rank[by_class] = np.arange(n) - np.repeat(starts, counts)
    # Per-class counts for the last parts, taken one part at a time from what is left.
    tiebreak = rng.permutation(len(classes)) if shuffle else np.arange(len(classes))
    # Each part takes the ranks [lower, upper) of every class; the last part
    # (test) the highest ranks, the first (train) what remains at the bottom.
    left = counts.astype(np.int64)
    upper = left.copy()
    part_of = np.zeros(n, dtype=np.int64)
    for p in range(len(sizes) - 1, -1, -1):   # loop over the (one or two) held-out parts
        k = _largest_remainder(left, sizes[p], tiebreak)
        lower = upper - k
        in_part = (rank >= lower[inverse]) & (rank < upper[inverse])
        part_of[in_part] = p + 1
        upper, left = lower, left - k
    return [order[part_of == p] for p in range(len(sizes) + 1)]


def _split(X, y, sizes, names, stratify, shuffle, seed):
    X = _samples(X, "X")
    y = _samples(y, "y")
    _checks.same_length(X, y)
    shuffle = _check_bool(shuffle, "shuffle")
    stratify = _check_bool(stratify, "stratify")
    rng = _rng(seed)
    n = len(X)
    counts = [_part_size(s, n, name) for s, name in zip(sizes, names)]
    if sum(counts) >= n:
        given = ", ".join(f"{name}={s!r}" for s, name in zip(sizes, names))
        raise ValueError(f"{' + '.join(names)}: expected parts that leave at least one training "
                         f"sample, got {given} ({' + '.join(map(str, counts))} of {n} samples)")
    labels = _stratify_labels(y) if stratify else None
    parts = _split_indices(n, counts, labels, shuffle, rng)
    return [X[i] for i in parts], [y[i] for i in parts]


# ------------------------------------------------------------------ splits
def train_val_test_split(X, y, *, val_size=0.15, test_size=0.15, stratify=False, shuffle=True,
                         seed=None):
    """Splits (X, y) into training, validation and test parts.

    ``val_size`` and ``test_size`` are fractions in [0, 1) of the samples
    (rounded up to whole samples) or counts of samples; the training part
    gets the rest (70 % by default). Every sample lands in exactly one part.
    ``stratify=True`` keeps each class's share of the samples in every part
    (to within a sample or two per class), reading the classes from y, given
    as labels (n,) or one-hot rows (n, classes). The same ``seed`` (an int,
    or a ``numpy.random.Generator``) gives the same split; ``shuffle=False``
    keeps the original order, with the test part at the end.

    Returns ``(X_train, X_val, X_test, y_train, y_val, y_test)`` (copies).
    """
    (Xtr, Xv, Xte), (ytr, yv, yte) = _split(X, y, (val_size, test_size),
                                            ("val_size", "test_size"), stratify, shuffle, seed)
    return Xtr, Xv, Xte, ytr, yv, yte


def train_test_split(X, y, *, test_size=0.2, stratify=False, shuffle=True, seed=None):
    """Splits (X, y) into a training and a test part; see
    ``train_val_test_split`` for the arguments.

    Returns ``(X_train, X_test, y_train, y_test)`` (copies).
    """
    (Xtr, Xte), (ytr, yte) = _split(X, y, (test_size,), ("test_size",), stratify, shuffle, seed)
    return Xtr, Xte, ytr, yte


# ----------------------------------------------------------------- scalers
class _Scaler:
    """Shared machinery: input checks, fitted-state checks, fit_transform."""

    _learned = ()

    def _features(self, X, what: str) -> np.ndarray:
        X = np.asarray(X) if X is not None else X
        if X is not None and getattr(X, "ndim", 2) != 2:
            raise ValueError(f"X: {type(self).__name__}.{what} expected a 2-D array (n_samples, "
                             f"n_features), got shape {X.shape}; use X.reshape(-1, 1) for one feature")
        return _checks.as_float_array(X, "X", np.float64, min_ndim=2, max_ndim=2)

    @staticmethod
    def _out_dtype(X):
        dt = np.asarray(X).dtype
        return dt if dt in (np.float32, np.float64) else np.dtype(np.float32)

    def _fitted(self, X, what: str) -> np.ndarray:
        if getattr(self, self._learned[0], None) is None:
            raise RuntimeError(f"{type(self).__name__}.{what}: the scaler is not fitted yet; "
                               "call fit(X_train) (or fit_transform) first")
        A = self._features(X, what)
        if A.shape[1] != self.n_features_in_:
            raise ValueError(f"X: {type(self).__name__}.{what} expected {self.n_features_in_} "
                             f"features (as in fit), got {A.shape[1]}")
        return A

    def fit_transform(self, X) -> np.ndarray:
        """fit(X), then transform(X)."""
        return self.fit(X).transform(X)


class StandardScaler(_Scaler):
    """Scales each feature to mean 0 and standard deviation 1:
    ``z = (x - mean_) / scale_``.

    Learned by ``fit``: ``mean_``, ``var_`` (population variance),
    ``scale_`` (standard deviation; 1 for a constant feature, which is
    therefore only centred, to 0), ``n_features_in_`` and
    ``n_samples_seen_``. Statistics are computed in float64; outputs keep
    a float32/float64 input's dtype (other inputs give float32).
    """

    _learned = ("mean_",)

    def __init__(self, *, with_mean: bool = True, with_std: bool = True):
        self.with_mean = _check_bool(with_mean, "with_mean")
        self.with_std = _check_bool(with_std, "with_std")
        self.mean_ = self.var_ = self.scale_ = None
        self.n_features_in_ = self.n_samples_seen_ = None

    def fit(self, X) -> "StandardScaler":
        """Learns the per-feature mean and standard deviation of X (n, features)."""
        A = self._features(X, "fit")
        constant = A.max(axis=0) == A.min(axis=0)
        # A constant column's mean is its value exactly (a summed mean can be off by an ulp).
        mean = np.where(constant, A[0], A.mean(axis=0))
        var = np.where(constant, 0.0, ((A - mean) ** 2).mean(axis=0))
        self.mean_ = mean if self.with_mean else np.zeros_like(mean)
        self.var_ = var
        self.scale_ = np.where(constant, 1.0, np.sqrt(var)) if self.with_std else np.ones_like(var)
        self.n_features_in_ = A.shape[1]
        self.n_samples_seen_ = A.shape[0]
        return self

    def transform(self, X) -> np.ndarray:
        A = self._fitted(X, "transform")
        return ((A - self.mean_) / self.scale_).astype(self._out_dtype(X))

    def inverse_transform(self, X) -> np.ndarray:
        """Undoes transform: ``x = z * scale_ + mean_``."""
        A = self._fitted(X, "inverse_transform")
        return (A * self.scale_ + self.mean_).astype(self._out_dtype(X))

    def __repr__(self):
        args = []
        if not self.with_mean:
            args.append("with_mean=False")
        if not self.with_std:
            args.append("with_std=False")
        return f"StandardScaler({', '.join(args)})"


class MinMaxScaler(_Scaler):
    """Maps each feature linearly from its [min, max] on the fitted data to
    ``feature_range``: ``x' = x * scale_ + min_``.

    Learned by ``fit``: ``data_min_``, ``data_max_``, ``data_range_``,
    ``scale_``, ``min_``, ``n_features_in_``, ``n_samples_seen_``. A
    constant feature maps to the low end of feature_range. Values outside
    the fitted [min, max] (in test data) map outside feature_range.
    """

    _learned = ("scale_",)

    def __init__(self, feature_range=(0, 1)):
        try:
            lo, hi = feature_range
        except (TypeError, ValueError):
            raise TypeError(f"feature_range: expected a pair (low, high), got {feature_range!r}") from None
        lo = _checks.check_float(lo, "feature_range low")
        hi = _checks.check_float(hi, "feature_range high")
        if not lo < hi:
            raise ValueError(f"feature_range: expected low < high, got ({lo:g}, {hi:g})")
        self.feature_range = (lo, hi)
        self.data_min_ = self.data_max_ = self.data_range_ = None
        self.scale_ = self.min_ = None
        self.n_features_in_ = self.n_samples_seen_ = None

    def fit(self, X) -> "MinMaxScaler":
        """Learns the per-feature minimum and maximum of X (n, features)."""
        A = self._features(X, "fit")
        lo, hi = self.feature_range
        dmin, dmax = A.min(axis=0), A.max(axis=0)
        drange = dmax - dmin
        self.data_min_, self.data_max_, self.data_range_ = dmin, dmax, drange
        self.scale_ = (hi - lo) / np.where(drange == 0, 1.0, drange)
        self.min_ = lo - dmin * self.scale_
        self.n_features_in_ = A.shape[1]
        self.n_samples_seen_ = A.shape[0]
        return self

    def transform(self, X) -> np.ndarray:
        A = self._fitted(X, "transform")
        return (A * self.scale_ + self.min_).astype(self._out_dtype(X))

    def inverse_transform(self, X) -> np.ndarray:
        """Undoes transform: ``x = (x' - min_) / scale_`` (a constant feature
        comes back as its fitted value)."""
        A = self._fitted(X, "inverse_transform")
        return ((A - self.min_) / self.scale_).astype(self._out_dtype(X))

    def __repr__(self):
        return f"MinMaxScaler(feature_range=({self.feature_range[0]:g}, {self.feature_range[1]:g}))"


# ----------------------------------------------------------------- one-hot
def one_hot(y, num_classes=None, dtype="float32") -> np.ndarray:
    """Class labels (n,) with values 0..num_classes-1 -> one-hot rows
    (n, num_classes) of dtype. num_classes defaults to max(y) + 1."""
    labels = _integer_labels(y, "y")
    top = int(labels.max())
    if num_classes is None:
        num_classes = top + 1
    else:
        num_classes = _checks.check_int(num_classes, "num_classes", minimum=1)
        if top >= num_classes:
            raise ValueError(f"y: expected labels in [0, {num_classes}) for num_classes="
                             f"{num_classes}, got the label {top}")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or not (np.issubdtype(dt, np.number) or dt == bool) \
            or np.issubdtype(dt, np.complexfloating):
        raise TypeError(f"dtype: expected a real numeric dtype such as 'float32', got {dtype!r}")
    out = np.zeros((len(labels), num_classes), dtype=dt)
    out[np.arange(len(labels)), labels] = 1
    return out


def from_one_hot(Y) -> np.ndarray:
    """One-hot rows (n, classes) -> class labels (n,) as int64 (the inverse
    of one_hot). For probability rows use ``probs.argmax(axis=1)``."""
    arr = np.asarray(Y)
    if arr.ndim != 2:
        raise ValueError(f"Y: expected one-hot rows of shape (n, classes), got shape {arr.shape}")
    A = _checks.as_float_array(arr, "Y", np.float64, min_ndim=2, max_ndim=2)
    ok = np.isin(A, (0.0, 1.0)).all(axis=1) & (A.sum(axis=1) == 1)
    if not ok.all():
        bad = int(np.argmin(ok))
        raise ValueError(f"Y: expected one-hot rows (a single 1, zeros elsewhere), got row {bad} "
                         f"= {arr[bad].tolist()}")
    return A.argmax(axis=1).astype(np.int64)


# ----------------------------------------------------------------- batches
class Batches:
    """The mini-batches of (X, y): iterable, with ``len()`` = number of
    batches. Each iteration is one pass (epoch) over the data; with
    shuffle=True each pass draws a new order from the seeded generator."""

    def __init__(self, X, y, batch_size, shuffle, drop_last, rng):
        self.X, self.y = X, y
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self._rng = rng

    def __len__(self) -> int:
        n, b = len(self.X), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self):
        n, b = len(self.X), self.batch_size
        stop = len(self) * b
        if self.shuffle:
            order = self._rng.permutation(n)
            for start in range(0, stop, b):
                idx = order[start:start + b]
                yield self.X[idx] if self.y is None else (self.X[idx], self.y[idx])
        else:
            for start in range(0, stop, b):
                sl = slice(start, start + b)
                yield self.X[sl] if self.y is None else (self.X[sl], self.y[sl])

    def __repr__(self):
        return (f"Batches(n={len(self.X)}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, batches={len(self)})")


def iterate_batches(X, y=None, batch_size: int = 32, *, shuffle: bool = True,
                    drop_last: bool = False, seed=None) -> Batches:
    """Mini-batches for a custom training loop::

        for xb, yb in iterate_batches(X, y, batch_size=64, seed=0):
            out = model(xb); loss = loss_fn(out, yb)
            model.zero_grad(); loss_fn.backward(); opt.step()

    Yields ``(xb, yb)`` pairs, or ``xb`` alone when y is None. There are
    ceil(n / batch_size) batches, the last one possibly smaller; with
    drop_last=True, floor(n / batch_size) full batches. Without shuffling
    the batches are views of X and y in order; with shuffling they are
    copies in a random order (seeded by ``seed``) and each sample appears
    once per pass. The result can be iterated again for another pass.
    (``Sequential.fit`` does its own batching in C++.)
    """
    X = _samples(X, "X")
    if y is not None:
        y = _samples(y, "y")
        _checks.same_length(X, y)
    batch_size = _checks.check_int(batch_size, "batch_size", minimum=1)
    shuffle = _check_bool(shuffle, "shuffle")
    drop_last = _check_bool(drop_last, "drop_last")
    if drop_last and batch_size > len(X):
        raise ValueError(f"batch_size: {batch_size} is larger than the {len(X)} samples and "
                         "drop_last=True leaves no batch")
    return Batches(X, y, batch_size, shuffle, drop_last, _rng(seed))
