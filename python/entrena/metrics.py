"""Metrics over targets and predictions (NumPy, vectorised).

Every metric is a function ``metric(y_true, y_pred) -> float``. ``compile``
takes them by name (``metrics=["accuracy", "f1"]``) or as callables; during
``fit``/``evaluate`` they receive the targets as the loss prepared them
(class indices as floats of shape (n,), or (n, width) values) and the
model's probabilities (n, classes) / (n, 1), or its regression outputs.

Classification metrics read classes from either argument as:

- rows of width > 1 (probabilities, scores or one-hot rows): the argmax;
- a vector (n,) or (n, 1) of whole numbers: class labels 0, 1, 2, ...;
- a vector of other values in [0, 1]: the probability of class 1,
  thresholded at 0.5 (class 1 when p > 0.5).
"""
from __future__ import annotations

import re

import numpy as np

from . import _checks, _core

__all__ = [
    "Metric", "get", "accuracy", "binary_accuracy", "precision", "recall", "f1",
    "confusion_matrix", "mse", "mae", "r2", "mean_squared_error", "mean_absolute_error",
    "balanced_accuracy", "top_k_accuracy", "log_loss", "roc_auc",
]


# ---------------------------------------------------------------- helpers
def _values(a, name: str) -> np.ndarray:
    """a as a finite float64 array of shape (n,) or (n, k)."""
    arr = np.asarray(a) if a is not None else a
    if arr is not None and getattr(arr, "ndim", 1) not in (1, 2):
        raise ValueError(f"{name}: expected an array of shape (n,) or (n, k), got shape {arr.shape}")
    return _checks.as_float_array(arr, name, np.float64, min_ndim=1, max_ndim=2)


def _labels(a, name: str, threshold: float = 0.5) -> np.ndarray:
    """Classes (int64, shape (n,)) from labels, one-hot rows or probabilities."""
    v = _values(a, name)
    if v.ndim == 2 and v.shape[1] > 1:
        return v.argmax(axis=1)
    v = v.reshape(len(v))
    if np.all(v == np.round(v)):
        if v.min() < 0:
            raise ValueError(f"{name}: expected class labels >= 0, got the label {v.min():g}")
        if v.max() >= 2**53:
            raise ValueError(f"{name}: expected class labels below 2**53, got {v.max():g}")
        return v.astype(np.int64)
    if v.min() >= 0 and v.max() <= 1:
        return (v > threshold).astype(np.int64)
    raise ValueError(f"{name}: expected class labels (whole numbers >= 0), probabilities in "
                     f"[0, 1] or rows of class scores; got values from {v.min():g} to {v.max():g} "
                     "(for a model's outputs use predict_proba or predict_classes)")


def _pair_labels(y_true, y_pred):
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_pred: expected {len(t)} rows (one per row of y_true), got {len(p)}")
    return t, p


def _width(a) -> int:
    a = np.asarray(a)
    return a.shape[1] if a.ndim == 2 and a.shape[1] > 1 else 0


def _pair_values(y_true, y_pred):
    t, p = _values(y_true, "y_true"), _values(y_pred, "y_pred")
    if t.ndim == 1:
        t = t[:, None]
    if p.ndim == 1:
        p = p[:, None]
    if t.shape != p.shape:
        raise ValueError(f"y_pred: expected the shape of y_true {np.shape(y_true)}, "
                         f"got {np.shape(y_pred)}")
    return t, p


# --------------------------------------------------------- classification
def accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose predicted class (argmax of probabilities or
    a label) equals the true class (a label or a one-hot row)."""
    t, p = _pair_labels(y_true, y_pred)
    return float(np.mean(t == p))


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> float:
    """Fraction of entries where ``y_pred > threshold`` equals y_true (0 or
    1). Shapes (n,) and (n, 1) are interchangeable; for multi-label targets
    (n, k) every entry counts once."""
    threshold = _checks.check_float(threshold, "threshold", minimum=0.0, maximum=1.0)
    t, p = _pair_values(y_true, y_pred)
    if not np.isin(t, (0.0, 1.0)).all():
        bad = t[~np.isin(t, (0.0, 1.0))][0]
        raise ValueError(f"y_true: binary_accuracy expected labels 0 or 1, got the value {bad:g}")
    return float(np.mean(t == (p > threshold)))


# Dense per-class outputs are sized by the largest label; labels are class
# indices 0..k-1, so a huge label is a mistake (e.g. regression targets).
_MAX_CONFUSION = 8192
_MAX_PER_CLASS = 2**20


def _dense_size(k: int, limit: int, what: str) -> int:
    if k > limit:
        raise ValueError(f"y_true, y_pred: {what} expected class indices below {limit}, got a "
                         f"largest class of {k - 1}; are these class labels?")
    return k


def confusion_matrix(y_true, y_pred, num_classes=None) -> np.ndarray:
    """Counts (num_classes, num_classes), int64: entry [i, j] is the number
    of samples of true class i predicted as class j. num_classes defaults to
    the largest class seen (or the width of probability rows) plus one."""
    t, p = _pair_labels(y_true, y_pred)
    top = int(max(t.max(), p.max())) + 1
    if num_classes is None:
        k = max(top, _width(y_true), _width(y_pred))
    else:
        k = _checks.check_int(num_classes, "num_classes", minimum=1)
        if top > k:
            raise ValueError(f"num_classes: expected more than the largest class label "
                             f"({top - 1}), got {k}")
    k = _dense_size(k, _MAX_CONFUSION, "confusion_matrix")
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


_AVERAGES = ("macro", "micro", "binary", None)


def _counts(y_true, y_pred, average):
    """Per-class true positives, predicted and actual counts (float64) and
    the mask of classes to average over (those in y_true or y_pred). The
    classes are 0..k-1 for average=None, [0, 1] for "binary", else the
    classes that occur."""
    if average not in _AVERAGES:
        raise ValueError(f"average: expected 'macro', 'micro', 'binary' or None, got {average!r}")
    t, p = _pair_labels(y_true, y_pred)
    top = int(max(t.max(), p.max()))
    if average == "binary":
        if top > 1:
            raise ValueError(f"average: 'binary' expected classes 0 and 1, got classes up to "
                             f"{top}; use average='macro' or 'micro'")
        k = 2
    elif average is None:
        k = _dense_size(max(top + 1, _width(y_true), _width(y_pred)), _MAX_PER_CLASS,
                        "average=None")
    else:
        _, inverse = np.unique(np.concatenate([t, p]), return_inverse=True)
        inverse = inverse.reshape(-1)
        t, p = inverse[:len(t)], inverse[len(t):]
        k = int(inverse.max()) + 1
    tp = np.bincount(t[t == p], minlength=k).astype(np.float64)
    predicted = np.bincount(p, minlength=k).astype(np.float64)
    actual = np.bincount(t, minlength=k).astype(np.float64)
    return tp, predicted, actual, (predicted + actual) > 0


def _ratio(num, den):
    """num / den elementwise with 0 where den is 0."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _reduce(per_class, tp, denominators, present, average):
    if average is None:
        return per_class
    if average == "binary":
        return float(per_class[1])
    if average == "micro":
        return float(_ratio(tp[present].sum(), denominators[present].sum()))
    return float(per_class[present].mean())


def precision(y_true, y_pred, *, average="macro"):
    """Of the samples predicted as a class, the fraction that belong to it:
    TP / (TP + FP) per class.

    average: "macro" (unweighted mean over the classes present in y_true or
    y_pred), "micro" (from the summed counts; equals accuracy for one label
    per sample), "binary" (class 1 of a 0/1 problem) or None (the array of
    per-class values for classes 0..k-1). 0/0 counts as 0.
    """
    tp, predicted, actual, present = _counts(y_true, y_pred, average)
    return _reduce(_ratio(tp, predicted), tp, predicted, present, average)


def recall(y_true, y_pred, *, average="macro"):
    """Of the samples of a class, the fraction predicted as it: TP / (TP +
    FN) per class. ``average`` as in precision."""
    tp, predicted, actual, present = _counts(y_true, y_pred, average)
    return _reduce(_ratio(tp, actual), tp, actual, present, average)


def f1(y_true, y_pred, *, average="macro"):
    """Harmonic mean of precision and recall, 2·TP / (2·TP + FP + FN) per
    class. ``average`` as in precision ("micro" uses the summed counts)."""
    tp, predicted, actual, present = _counts(y_true, y_pred, average)
    den = predicted + actual
    return _reduce(_ratio(2 * tp, den), 2 * tp, den, present, average)


# ------------------------------------------------------------- regression
def mse(y_true, y_pred) -> float:
    """Mean squared error over all entries (shapes (n,) and (n, 1) are
    interchangeable)."""
    t, p = _pair_values(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def mae(y_true, y_pred) -> float:
    """Mean absolute error over all entries."""
    t, p = _pair_values(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination, 1 - SS_res / SS_tot, per output column
    and averaged uniformly over the columns. 1 is a perfect fit, 0 is no
    better than predicting the mean, and it can be negative. A constant
    target column scores 1 if predicted exactly, else 0."""
    t, p = _pair_values(y_true, y_pred)
    if len(t) < 2:
        raise ValueError(f"y_true: r2 expected at least 2 samples, got {len(t)}")
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    perfect = np.where(ss_res == 0, 1.0, 0.0)
    score = np.where(ss_tot > 0, 1.0 - _ratio(ss_res, ss_tot), perfect)
    return float(score.mean())


mean_squared_error = mse
mean_absolute_error = mae


def balanced_accuracy(y_true, y_pred) -> float:
    """The mean recall over the classes among the true labels (scikit-learn's
    balanced_accuracy_score): accuracy that does not reward predicting the
    majority class."""
    t, p = _pair_labels(y_true, y_pred)
    classes = np.unique(t)
    return float(np.mean([np.mean(p[t == c] == c) for c in classes])) if len(classes) else float("nan")


def _scores(y_score, n, name="y_score"):
    s = _values(y_score, name)
    if len(s) != n:
        raise ValueError(f"{name}: expected {n} rows (one per row of y_true), got {len(s)}")
    return s.reshape(n, -1)


def top_k_accuracy(y_true, y_score, k: int = 5) -> float:
    """The fraction of rows whose true class is among the k highest scores
    (fewer than k classes score strictly higher). y_score: (n, classes)."""
    k = _checks.check_int(k, "k", minimum=1)
    t = _labels(y_true, "y_true")
    s = _scores(y_score, len(t))
    if s.shape[1] < 2:
        raise ValueError(f"y_score: expected one column per class, got {s.shape[1]}")
    above = (s > s[np.arange(len(t)), t][:, None]).sum(axis=1)
    return float(np.mean(above < k))


def log_loss(y_true, y_prob) -> float:
    """The mean of -log(probability of the true class), probabilities
    clipped to [1e-15, 1 - 1e-15]. y_prob: (n, classes), or (n,) / (n, 1)
    the probability of class 1."""
    t = _labels(y_true, "y_true")
    p = _scores(y_prob, len(t), "y_prob")
    q = (np.where(t == 1, p[:, 0], 1.0 - p[:, 0]) if p.shape[1] == 1 else p[np.arange(len(t)), t])
    return float(np.mean(-np.log(np.clip(q, 1e-15, 1 - 1e-15))))


def _auc(score, positive):
    """Mann-Whitney area: ties at their average rank; NaN without both kinds."""
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(len(s))
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], len(s)]
    for a, b in zip(starts, ends):
        ranks[a:b] = 0.5 * (a + 1 + b)
    pos = positive[order]
    P, N = pos.sum(), len(pos) - pos.sum()
    if P == 0 or N == 0:
        return float("nan")
    return float((ranks[pos].sum() - P * (P + 1) / 2) / (P * N))


def roc_auc(y_true, y_score) -> float:
    """The area under the ROC curve: binary (y_score (n,) or (n, 1), the
    score or probability of class 1), or one class against the rest for each
    class with both positive and negative rows, averaged (y_score (n,
    classes)); scikit-learn's roc_auc_score (multi_class="ovr", macro)."""
    t = _labels(y_true, "y_true")
    s = _scores(y_score, len(t))
    if s.shape[1] == 1:
        return _auc(s[:, 0], t == 1)
    aucs = [_auc(s[:, c], t == c) for c in range(s.shape[1])]
    aucs = [a for a in aucs if not np.isnan(a)]
    return float(np.mean(aucs)) if aucs else float("nan")


# ---------------------------------------------------------------- registry
# The engine computes these during fit and evaluate (C++, batch by batch);
# the functions above are their NumPy twins, for use on arrays.
_FUNCTIONS = {
    "accuracy": accuracy, "binary_accuracy": binary_accuracy, "precision": precision,
    "recall": recall, "f1": f1, "mse": mse, "mae": mae, "r2": r2, "balanced_accuracy": balanced_accuracy,
    "top_k_accuracy": top_k_accuracy, "log_loss": log_loss, "roc_auc": roc_auc,
}


class Metric:
    """A named metric: ``Metric(name, fn)``; calling it calls ``fn(y_true, y_pred)``.
    The name is the key in fit/evaluate logs (``val_`` + name for validation).
    Metrics known to the engine (``engine_name``) are computed in C++ during
    fit and evaluate; others call ``fn`` once per batch with the batch's
    targets and outputs (as the loss presents them: probabilities where the
    loss gives outputs that meaning) and report the mean over batches,
    weighted by their rows. ``higher_is_better`` tells early stopping's
    mode "auto" which way is better."""

    def __init__(self, name, fn, engine_name=None, higher_is_better=None):
        self.name = name
        self.fn = fn
        self.engine_name = engine_name
        self._higher = higher_is_better

    def __call__(self, y_true, y_pred):
        return self.fn(y_true, y_pred)

    def core(self, dtype, loss):
        """The engine metric computing this during fit/evaluate."""
        mod = _checks.core_module(dtype)
        if self.engine_name is not None:
            return mod.make_metric(self.engine_name)

        def batch(output, target):
            t = target.reshape(len(target)) if target.shape[1] == 1 else target
            return float(self.fn(loss.metric_targets(t), loss.metric_inputs(output)))
        return mod.function_metric(self.name, batch, bool(self._higher))

    def __repr__(self):
        return f"Metric({self.name!r})"


def get(identifier) -> Metric:
    """A Metric from a Metric, a name (the engine's names and aliases,
    case-insensitive; reported as given) or a callable ``fn(y_true,
    y_pred)`` (reported by its ``__name__``)."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        names, aliases = _core.names("metric")
        key = identifier.lower()
        k = re.fullmatch(r"top_(\d{1,6})_accuracy", key)
        if k and int(k.group(1)) >= 1 and int(k.group(1)) != 5:
            kk = int(k.group(1))
            return Metric(identifier, lambda t, s: top_k_accuracy(t, s, kk), engine_name=key)
        canonical = next((n for n in names if n == key), aliases.get(key))
        if canonical is None:
            raise ValueError(f"metrics: expected one of {', '.join(sorted(names + list(aliases)))}; "
                             f"got {identifier!r}")
        return Metric(identifier, _FUNCTIONS[canonical], engine_name=canonical)
    if callable(identifier):
        return Metric(getattr(identifier, "__name__", "metric"), identifier)
    raise TypeError(f"metrics: expected a name or a callable, got {type(identifier).__name__}")
