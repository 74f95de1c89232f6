"""Optimizers. Each is a thin Python object over a C++ optimizer that
updates the model's flat parameter buffer in one fused loop. Constructor
arguments use PyTorch's names and defaults (torch.optim), and the updates
follow PyTorch's formulas, so trajectories can be compared with it.

Keras style: ``model.compile(optimizer=Adam(lr=1e-3))`` or ``optimizer="adam"``.
PyTorch style: ``opt = Adam(model.parameters(), lr=1e-3)``, then ``opt.step()``.

Every optimizer also takes ``clip_norm`` (clip the gradient to this global
L2 norm, as torch.nn.utils.clip_grad_norm_) and ``clip_value`` (clamp it to
[-clip_value, clip_value], as clip_grad_value_), applied before each update.
``state_dict()`` / ``load_state_dict()`` save and restore the optimizer
exactly (hyper-parameters, step count, state buffers).
"""
from __future__ import annotations

import numbers

import numpy as np

from . import _checks


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _check_clip(value, name: str):
    if value is None:
        return None
    return _checks.check_float(value, name, minimum=0.0, open_min=True)


def _hyper(name: str, doc: str = ""):
    """A read-only property for hyper-parameter `name` (fixed at construction;
    load_state_dict may replace them all)."""
    return property(lambda self: self._config[name], doc=doc or f"The {name} hyper-parameter.")


class Optimizer:
    """Base class. Subclasses set ``name``, store their hyper-parameters in
    ``self._config`` and implement ``_make_core`` and ``get_config``
    (constructor arguments, lr included)."""

    name = "optimizer"

    def __init__(self, params=None, lr: float = 0.01, *, clip_norm=None, clip_value=None):
        # SGD(0.1) and SGD(lr=0.1) both mean a learning rate; SGD(model.parameters(), ...)
        # binds the optimizer to that model for the step API.
        if isinstance(params, numbers.Real) and not isinstance(params, bool):
            params, lr = None, params
        self._lr = _checks.check_float(lr, "lr", minimum=0.0)
        self._clip_norm = _check_clip(clip_norm, "clip_norm")
        self._clip_value = _check_clip(clip_value, "clip_value")
        self._config = {}
        self._core = None
        self._dtype = None
        self._model = None
        self._pending = None  # (steps, {name: array}) from load_state_dict, for the next core
        if params is not None:
            model = getattr(params, "model", None)
            if model is None:
                raise TypeError("params: expected model.parameters(), got "
                                f"{type(params).__name__}")
            self._model = model

    def _make_core(self, mod):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"lr": self.lr, **self._config, "clip_norm": self._clip_norm,
                "clip_value": self._clip_value}

    # -- shared machinery
    def core(self, dtype):
        """The C++ optimizer for this dtype (created once; its state persists)."""
        dt = _checks.resolve_dtype(dtype)
        if self._core is None:
            core = self._make_core(_checks.core_module(dt))
            core.lr = self._lr
            core.clip_norm = self._clip_norm or 0.0
            core.clip_value = self._clip_value or 0.0
            if self._pending is not None:
                steps, arrays = self._pending
                if arrays:
                    core.init_state(next(iter(arrays.values())).size)
                    for key, view in core.state().items():
                        view[...] = arrays[key]
                core.steps = steps
                self._pending = None
            self._core = core
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
    def clip_norm(self):
        """Global L2 norm the gradient is clipped to before each update (None: off)."""
        return self._clip_norm

    @clip_norm.setter
    def clip_norm(self, value):
        self._clip_norm = _check_clip(value, "clip_norm")
        if self._core is not None:
            self._core.clip_norm = self._clip_norm or 0.0

    @property
    def clip_value(self):
        """The gradient is clamped to [-clip_value, clip_value] before each update (None: off)."""
        return self._clip_value

    @clip_value.setter
    def clip_value(self, value):
        self._clip_value = _check_clip(value, "clip_value")
        if self._core is not None:
            self._core.clip_value = self._clip_value or 0.0

    @property
    def iterations(self) -> int:
        """Optimizer steps taken so far."""
        if self._core is not None:
            return self._core.steps
        return self._pending[0] if self._pending is not None else 0

    def step(self) -> None:
        """One update of the bound model's parameters from its gradients
        (clipped in place first when clip_norm / clip_value are set)."""
        if self._model is None:
            raise RuntimeError(f"{self.name}.step: no model; create the optimizer with "
                               "model.parameters() or compile the model with it")
        core_model = self._model._require_core("step")
        self.core(self._model.dtype).step(core_model)

    def zero_grad(self) -> None:
        if self._model is not None:
            self._model.zero_grad()

    # -- checkpoints
    def state_dict(self) -> dict:
        """A checkpoint of the optimizer: ``{"name", "config", "steps", "state"}``
        where state maps buffer names (PyTorch's: "exp_avg", "momentum_buffer",
        ...) to NumPy copies. Empty state before the first step."""
        if self._core is not None:
            state = {k: np.array(v, copy=True) for k, v in self._core.state().items()}
        elif self._pending is not None:
            state = {k: np.array(v, copy=True) for k, v in self._pending[1].items()}
        else:
            state = {}
        return {"name": self.name, "config": self.get_config(), "steps": int(self.iterations),
                "state": state}

    def load_state_dict(self, state_dict) -> None:
        """Restores a ``state_dict()``: hyper-parameters, step count and state
        buffers, so that the next steps are those the saved optimizer would
        have taken. The model binding is kept."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"state_dict: expected a dict from state_dict(), got "
                            f"{type(state_dict).__name__}")
        missing = [k for k in ("name", "config", "steps", "state") if k not in state_dict]
        if missing:
            raise ValueError(f"state_dict: expected the keys name, config, steps, state; "
                             f"missing {', '.join(missing)}")
        if state_dict["name"] != self.name:
            raise ValueError(f"state_dict: expected the state of a {self.name!r} optimizer, "
                             f"got {state_dict['name']!r}")
        config = state_dict["config"]
        if not isinstance(config, dict):
            raise TypeError(f"state_dict['config']: expected a dict, got {type(config).__name__}")
        try:
            fresh = type(self)(**config)
        except TypeError as e:
            raise TypeError(f"state_dict['config']: {e}") from None
        steps = _checks.check_int(state_dict["steps"], "state_dict['steps']", minimum=0)
        arrays = self._check_state(fresh, state_dict["state"])
        # Everything is valid: adopt it. The C++ optimizer is rebuilt (for the
        # dtype it served, if any) with the loaded state.
        self._config = dict(fresh._config)
        self._lr, self._clip_norm, self._clip_value = fresh._lr, fresh._clip_norm, fresh._clip_value
        dtype = self._dtype
        self._core, self._dtype = None, None
        self._pending = (steps, arrays)
        if dtype is not None:
            self.core(dtype)

    @staticmethod
    def _check_state(fresh, state):
        if not isinstance(state, dict):
            raise TypeError(f"state_dict['state']: expected a dict of arrays, got "
                            f"{type(state).__name__}")
        probe = fresh._make_core(_checks.core_module(np.float64))
        probe.init_state(1)
        want = sorted(probe.state())
        if state and sorted(state) != want:
            raise ValueError(f"state_dict['state']: expected the buffers {want} for this "
                             f"configuration, got {sorted(state)}")
        arrays, size = {}, None
        for key in want if state else []:
            a = _checks.as_float_array(state[key], f"state_dict['state'][{key!r}]", np.float64,
                                       min_ndim=1, max_ndim=1)
            if size is not None and a.size != size:
                raise ValueError(f"state_dict['state'][{key!r}]: expected {size} elements (the "
                                 f"size of the other buffers), got {a.size}")
            size = a.size
            arrays[key] = a
        return arrays

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as torch.optim.SGD.

    g = grad + weight_decay * p
    b = g at the first step, then b = momentum * b + (1 - dampening) * g   (momentum != 0)
    g = g + momentum * b if nesterov else b
    p = p - lr * g
    """

    name = "sgd"
    momentum = _hyper("momentum")
    dampening = _hyper("dampening")
    weight_decay = _hyper("weight_decay")
    nesterov = _hyper("nesterov")

    def __init__(self, params=None, lr: float = 0.01, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 clip_norm=None, clip_value=None):
        super().__init__(params, lr, clip_norm=clip_norm, clip_value=clip_value)
        momentum = _checks.check_float(momentum, "momentum", minimum=0.0)
        dampening = _checks.check_float(dampening, "dampening", minimum=0.0, maximum=1.0)
        weight_decay = _checks.check_float(weight_decay, "weight_decay", minimum=0.0)
        nesterov = _check_bool(nesterov, "nesterov")
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError("nesterov: Nesterov momentum needs momentum > 0 and dampening = 0, "
                             f"got momentum={momentum}, dampening={dampening}")
        self._config = {"momentum": momentum, "dampening": dampening,
                        "weight_decay": weight_decay, "nesterov": nesterov}

    def _make_core(self, mod):
        return mod.SGD(lr=self._lr, **self._config)


def _check_betas(betas):
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
        raise TypeError(f"betas: expected a pair (beta1, beta2), got {betas!r}")
    return tuple(_checks.check_float(b, f"betas[{i}]", minimum=0.0, maximum=1.0, open_max=True)
                 for i, b in enumerate(betas))


class Adam(Optimizer):
    """Adam, as torch.optim.Adam (weight decay added to the gradient).

    g = grad + weight_decay * p
    m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
    amsgrad: v_max = max(v_max, v), used in place of v
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    name = "adam"
    betas = _hyper("betas")
    eps = _hyper("eps")
    weight_decay = _hyper("weight_decay")
    amsgrad = _hyper("amsgrad")

    def __init__(self, params=None, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, clip_norm=None,
                 clip_value=None):
        super().__init__(params, lr, clip_norm=clip_norm, clip_value=clip_value)
        self._config = {
            "betas": _check_betas(betas),
            "eps": _checks.check_float(eps, "eps", minimum=0.0, open_min=True),
            "weight_decay": _checks.check_float(weight_decay, "weight_decay", minimum=0.0),
            "amsgrad": _check_bool(amsgrad, "amsgrad"),
        }

    def _make_core(self, mod):
        cls = mod.AdamW if self.name == "adamw" else mod.Adam
        return cls(lr=self._lr, **self._config)


class AdamW(Adam):
    """AdamW, as torch.optim.AdamW: Adam with decoupled weight decay
    (default 1e-2) applied to the parameters, not the gradient.

    p = p * (1 - lr * weight_decay), then the Adam update with g = grad.
    """

    name = "adamw"

    def __init__(self, params=None, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, clip_norm=None,
                 clip_value=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, clip_norm=clip_norm,
                         clip_value=clip_value)


class RMSprop(Optimizer):
    """RMSprop, as torch.optim.RMSprop.

    g = grad + weight_decay * p;   s = alpha * s + (1 - alpha) * g^2
    centered: a = alpha * a + (1 - alpha) * g;  d = sqrt(s - a^2) + eps;  else d = sqrt(s) + eps
    momentum > 0: b = momentum * b + g / d;  p = p - lr * b;   else p = p - lr * g / d
    """

    name = "rmsprop"
    alpha = _hyper("alpha")
    eps = _hyper("eps")
    weight_decay = _hyper("weight_decay")
    momentum = _hyper("momentum")
    centered = _hyper("centered")

    def __init__(self, params=None, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 clip_norm=None, clip_value=None):
        super().__init__(params, lr, clip_norm=clip_norm, clip_value=clip_value)
        self._config = {
            "alpha": _checks.check_float(alpha, "alpha", minimum=0.0, maximum=1.0),
            "eps": _checks.check_float(eps, "eps", minimum=0.0, open_min=True),
            "weight_decay": _checks.check_float(weight_decay, "weight_decay", minimum=0.0),
            "momentum": _checks.check_float(momentum, "momentum", minimum=0.0),
            "centered": _check_bool(centered, "centered"),
        }

    def _make_core(self, mod):
        return mod.RMSprop(lr=self._lr, **self._config)


class Adagrad(Optimizer):
    """Adagrad, as torch.optim.Adagrad.

    g = grad + weight_decay * p;   clr = lr / (1 + (t - 1) * lr_decay)
    sum = sum + g^2 (sum starts at initial_accumulator_value)
    p = p - clr * g / (sqrt(sum) + eps)
    """

    name = "adagrad"
    lr_decay = _hyper("lr_decay")
    weight_decay = _hyper("weight_decay")
    initial_accumulator_value = _hyper("initial_accumulator_value")
    eps = _hyper("eps")

    def __init__(self, params=None, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, clip_norm=None, clip_value=None):
        super().__init__(params, lr, clip_norm=clip_norm, clip_value=clip_value)
        self._config = {
            "lr_decay": _checks.check_float(lr_decay, "lr_decay", minimum=0.0),
            "weight_decay": _checks.check_float(weight_decay, "weight_decay", minimum=0.0),
            "initial_accumulator_value": _checks.check_float(
                initial_accumulator_value, "initial_accumulator_value", minimum=0.0),
            "eps": _checks.check_float(eps, "eps", minimum=0.0, open_min=True),
        }

    def _make_core(self, mod):
        return mod.Adagrad(lr=self._lr, **self._config)


_REGISTRY = {
    "sgd": SGD,
    "momentum": lambda: SGD(momentum=0.9),
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
}


def get(identifier) -> Optimizer:
    """An Optimizer from an instance or a name (with default arguments):
    "sgd", "momentum" (SGD with momentum 0.9), "adam", "adamw", "rmsprop", "adagrad"."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _REGISTRY:
            return _REGISTRY[key]()
        raise ValueError(f"optimizer: expected one of {sorted(_REGISTRY)}, got {identifier!r}")
    raise TypeError(f"optimizer: expected an Optimizer or a name, got {type(identifier).__name__}")
