"""Optimizers. Each is a thin Python object over a C++ optimizer that
updates the model's flat parameter buffer in one fused loop. Constructor
arguments use PyTorch's names and defaults.

Keras style: ``model.compile(optimizer=SGD(lr=0.1))`` or ``optimizer="sgd"``.
PyTorch style: ``opt = SGD(model.parameters(), lr=0.1)``, then ``opt.step()``.
"""
from __future__ import annotations

import numbers

from . import _checks


class Optimizer:
    """Base class. Subclasses set ``name``, store their hyper-parameters and
    implement ``_make_core`` and ``get_config`` (constructor arguments, lr included)."""

    name = "optimizer"

    def __init__(self, params=None, lr: float = 0.01):
        # SGD(0.1) and SGD(lr=0.1) both mean a learning rate; SGD(model.parameters(), ...)
        # binds the optimizer to that model for the step API.
        if isinstance(params, numbers.Real) and not isinstance(params, bool):
            params, lr = None, params
        self._lr = _checks.check_float(lr, "lr", minimum=0.0)
        self._core = None
        self._dtype = None
        self._model = None
        if params is not None:
            model = getattr(params, "model", None)
            if model is None:
                raise TypeError("params: expected model.parameters(), got "
                                f"{type(params).__name__}")
            self._model = model

    def _make_core(self, mod):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"lr": self.lr}

    # -- shared machinery
    def core(self, dtype):
        """The C++ optimizer for this dtype (created once; its state persists)."""
        dt = _checks.resolve_dtype(dtype)
        if self._core is None:
            self._core = self._make_core(_checks.core_module(dt))
            self._core.lr = self._lr
            self._dtype = dt
        elif dt != self._dtype:
            raise TypeError(f"{self.name}: this optimizer already serves a {self._dtype} model, "
                            f"got a {dt} one; create one optimizer per model")
        return self._core

    @property
    def lr(self) -> float:
        return self._core.lr if self._core is not None else self._lr

    @lr.setter
    def lr(self, value):
        self._lr = _checks.check_float(value, "lr", minimum=0.0)
        if self._core is not None:
            self._core.lr = self._lr

    @property
    def iterations(self) -> int:
        """Optimizer steps taken so far."""
        return self._core.steps if self._core is not None else 0

    def step(self) -> None:
        """One update of the bound model's parameters from its gradients."""
        if self._model is None:
            raise RuntimeError(f"{self.name}.step: no model; create the optimizer with "
                               "model.parameters() or compile the model with it")
        core_model = self._model._require_core("step")
        self.core(self._model.dtype).step(core_model)

    def zero_grad(self) -> None:
        if self._model is not None:
            self._model.zero_grad()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, as torch.optim.SGD.

    g = grad + weight_decay * p;  p = p - lr * g
    """

    name = "sgd"

    def __init__(self, params=None, lr: float = 0.01, weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.weight_decay = _checks.check_float(weight_decay, "weight_decay", minimum=0.0)

    def _make_core(self, mod):
        return mod.SGD(lr=self._lr, weight_decay=self.weight_decay)

    def get_config(self):
        return {"lr": self.lr, "weight_decay": self.weight_decay}


_REGISTRY = {"sgd": SGD}


def get(identifier) -> Optimizer:
    """An Optimizer from an instance or a name (with default arguments)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _REGISTRY:
            return _REGISTRY[key]()
        raise ValueError(f"optimizer: expected one of {sorted(_REGISTRY)}, got {identifier!r}")
    raise TypeError(f"optimizer: expected an Optimizer or a name, got {type(identifier).__name__}")
