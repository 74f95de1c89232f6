"""Gradient checking: backpropagation against finite differences."""
from __future__ import annotations

import numpy as np

from . import _checks
from . import losses as _losses
from .layers import from_config
from .models import Sequential


def gradcheck(model, X, y, *, loss=None, eps: float = 1e-6, max_checks: int | None = 64,
              seed: int = 0) -> dict:
    """Compares the model's backpropagated gradients with central finite
    differences of the loss, in float64, and returns {parameter name: worst
    relative error} (|analytic - numeric| / max(|analytic|, |numeric|, 1e-8)).
    Buffers (state that is not trained) are not checked.

    A float32 model is checked through a float64 copy with the same weights.
    The model runs in inference mode (dropout off). ``max_checks`` entries
    per parameter tensor are checked (chosen at random with ``seed``; None:
    all). Errors below about 1e-6 mean backprop is right.
    """
    loss_fn = _losses.get(loss if loss is not None else (model.loss or "categorical_crossentropy"))
    X = _checks.as_float_array(X, "X", np.float64, min_ndim=2)
    eps = _checks.check_float(eps, "eps", minimum=0.0, open_min=True)
    twin = _float64_twin(model, X)
    twin.eval()
    twin.zero_grad()
    loss_fn(_output(twin(X)), y)
    loss_fn.backward()
    rng = np.random.default_rng(seed)
    report = {}
    for (name, p), (_, g) in zip(twin.named_parameters(), twin.gradients()):
        flat, gflat = p.reshape(-1), g.reshape(-1).copy()
        idx = np.arange(flat.size)
        if max_checks is not None and flat.size > max_checks:
            idx = rng.choice(flat.size, size=max_checks, replace=False)
        worst = 0.0
        for i in idx:
            old = flat[i]
            flat[i] = old + eps
            lp = loss_fn(_output(twin(X)), y)
            flat[i] = old - eps
            lm = loss_fn(_output(twin(X)), y)
            flat[i] = old
            num = (lp - lm) / (2 * eps)
            err = abs(gflat[i] - num) / max(abs(gflat[i]), abs(num), 1e-8)
            worst = max(worst, err)
        report[name] = worst
    return report


def _float64_twin(model, X):
    if not model.built:
        model.build(X.shape[1:])
    if model.dtype == np.float64:
        return model
    twin = Sequential([from_config(layer.engine_config()) for layer in model.layers],
                      input_shape=model.input_shape, dtype="float64", seed=model.seed)
    twin.load_state_dict(model.state_dict())
    return twin


def _output(result):
    """A model call's output (the call returns (output, states) when a layer
    has return_state=True)."""
    return result[0] if isinstance(result, tuple) else result
