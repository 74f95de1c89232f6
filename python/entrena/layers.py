"""Layers. A layer is a description that adds one or more C++ layers to the
model's engine when the model is built (its input size is then known)."""
from __future__ import annotations

from . import _checks

_INITIALIZERS = ("zeros", "ones", "constant", "uniform", "normal", "glorot_uniform",
                 "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal")
_ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal",
            "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal"}


def _initializer(spec, name):
    """'he_normal' | ('normal', {'mean': 0, 'std': 0.05}) -> (kind, a, b)."""
    args = {}
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[1], dict):
        spec, args = spec
    if not isinstance(spec, str):
        raise TypeError(f"{name}: expected an initializer name, got {type(spec).__name__}")
    kind = _ALIASES.get(spec.lower(), spec.lower())
    if kind not in _INITIALIZERS:
        raise ValueError(f"{name}: expected one of {', '.join(_INITIALIZERS)}, got {spec!r}")
    a = b = 0.0
    if kind == "constant":
        a = _checks.check_float(args.get("value", 0.0), f"{name} value")
    elif kind == "uniform":
        a = _checks.check_float(args.get("low", -0.05), f"{name} low")
        b = _checks.check_float(args.get("high", 0.05), f"{name} high")
    elif kind == "normal":
        a = _checks.check_float(args.get("mean", 0.0), f"{name} mean")
        b = _checks.check_float(args.get("std", 0.05), f"{name} std", minimum=0.0)
    return kind, a, b


class Layer:
    """Base class: ``_add_to(core_model)`` adds the C++ layers and returns
    how many it added; ``get_config`` returns the constructor arguments."""

    def __init__(self, name: str | None = None):
        self.name = name
        self._core_range = None   # (first, count) of this layer's C++ layers
        self._model = None

    def _add_to(self, core_model) -> int:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @property
    def input_dim(self):
        return None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


_ACTIVATIONS = ("relu",)


def _activation(name, argname="activation"):
    if name is None or name == "linear" or name == "identity":
        return None
    if not isinstance(name, str):
        raise TypeError(f"{argname}: expected an activation name, got {type(name).__name__}")
    if name.lower() not in _ACTIVATIONS:
        raise ValueError(f"{argname}: expected one of {', '.join(_ACTIVATIONS)} or None, got {name!r}")
    return name.lower()


class Dense(Layer):
    """Fully connected layer: y = activation(x·W + b), W of shape (in, units)."""

    def __init__(self, units: int, activation: str | None = None, *, use_bias: bool = True,
                 kernel_init="glorot_uniform", bias_init="zeros", input_dim: int | None = None,
                 name: str | None = None):
        super().__init__(name)
        self.units = _checks.check_int(units, "units", minimum=1)
        self.activation = _activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_init = kernel_init
        self.bias_init = bias_init
        self._kinit = _initializer(kernel_init, "kernel_init")
        self._binit = _initializer(bias_init, "bias_init")
        self._input_dim = None if input_dim is None else _checks.check_int(input_dim, "input_dim", minimum=1)

    @property
    def input_dim(self):
        return self._input_dim

    def _add_to(self, core_model) -> int:
        k, ka, kb = self._kinit
        b, ba, bb = self._binit
        core_model.add_dense(self.units, self.use_bias, k, ka, kb, b, ba, bb, self.activation)
        return 1

    def get_config(self):
        cfg = {"units": self.units, "activation": self.activation, "use_bias": self.use_bias,
               "kernel_init": self.kernel_init, "bias_init": self.bias_init}
        if self._input_dim is not None:
            cfg["input_dim"] = self._input_dim
        return cfg


class Activation(Layer):
    """Applies an element-wise activation."""

    def __init__(self, activation: str, name: str | None = None):
        super().__init__(name)
        act = _activation(activation)
        if act is None:
            raise ValueError(f"activation: expected one of {', '.join(_ACTIVATIONS)}, got {activation!r}")
        self.activation = act

    def _add_to(self, core_model) -> int:
        core_model.add_activation(self.activation)
        return 1

    def get_config(self):
        return {"activation": self.activation}


class ReLU(Activation):
    """max(x, 0)."""

    def __init__(self, name: str | None = None):
        super().__init__("relu", name=name)

    def get_config(self):
        return {}
