"""Losses. Each is a thin Python object over a C++ loss; the math is in C++.

A loss is given by object or by name: ``loss="categorical_crossentropy"``.
Formulas, argument names and defaults follow PyTorch's loss modules;
``reduction`` is "mean" (over all elements for element-wise losses, over
rows for the cross-entropy and multi-class hinge) or "sum".
In a custom loop it is called on a model output and then asked for its
gradient, which flows back into the model that produced the output::

    out = model(xb)
    loss = loss_fn(out, yb)
    model.zero_grad()
    loss_fn.backward()
    opt.step()
"""
from __future__ import annotations

import numpy as np

from . import _checks, _core


class Loss:
    """Base class. Subclasses set ``name`` and implement ``_make_core`` and
    ``prepare_targets``; ``get_config`` returns their constructor arguments."""

    name = "loss"
    #: "logits", "probabilities" or None: what the model's raw output is for
    #: this loss (see probabilities()).
    output_kind = None

    def __init__(self):
        self._cores = {}
        self._last = None

    # -- what the model's output means under this loss
    def probabilities(self, output: np.ndarray) -> np.ndarray:
        """The output as probabilities where that has a meaning (predict_proba);
        the raw output otherwise."""
        return output

    def classes(self, output: np.ndarray) -> np.ndarray:
        """Predicted class labels (predict_classes): the argmax of each row,
        or for one output column a 0/1 label at probability 0.5."""
        p = self.probabilities(output)
        if p.ndim == 2 and p.shape[1] > 1:
            return p.argmax(axis=1)
        return (p.reshape(len(p)) > 0.5).astype(np.int64)

    def metric_inputs(self, output: np.ndarray) -> np.ndarray:
        """What metrics see of the outputs."""
        return self.probabilities(output)

    def metric_targets(self, prepared: np.ndarray) -> np.ndarray:
        """What metrics see of the targets, from prepare_targets' result."""
        return prepared

    # -- what subclasses provide
    def _make_core(self, mod):
        """The C++ loss object from the f32/f64 core submodule ``mod``."""
        raise NotImplementedError

    def prepare_targets(self, y, n_outputs: int, dtype) -> np.ndarray:
        """y (as the user gave it) -> the C-contiguous float array the C++
        loss expects: (n,) class indices or (n, width). Raises ValueError."""
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    # -- shared machinery
    def core(self, dtype):
        dt = _checks.resolve_dtype(dtype)
        if dt not in self._cores:
            self._cores[dt] = self._make_core(_checks.core_module(dt))
        return self._cores[dt]

    def __call__(self, output, target) -> float:
        out = np.asarray(output)
        dt = _checks.resolve_dtype(out.dtype)
        if out.ndim == 1:
            out = out[:, None]
        out = _checks.as_float_array(out, "output", dt, min_ndim=2, max_ndim=2)
        tgt = self.prepare_targets(target, out.shape[1], dt)
        _checks.same_length(out, tgt, "output", "target")
        value = float(self.core(dt).forward(out, tgt))
        self._last = (output, out, tgt, dt)
        return value

    def gradient(self, output, target) -> np.ndarray:
        """dL/d(output) for the reduced loss, as an array of output's shape."""
        out = np.asarray(output)
        dt = _checks.resolve_dtype(out.dtype)
        shape = out.shape
        out2 = _checks.as_float_array(out.reshape(len(out), -1) if out.ndim != 2 else out,
                                      "output", dt, min_ndim=2, max_ndim=2)
        tgt = self.prepare_targets(target, out2.shape[1], dt)
        _checks.same_length(out2, tgt, "output", "target")
        return self.core(dt).backward(out2, tgt).reshape(shape)

    def backward(self) -> None:
        """Sends the gradient of the last call into the model that produced
        its output (the output of ``model(x)``)."""
        if self._last is None:
            raise RuntimeError(f"{self.name}.backward: call the loss on a model output first")
        output, out, tgt, dt = self._last
        model = getattr(output, "model", None)
        if model is None:
            raise RuntimeError(f"{self.name}.backward: the output did not come from model(x); "
                               "use loss.gradient(output, target) and model.backward(grad)")
        grad = self.core(dt).backward(out, tgt).reshape(np.shape(output))
        model.backward(grad)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _class_indices(y, n_classes: int, dtype, who: str) -> np.ndarray:
    """Integer class labels (n,) or one-hot rows (n, n_classes) -> float class indices."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == n_classes and n_classes > 1:
        arr = _checks.as_float_array(arr, "y", np.float64, min_ndim=2, max_ndim=2)
        if not (np.isin(arr, (0.0, 1.0)).all() and (arr.sum(axis=1) == 1).all()):
            raise ValueError(f"y: {who} expected one-hot rows of width {n_classes}; "
                             "got rows that are not one-hot")
        return np.ascontiguousarray(arr.argmax(axis=1), dtype=dtype)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"y: {who} expected class labels of shape (n,) or one-hot rows of shape "
                         f"(n, {n_classes}), got shape {arr.shape}")
    arr = _checks.as_float_array(arr, "y", np.float64, min_ndim=1, max_ndim=1)
    if not (np.all(arr == np.round(arr)) and arr.min() >= 0 and arr.max() < n_classes):
        raise ValueError(f"y: {who} expected integer class labels in [0, {n_classes}), "
                         f"got values from {arr.min():g} to {arr.max():g}")
    return np.ascontiguousarray(arr, dtype=dtype)


def _reduction(reduction) -> str:
    if not isinstance(reduction, str):
        raise TypeError(f"reduction: expected 'mean' or 'sum', got {type(reduction).__name__}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction: expected 'mean' or 'sum', got {reduction!r}")
    return reduction


def _value_targets(y, n_outputs: int, dtype, who: str) -> np.ndarray:
    """Targets of the output's shape: (n,) for one output, else (n, n_outputs)."""
    arr = _checks.as_float_array(y, "y", dtype, min_ndim=1, max_ndim=2)
    if arr.ndim == 1:
        if n_outputs != 1:
            raise ValueError(f"y: {who} expected targets of shape (n, {n_outputs}) (one per output), "
                             f"got shape {arr.shape}")
        return arr
    if arr.shape[1] != n_outputs:
        want = "(n,) or (n, 1)" if n_outputs == 1 else f"(n, {n_outputs})"
        raise ValueError(f"y: {who} expected targets of shape {want}, got shape {arr.shape}")
    return arr


def _unit_targets(y, n_outputs, dtype, who):
    """Binary labels or probabilities in [0, 1], of the output's shape."""
    arr = _value_targets(y, n_outputs, dtype, who)
    if arr.size and not ((arr >= 0) & (arr <= 1)).all():
        raise ValueError(f"y: {who} expected targets in [0, 1], got values from "
                         f"{arr.min():g} to {arr.max():g}")
    return arr


class _Reduced(Loss):
    """A loss whose only argument is the reduction."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = _reduction(reduction)

    def get_config(self):
        return {"reduction": self.reduction}


class MeanSquaredError(_Reduced):
    """L = red (output - y)^2 (PyTorch MSELoss)."""

    name = "mse"

    def _make_core(self, mod):
        return mod.MeanSquaredError(self.reduction)

    def prepare_targets(self, y, n_outputs, dtype):
        return _value_targets(y, n_outputs, dtype, self.name)


class HalfMeanSquaredError(MeanSquaredError):
    """L = red (output - y)^2 / 2: the textbook's error E, whose gradient is
    output - y."""

    name = "half_mse"

    def _make_core(self, mod):
        return mod.HalfMeanSquaredError(self.reduction)


class MeanAbsoluteError(MeanSquaredError):
    """L = red |output - y| (PyTorch L1Loss)."""

    name = "mae"

    def _make_core(self, mod):
        return mod.MeanAbsoluteError(self.reduction)


class Huber(MeanSquaredError):
    """PyTorch HuberLoss: with d = output - y, d^2/2 where |d| < delta, else
    delta (|d| - delta/2)."""

    name = "huber"

    def __init__(self, delta: float = 1.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.delta = _checks.check_float(delta, "delta", minimum=0.0, open_min=True)

    def _make_core(self, mod):
        return mod.Huber(self.delta, self.reduction)

    def get_config(self):
        return {"delta": self.delta, "reduction": self.reduction}


class BinaryCrossentropy(_Reduced):
    """Binary cross-entropy on probabilities (PyTorch BCELoss): the output
    must be in [0, 1] (e.g. a sigmoid layer); logs are clamped at -100.
    L = red -(y log p + (1 - y) log(1 - p)). Targets: 0/1 labels or
    probabilities, of the output's shape."""

    name = "binary_crossentropy"
    output_kind = "probabilities"

    def _make_core(self, mod):
        return mod.BinaryCrossEntropy(self.reduction)

    def classes(self, output):
        """0/1 per column (multi-label), at probability 0.5; (n,) for one column."""
        p = self.probabilities(output)
        labels = (p > 0.5).astype(np.int64)
        return labels.reshape(len(p)) if p.ndim == 2 and p.shape[1] == 1 else labels

    def prepare_targets(self, y, n_outputs, dtype):
        return _unit_targets(y, n_outputs, dtype, self.name)


class BinaryCrossentropyWithLogits(BinaryCrossentropy):
    """Binary cross-entropy from logits, sigmoid inside, computed stably
    (PyTorch BCEWithLogitsLoss): L = red (max(z, 0) - z y + log(1 + e^-|z|))."""

    name = "binary_crossentropy_with_logits"
    output_kind = "logits"

    def _make_core(self, mod):
        return mod.BinaryCrossEntropyWithLogits(self.reduction)

    def probabilities(self, output):
        """The sigmoid of each logit, columns independent (the engine's kernel)."""
        return _core.kernels.sigmoid_forward(np.ascontiguousarray(output))


class Hinge(_Reduced):
    """Binary hinge L = red max(0, 1 - y output) with y in {-1, +1}; 0/1
    labels are mapped to -1/+1."""

    name = "hinge"

    def _make_core(self, mod):
        return mod.Hinge(self.reduction)

    def classes(self, output):
        """0/1 labels: the sign of the margin."""
        return (output.reshape(len(output)) > 0).astype(np.int64)

    def metric_inputs(self, output):
        return self.classes(output)

    def metric_targets(self, prepared):
        # Targets are prepared as -1/+1; metrics see 0/1 labels.
        return (prepared.reshape(len(prepared)) > 0).astype(np.int64)

    def prepare_targets(self, y, n_outputs, dtype):
        arr = _value_targets(y, n_outputs, dtype, self.name)
        values = set(np.unique(arr).tolist())
        if values <= {-1.0, 1.0}:
            return arr
        if values <= {0.0, 1.0}:
            return np.ascontiguousarray(2.0 * arr - 1.0, dtype=dtype)
        raise ValueError(f"y: {self.name} expected labels -1/+1 or 0/1, got values "
                         f"{sorted(values)[:5]}")


def _class_targets(y, n_classes: int, dtype, who: str) -> np.ndarray:
    """Class labels (n,), one-hot rows -> class indices; other rows of
    probabilities (n, n_classes) in [0, 1] summing to 1 -> kept as they are."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == n_classes and n_classes > 1:
        rows = _checks.as_float_array(arr, "y", np.float64, min_ndim=2, max_ndim=2)
        if np.isin(rows, (0.0, 1.0)).all() and (rows.sum(axis=1) == 1).all():
            return np.ascontiguousarray(rows.argmax(axis=1), dtype=dtype)
        if not (((rows >= 0) & (rows <= 1)).all() and
                np.allclose(rows.sum(axis=1), 1.0, rtol=0, atol=1e-4)):
            raise ValueError(f"y: {who} expected one-hot or probability rows of width {n_classes} "
                             "(values in [0, 1] summing to 1); got rows that are neither")
        return np.ascontiguousarray(rows, dtype=dtype)
    return _class_indices(y, n_classes, dtype, who)


class CategoricalCrossentropy(Loss):
    """Cross-entropy from logits, softmax inside (PyTorch CrossEntropyLoss).

    Targets: class labels (n,), one-hot rows, or class-probability rows.
    With label smoothing e the target distribution is q = (1 - e) y + e / C.
    L_i = -sum_j q_ij log softmax(z_i)_j; "mean" averages over the rows.
    """

    name = "categorical_crossentropy"
    output_kind = "logits"

    def __init__(self, label_smoothing: float = 0.0, reduction: str = "mean"):
        super().__init__()
        self.label_smoothing = _checks.check_float(label_smoothing, "label_smoothing",
                                                   minimum=0.0, maximum=1.0)
        self.reduction = _reduction(reduction)

    def _make_core(self, mod):
        return mod.SoftmaxCrossEntropy(self.label_smoothing, self.reduction)

    def probabilities(self, output):
        """Row-wise softmax of the logits (the engine's kernel)."""
        return _core.kernels.softmax_forward(np.ascontiguousarray(output))

    def prepare_targets(self, y, n_outputs, dtype):
        return _class_targets(y, n_outputs, dtype, self.name)

    def get_config(self):
        return {"label_smoothing": self.label_smoothing, "reduction": self.reduction}


class MulticlassHinge(Loss):
    """Multi-class hinge in PyTorch's MultiMarginLoss form (p=1), not
    Crammer-Singer's: L_i = sum_{j != y_i} max(0, margin - z_{y_i} + z_j) / C;
    "mean" averages over the rows. Targets: class labels or one-hot rows."""

    name = "multiclass_hinge"

    def __init__(self, margin: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.margin = _checks.check_float(margin, "margin", minimum=0.0, open_min=True)
        self.reduction = _reduction(reduction)

    def _make_core(self, mod):
        return mod.MultiMarginHinge(self.margin, self.reduction)

    def classes(self, output):
        return output.argmax(axis=1)

    def metric_inputs(self, output):
        return output.argmax(axis=1).astype(output.dtype)

    def prepare_targets(self, y, n_outputs, dtype):
        return _class_indices(y, n_outputs, dtype, self.name)

    def get_config(self):
        return {"margin": self.margin, "reduction": self.reduction}


# Short names.
MSE = MeanSquaredError
MAE = MeanAbsoluteError
BCE = BinaryCrossentropy
BCEWithLogits = BinaryCrossentropyWithLogits
CrossEntropy = CategoricalCrossentropy

_REGISTRY = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "half_mse": HalfMeanSquaredError,
    "half_squared_error": HalfMeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "binary_crossentropy_with_logits": BinaryCrossentropyWithLogits,
    "bce_with_logits": BinaryCrossentropyWithLogits,
    "categorical_crossentropy": CategoricalCrossentropy,
    "cross_entropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": CategoricalCrossentropy,
    "hinge": Hinge,
    "multiclass_hinge": MulticlassHinge,
    "categorical_hinge": MulticlassHinge,
}


def get(identifier) -> Loss:
    """A Loss from an instance or a name."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _REGISTRY:
            return _REGISTRY[key]()
        raise ValueError(f"loss: expected one of {sorted(_REGISTRY)}, got {identifier!r}")
    raise TypeError(f"loss: expected a Loss or a name, got {type(identifier).__name__}")
