"""Layers. A Python layer declares the engine layer type it stands for and
its arguments; the engine's registry builds, checks and runs it (C++, the
same config as in model files). Arguments are checked by the engine when
the layer is created, so a bad one fails at once with the engine's
message ("units: expected an integer >= 1, got 0").

Layers act on the last axis of (n, ..., features) where that makes sense
(Dense, activations, Normalization), as in Keras.
Convolutions, pooling, ZeroPadding2D and BatchNormalization see (n, C, ...)
with the channels on axis 1, as in PyTorch. Recurrent layers see sequences
(n, steps, features), batch first.
"""
from __future__ import annotations

import json
import math
import numbers

import numpy as np

from . import _checks, _core

#: Python class of each engine layer type (the first class that declares it).
_CLASSES: dict = {}


def _jsonable(value, key):
    """value as plain JSON data (NumPy scalars, tuples); non-finite floats
    and other objects are errors naming the argument."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        if not -2**63 <= int(value) < 2**63:
            raise ValueError(f"{key}: expected an integer of at most 63 bits, got {int(value)}")
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"{key}: expected a finite number, got {v}")
        return v
    if isinstance(value, dict):
        return {str(k): _jsonable(v, f"{key}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{key}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{key}: expected a number, string, bool, list or None, got {type(value).__name__}")


def to_json(args: dict) -> str:
    """Arguments as the JSON text the engine reads."""
    return json.dumps({k: _jsonable(v, k) for k, v in args.items()})


def _initializer_arg(spec):
    """'he_normal', ('normal', {'std': 0.1}) or {'name': 'normal', 'std': 0.1}
    -> what the engine reads (a name or a dict)."""
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[1], dict):
        return {"name": spec[0], **spec[1]}
    return spec


def _shape(value, key):
    if value is None:
        return None
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not value:
        raise TypeError(f"{key}: expected a tuple of sizes (without the batch dimension), got {value!r}")
    return tuple(_checks.check_int(d, key, minimum=1) for d in value)


class Layer:
    """A layer: the engine type it stands for (``type``) and its arguments.

    Subclasses declare ``type`` and pass their arguments to ``__init__``;
    the engine checks them at once. ``input_shape`` (without the batch
    dimension) on the first layer lets a model build before it sees data.
    A layer whose type has no Python class (one an application registered
    in C++) is made with ``Layer(type, **arguments)``.
    """

    type: str | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.type is not None:
            _CLASSES.setdefault(cls.type, cls)

    def __init__(self, type: str | None = None, *, name: str | None = None, input_shape=None, **args):
        if type is not None:
            self.type = type
        if self.type is None:
            raise TypeError("Layer: expected the engine layer type (e.g. Layer('Dense', units=3))")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name: expected a string, got {builtins_type(name)}")
        self.name = name
        self.input_shape = _shape(input_shape, "input_shape")
        self._args = args
        self._model = None
        # The engine reads and checks the config; it answers with every argument.
        self._engine_config = json.loads(_core.layer_config(self._config_json()))

    def _config_json(self) -> str:
        cfg = {"type": self.type, **{k: v for k, v in self._args.items() if v is not None}}
        if self.name is not None:
            cfg["name"] = self.name
        return to_json(cfg)

    def engine_config(self) -> dict:
        """The config the engine builds this layer from (and model files store)."""
        return dict(self._engine_config)

    def get_config(self) -> dict:
        """The constructor arguments, every one (defaults filled in by the engine)."""
        cfg = {k: v for k, v in self._engine_config.items() if k not in ("type", "name")}
        if self.name is not None:
            cfg["name"] = self.name
        if self.input_shape is not None:
            cfg["input_shape"] = self.input_shape
        return cfg

    def __getattr__(self, key):
        # The layer's arguments read as attributes (dense.units, dense.activation, ...).
        config = self.__dict__.get("_engine_config", {})
        if key in config and key not in ("type", "name"):
            return config[key]
        raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")

    @property
    def input_dim(self):
        return self.input_shape[-1] if self.input_shape else None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def builtins_type(value) -> str:
    return type(value).__name__


class Input:
    """The shape of one input sample, as the first element of a Sequential
    (Keras' ``Input(shape=...)``): the model builds at once."""

    def __init__(self, shape, name: str | None = None):
        self.shape = _shape(shape, "shape")
        self.name = name

    def __repr__(self):
        return f"Input(shape={self.shape})"


class Dense(Layer):
    """Fully connected layer over the last axis: y = activation(x·W + b),
    W of shape (in, units), so (n, ..., in) -> (n, ..., units). ``alpha``
    is the negative slope of leaky_relu or the alpha of elu."""

    type = "Dense"

    def __init__(self, units: int, activation: str | None = None, *, alpha: float | None = None,
                 use_bias: bool = True, kernel_init="glorot_uniform", bias_init="zeros",
                 input_dim: int | None = None, input_shape=None, name: str | None = None):
        if input_dim is not None:
            if input_shape is not None:
                raise ValueError("input_dim: give input_dim or input_shape, not both")
            input_shape = (_checks.check_int(input_dim, "input_dim", minimum=1),)
        super().__init__(units=units, activation=activation, alpha=alpha, use_bias=use_bias,
                         kernel_init=_initializer_arg(kernel_init), bias_init=_initializer_arg(bias_init),
                         name=name, input_shape=input_shape)

    @property
    def alpha(self):
        """The activation's alpha (leaky_relu, elu), or None."""
        return self._engine_config.get("alpha")


class Activation(Layer):
    """Applies an activation: element-wise, or along the last axis for
    softmax / log_softmax. ``alpha`` is LeakyReLU's negative slope (default
    0.01) or ELU's alpha (default 1.0); other activations take none."""

    type = "Activation"

    def __init__(self, activation: str, alpha: float | None = None, *, input_shape=None,
                 name: str | None = None):
        super().__init__(activation="identity" if activation is None else activation, alpha=alpha,
                         name=name, input_shape=input_shape)

    @property
    def alpha(self):
        """The activation's alpha (leaky_relu, elu), or None."""
        return self._engine_config.get("alpha")


class _Fixed(Activation):
    """An Activation layer with a fixed activation (ReLU, Sigmoid, ...)."""

    activation_name = ""

    def __init__(self, *, input_shape=None, name: str | None = None):
        super().__init__(self.activation_name, input_shape=input_shape, name=name)

    def get_config(self):
        return {k: v for k, v in super().get_config().items() if k not in ("activation", "alpha")}


class ReLU(_Fixed):
    """max(x, 0)."""

    activation_name = "relu"


class Sigmoid(_Fixed):
    """1 / (1 + e^-x)."""

    activation_name = "sigmoid"


class Tanh(_Fixed):
    """tanh x."""

    activation_name = "tanh"


class SiLU(_Fixed):
    """x·sigmoid(x) (Swish)."""

    activation_name = "silu"


Swish = SiLU


class Softplus(_Fixed):
    """log(1 + e^x), and x itself above 20 (PyTorch's beta=1, threshold=20)."""

    activation_name = "softplus"


class Softmax(_Fixed):
    """exp(x_j) / sum_k exp(x_k) along the last axis."""

    activation_name = "softmax"


class LogSoftmax(_Fixed):
    """log of Softmax, computed stably, along the last axis."""

    activation_name = "log_softmax"


class LeakyReLU(Activation):
    """x for x > 0, alpha·x otherwise (PyTorch's negative_slope, default 0.01)."""

    def __init__(self, alpha: float = 0.01, *, input_shape=None, name: str | None = None):
        super().__init__("leaky_relu", alpha=alpha, input_shape=input_shape, name=name)

    def get_config(self):
        return {k: v for k, v in super().get_config().items() if k != "activation"}


class ELU(LeakyReLU):
    """x for x > 0, alpha·(e^x - 1) otherwise (default alpha 1.0)."""

    def __init__(self, alpha: float = 1.0, *, input_shape=None, name: str | None = None):
        Activation.__init__(self, "elu", alpha=alpha, input_shape=input_shape, name=name)


class GELU(Activation):
    """x·Phi(x), Phi the standard normal CDF; approximate="tanh" uses
    x/2·(1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))) like PyTorch."""

    def __init__(self, approximate: str = "none", *, input_shape=None, name: str | None = None):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate: expected 'none' or 'tanh', got {approximate!r}")
        super().__init__("gelu" if approximate == "none" else "gelu_tanh", input_shape=input_shape,
                         name=name)
        self.approximate = approximate

    def get_config(self):
        cfg = {k: v for k, v in super().get_config().items() if k not in ("activation", "alpha")}
        cfg["approximate"] = self.approximate
        return cfg


class Dropout(Layer):
    """Inverted dropout: in training, zeroes each element with probability
    ``rate`` and scales the kept ones by 1 / (1 - rate); identity in eval mode.
    Masks come from the model's seeded generator."""

    type = "Dropout"

    def __init__(self, rate: float, *, input_shape=None, name: str | None = None):
        super().__init__(rate=rate, name=name, input_shape=input_shape)


class Flatten(Layer):
    """(n, d1, d2, ...) -> (n, d1·d2·...)."""

    type = "Flatten"

    def __init__(self, *, input_shape=None, name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)


class Normalization(Layer):
    """Standardizes features with fixed statistics, as Keras' Normalization:
    y = (x - mean) / max(sqrt(variance), 1e-7) over the last axis. ``mean``
    and ``variance`` are buffers of the model (saved with it, in
    ``state_dict()``, never trained); ``adapt(X)`` sets them from data."""

    type = "Normalization"

    def __init__(self, *, input_shape=None, name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)
        self._pending = None

    def adapt(self, data) -> None:
        """Sets mean and variance to the per-feature statistics of ``data``
        (every position of every sample counts once)."""
        model = self._model
        if model is not None and model.built:
            X = _checks.as_float_array(data, "data", model.dtype, min_ndim=2)
            model._core.adapt(model.layers.index(self), X)
            return
        X = _checks.as_float_array(data, "data", np.float64, min_ndim=2)
        mean, var = _core.kernels.feature_moments(np.ascontiguousarray(X.reshape(-1, X.shape[-1])))
        self._pending = (X.shape[1:], mean, var)

    def _apply_pending(self, buffers: dict) -> None:
        """Writes statistics adapted before the model was built."""
        if self._pending is None:
            return
        shape, mean, var = self._pending
        if buffers["mean"].shape != mean.shape:
            raise ValueError(f"Normalization.adapt: the data had {mean.shape[0]} features, the layer "
                             f"sees {buffers['mean'].shape[0]}")
        buffers["mean"][...] = mean
        buffers["variance"][...] = var
        self._pending = None


class RandomFlip(Layer):
    """Training only: flips each image (n, C, H, W) left-right and/or
    top-bottom with probability 1/2 each ("horizontal", "vertical" or
    "horizontal_and_vertical"); the identity in evaluate and predict."""

    type = "RandomFlip"

    def __init__(self, mode: str = "horizontal_and_vertical", *, input_shape=None, name: str | None = None):
        super().__init__(mode=mode, name=name, input_shape=input_shape)


class RandomTranslation(Layer):
    """Training only: shifts each image by up to a fraction of its height
    and width (a number f for [-f, f], or (lower, upper)), filling with zeros."""

    type = "RandomTranslation"

    def __init__(self, height_factor=0.0, width_factor=0.0, *, input_shape=None, name: str | None = None):
        super().__init__(height_factor=height_factor, width_factor=width_factor, name=name,
                         input_shape=input_shape)


class RandomCrop(Layer):
    """Pads each image with ``padding`` zeros on every side and takes a
    random height x width window in training (torchvision's RandomCrop), the
    centre window in evaluate and predict."""

    type = "RandomCrop"

    def __init__(self, height: int, width: int, padding: int = 0, *, input_shape=None, name: str | None = None):
        super().__init__(height=height, width=width, padding=padding, name=name, input_shape=input_shape)


class RandomRotation(Layer):
    """Training only: rotates each image by a random angle of up to
    ``factor`` turns (f for [-f, f], or (lower, upper); 0.05 is ±18°) about
    its centre, bilinear, zero fill."""

    type = "RandomRotation"

    def __init__(self, factor, *, input_shape=None, name: str | None = None):
        super().__init__(factor=factor, name=name, input_shape=input_shape)


class GaussianNoise(Layer):
    """Training only: adds zero-mean Gaussian noise of standard deviation
    ``stddev`` to every element."""

    type = "GaussianNoise"

    def __init__(self, stddev: float, *, input_shape=None, name: str | None = None):
        super().__init__(stddev=stddev, name=name, input_shape=input_shape)


class _Pooling(Layer):
    """Windows of ``pool_size`` (an int, or one size per spatial axis) moved
    by ``strides`` (default ``pool_size``) over (n, C, L) or (n, C, H, W),
    PyTorch's layout. ``padding="valid"`` keeps whole windows only;
    ``"same"`` pads as Keras does (output ceil(L / stride), the extra
    padding at the end) and padded positions never win a max and are not
    counted in an average."""

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", *, input_shape=None,
                 name: str | None = None):
        super().__init__(pool_size=pool_size, strides=strides, padding=padding, name=name,
                         input_shape=input_shape)


class MaxPool1D(_Pooling):
    """The maximum of each window along L: (n, C, L) -> (n, C, L'); the first
    maximum of a window gets its gradient."""

    type = "MaxPool1D"


class MaxPool2D(_Pooling):
    """The maximum of each window over (H, W): (n, C, H, W) -> (n, C, H', W');
    the first maximum of a window (row by row) gets its gradient."""

    type = "MaxPool2D"


class AvgPool1D(_Pooling):
    """The mean of each window along L: (n, C, L) -> (n, C, L')."""

    type = "AvgPool1D"


class AvgPool2D(_Pooling):
    """The mean of each window over (H, W): (n, C, H, W) -> (n, C, H', W')."""

    type = "AvgPool2D"


MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D = MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D


class _GlobalPooling(Layer):
    """Pools each channel whole: (n, C, ...) -> (n, C)."""

    def __init__(self, *, input_shape=None, name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)


class GlobalMaxPooling1D(_GlobalPooling):
    """The maximum of each channel: (n, C, L) -> (n, C)."""

    type = "GlobalMaxPooling1D"


class GlobalMaxPooling2D(_GlobalPooling):
    """The maximum of each channel: (n, C, H, W) -> (n, C)."""

    type = "GlobalMaxPooling2D"


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean of each channel: (n, C, L) -> (n, C)."""

    type = "GlobalAveragePooling1D"


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean of each channel: (n, C, H, W) -> (n, C)."""

    type = "GlobalAveragePooling2D"


GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D


class BatchNormalization(Layer):
    """Normalizes each channel of (n, C, ...) (each feature of (n, F)), as
    PyTorch's BatchNorm1d/2d: y = (x - mean) / sqrt(var + eps)·gamma + beta.
    In training, the batch's mean and biased variance, and the running
    statistics updated as running = (1 - momentum)·running + momentum·batch
    with the unbiased variance (PyTorch's momentum: Keras' momentum=0.99 is
    0.01 here); in eval mode (predict, evaluate, ``model.eval()``) the
    running statistics. ``gamma`` and ``beta`` are parameters (left out
    with scale=False / center=False; users often exclude them from weight
    decay: ``model.set_param_options(["gamma", "beta"], weight_decay=False)``);
    ``running_mean`` and ``running_var`` are buffers (saved, never trained)."""

    type = "BatchNormalization"

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5, center: bool = True, scale: bool = True, *,
                 input_shape=None, name: str | None = None):
        super().__init__(momentum=momentum, eps=eps, center=center, scale=scale, name=name,
                         input_shape=input_shape)


class LayerNormalization(Layer):
    """Normalizes each sample over its last axis, as PyTorch's LayerNorm:
    y = (x - mean) / sqrt(var + eps)·gamma + beta with the row's mean and
    biased variance; ``gamma`` and ``beta`` have the last axis' size."""

    type = "LayerNormalization"

    def __init__(self, eps: float = 1e-5, center: bool = True, scale: bool = True, *, input_shape=None,
                 name: str | None = None):
        super().__init__(eps=eps, center=center, scale=scale, name=name, input_shape=input_shape)


class Reshape(Layer):
    """(n, *input_shape) -> (n, *target_shape), the same elements in the same
    order; one size may be -1 (what the others leave)."""

    type = "Reshape"

    def __init__(self, target_shape, *, input_shape=None, name: str | None = None):
        super().__init__(target_shape=target_shape, name=name, input_shape=input_shape)


class ZeroPadding2D(Layer):
    """Zeros around the (H, W) planes of (n, C, H, W): ``padding`` is an int
    (every side), (rows, columns) or ((top, bottom), (left, right))."""

    type = "ZeroPadding2D"

    def __init__(self, padding=1, *, input_shape=None, name: str | None = None):
        super().__init__(padding=padding, name=name, input_shape=input_shape)


class _Conv(Layer):
    """The arguments shared by Conv1D and Conv2D."""

    def __init__(self, filters: int, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 groups: int = 1, activation: str | None = None, *, alpha: float | None = None,
                 use_bias: bool = True, kernel_init="glorot_uniform", bias_init="zeros", input_shape=None,
                 name: str | None = None):
        super().__init__(filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, alpha=alpha,
                         use_bias=use_bias, kernel_init=_initializer_arg(kernel_init),
                         bias_init=_initializer_arg(bias_init), name=name, input_shape=input_shape)

    @property
    def alpha(self):
        """The activation's alpha (leaky_relu, elu), or None."""
        return self._engine_config.get("alpha")


class Conv1D(_Conv):
    """1-D convolution over (n, channels, length) sequences, as PyTorch's
    conv1d: y = activation(conv(x, W) + b), W of shape (filters,
    channels / groups, kernel_size), b (filters,). ``padding`` is "valid",
    "same" (ceil(length / strides) outputs) or zeros on both sides (an int);
    ``groups=channels`` convolves each channel on its own (depthwise)."""

    type = "Conv1D"


class Conv2D(_Conv):
    """2-D convolution over (n, channels, height, width) images, as PyTorch's
    conv2d: y = activation(conv(x, W) + b), W of shape (filters,
    channels / groups, kh, kw), b (filters,). ``kernel_size``, ``strides``,
    ``dilation_rate``: an int or (rows, columns); ``padding``: "valid",
    "same" (ceil(size / strides) outputs) or zeros on both sides (an int or
    (ph, pw)); ``groups=channels`` convolves each channel on its own
    (depthwise)."""

    type = "Conv2D"


class Embedding(Layer):
    """Integer ids (n, ...) -> (n, ..., embedding_dim): row ``W[id]`` of the
    table W (num_embeddings, embedding_dim), as PyTorch's nn.Embedding. The
    ids are the model's inputs (an integer or float array of whole numbers);
    one outside [0, num_embeddings) is a ValueError. With ``padding_idx``
    that row starts at zero and is never trained, and on (n, steps) ids the
    steps holding it are masked: recurrent layers skip them and the losses
    leave them out (Keras' ``mask_zero`` is ``padding_idx=0``)."""

    type = "Embedding"

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, *,
                 embeddings_init=None, input_shape=None, name: str | None = None):
        super().__init__(num_embeddings=num_embeddings, embedding_dim=embedding_dim, padding_idx=padding_idx,
                         embeddings_init=_initializer_arg(embeddings_init), name=name, input_shape=input_shape)


class Masking(Layer):
    """On sequences (n, steps, features), masks the steps whose features all
    equal ``mask_value`` (Keras): they output zeros, recurrent layers skip
    them and the losses leave them out."""

    type = "Masking"

    def __init__(self, mask_value: float = 0.0, *, input_shape=None, name: str | None = None):
        super().__init__(mask_value=mask_value, name=name, input_shape=input_shape)


class _Recurrent(Layer):
    """The arguments shared by SimpleRNN, LSTM and GRU."""

    def __init__(self, units: int, *, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, dropout: float = 0.0, use_bias: bool = True, kernel_init=None,
                 recurrent_init=None, bias_init=None, input_shape=None, name: str | None = None, **extra):
        super().__init__(units=units, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, dropout=dropout, use_bias=use_bias,
                         kernel_init=_initializer_arg(kernel_init), recurrent_init=_initializer_arg(recurrent_init),
                         bias_init=_initializer_arg(bias_init), name=name, input_shape=input_shape, **extra)


class SimpleRNN(_Recurrent):
    """Elman recurrent layer on (n, steps, features), PyTorch's nn.RNN:
    h' = activation(x·W_ih + b_ih + h·W_hh + b_hh), activation "tanh" or
    "relu". Output (n, units), the state after each sequence's last real
    step, or (n, steps, units) with ``return_sequences``. ``dropout`` drops
    input features in training (one mask per sequence, as Keras);
    ``return_state`` makes a model call return the final state too; an
    initial state can be given to a model call (``initial_state=``)."""

    type = "SimpleRNN"

    def __init__(self, units: int, activation: str = "tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)


class LSTM(_Recurrent):
    """Long short-term memory layer on (n, steps, features), PyTorch's
    nn.LSTM (gates i, f, g, o; W_ih (features, 4·units), W_hh (units,
    4·units), b_ih, b_hh (4·units,)): c' = f·c + i·g, h' = o·tanh(c').
    Outputs and arguments as SimpleRNN; the state is (h, c)."""

    type = "LSTM"


class GRU(_Recurrent):
    """Gated recurrent unit on (n, steps, features), PyTorch's nn.GRU (gates
    r, z, n; the reset gate multiplies h·W_hn + b_hn): h' = (1 - z)·n + z·h.
    Outputs and arguments as SimpleRNN."""

    type = "GRU"


class Bidirectional(Layer):
    """Runs a SimpleRNN, LSTM or GRU over the sequence and a copy of it (its
    own weights) from the last step to the first, and merges the two
    outputs: ``merge_mode`` "concat" (the last axis doubles), "sum", "mul"
    or "ave". Tensors: the layer's, prefixed ``forward_`` and
    ``backward_``."""

    type = "Bidirectional"

    def __init__(self, layer, merge_mode: str = "concat", *, input_shape=None, name: str | None = None):
        if isinstance(layer, Layer):
            if input_shape is None and layer.input_shape is not None:
                input_shape = layer.input_shape
            layer = layer.engine_config()
        elif not isinstance(layer, dict):
            raise TypeError(f"layer: expected a SimpleRNN, LSTM or GRU layer, got {builtins_type(layer)}")
        super().__init__(layer=layer, merge_mode=merge_mode, name=name, input_shape=input_shape)

    @property
    def layer(self) -> Layer:
        """The wrapped (forward) layer."""
        return from_config(self._engine_config["layer"])


def from_config(cfg: dict) -> Layer:
    """A layer from an engine layer config (the ``architecture`` stored in
    model files): the Python class declared for its type, or a plain
    ``Layer`` for types registered only in C++."""
    if not isinstance(cfg, dict) or not isinstance(cfg.get("type"), str):
        raise ValueError(f"layer config: expected a dict with a 'type', got {cfg!r}")
    args = {k: v for k, v in cfg.items() if k != "type"}
    cls = _CLASSES.get(cfg["type"])
    if cls is None:
        return Layer(cfg["type"], **args)
    if cls is Activation:
        return Activation(args.pop("activation"), **args)
    return cls(**args)
