"""Losses in NumPy (float64): the reduced value and its gradient with
respect to the prediction, with PyTorch's formulas and reductions.

Element-wise losses (mse, half_mse, mae, huber, binary_crossentropy,
binary_crossentropy_with_logits, hinge) take pred and target of the same
shape; "mean" averages over all elements. Row-wise losses
(categorical_crossentropy, multiclass_hinge) take (rows, c) and "mean"
averages over the rows. "sum" adds everything. Function names are the
losses' names, as in the C++ kernels (entrena/kernels/losses.hpp).

``weight`` (optional) is one weight per row: per row of the last axis for
element-wise losses (one per element of a 1-D input), per row of (rows, c)
for the row-wise ones. The mean is then the weighted mean
sum_r w_r l_r / (width sum_r w_r), 0 when every weight is 0; the sum is
sum_r w_r l_r.
"""
import numpy as np


def _rows(values):
    """Element losses as (rows, width): rows of the last axis."""
    v = np.asarray(values, dtype=np.float64)
    return v.reshape(-1, v.shape[-1]) if v.ndim >= 2 else v.reshape(-1, 1)


def _reduce(values, reduction, weight=None):
    """red_r w_r sum_j values_rj (values: element losses, or (n,) row losses)."""
    v = _rows(values)
    w = np.ones(len(v)) if weight is None else np.asarray(weight, dtype=np.float64)
    total = float(np.sum(w[:, None] * v))
    if reduction != "mean":
        return total
    divisor = float(w.sum()) * v.shape[1]
    return total / divisor if divisor > 0 else 0.0


def _scale(values, reduction, weight=None):
    """The factor of each element's gradient, broadcastable to values:
    w_r / (width sum w) for the mean, w_r for the sum."""
    v = _rows(values)
    w = np.ones(len(v)) if weight is None else np.asarray(weight, dtype=np.float64)
    if reduction == "mean":
        divisor = float(w.sum()) * v.shape[1]
        w = w / divisor if divisor > 0 else np.zeros_like(w)
    return np.broadcast_to(w[:, None], v.shape).reshape(np.shape(values))


def mse_forward(pred, target, reduction="mean", weight=None):
    """red (pred - target)^2"""
    return _reduce((pred - target) ** 2, reduction, weight)


def mse_backward(pred, target, reduction="mean", weight=None):
    return 2.0 * (pred - target) * _scale(pred, reduction, weight)


def half_mse_forward(pred, target, reduction="mean", weight=None):
    """red (pred - target)^2 / 2"""
    return _reduce(0.5 * (pred - target) ** 2, reduction, weight)


def half_mse_backward(pred, target, reduction="mean", weight=None):
    return (pred - target) * _scale(pred, reduction, weight)


def mae_forward(pred, target, reduction="mean", weight=None):
    """red |pred - target|"""
    return _reduce(np.abs(pred - target), reduction, weight)


def mae_backward(pred, target, reduction="mean", weight=None):
    return np.sign(pred - target) * _scale(pred, reduction, weight)


def huber_forward(pred, target, delta=1.0, reduction="mean", weight=None):
    """red (d^2/2 if |d| < delta else delta (|d| - delta/2)), d = pred - target"""
    a = np.abs(pred - target)
    return _reduce(np.where(a < delta, 0.5 * a * a, delta * (a - 0.5 * delta)), reduction, weight)


def huber_backward(pred, target, delta=1.0, reduction="mean", weight=None):
    return np.clip(pred - target, -delta, delta) * _scale(pred, reduction, weight)


def binary_crossentropy_forward(prob, target, reduction="mean", weight=None):
    """red -(t max(log p, -100) + (1 - t) max(log(1 - p), -100))"""
    with np.errstate(divide="ignore"):
        lp = np.maximum(np.log(prob), -100.0)
        lq = np.maximum(np.log1p(-prob), -100.0)
    return _reduce(-(target * lp + (1.0 - target) * lq), reduction, weight)


def binary_crossentropy_backward(prob, target, reduction="mean", weight=None):
    """(p - t) / max(p (1 - p), 1e-12), like PyTorch."""
    return (prob - target) / np.maximum((1.0 - prob) * prob, 1e-12) * _scale(prob, reduction, weight)


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def binary_crossentropy_with_logits_forward(logits, target, reduction="mean", weight=None):
    """red (max(z, 0) - z t + log(1 + e^-|z|))"""
    z = logits
    return _reduce(np.maximum(z, 0.0) - z * target + np.log1p(np.exp(-np.abs(z))), reduction, weight)


def binary_crossentropy_with_logits_backward(logits, target, reduction="mean", weight=None):
    return (_sigmoid(logits) - target) * _scale(logits, reduction, weight)


def hinge_forward(pred, target, reduction="mean", weight=None):
    """red max(0, 1 - t pred), t in {-1, +1}"""
    return _reduce(np.maximum(1.0 - target * pred, 0.0), reduction, weight)


def hinge_backward(pred, target, reduction="mean", weight=None):
    return np.where(1.0 - target * pred > 0, -target, 0.0) * _scale(pred, reduction, weight)


def _log_softmax(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def _smoothed_targets(target, n, c, label_smoothing):
    """q = (1 - e) t + e / c, t one-hot for class indices."""
    if target.ndim == 1:
        t = np.zeros((n, c))
        t[np.arange(n), target.astype(np.int64)] = 1.0
    else:
        t = target
    return (1.0 - label_smoothing) * t + label_smoothing / c


def categorical_crossentropy_forward(logits, target, label_smoothing=0.0, reduction="mean", weight=None):
    """L_i = -sum_j q_ij log softmax(z_i)_j; mean over rows or sum (PyTorch CrossEntropyLoss)."""
    n, c = logits.shape
    q = _smoothed_targets(target, n, c, label_smoothing)
    return _reduce(-(q * _log_softmax(logits)).sum(axis=1), reduction, weight)


def categorical_crossentropy_backward(logits, target, label_smoothing=0.0, reduction="mean", weight=None):
    """softmax(z_i) sum_j q_ij - q_i, scaled."""
    n, c = logits.shape
    q = _smoothed_targets(target, n, c, label_smoothing)
    p = np.exp(_log_softmax(logits))
    return (p * q.sum(axis=1, keepdims=True) - q) * _scale(q.sum(axis=1), reduction, weight)[:, None]


def multiclass_hinge_forward(scores, labels, margin=1.0, reduction="mean", weight=None):
    """PyTorch MultiMarginLoss (p=1): L_i = sum_{j != y} max(0, margin - z_y + z_j) / c."""
    n, c = scores.shape
    y = labels.astype(np.int64)
    m = np.maximum(margin - scores[np.arange(n), y][:, None] + scores, 0.0)
    m[np.arange(n), y] = 0.0
    return _reduce(m.sum(axis=1) / c, reduction, weight)


def multiclass_hinge_backward(scores, labels, margin=1.0, reduction="mean", weight=None):
    n, c = scores.shape
    y = labels.astype(np.int64)
    active = (margin - scores[np.arange(n), y][:, None] + scores > 0).astype(np.float64)
    active[np.arange(n), y] = 0.0
    g = active.copy()
    g[np.arange(n), y] = -active.sum(axis=1)
    return g / c * _scale(g[:, 0], reduction, weight)[:, None]
