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
    """Base class: ``_add_to(core_model)`` adds this layer's one engine layer
    (layer k of a model is the engine's layer k); ``get_config`` returns the
    constructor arguments."""

    def __init__(self, name: str | None = None):
        self.name = name
        self._model = None

    def _add_to(self, core_model) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @property
    def input_dim(self):
        return None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


_ACTIVATIONS = ("identity", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu",
                "gelu_tanh", "silu", "swish", "softplus", "softmax", "log_softmax")
_ACTIVATION_ALIASES = {"linear": "identity", "swish": "silu"}
# Activations that take alpha, and its default (PyTorch's).
_ALPHA_DEFAULTS = {"leaky_relu": 0.01, "elu": 1.0}


def _activation(name, argname="activation"):
    """A canonical activation name; None for no activation (None, linear, identity)."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise TypeError(f"{argname}: expected an activation name, got {type(name).__name__}")
    key = name.lower()
    if key not in _ACTIVATIONS:
        raise ValueError(f"{argname}: expected one of {', '.join(_ACTIVATIONS)} or None, got {name!r}")
    key = _ACTIVATION_ALIASES.get(key, key)
    return None if key == "identity" else key


def _alpha(activation, alpha):
    """alpha checked against the activation that would use it (None stays None)."""
    if alpha is None:
        return None
    if activation not in _ALPHA_DEFAULTS:
        raise ValueError(f"alpha: only {' and '.join(_ALPHA_DEFAULTS)} take alpha; got "
                         f"alpha={alpha!r} for activation {activation!r}")
    return _checks.check_float(alpha, "alpha")


class Dense(Layer):
    """Fully connected layer: y = activation(x·W + b), W of shape (in, units)."""

    def __init__(self, units: int, activation: str | None = None, *, alpha: float | None = None,
                 use_bias: bool = True, kernel_init="glorot_uniform", bias_init="zeros",
                 input_dim: int | None = None, name: str | None = None):
        super().__init__(name)
        self.units = _checks.check_int(units, "units", minimum=1)
        self.activation = _activation(activation)
        self.alpha = _alpha(self.activation, alpha)
        self.use_bias = bool(use_bias)
        self.kernel_init = kernel_init
        self.bias_init = bias_init
        self._kinit = _initializer(kernel_init, "kernel_init")
        self._binit = _initializer(bias_init, "bias_init")
        self._input_dim = None if input_dim is None else _checks.check_int(input_dim, "input_dim", minimum=1)

    @property
    def input_dim(self):
        return self._input_dim

    def _add_to(self, core_model) -> None:
        k, ka, kb = self._kinit
        b, ba, bb = self._binit
        core_model.add_dense(self.units, self.use_bias, k, ka, kb, b, ba, bb, self.activation, self.alpha)

    def get_config(self):
        cfg = {"units": self.units, "activation": self.activation, "use_bias": self.use_bias,
               "kernel_init": self.kernel_init, "bias_init": self.bias_init}
        if self.alpha is not None:
            cfg["alpha"] = self.alpha
        if self._input_dim is not None:
            cfg["input_dim"] = self._input_dim
        return cfg


class Activation(Layer):
    """Applies an activation: element-wise, or along the last dimension for
    softmax / log_softmax. ``alpha`` is LeakyReLU's negative slope (default
    0.01) or ELU's alpha (default 1.0); other activations take none."""

    def __init__(self, activation: str, alpha: float | None = None, name: str | None = None):
        super().__init__(name)
        act = _activation(activation)
        self.activation = "identity" if act is None else act
        alpha = _alpha(self.activation, alpha)
        self.alpha = _ALPHA_DEFAULTS.get(self.activation) if alpha is None else alpha

    def _add_to(self, core_model) -> None:
        if self.alpha is None:
            core_model.add_activation(self.activation)
        else:
            core_model.add_activation(self.activation, self.alpha)

    def get_config(self):
        cfg = {"activation": self.activation}
        if self.alpha is not None:
            cfg["alpha"] = self.alpha
        return cfg


class ReLU(Activation):
    """max(x, 0)."""

    def __init__(self, name: str | None = None):
        super().__init__("relu", name=name)

    def get_config(self):
        return {}


class Sigmoid(Activation):
    """1 / (1 + e^-x)."""

    def __init__(self, name: str | None = None):
        super().__init__("sigmoid", name=name)

    def get_config(self):
        return {}


class Tanh(Activation):
    """tanh x."""

    def __init__(self, name: str | None = None):
        super().__init__("tanh", name=name)

    def get_config(self):
        return {}


class LeakyReLU(Activation):
    """x for x > 0, alpha·x otherwise (PyTorch's negative_slope, default 0.01)."""

    def __init__(self, alpha: float = 0.01, name: str | None = None):
        super().__init__("leaky_relu", alpha=alpha, name=name)

    def get_config(self):
        return {"alpha": self.alpha}


class ELU(Activation):
    """x for x > 0, alpha·(e^x - 1) otherwise (default alpha 1.0)."""

    def __init__(self, alpha: float = 1.0, name: str | None = None):
        super().__init__("elu", alpha=alpha, name=name)

    def get_config(self):
        return {"alpha": self.alpha}


class GELU(Activation):
    """x·Phi(x), Phi the standard normal CDF; approximate="tanh" uses
    x/2·(1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))) like PyTorch."""

    def __init__(self, approximate: str = "none", name: str | None = None):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate: expected 'none' or 'tanh', got {approximate!r}")
        super().__init__("gelu" if approximate == "none" else "gelu_tanh", name=name)
        self.approximate = approximate

    def get_config(self):
        return {"approximate": self.approximate}


class SiLU(Activation):
    """x·sigmoid(x) (Swish)."""

    def __init__(self, name: str | None = None):
        super().__init__("silu", name=name)

    def get_config(self):
        return {}


Swish = SiLU


class Softplus(Activation):
    """log(1 + e^x), and x itself above 20 (PyTorch's beta=1, threshold=20)."""

    def __init__(self, name: str | None = None):
        super().__init__("softplus", name=name)

    def get_config(self):
        return {}


class Softmax(Activation):
    """exp(x_j) / sum_k exp(x_k) along the last dimension."""

    def __init__(self, name: str | None = None):
        super().__init__("softmax", name=name)

    def get_config(self):
        return {}


class LogSoftmax(Activation):
    """log of Softmax, computed stably, along the last dimension."""

    def __init__(self, name: str | None = None):
        super().__init__("log_softmax", name=name)

    def get_config(self):
        return {}


class Dropout(Layer):
    """Inverted dropout: in training, zeroes each element with probability
    ``rate`` and scales the kept ones by 1 / (1 - rate); identity in eval mode.
    Masks come from the model's seeded generator."""

    def __init__(self, rate: float, name: str | None = None):
        super().__init__(name)
        self.rate = _checks.check_float(rate, "rate", minimum=0.0, maximum=1.0, open_max=True)

    def _add_to(self, core_model) -> None:
        core_model.add_dropout(self.rate)

    def get_config(self):
        return {"rate": self.rate}


class Flatten(Layer):
    """(n, d1, d2, ...) -> (n, d1·d2·...)."""

    def _add_to(self, core_model) -> None:
        core_model.add_flatten()


def _initializer_spec(cfg):
    """The engine's {"name", "a", "b"} initializer config -> a kernel_init argument."""
    if isinstance(cfg, str) or cfg is None:
        return cfg or "glorot_uniform"
    name, a, b = cfg.get("name", "glorot_uniform"), cfg.get("a", 0.0), cfg.get("b", 0.0)
    if name == "constant":
        return ("constant", {"value": a})
    if name == "uniform":
        return ("uniform", {"low": a, "high": b})
    if name == "normal":
        return ("normal", {"mean": a, "std": b})
    return name


def from_config(cfg: dict) -> Layer:
    """A layer from the engine's layer config (the ``architecture`` stored in
    model files; schema in cpp/include/entrena/nn/factory.hpp)."""
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise ValueError(f"layer config: expected a dict with a 'type', got {cfg!r}")
    kind = cfg["type"]
    if kind == "Dense":
        act, alpha = cfg.get("activation"), None
        if isinstance(act, dict):
            act, alpha = act.get("activation"), act.get("alpha")
            if act not in _ALPHA_DEFAULTS:
                alpha = None
        return Dense(cfg["units"], activation=act, alpha=alpha, use_bias=cfg.get("use_bias", True),
                     kernel_init=_initializer_spec(cfg.get("kernel_init")),
                     bias_init=_initializer_spec(cfg.get("bias_init", "zeros")))
    if kind == "Activation":
        act = cfg["activation"]
        return Activation(act, alpha=cfg.get("alpha") if act in _ALPHA_DEFAULTS else None)
    if kind == "Dropout":
        return Dropout(cfg["rate"])
    if kind == "Flatten":
        return Flatten()
    raise ValueError(f"layer config: unknown layer type {kind!r}")
