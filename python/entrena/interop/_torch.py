"""PyTorch modules in and out: ``from_torch(module)`` and ``to_torch(model)``.

Layer by layer, for the layers both libraries have: Linear <-> Dense (W is
weight transposed), the activations, Dropout, Flatten, Conv1d/2d <-> Conv1D/2D
(weights as they are), MaxPool/AvgPool without padding, global pooling
(AdaptiveAvg/MaxPool to 1, then Flatten), ZeroPad2d <-> ZeroPadding2D,
BatchNorm1d/2d <-> BatchNormalization (with the running statistics),
LayerNorm <-> LayerNormalization, Embedding, and RNN / LSTM / GRU
(batch_first, any number of layers, bidirectional) <-> SimpleRNN / LSTM /
GRU / Bidirectional (W_ih and W_hh are weight_ih and weight_hh transposed;
the gate order is PyTorch's). A PyTorch recurrent module returns (output,
state); inside ``from_torch`` it stands for its output sequence.

``to_torch`` gives recurrent layers a small wrapper module
(``entrena.interop.torch_modules.RecurrentModule``) that returns what the entrena layer
returns (the sequence, or the last output, merged as Bidirectional merges),
so the result is a plain ``nn.Sequential``. What has no PyTorch module
(entrena's masks over steps, random augmentation layers) raises ValueError
or, for masks, warns.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import layers as L


def _torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError("from_torch / to_torch need PyTorch: pip install torch") from e
    return torch


# ------------------------------------------------------ entrena -> torch
_ACT_TO_TORCH = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "silu": "SiLU", "softplus": "Softplus",
                 "identity": "Identity", "linear": "Identity"}


def _torch_activation(nn, name, cfg):
    if name in (None, "identity", "linear"):
        return None
    if name in _ACT_TO_TORCH:
        return getattr(nn, _ACT_TO_TORCH[name])()
    if name == "leaky_relu":
        return nn.LeakyReLU(float(cfg.get("alpha", 0.01)))
    if name == "elu":
        return nn.ELU(float(cfg.get("alpha", 1.0)))
    if name == "gelu":
        return nn.GELU()
    if name == "gelu_tanh":
        return nn.GELU(approximate="tanh")
    if name == "softmax":
        return nn.Softmax(dim=-1)
    if name == "log_softmax":
        return nn.LogSoftmax(dim=-1)
    raise ValueError(f"to_torch: activation {name!r} has no PyTorch module here")


def _modules():
    """entrena.interop.torch_modules (importing it imports torch)."""
    from . import torch_modules
    return torch_modules


def _tensors(model, k) -> dict:
    core = model._core
    out = {name: np.array(a) for name, a, *_ in core.layer_params(k)}
    out.update({name: np.array(a) for name, a in core.layer_buffers(k)})
    return out


def _torch_rnn(nn, torch, cfg, directions, in_features, dtype):
    kind = cfg["type"]
    cls = {"SimpleRNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[kind]
    kwargs = {"nonlinearity": cfg.get("activation", "tanh")} if kind == "SimpleRNN" else {}
    rnn = cls(in_features, int(cfg["units"]), batch_first=True, bias=bool(cfg.get("use_bias", True)),
              bidirectional=len(directions) == 2, dtype=dtype, **kwargs)
    with torch.no_grad():
        for d, suffix in zip(directions, ("", "_reverse")):
            getattr(rnn, f"weight_ih_l0{suffix}").copy_(torch.as_tensor(d["W_ih"].T))
            getattr(rnn, f"weight_hh_l0{suffix}").copy_(torch.as_tensor(d["W_hh"].T))
            if cfg.get("use_bias", True):
                getattr(rnn, f"bias_ih_l0{suffix}").copy_(torch.as_tensor(d["b_ih"]))
                getattr(rnn, f"bias_hh_l0{suffix}").copy_(torch.as_tensor(d["b_hh"]))
    return rnn


def _warn_left_out(k, cfg):
    left = [name for name in ("dropout", "return_state") if cfg.get(name)]
    if left:
        warnings.warn(f"to_torch: layer {k} ({cfg['type']}): {' and '.join(left)} left out (the module returns the "
                      "layer's output; PyTorch's recurrent modules have no input dropout)", UserWarning, stacklevel=3)


def to_torch(model):
    """An ``nn.Sequential`` computing what ``model`` computes, with copies of
    its weights (and buffers), in the model's dtype."""
    torch = _torch()
    nn = torch.nn
    tm = _modules()
    core = model._require_core("to_torch")
    dtype = torch.float64 if model.dtype == np.float64 else torch.float32
    mods = []
    shape = tuple(model.input_shape)
    masks = False

    def param(module, name, value):
        with torch.no_grad():
            getattr(module, name).copy_(torch.as_tensor(value))

    for k, layer in enumerate(model.layers):
        cfg = layer.engine_config()
        kind = cfg["type"]
        t = _tensors(model, k)
        out_shape = tuple(core.layer_output_shape(k))
        if kind == "Dense":
            lin = nn.Linear(shape[-1], int(cfg["units"]), bias="b" in t, dtype=dtype)
            param(lin, "weight", t["W"].T)
            if "b" in t:
                param(lin, "bias", t["b"])
            mods.append(lin)
            act = _torch_activation(nn, cfg.get("activation"), cfg)
            mods += [act] if act is not None else []
        elif kind == "Activation":
            act = _torch_activation(nn, cfg["activation"], cfg)
            mods.append(act if act is not None else nn.Identity())
        elif kind == "Dropout":
            mods.append(nn.Dropout(float(cfg["rate"])))
        elif kind == "GaussianNoise":
            mods.append(tm.GaussianNoise(float(cfg["stddev"])))
        elif kind == "Flatten":
            mods.append(nn.Flatten())
        elif kind == "Reshape":
            mods.append(tm.Reshape(out_shape))
        elif kind == "Normalization":
            mods.append(tm.Standardize(t["mean"], t["variance"]).to(dtype))
        elif kind in ("Conv1D", "Conv2D"):
            dims = len(cfg["kernel_size"])
            padding = cfg["padding"]
            if padding == "same":
                from ._onnx import _same_pads
                pads = _same_pads(shape[1:], cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"])
                begin, end = pads[:dims], pads[dims:]
                if begin != end:     # asymmetric: pad first (nn.ZeroPad wants last axis first)
                    order = [v for b, e in zip(reversed(begin), reversed(end)) for v in (b, e)]
                    mods.append((nn.ZeroPad1d if dims == 1 else nn.ZeroPad2d)(tuple(order)))
                    padding = 0
                else:
                    padding = tuple(begin)
            elif padding == "valid":
                padding = 0
            else:
                padding = tuple(padding)
            conv = (nn.Conv1d if dims == 1 else nn.Conv2d)(
                shape[0], int(cfg["filters"]), tuple(cfg["kernel_size"]), stride=tuple(cfg["strides"]),
                padding=padding, dilation=tuple(cfg["dilation_rate"]), groups=int(cfg["groups"]), bias="b" in t,
                dtype=dtype)
            param(conv, "weight", t["W"])
            if "b" in t:
                param(conv, "bias", t["b"])
            mods.append(conv)
            act = _torch_activation(nn, cfg.get("activation"), cfg)
            mods += [act] if act is not None else []
        elif kind in ("MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D"):
            dims = len(cfg["pool_size"])
            if cfg["padding"] == "same":
                from ._onnx import _same_pads
                pads = _same_pads(shape[1:], cfg["pool_size"], cfg["strides"], [1] * dims)
                order = [v for b, e in zip(reversed(pads[:dims]), reversed(pads[dims:])) for v in (b, e)]
                mods.append(tm.PoolSame("max" if kind.startswith("Max") else "avg", cfg["pool_size"],
                                                cfg["strides"], order))
            else:
                cls = getattr(nn, f"{'Max' if kind.startswith('Max') else 'Avg'}Pool{dims}d")
                mods.append(cls(tuple(cfg["pool_size"]), stride=tuple(cfg["strides"])))
        elif kind.startswith("Global"):
            dims = 1 if kind.endswith("1D") else 2
            cls = getattr(nn, f"Adaptive{'Max' if 'Max' in kind else 'Avg'}Pool{dims}d")
            mods += [cls(1), nn.Flatten()]
        elif kind == "ZeroPadding2D":
            (top, bottom), (left, right) = cfg["padding"]
            mods.append(nn.ZeroPad2d((left, right, top, bottom)))
        elif kind == "BatchNormalization":
            if cfg.get("center", True) != cfg.get("scale", True):
                raise ValueError(f"to_torch: layer {k}: BatchNorm in PyTorch has both gamma and beta or neither")
            cls = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
            bn = cls(shape[0], eps=float(cfg["eps"]), momentum=float(cfg["momentum"]),
                     affine=bool(cfg.get("scale", True)), dtype=dtype)
            if cfg.get("scale", True):
                param(bn, "weight", t["gamma"])
                param(bn, "bias", t["beta"])
            param(bn, "running_mean", t["running_mean"])
            param(bn, "running_var", t["running_var"])
            mods.append(bn)
        elif kind == "LayerNormalization":
            center, scale = bool(cfg.get("center", True)), bool(cfg.get("scale", True))
            # PyTorch has a bias only beside a weight: without gamma, the weight is ones and not trained.
            ln = nn.LayerNorm(shape[-1], eps=float(cfg["eps"]), elementwise_affine=center or scale, bias=center,
                              dtype=dtype)
            if scale:
                param(ln, "weight", t["gamma"])
            elif center:
                ln.weight.requires_grad_(False)
            if center:
                param(ln, "bias", t["beta"])
            mods.append(ln)
        elif kind == "Embedding":
            emb = tm.EmbeddingIds(int(cfg["num_embeddings"]), int(cfg["embedding_dim"]),
                                          padding_idx=cfg.get("padding_idx"), dtype=dtype)
            param(emb, "weight", t["W"])
            mods.append(emb)
            masks = masks or cfg.get("padding_idx") is not None
        elif kind == "Masking":
            masks = True
        elif kind in ("SimpleRNN", "LSTM", "GRU"):
            _warn_left_out(k, cfg)
            rnn = _torch_rnn(nn, torch, cfg, [t], shape[-1], dtype)
            mods.append(tm.RecurrentModule(rnn, bool(cfg["return_sequences"]), bool(cfg.get("go_backwards"))))
        elif kind == "Bidirectional":
            inner = cfg["layer"]
            if inner.get("go_backwards"):
                raise ValueError(f"to_torch: layer {k}: Bidirectional over a go_backwards layer has no PyTorch form")
            _warn_left_out(k, inner)
            halves = [{n[len(p):]: v for n, v in t.items() if n.startswith(p)} for p in ("forward_", "backward_")]
            rnn = _torch_rnn(nn, torch, inner, halves, shape[-1], dtype)
            mods.append(tm.RecurrentModule(rnn, bool(inner["return_sequences"]), False, cfg["merge_mode"]))
        else:
            raise ValueError(f"to_torch: layer {k} ({kind}) has no PyTorch module here")
        shape = out_shape
    if masks:
        warnings.warn("to_torch: the model masks padded steps (Embedding padding_idx or Masking); PyTorch's "
                      "recurrent modules do not, so outputs agree only on sequences without padding (PyTorch "
                      "handles padding with packed sequences)", UserWarning, stacklevel=2)
    seq = nn.Sequential(*mods)
    seq.train(model.training)
    return seq


# ------------------------------------------------------ torch -> entrena
def _entrena_activation(m, nn):
    """The entrena activation layer for a torch activation module, or None."""
    simple = {nn.ReLU: L.ReLU, nn.Sigmoid: L.Sigmoid, nn.Tanh: L.Tanh, nn.SiLU: L.SiLU}
    for cls, layer in simple.items():
        if type(m) is cls:
            return layer()
    if type(m) is nn.LeakyReLU:
        return L.LeakyReLU(float(m.negative_slope))
    if type(m) is nn.ELU:
        return L.ELU(float(m.alpha))
    if type(m) is nn.GELU:
        return L.GELU(m.approximate)
    if type(m) is nn.Softplus:
        if m.beta != 1 or m.threshold != 20:
            raise ValueError(f"from_torch: {m!r}: entrena's softplus is beta=1, threshold=20")
        return L.Softplus()
    if type(m) in (nn.Softmax, nn.LogSoftmax):    # its axis is checked once the shapes are known
        return L.Softmax() if type(m) is nn.Softmax else L.LogSoftmax()
    return None


def _flat_modules(module, nn):
    if isinstance(module, nn.Sequential):
        if type(module).forward is not nn.Sequential.forward:
            raise ValueError(f"from_torch: {type(module).__name__} is an nn.Sequential with its own forward(), "
                             "which entrena cannot follow; convert an nn.Sequential that runs its modules in order")
        out = []
        for m in module:
            out += _flat_modules(m, nn)
        return out
    return [module]


def _padding_of(m, dims):
    if isinstance(m.padding, str):
        return m.padding
    p = tuple(m.padding) if isinstance(m.padding, (tuple, list)) else (m.padding,) * dims
    return "valid" if not any(p) else list(p)


def _arr(t):
    return t.detach().cpu().numpy()


def from_torch(module, input_shape=None, *, dtype=None, seed=None):
    """An entrena Sequential with the layers and weights of ``module`` (an
    ``nn.Sequential``, nested ones included, or one module). ``input_shape``
    (per sample, without the batch) is needed unless the first module is a
    Linear (its in_features). ``dtype``: the module's by default."""
    torch = _torch()
    nn = torch.nn
    from ..models import Sequential
    tm = _modules()
    if not isinstance(module, nn.Module):
        raise TypeError(f"module: expected a torch.nn.Module (an nn.Sequential or one layer), got "
                        f"{type(module).__name__}")
    meta = [name for name, t in list(module.named_parameters()) + list(module.named_buffers())
            if t.device.type == "meta"]
    if meta:
        raise ValueError(f"from_torch: {meta[0]} is on the meta device (no data); materialize the module first "
                         "(e.g. module.to_empty(device='cpu') and load its weights)")
    mods = _flat_modules(module, nn)
    frozen = [name for name, p in module.named_parameters() if not p.requires_grad]
    if frozen:
        warnings.warn(f"from_torch: parameters {', '.join(frozen[:5])}{' ...' if len(frozen) > 5 else ''} are "
                      "frozen (requires_grad=False); entrena trains every parameter", UserWarning, stacklevel=2)
    if dtype is None:
        first = next((p for p in list(module.parameters()) + list(module.buffers()) if p.is_floating_point()), None)
        dtype = "float64" if first is not None and first.dtype == torch.float64 else "float32"
    layers, weights = [], []      # weights[i]: {tensor name: array} for layers[i]
    same_pads, softmax_dims = {}, {}   # checked once the shapes are known
    i = 0
    while i < len(mods):
        m = mods[i]
        nxt = mods[i + 1] if i + 1 < len(mods) else None
        act = _entrena_activation(m, nn)
        if act is not None:
            layers.append(act)
            weights.append({})
            if type(m) in (nn.Softmax, nn.LogSoftmax):
                softmax_dims[len(layers) - 1] = m.dim
        elif isinstance(m, (nn.Identity,)):
            pass
        elif type(m) is nn.Linear:
            layers.append(L.Dense(m.out_features, use_bias=m.bias is not None))
            weights.append({"W": _arr(m.weight).T, **({"b": _arr(m.bias)} if m.bias is not None else {})})
            if input_shape is None and not layers[:-1]:
                input_shape = (m.in_features,)
        elif type(m) is nn.Dropout:
            layers.append(L.Dropout(float(m.p)))
            weights.append({})
        elif type(m) is nn.Flatten:
            if m.start_dim != 1 or m.end_dim != -1:
                raise ValueError(f"from_torch: {m!r}: entrena's Flatten keeps the batch axis only (start_dim=1)")
            layers.append(L.Flatten())
            weights.append({})
        elif type(m) in (nn.Conv1d, nn.Conv2d):
            if m.padding_mode != "zeros":
                raise ValueError(f"from_torch: {m!r}: entrena pads convolutions with zeros only")
            dims = 1 if type(m) is nn.Conv1d else 2
            cls = L.Conv1D if dims == 1 else L.Conv2D
            layers.append(cls(m.out_channels, list(m.kernel_size), strides=list(m.stride),
                              padding=_padding_of(m, dims), dilation_rate=list(m.dilation), groups=m.groups,
                              use_bias=m.bias is not None))
            weights.append({"W": _arr(m.weight), **({"b": _arr(m.bias)} if m.bias is not None else {})})
        elif type(m) in (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d):
            dims = 1 if type(m) in (nn.MaxPool1d, nn.AvgPool1d) else 2
            pad = m.padding if isinstance(m.padding, (tuple, list)) else (m.padding,)
            if getattr(m, "divisor_override", None) is not None:
                raise ValueError(f"from_torch: {m!r}: entrena's average pooling divides by the window size "
                                 "(no divisor_override)")
            if any(pad) or m.ceil_mode or getattr(m, "dilation", 1) not in (1, (1,) * dims):
                raise ValueError(f"from_torch: {m!r}: entrena pools without padding, dilation or ceil_mode")
            k = m.kernel_size if isinstance(m.kernel_size, (tuple, list)) else (m.kernel_size,) * dims
            s = m.stride if isinstance(m.stride, (tuple, list)) else (m.stride,) * dims
            name = f"{'Max' if type(m) in (nn.MaxPool1d, nn.MaxPool2d) else 'Avg'}Pool{dims}D"
            layers.append(getattr(L, name)(list(k), strides=list(s)))
            weights.append({})
        elif type(m) in (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d):
            size = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,)
            if any(v != 1 for v in size) or type(nxt) is not nn.Flatten:
                raise ValueError(f"from_torch: {m!r}: entrena has global pooling (output size 1, then Flatten)")
            dims = 1 if type(m) in (nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d) else 2
            kind = "Max" if "Max" in type(m).__name__ else "Average"
            layers.append(getattr(L, f"Global{kind}Pooling{dims}D")())
            weights.append({})
            i += 1                 # the Flatten
        elif type(m) is nn.ZeroPad2d:
            left, right, top, bottom = m.padding
            layers.append(L.ZeroPadding2D(((top, bottom), (left, right))))
            weights.append({})
        elif type(m) in (nn.BatchNorm1d, nn.BatchNorm2d):
            if not m.track_running_stats or m.momentum is None:
                raise ValueError(f"from_torch: {m!r}: entrena keeps running statistics with a momentum")
            layers.append(L.BatchNormalization(momentum=float(m.momentum), eps=float(m.eps), center=m.affine,
                                               scale=m.affine))
            w = {"running_mean": _arr(m.running_mean), "running_var": _arr(m.running_var)}
            if m.affine:
                w.update({"gamma": _arr(m.weight), "beta": _arr(m.bias)})
            weights.append(w)
        elif type(m) is nn.LayerNorm:
            if len(m.normalized_shape) != 1:
                raise ValueError(f"from_torch: {m!r}: entrena normalizes over the last axis only")
            bias = getattr(m, "bias", None)
            layers.append(L.LayerNormalization(eps=float(m.eps), center=bias is not None,
                                               scale=m.elementwise_affine))
            w = {}
            if m.elementwise_affine:
                w["gamma"] = _arr(m.weight)
            if bias is not None:
                w["beta"] = _arr(bias)
            weights.append(w)
        elif isinstance(m, nn.Embedding):
            if m.max_norm is not None:
                raise ValueError(f"from_torch: {m!r}: entrena's Embedding has no max_norm")
            if m.scale_grad_by_freq or m.sparse:
                warnings.warn(f"from_torch: {m!r}: entrena's Embedding has dense gradients, not scaled by "
                              "frequency (scale_grad_by_freq, sparse are dropped)", UserWarning, stacklevel=2)
            if m.padding_idx is not None:
                warnings.warn(f"from_torch: {m!r}: in entrena padding_idx also masks those steps for the layers "
                              "after it (recurrent layers skip them, losses leave them out); PyTorch only keeps "
                              "that row at zero, so outputs differ on sequences that contain it", UserWarning,
                              stacklevel=2)
            layers.append(L.Embedding(m.num_embeddings, m.embedding_dim, padding_idx=m.padding_idx))
            weights.append({"W": _arr(m.weight)})
        elif type(m) in (nn.RNN, nn.LSTM, nn.GRU):
            layers_w = _recurrent_from_torch(m, nn, return_sequences=True)
            for layer, w in layers_w:
                layers.append(layer)
                weights.append(w)
        elif type(m) is tm.RecurrentModule:
            for layer, w in _recurrent_from_torch(m.rnn, nn, bool(m.return_sequences), bool(m.go_backwards),
                                                  m.merge_mode):
                layers.append(layer)
                weights.append(w)
        elif type(m) is tm.GaussianNoise:
            layers.append(L.GaussianNoise(float(m.stddev)))
            weights.append({})
        elif type(m) is nn.ZeroPad1d and type(nxt) is nn.Conv1d and not any(_as_tuple(nxt.padding)):
            # to_torch's form of Conv1D(padding="same") with uneven pads: checked against the shapes below.
            layers.append(L.Conv1D(nxt.out_channels, list(nxt.kernel_size), strides=list(nxt.stride),
                                   padding="same", dilation_rate=list(nxt.dilation), groups=nxt.groups,
                                   use_bias=nxt.bias is not None))
            weights.append({"W": _arr(nxt.weight), **({"b": _arr(nxt.bias)} if nxt.bias is not None else {})})
            same_pads[len(layers) - 1] = tuple(m.padding)
            i += 1
        elif type(m) is tm.PoolSame:
            dims = len(m.pool_size)
            name = f"{'Max' if m.kind == 'max' else 'Avg'}Pool{dims}D"
            layers.append(getattr(L, name)(list(m.pool_size), strides=list(m.strides), padding="same"))
            weights.append({})
        elif type(m) is tm.Reshape:
            layers.append(L.Reshape(tuple(m.shape)))
            weights.append({})
        elif type(m) is tm.Standardize:
            layers.append(L.Normalization())
            weights.append({"mean": _arr(m.mean), "variance": _arr(m.variance)})
        else:
            raise ValueError(f"from_torch: {type(m).__name__} has no entrena layer here ({m!r})")
        i += 1
    if not layers:
        raise ValueError("from_torch: the module has no layer entrena can take")
    if input_shape is None:
        raise ValueError("input_shape: needed (per sample, without the batch) when the first module is not a Linear")
    model = Sequential(layers, input_shape=input_shape, dtype=dtype, seed=seed)
    core = model._core
    _check_shapes(model, same_pads, softmax_dims)
    for k, w in enumerate(weights):
        views = {name: a for name, a, *_ in core.layer_params(k)}
        views.update(dict(core.layer_buffers(k)))
        for name, value in w.items():
            if name not in views:
                raise ValueError(f"from_torch: layer {k} ({type(layers[k]).__name__}) has no tensor {name!r}")
            if views[name].shape != value.shape:
                raise ValueError(f"from_torch: layer {k} ({type(layers[k]).__name__}) {name}: expected shape "
                                 f"{views[name].shape}, got {value.shape}")
            views[name][...] = value
    model._trained = True
    return model


def _as_tuple(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


def _check_shapes(model, same_pads, softmax_dims):
    """What from_torch could only check with the shapes: that a ZeroPad1d +
    Conv1d pair pads as "same" does, and that Softmax runs over the last axis."""
    core = model._core

    def in_shape(k):
        return tuple(model.input_shape) if k == 0 else tuple(core.layer_output_shape(k - 1))
    for k, pads in same_pads.items():
        cfg = model.layers[k].engine_config()
        from ._onnx import _same_pads
        want = _same_pads(in_shape(k)[1:], cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"])
        if tuple(want) != pads:
            raise ValueError(f"from_torch: ZeroPad1d{pads} + Conv1d: entrena's Conv1D pads only as 'same' does "
                             f"({tuple(want)} here)")
    for k, dim in softmax_dims.items():
        ndim = len(in_shape(k)) + 1
        axis = (0 if ndim in (0, 1, 3) else 1) if dim is None else dim % ndim   # PyTorch's implicit rule for None
        if axis != ndim - 1:
            raise ValueError(f"from_torch: Softmax/LogSoftmax(dim={dim}) on {ndim}-D inputs runs over axis {axis}; "
                             "entrena's runs over the last axis (give dim=-1)")


def _recurrent_from_torch(rnn, nn, return_sequences, go_backwards=False, merge_mode="concat"):
    """[(layer, weights)] for an nn.RNN / LSTM / GRU: one entrena layer per
    PyTorch layer, Bidirectional when it is bidirectional; the last one
    returns what the module's output stands for."""
    if not rnn.batch_first:
        raise ValueError(f"from_torch: {rnn!r}: entrena's sequences are batch first; use batch_first=True")
    if getattr(rnn, "proj_size", 0):
        raise ValueError(f"from_torch: {rnn!r}: entrena's LSTM has no projection (proj_size)")
    if rnn.dropout and rnn.num_layers > 1:
        warnings.warn(f"from_torch: {rnn!r}: the dropout between stacked layers is left out", UserWarning,
                      stacklevel=3)
    kind = {nn.RNN: "SimpleRNN", nn.LSTM: "LSTM", nn.GRU: "GRU"}[type(rnn)]
    out = []
    for layer in range(rnn.num_layers):
        last = layer == rnn.num_layers - 1
        args = {"return_sequences": return_sequences or not last}
        if kind == "SimpleRNN":
            args["activation"] = rnn.nonlinearity
        if not rnn.bias:
            args["use_bias"] = False
        cell = getattr(L, kind)(rnn.hidden_size, go_backwards=go_backwards and not rnn.bidirectional, **args)

        def part(suffix):
            w = {"W_ih": _arr(getattr(rnn, f"weight_ih_l{layer}{suffix}")).T,
                 "W_hh": _arr(getattr(rnn, f"weight_hh_l{layer}{suffix}")).T}
            if rnn.bias:
                w["b_ih"] = _arr(getattr(rnn, f"bias_ih_l{layer}{suffix}"))
                w["b_hh"] = _arr(getattr(rnn, f"bias_hh_l{layer}{suffix}"))
            return w
        if rnn.bidirectional:
            merge = merge_mode if last else "concat"
            w = {f"forward_{k}": v for k, v in part("").items()}
            w.update({f"backward_{k}": v for k, v in part("_reverse").items()})
            out.append((L.Bidirectional(cell, merge_mode=merge), w))
        else:
            out.append((cell, part("")))
    return out
