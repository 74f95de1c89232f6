"""Sample weights and class weights for fit and evaluate.

A weight multiplies a sample's loss; the loss of a batch is then the
weighted mean sum_i w_i l_i / sum_i w_i (the weighted sum for a "sum"
loss), computed by the engine's loss kernels (entrena/kernels/losses.hpp).
Metrics stay unweighted.

- ``sample_weight``: one weight per sample, shape (n,), or one per output
  position, shape (n, ...) with the output's shape minus its last axis (a
  weight per step of (n, T, C) outputs). Finite and >= 0, not all 0.
- ``class_weight``: ``{label: weight}`` (labels as given to fit; classes
  not named weigh 1) or ``"balanced"``: n / (classes present · count of
  the class) over the target positions that train (validation_split
  takes its rows out first), scikit-learn's rule. Each target
  position gets its class's weight; with ``sample_weight`` too, the two
  multiply. Needs one class per position (class labels, one-hot rows, or
  0/1 labels in one output column); multi-label targets take
  ``sample_weight`` instead.
"""
from __future__ import annotations

import numpy as np

from . import _checks

_CLASS_LOSSES = ("categorical_crossentropy", "multiclass_hinge")
_BINARY_LOSSES = ("binary_crossentropy", "binary_crossentropy_with_logits", "hinge")


def sample_weights(sample_weight, n: int, output_shape, dtype, name: str = "sample_weight"):
    """sample_weight as the engine takes it: a C-contiguous (n, k) array, k =
    1 or the number of output positions; None stays None."""
    if sample_weight is None:
        return None
    w = _checks.as_float_array(sample_weight, name, dtype, min_ndim=1)
    positions = tuple(output_shape[:-1])
    if len(w) != n:
        raise ValueError(f"{name}: expected {n} weights (one per sample), got shape {w.shape}")
    if w.shape[1:] not in ((), (1,), positions):
        want = "(n,)" + (f" or (n, {', '.join(map(str, positions))}) (one per output position)" if positions else "")
        raise ValueError(f"{name}: expected shape {want}, got {w.shape}")
    bad = ~(np.isfinite(w) & (w >= 0))
    if bad.any():
        raise ValueError(f"{name}: expected finite weights >= 0, got {float(w[bad].reshape(-1)[0])} at sample "
                         f"{int(np.argwhere(bad)[0][0])}")
    if n and not (w > 0).any():
        given = np.asarray(sample_weight, dtype=np.float64)
        if (given > 0).any():
            raise ValueError(f"{name}: every weight is below {np.dtype(dtype).name}'s smallest number and became "
                             "zero; scale them up (a weighted mean does not change when every weight is scaled)")
        raise ValueError(f"{name}: every weight is zero; at least one sample must count")
    _check_sum(w, dtype, name)
    return np.ascontiguousarray(w.reshape(n, -1))


def _check_sum(w, dtype, name) -> None:
    """The engine adds a batch's weights, and its weighted losses, in the
    model's type: their total must stay far from its largest number."""
    total = float(np.sum(w, dtype=np.float64))
    if 0 < total < float(np.finfo(dtype).tiny) * 1e6:
        raise ValueError(f"{name}: the weights add up to {total:.3g}, too little for {np.dtype(dtype).name} "
                         "arithmetic; scale them up (a weighted mean does not change when every weight is scaled)")
    if total > float(np.finfo(dtype).max) * 1e-6:
        raise ValueError(f"{name}: the weights add up to {total:.3g}, too much for {np.dtype(dtype).name} sums of "
                         "weighted losses; scale them down (a weighted mean does not change when every weight is "
                         "scaled)")


def _class_indices(loss, targets: np.ndarray, output_shape) -> tuple[np.ndarray, int]:
    """Class index of every target position, (n, positions), and the class count."""
    width = output_shape[-1]
    n = len(targets)
    per_position = targets.shape[1:] == tuple(output_shape[:-1])
    if loss.name in _CLASS_LOSSES:
        if not per_position:
            rows = targets.reshape(n, -1, width)
            if not (np.isin(rows, (0.0, 1.0)).all() and (rows.sum(axis=-1) == 1).all()):
                raise ValueError("class_weight: probability targets (soft labels) have no single class per "
                                 "sample; use sample_weight")
        codes = targets if per_position else targets.reshape(n, -1, width).argmax(axis=-1)
        return codes.reshape(n, -1).astype(np.int64), width
    if loss.name in _BINARY_LOSSES and width == 1:
        t = targets.reshape(n, -1)
        low, positive = (-1.0, 1.0) if loss.name == "hinge" else (0.0, 1.0)
        if not np.isin(t, (low, positive)).all():
            raise ValueError(f"class_weight: expected {low:g}/{positive:g} labels for {loss.name}, got values "
                             f"from {t.min():g} to {t.max():g} (soft labels have no class; use sample_weight)")
        return (t == positive).astype(np.int64), 2
    if loss.name in _BINARY_LOSSES:
        raise ValueError(f"class_weight: multi-label targets ({width} binary outputs) have no single class per "
                         "sample; use sample_weight")
    raise ValueError(f"class_weight: needs a classification loss, got {loss.name}")


def class_weights(class_weight, loss, targets: np.ndarray, output_shape, classes, dtype) -> np.ndarray:
    """The (n, positions) weights that class_weight gives the prepared targets.
    ``classes``: the labels the model maps to class indices (None: the
    labels are the indices)."""
    codes, n_classes = _class_indices(loss, targets, output_shape)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight: expected 'balanced' or a dict {{label: weight}}, got {class_weight!r}")
        counts = np.bincount(codes.reshape(-1), minlength=n_classes).astype(np.float64)
        present = counts > 0
        table = np.zeros(n_classes)
        table[present] = codes.size / (present.sum() * counts[present])
    elif isinstance(class_weight, dict):
        table = np.ones(n_classes)
        if classes is not None:
            index = {label: i for i, label in enumerate(np.asarray(classes).tolist())}
        elif loss.name == "hinge":
            index = {-1: 0, 0: 0, 1: 1}    # -1/+1 labels, or the 0/1 labels it maps to them
        else:
            index = {i: i for i in range(n_classes)}
        for label, weight in class_weight.items():
            key = label.item() if isinstance(label, np.generic) else label
            if key not in index:
                known = list(index)
                raise ValueError(f"class_weight: {label!r} is not a class label of the targets "
                                 f"({known[:10]}{' ...' if len(known) > 10 else ''})")
            table[index[key]] = _checks.check_float(weight, f"class_weight[{label!r}]", minimum=0.0)
    else:
        raise TypeError(f"class_weight: expected 'balanced' or a dict {{label: weight}}, got "
                        f"{type(class_weight).__name__}")
    return table[codes].astype(dtype)


def matching(w, other):
    """Weights w ((n, k) or None) with as many per sample as other ((m, j) or
    None): a weight per sample spread over the positions when the other has
    one per position. Training and validation weights share a layout."""
    if w is None or other is None or w.shape[1] == other.shape[1] or w.shape[1] != 1:
        return w
    return np.ascontiguousarray(np.repeat(w, other.shape[1], axis=1))


def with_class_weight(sw, class_weight, loss, targets, output_shape, classes, dtype):
    """Prepared sample weights sw ((n, k) or None) times the weights that
    class_weight gives the targets, as the engine takes them (or None)."""
    if class_weight is None:
        return sw
    cw = class_weights(class_weight, loss, targets, output_shape, classes, dtype)
    w = cw if sw is None else cw * sw   # (n, P) * (n, 1 or P)
    if len(w) and not (w > 0).any():
        raise ValueError("class_weight: every sample's weight is zero; at least one sample must count")
    _check_sum(w, dtype, "class_weight")
    return np.ascontiguousarray(w)
