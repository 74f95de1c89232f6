"""Losses. Each is a thin Python object over a C++ loss; the math is in C++.

A loss is given by object or by name: ``loss="categorical_crossentropy"``.
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

from . import _checks


class Loss:
    """Base class. Subclasses set ``name`` and implement ``_make_core`` and
    ``prepare_targets``; ``get_config`` returns their constructor arguments."""

    name = "loss"
    #: "logits", "probabilities" or None: what the model's raw output is for
    #: this loss. predict_proba applies softmax/sigmoid to "logits" outputs.
    output_kind = None

    def __init__(self):
        self._cores = {}
        self._last = None

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


class CategoricalCrossentropy(Loss):
    """Cross-entropy from logits: softmax inside, mean over the batch.

    L = -mean_i log(softmax(z_i)[y_i]); targets are class labels or one-hot rows.
    """

    name = "categorical_crossentropy"
    output_kind = "logits"

    def _make_core(self, mod):
        return mod.SoftmaxCrossEntropy()

    def prepare_targets(self, y, n_outputs, dtype):
        return _class_indices(y, n_outputs, dtype, self.name)


_REGISTRY = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "cross_entropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": CategoricalCrossentropy,
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
