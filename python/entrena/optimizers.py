"""Optimizers. A Python optimizer declares the engine optimizer it stands
for (its name) and its arguments; the engine makes it (C++) and checks the
arguments when the optimizer is created. It updates the model's flat
parameter buffer in one fused loop per parameter group. Argument names,
defaults and formulas are PyTorch's (torch.optim), so trajectories can be
compared with it.

Keras style: ``model.compile(optimizer=Adam(lr=1e-3))`` or ``optimizer="adam"``.
PyTorch style: ``opt = Adam(model.parameters(), lr=1e-3)``, then ``opt.step()``.

Every optimizer also takes ``clip_norm`` (clip the gradient to this global
L2 norm, as torch.nn.utils.clip_grad_norm_) and ``clip_value`` (clamp it to
[-clip_value, clip_value], as clip_grad_value_), applied before each update.
``state_dict()`` / ``load_state_dict()`` save and restore the optimizer
exactly (hyper-parameters, step count, state buffers).

Weight decay can be switched off per parameter tensor (biases and
normalization parameters, typically), the way PyTorch and Keras users do
it: parameter groups ``AdamW([{"params": decay}, {"params": no_decay,
"weight_decay": 0.0}])``, or ``opt.exclude_from_weight_decay(var_names=["b"])``.
The setting is the model's (``model.set_param_options``), saved with it.
"""
from __future__ import annotations

import json
import numbers

import numpy as np

from . import _checks, _core
from .layers import to_json

#: Python class of each engine optimizer name.
_CLASSES: dict = {}


def _hyper(name: str, doc: str = ""):
    """A read-only property for hyper-parameter `name` (fixed at construction;
    load_state_dict may replace them all)."""
    return property(lambda self: self._config[name], doc=doc or f"The {name} hyper-parameter.")


def _check_clip(value, name: str):
    if value is None:
        return None
    return _checks.check_float(value, name, minimum=0.0, open_min=True)


class Optimizer:
    """Base class. Subclasses declare ``name`` (the engine's) and pass their
    hyper-parameters to ``__init__``."""

    name = "optimizer"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _CLASSES.setdefault(cls.name, cls)

    def __init__(self, params=None, lr: float = 0.01, *, clip_norm=None, clip_value=None, **hyper):
        # SGD(0.1) and SGD(lr=0.1) both mean a learning rate; SGD(model.parameters(), ...)
        # binds the optimizer to that model for the step API.
        if isinstance(params, numbers.Real) and not isinstance(params, bool):
            params, lr = None, params
        for key, value in {"lr": lr, **hyper}.items():
            if value is None:
                raise TypeError(f"{key}: expected a value, got None")
        options = {"lr": lr, **hyper, "clip_norm": _check_clip(clip_norm, "clip_norm"),
                   "clip_value": _check_clip(clip_value, "clip_value")}
        _, config = _core.optimizer_config(self.name, to_json(options))
        config = json.loads(config)
        self._lr = config.pop("lr")
        self._clip_norm = config.pop("clip_norm")
        self._clip_value = config.pop("clip_value")
        if "betas" in config:
            config["betas"] = tuple(config["betas"])
        self._config = config
        self._core = None
        self._dtype = None
        self._model = None
        self._pending = None  # (steps, {name: array}) from load_state_dict, for the next core
        self._exclude = []    # names or patterns excluded from weight decay (Keras style)
        if params is not None:
            self._bind_params(params)

    # -- binding to a model
    def _bind_params(self, params):
        """model.parameters(), a list of its parameter views, or PyTorch-style
        parameter groups [{"params": [...], "weight_decay": ...}, ...]."""
        groups = list(params) if isinstance(params, (list, tuple)) else None
        if groups and all(isinstance(g, dict) for g in groups):
            model = self._group_model(groups)
            wd = self._config.get("weight_decay", 0.0)
            for i, g in enumerate(groups):
                extra = sorted(set(g) - {"params", "weight_decay"})
                if extra:
                    raise ValueError(f"params[{i}]: entrena's parameter groups take 'params' and "
                                     f"'weight_decay' (on or off); got {', '.join(map(repr, extra))}")
                gwd = g.get("weight_decay", wd)
                if gwd not in (0, 0.0, wd):
                    raise ValueError(f"params[{i}]['weight_decay']: expected 0 (no weight decay) or the "
                                     f"optimizer's weight_decay ({wd}), got {gwd!r}")
                names = model._names_of(g["params"], f"params[{i}]['params']")
                model.set_param_options(names, weight_decay=gwd != 0 or wd == 0)
            self._set_model(model)
            return
        model = getattr(params, "model", None)
        if model is None and groups:
            model = _checks.model_of(groups[0])
            if model is not None:
                model._names_of(groups, "params")
        if model is None:
            raise TypeError("params: expected model.parameters() or parameter groups, got "
                            f"{type(params).__name__}")
        self._set_model(model)

    @staticmethod
    def _group_model(groups):
        for g in groups:
            if "params" not in g:
                raise ValueError("params: every parameter group needs a 'params' list")
            for p in g["params"]:
                m = _checks.model_of(p)
                if m is not None:
                    return m
        raise TypeError("params: expected views of a model's parameters (model.parameters())")

    def _set_model(self, model):
        if self._model is not None and self._model is not model:
            raise ValueError("optimizer: it is bound to another model's parameters")
        self._model = model
        if self._exclude and model.built:
            model.set_param_options(self._exclude, weight_decay=False)

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Keras' API: no weight decay for the given parameters (views of the
        model's parameters) or names (a tensor's name in its layer, e.g. "b",
        a full name "dense_0.b", or a pattern "*.b"). Applied to the model
        the optimizer serves (its parameter options, saved with it)."""
        names = list(var_names or [])
        if var_list is not None:
            if self._model is None:
                raise RuntimeError("exclude_from_weight_decay: var_list needs an optimizer bound to a model")
            names += self._model._names_of(var_list, "var_list")
        for n in names:
            if not isinstance(n, str):
                raise TypeError(f"var_names: expected strings, got {type(n).__name__}")
        self._exclude += names
        if self._model is not None and self._model.built:
            self._model.set_param_options(names, weight_decay=False)

    def get_config(self) -> dict:
        return {"lr": self.lr, **self._config, "clip_norm": self._clip_norm,
                "clip_value": self._clip_value}

    # -- shared machinery
    def core(self, dtype):
        """The C++ optimizer for this dtype (created once; its state persists)."""
        dt = _checks.resolve_dtype(dtype)
        if self._core is None:
            options = {"lr": self._lr, **self._config, "clip_norm": self._clip_norm,
                       "clip_value": self._clip_value}
            core = _checks.core_module(dt).make_optimizer(self.name, to_json(options))
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
        (clipped in place first when clip_norm / clip_value are set), each
        parameter with its options (weight decay on or off)."""
        if self._model is None:
            raise RuntimeError(f"{self.name}.step: no model; create the optimizer with "
                               "model.parameters() or compile the model with it")
        core_model = self._model._require_core("step")
        self.core(self._model.dtype).step(core_model)
        self._model._trained = True

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
        probe = fresh.core(np.float64)
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
        super().__init__(params, lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov, clip_norm=clip_norm,
                         clip_value=clip_value)


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
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise TypeError(f"betas: expected a pair (beta1, beta2), got {betas!r}")
        super().__init__(params, lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, clip_norm=clip_norm, clip_value=clip_value)


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
        super().__init__(params, lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         momentum=momentum, centered=centered, clip_norm=clip_norm,
                         clip_value=clip_value)


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
        super().__init__(params, lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps,
                         clip_norm=clip_norm, clip_value=clip_value)


def get(identifier) -> Optimizer:
    """An Optimizer from an instance or a name with default arguments (engine
    names and aliases: "sgd", "momentum" (SGD with momentum 0.9), "adam",
    "adamw", "rmsprop", "adagrad")."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        names, aliases = _core.names("optimizer")
        key = identifier.lower()
        canonical = next((n for n in names if n == key), aliases.get(key))
        if canonical is None:
            raise ValueError(f"optimizer: expected one of {', '.join(names + sorted(aliases))}; "
                             f"got {identifier!r}")
        options = json.loads(_core.optimizer_config(identifier, "{}")[1])
        cls = _CLASSES[canonical]
        defaults = cls()
        changed = {k: v for k, v in options.items() if k in defaults._config and v != defaults._config[k]}
        return cls(**changed) if changed else defaults
    raise TypeError(f"optimizer: expected an Optimizer or a name, got {type(identifier).__name__}")
