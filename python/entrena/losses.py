"""Losses. A Python loss declares the engine loss it stands for (its name)
and its arguments; the engine makes it (C++) and checks the arguments when
the loss is created.

A loss is given by object or by name: ``loss="categorical_crossentropy"``
(names and aliases come from the engine: ``entrena._core.names("loss")``).
Formulas, argument names and defaults follow PyTorch's loss modules;
``reduction`` is "mean" (over all elements for element-wise losses, over
the rows for the cross-entropy and multi-class hinge) or "sum". Outputs of
shape (n, ..., C) are rows of C values; per-position targets (n, ...) or
targets of the output's shape average over every position, so a class per
timestep of (n, T, C) outputs is a loss over n·T rows.

In a custom loop a loss is called on a model output and then asked for its
gradient, which flows back into the model that produced the output::

    out = model(xb)
    loss = loss_fn(out, yb)
    model.zero_grad()
    loss_fn.backward()
    opt.step()
"""
from __future__ import annotations

import json

import numpy as np

from . import _checks, _core
from .layers import to_json

#: Python class of each engine loss name.
_CLASSES: dict = {}


class Loss:
    """Base class. Subclasses declare ``name`` (the engine's) and pass their
    arguments to ``__init__``; they say how targets are read
    (``prepare_targets``)."""

    name = "loss"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _CLASSES.setdefault(cls.name, cls)

    def __init__(self, **options):
        name, config = _core.loss_config(self.name, to_json(options))
        self._config = json.loads(config)
        self._cores = {}
        self._last = None

    def get_config(self) -> dict:
        """Every constructor argument (defaults filled in by the engine)."""
        return dict(self._config)

    def __getattr__(self, key):
        config = self.__dict__.get("_config", {})
        if key in config:
            return config[key]
        raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")

    # -- what the model's output means under this loss
    @property
    def output_kind(self) -> str:
        """"values", "probabilities", "logits" or "margins": what the raw
        outputs of a model trained with this loss are."""
        return self.core(np.float64).output_kind

    def probabilities(self, output: np.ndarray) -> np.ndarray:
        """The output as probabilities where that has a meaning (softmax of
        logits along the last axis, sigmoid of one-column logits); the raw
        output otherwise."""
        out = np.ascontiguousarray(output)
        return self.core(_checks.resolve_dtype(out.dtype)).probabilities(out)

    def classes(self, output: np.ndarray) -> np.ndarray:
        """Predicted class labels: the argmax along the last axis, or for one
        output column a 0/1 label (above 0 for logits and margins, above 0.5
        otherwise), with the column axis dropped."""
        out = np.asarray(output)
        if out.ndim >= 2 and out.shape[-1] > 1:
            return out.argmax(axis=-1)
        threshold = 0.0 if self.output_kind in ("logits", "margins") else 0.5
        flat = out.reshape(out.shape[:-1]) if out.ndim >= 2 else out
        return (flat > threshold).astype(np.int64)

    def metric_inputs(self, output: np.ndarray) -> np.ndarray:
        """What a Python metric function sees of the outputs."""
        return self.probabilities(output)

    def metric_targets(self, prepared: np.ndarray) -> np.ndarray:
        """What a Python metric function sees of the targets (prepare_targets' result)."""
        return prepared

    def prepare_targets(self, y, output_shape, dtype) -> np.ndarray:
        """y (as the user gave it) -> the C-contiguous array the engine's loss
        takes for outputs of per-sample shape ``output_shape``: one value per
        position (n, ...) or the output's shape. Raises ValueError."""
        raise NotImplementedError

    # -- shared machinery
    def core(self, dtype):
        """The engine's loss for dtype (made once)."""
        dt = _checks.resolve_dtype(dtype)
        if dt not in self._cores:
            self._cores[dt] = _checks.core_module(dt).make_loss(self.name, json.dumps(self._config))
        return self._cores[dt]

    def _prepared(self, output, target):
        out = np.asarray(output)
        dt = _checks.resolve_dtype(out.dtype)
        if out.ndim == 1:
            out = out[:, None]
        out = _checks.as_float_array(out, "output", dt, min_ndim=2)
        tgt = self.prepare_targets(target, out.shape[1:], dt)
        _checks.same_length(out, tgt, "output", "target")
        return out, tgt, dt

    @staticmethod
    def _real_rows(output, out, tgt):
        """For the output of a model whose output has a mask over steps (see
        Sequential.output_mask): which rows of the loss are real steps, and
        the prediction and target rows as the engine's loss takes them. None
        otherwise (every row counts)."""
        mask = getattr(output, "mask", None)
        if mask is None:
            return None
        rows = mask.size * (out[0].size // (mask.shape[1] * out.shape[-1]))  # rows of `width` values
        keep = np.repeat(mask.reshape(-1), rows // mask.size)
        pred = out.reshape(rows, -1)
        target = tgt.reshape(rows, -1)
        target = target[keep][:, 0] if target.shape[1] == 1 else target[keep]
        return keep, np.ascontiguousarray(pred[keep]), np.ascontiguousarray(target)

    @staticmethod
    def _row_weights(sample_weight, out, dt):
        """sample_weight (n,) or per output position -> one weight per loss row."""
        if sample_weight is None:
            return None
        from .weights import sample_weights
        w = sample_weights(sample_weight, len(out), out.shape[1:], dt)
        rows = out.size // out.shape[-1]
        return np.ascontiguousarray(np.repeat(w, rows // w.size, axis=1).reshape(-1) if len(out) else w.reshape(-1))

    def _value(self, output, out, tgt, dt, w=None) -> float:
        real = self._real_rows(output, out, tgt)
        if real is None:
            return float(self.core(dt).forward(out, tgt, w))
        keep, pred, target = real
        w = None if w is None else np.ascontiguousarray(w[keep])
        return float(self.core(dt).forward(pred, target, w)) if keep.any() else 0.0

    def _gradient(self, output, out, tgt, dt, w=None) -> np.ndarray:
        real = self._real_rows(output, out, tgt)
        if real is None:
            return self.core(dt).backward(out, tgt, w).reshape(np.shape(output))
        keep, pred, target = real
        grad = np.zeros((len(keep), pred.shape[1]), dtype=out.dtype)
        if keep.any():
            grad[keep] = self.core(dt).backward(pred, target, None if w is None else np.ascontiguousarray(w[keep]))
        return grad.reshape(np.shape(output))

    def __call__(self, output, target, sample_weight=None) -> float:
        """The loss of a batch; on a model output with a mask over steps
        (Embedding's padding_idx, Masking), the padded steps are left out,
        as in fit. ``sample_weight`` (one per sample, or per output
        position) makes it the weighted mean, as in fit."""
        out, tgt, dt = self._prepared(output, target)
        w = self._row_weights(sample_weight, out, dt)
        value = self._value(output, out, tgt, dt, w)
        self._last = (output, out, tgt, dt, w)
        return value

    def gradient(self, output, target, sample_weight=None) -> np.ndarray:
        """dL/d(output) for the reduced loss, as an array of output's shape."""
        out, tgt, dt = self._prepared(output, target)
        return self._gradient(output, out, tgt, dt, self._row_weights(sample_weight, out, dt))

    def backward(self) -> None:
        """Sends the gradient of the last call into the model that produced
        its output (the output of ``model(x)``)."""
        if self._last is None:
            raise RuntimeError(f"{self.name}.backward: call the loss on a model output first")
        output, out, tgt, dt, w = self._last
        model = getattr(output, "model", None)
        if model is None:
            raise RuntimeError(f"{self.name}.backward: the output did not come from model(x); "
                               "use loss.gradient(output, target) and model.backward(grad)")
        model.backward(self._gradient(output, out, tgt, dt, w))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ------------------------------------------------------------ target forms
def _shape_text(shape) -> str:
    return "(n" + "".join(f", {d}" for d in shape) + ("," if not shape else "") + ")"


def _value_targets(y, output_shape, dtype, who: str) -> np.ndarray:
    """Targets of the output's shape; per-position (n, ...) when the output
    has one column."""
    output_shape = tuple(output_shape)
    arr = _checks.as_float_array(y, "y", dtype, min_ndim=1)
    if arr.shape[1:] == output_shape:
        return arr
    if output_shape[-1] == 1 and arr.shape[1:] == output_shape[:-1]:
        return arr
    want = _shape_text(output_shape)
    if output_shape[-1] == 1:
        want = f"{_shape_text(output_shape[:-1])} or {want}"
    raise ValueError(f"y: {who} expected targets of shape {want}, got shape {arr.shape}")


def _unit_targets(y, output_shape, dtype, who):
    """Binary labels or probabilities in [0, 1], of the output's shape."""
    arr = _value_targets(y, output_shape, dtype, who)
    if arr.size and not ((arr >= 0) & (arr <= 1)).all():
        raise ValueError(f"y: {who} expected targets in [0, 1], got values from "
                         f"{arr.min():g} to {arr.max():g}")
    return arr


def _class_labels(arr, n_classes, dtype, who):
    arr = _checks.as_float_array(arr, "y", np.float64, min_ndim=1)
    if not (np.all(arr == np.round(arr)) and arr.min() >= 0 and arr.max() < n_classes):
        raise ValueError(f"y: {who} expected integer class labels in [0, {n_classes}), "
                         f"got values from {arr.min():g} to {arr.max():g}")
    return np.ascontiguousarray(arr, dtype=dtype)


def _class_targets(y, output_shape, dtype, who: str, probabilities: bool) -> np.ndarray:
    """Class labels (n, ...), or one-hot rows of the output's shape -> class
    indices; with ``probabilities``, other rows of class probabilities in
    [0, 1] summing to 1 are kept as they are."""
    output_shape = tuple(output_shape)
    n_classes = output_shape[-1]
    arr = np.asarray(y)
    if arr.ndim >= 2 and arr.shape[1:] == output_shape and n_classes > 1:
        rows = _checks.as_float_array(arr, "y", np.float64, min_ndim=2)
        if np.isin(rows, (0.0, 1.0)).all() and (rows.sum(axis=-1) == 1).all():
            return np.ascontiguousarray(rows.argmax(axis=-1), dtype=dtype)
        if not probabilities:
            raise ValueError(f"y: {who} expected class labels or one-hot rows of width {n_classes}; "
                             "got rows that are not one-hot")
        if not (((rows >= 0) & (rows <= 1)).all() and
                np.allclose(rows.sum(axis=-1), 1.0, rtol=0, atol=1e-4)):
            raise ValueError(f"y: {who} expected one-hot or probability rows of width {n_classes} "
                             "(values in [0, 1] summing to 1); got rows that are neither")
        return np.ascontiguousarray(rows, dtype=dtype)
    labels_shape = output_shape[:-1]
    if arr.ndim >= 1 and arr.shape[1:] == labels_shape + (1,) and n_classes > 1:
        arr = arr.reshape(arr.shape[:-1])
    if arr.ndim < 1 or arr.shape[1:] != labels_shape:
        raise ValueError(f"y: {who} expected class labels of shape {_shape_text(labels_shape)} or one-hot "
                         f"rows of shape {_shape_text(output_shape)}, got shape {arr.shape}")
    return _class_labels(arr, n_classes, dtype, who)


# ------------------------------------------------------------------ losses
class _Reduced(Loss):
    """A loss whose only argument is the reduction."""

    def __init__(self, reduction: str = "mean"):
        super().__init__(reduction=reduction)


class MeanSquaredError(_Reduced):
    """L = red (output - y)^2 (PyTorch MSELoss)."""

    name = "mse"

    def prepare_targets(self, y, output_shape, dtype):
        return _value_targets(y, output_shape, dtype, self.name)


class HalfMeanSquaredError(MeanSquaredError):
    """L = red (output - y)^2 / 2: the textbook's error E, whose gradient is
    output - y."""

    name = "half_mse"


class MeanAbsoluteError(MeanSquaredError):
    """L = red |output - y| (PyTorch L1Loss)."""

    name = "mae"


class Huber(MeanSquaredError):
    """PyTorch HuberLoss: with d = output - y, d^2/2 where |d| < delta, else
    delta (|d| - delta/2)."""

    name = "huber"

    def __init__(self, delta: float = 1.0, reduction: str = "mean"):
        Loss.__init__(self, delta=delta, reduction=reduction)


class BinaryCrossentropy(_Reduced):
    """Binary cross-entropy on probabilities (PyTorch BCELoss): the output
    must be in [0, 1] (e.g. a sigmoid layer); logs are clamped at -100.
    L = red -(y log p + (1 - y) log(1 - p)). Targets: 0/1 labels or
    probabilities, of the output's shape (several columns: multi-label)."""

    name = "binary_crossentropy"

    def classes(self, output):
        """0/1 per column (multi-label), at probability 0.5; the column axis
        dropped for one column."""
        p = np.asarray(output)
        labels = (p > 0.5).astype(np.int64)
        return labels.reshape(labels.shape[:-1]) if p.ndim >= 2 and p.shape[-1] == 1 else labels

    def prepare_targets(self, y, output_shape, dtype):
        return _unit_targets(y, output_shape, dtype, self.name)


class BinaryCrossentropyWithLogits(BinaryCrossentropy):
    """Binary cross-entropy from logits, sigmoid inside, computed stably
    (PyTorch BCEWithLogitsLoss): L = red (max(z, 0) - z y + log(1 + e^-|z|))."""

    name = "binary_crossentropy_with_logits"

    def classes(self, output):
        return BinaryCrossentropy.classes(self, self.probabilities(output))


class Hinge(_Reduced):
    """Binary hinge L = red max(0, 1 - y output) with y in {-1, +1}; 0/1
    labels are mapped to -1/+1."""

    name = "hinge"

    def metric_inputs(self, output):
        return self.classes(output)

    def metric_targets(self, prepared):
        # Targets are prepared as -1/+1; metrics see 0/1 labels.
        return (prepared > 0).astype(np.int64)

    def prepare_targets(self, y, output_shape, dtype):
        arr = _value_targets(y, output_shape, dtype, self.name)
        values = set(np.unique(arr).tolist())
        if values <= {-1.0, 1.0}:
            return arr
        if values <= {0.0, 1.0}:
            return np.ascontiguousarray(2.0 * arr - 1.0, dtype=dtype)
        raise ValueError(f"y: {self.name} expected labels -1/+1 or 0/1, got values "
                         f"{sorted(values)[:5]}")


class CategoricalCrossentropy(Loss):
    """Cross-entropy from logits, softmax inside (PyTorch CrossEntropyLoss).

    Targets: class labels (n, ...), one-hot rows, or class-probability rows
    of the output's shape. With label smoothing e the target distribution is
    q = (1 - e) y + e / C. L_i = -sum_j q_ij log softmax(z_i)_j; "mean"
    averages over the rows (every position of every sample).
    """

    name = "categorical_crossentropy"

    def __init__(self, label_smoothing: float = 0.0, reduction: str = "mean"):
        super().__init__(label_smoothing=label_smoothing, reduction=reduction)

    def prepare_targets(self, y, output_shape, dtype):
        return _class_targets(y, output_shape, dtype, self.name, probabilities=True)


class MulticlassHinge(Loss):
    """Multi-class hinge in PyTorch's MultiMarginLoss form (p=1), not
    Crammer-Singer's: L_i = sum_{j != y_i} max(0, margin - z_{y_i} + z_j) / C;
    "mean" averages over the rows. Targets: class labels or one-hot rows."""

    name = "multiclass_hinge"

    def __init__(self, margin: float = 1.0, reduction: str = "mean"):
        super().__init__(margin=margin, reduction=reduction)

    def metric_inputs(self, output):
        return np.asarray(output).argmax(axis=-1).astype(np.asarray(output).dtype)

    def prepare_targets(self, y, output_shape, dtype):
        return _class_targets(y, output_shape, dtype, self.name, probabilities=False)


# Short names.
MSE = MeanSquaredError
MAE = MeanAbsoluteError
BCE = BinaryCrossentropy
BCEWithLogits = BinaryCrossentropyWithLogits
CrossEntropy = CategoricalCrossentropy


def canonical_name(name: str) -> str:
    """The engine's name for a loss name or alias; ValueError listing the names."""
    names, aliases = _core.names("loss")
    key = name.lower()
    for n in names:
        if n.lower() == key:
            return n
    for a, n in aliases.items():
        if a.lower() == key:
            return n
    raise ValueError(f"loss: expected one of {', '.join(names)}; got {name!r}")


def get(identifier) -> Loss:
    """A Loss from an instance or a name (engine names and aliases)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        return _CLASSES[canonical_name(identifier)]()
    raise TypeError(f"loss: expected a Loss or a name, got {type(identifier).__name__}")
