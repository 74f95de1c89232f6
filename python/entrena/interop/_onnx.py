"""ONNX export: a built Sequential as an ONNX graph made with the ``onnx``
package's helpers, one node group per layer, float32, with a dynamic batch
dimension. The inference graph: Dropout, GaussianNoise and the random
augmentation layers are identities (RandomCrop takes its centre window),
BatchNormalization uses its running statistics.

Layouts: Dense's W (in, out) is MatMul's right operand as it is; convolution
weights are ONNX's own; recurrent layers become ONNX RNN / LSTM / GRU nodes
with the weights transposed and the gate blocks reordered (LSTM i, f, g, o
-> i, o, f, c; GRU r, z, n -> z, r, h with linear_before_reset = 1).

Masks over steps (Embedding's padding_idx, Masking) become the recurrent
nodes' ``sequence_lens``: the number of real steps of each sequence. That
is exact when the padding is at the end of the sequences (post-padding);
ONNX's recurrent operators cannot skip steps in the middle or at the start.
"""
from __future__ import annotations

import math
import numbers
import os
import warnings

import numpy as np

_TRANSPARENT = {"Dropout", "GaussianNoise", "RandomFlip", "RandomTranslation", "RandomRotation"}
# entrena gate blocks -> ONNX gate blocks (positions of entrena's blocks in ONNX order).
_GATE_ORDER = {"SimpleRNN": [0], "LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2]}
_ONNX_RNN_OP = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as e:
        raise ImportError("export_onnx needs the onnx package: pip install 'entrena[onnx]'") from e
    return onnx, helper, numpy_helper


class _Graph:
    """Nodes and initializers, with unique names."""

    def __init__(self, opset: int):
        self.onnx, self.helper, self.numpy_helper = _onnx()
        self.opset = opset
        self.nodes, self.initializers, self._used = [], [], set()

    def name(self, base: str) -> str:
        k, name = 0, base
        while name in self._used:
            k += 1
            name = f"{base}_{k}"
        self._used.add(name)
        return name

    def const(self, value, base: str, dtype=np.float32) -> str:
        name = self.name(base)
        # np.array, not ascontiguousarray: a scalar stays a scalar.
        self.initializers.append(self.numpy_helper.from_array(np.array(value, dtype=dtype, order="C"), name))
        return name

    def op(self, op_type: str, inputs, base: str, outputs: int = 1, **attrs):
        names = [self.name(f"{base}_{op_type.lower()}" + (f"_{i}" if outputs > 1 else "")) for i in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names, name=self.name(f"{base}/{op_type}"),
                                                **attrs))
        return names[0] if outputs == 1 else names


# ----------------------------------------------------------- activations
def _activation(g: _Graph, x: str, name, cfg: dict, base: str) -> str:
    if name in (None, "identity", "linear"):
        return x
    if name == "sigmoid":
        return g.op("Sigmoid", [x], base)
    if name == "tanh":
        return g.op("Tanh", [x], base)
    if name == "relu":
        return g.op("Relu", [x], base)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], base, alpha=float(cfg.get("alpha", 0.01)))
    if name == "elu":
        return g.op("Elu", [x], base, alpha=float(cfg.get("alpha", 1.0)))
    if name == "softplus":
        return g.op("Softplus", [x], base)
    if name == "softmax":
        return g.op("Softmax", [x], base, axis=-1)
    if name == "log_softmax":
        return g.op("LogSoftmax", [x], base, axis=-1)
    if name == "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x], base)], base)
    if name in ("gelu", "gelu_tanh"):
        if g.opset >= 20:
            return g.op("Gelu", [x], base, approximate="none" if name == "gelu" else "tanh")
        half = g.const(0.5, f"{base}_half")
        one = g.const(1.0, f"{base}_one")
        if name == "gelu":      # x/2 (1 + erf(x / sqrt 2))
            inner = g.op("Erf", [g.op("Mul", [x, g.const(1 / math.sqrt(2.0), f"{base}_rsqrt2")], base)], base)
        else:                   # x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            cube = g.op("Mul", [x, g.op("Mul", [x, x], base)], base)
            poly = g.op("Add", [x, g.op("Mul", [cube, g.const(0.044715, f"{base}_c")], base)], base)
            inner = g.op("Tanh", [g.op("Mul", [poly, g.const(math.sqrt(2 / math.pi), f"{base}_k")], base)], base)
        return g.op("Mul", [g.op("Mul", [x, half], base), g.op("Add", [one, inner], base)], base)
    raise ValueError(f"export_onnx: activation {name!r} has no ONNX form here")


# ------------------------------------------------------------- geometry
def _same_pads(spatial, kernel, strides, dilation):
    """Keras' "same": out = ceil(in / s), the extra row or column at the end."""
    begin, end = [], []
    for n, k, s, d in zip(spatial, kernel, strides, dilation):
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return begin + end


def _pads(padding, spatial, kernel, strides, dilation):
    if padding == "valid":
        return [0] * (2 * len(spatial))
    if padding == "same":
        return _same_pads(spatial, kernel, strides, dilation)
    p = list(padding) if isinstance(padding, (list, tuple)) else [padding] * len(spatial)
    return [int(v) for v in p] * 2


# --------------------------------------------------------------- layers
class _Exporter:
    def __init__(self, model, opset: int):
        self.model, self.g = model, _Graph(opset)
        self.core = model._core
        self.lens = None        # int32 (N,) real steps, once a layer makes a mask

    def tensors(self, k) -> dict:
        out = {name: np.asarray(a, dtype=np.float32) for name, a, *_ in self.core.layer_params(k)}
        out.update({name: np.asarray(a, dtype=np.float32) for name, a in self.core.layer_buffers(k)})
        return out

    def layer(self, k: int, cfg: dict, x: str, in_shape: tuple, out_shape: tuple) -> str:
        g, kind = self.g, cfg["type"]
        base = f"layers.{k}"
        t = self.tensors(k)
        if kind in _TRANSPARENT:
            return x
        if kind == "Dense":
            y = g.op("MatMul", [x, g.const(t["W"], f"{base}.W")], base)
            if "b" in t:
                y = g.op("Add", [y, g.const(t["b"], f"{base}.b")], base)
            return _activation(g, y, cfg.get("activation"), cfg, base)
        if kind == "Activation":
            return _activation(g, x, cfg["activation"], cfg, base)
        if kind == "Flatten":
            return g.op("Flatten", [x], base, axis=1)
        if kind == "Reshape":
            return g.op("Reshape", [x, g.const([0, *out_shape], f"{base}.shape", np.int64)], base)
        if kind == "Normalization":
            denom = np.maximum(np.sqrt(t["variance"].astype(np.float64)), 1e-7)
            y = g.op("Sub", [x, g.const(t["mean"], f"{base}.mean")], base)
            return g.op("Div", [y, g.const(denom, f"{base}.std")], base)
        if kind in ("Conv1D", "Conv2D"):
            spatial = in_shape[1:]
            pads = _pads(cfg["padding"], spatial, cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"])
            inputs = [x, g.const(t["W"], f"{base}.W")] + ([g.const(t["b"], f"{base}.b")] if "b" in t else [])
            y = g.op("Conv", inputs, base, kernel_shape=list(cfg["kernel_size"]), strides=list(cfg["strides"]),
                     dilations=list(cfg["dilation_rate"]), group=int(cfg["groups"]), pads=pads)
            return _activation(g, y, cfg.get("activation"), cfg, base)
        if kind in ("MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D"):
            spatial = in_shape[1:]
            pads = _pads(cfg["padding"], spatial, cfg["pool_size"], cfg["strides"], [1] * len(spatial))
            attrs = dict(kernel_shape=list(cfg["pool_size"]), strides=list(cfg["strides"]), pads=pads)
            if kind.startswith("Max"):
                return g.op("MaxPool", [x], base, **attrs)
            return g.op("AveragePool", [x], base, count_include_pad=0, **attrs)
        if kind.startswith("Global"):
            op = "GlobalMaxPool" if "Max" in kind else "GlobalAveragePool"
            return g.op("Flatten", [g.op(op, [x], base)], base, axis=1)
        if kind == "RandomCrop":      # the centre window of the padded image
            p, (h, w) = int(cfg["padding"]), (int(cfg["height"]), int(cfg["width"]))
            if p:
                x = g.op("Pad", [x, g.const([0, 0, p, p, 0, 0, p, p], f"{base}.pads", np.int64)], base, mode="constant")
            top, left = (in_shape[1] + 2 * p - h) // 2, (in_shape[2] + 2 * p - w) // 2
            return g.op("Slice", [x, g.const([top, left], f"{base}.starts", np.int64),
                                  g.const([top + h, left + w], f"{base}.ends", np.int64),
                                  g.const([2, 3], f"{base}.axes", np.int64)], base)
        if kind == "ZeroPadding2D":
            (top, bottom), (left, right) = cfg["padding"]
            pads = g.const([0, 0, top, left, 0, 0, bottom, right], f"{base}.pads", np.int64)
            return g.op("Pad", [x, pads], base, mode="constant")
        if kind == "BatchNormalization":
            c = in_shape[0]
            scale = g.const(t.get("gamma", np.ones(c)), f"{base}.gamma")
            bias = g.const(t.get("beta", np.zeros(c)), f"{base}.beta")
            return g.op("BatchNormalization", [x, scale, bias, g.const(t["running_mean"], f"{base}.running_mean"),
                                               g.const(t["running_var"], f"{base}.running_var")], base,
                        epsilon=float(cfg["eps"]))
        if kind == "LayerNormalization":
            f = in_shape[-1]
            scale = g.const(t.get("gamma", np.ones(f)), f"{base}.gamma")
            bias = g.const(t.get("beta", np.zeros(f)), f"{base}.beta")
            return g.op("LayerNormalization", [x, scale, bias], base, axis=-1, epsilon=float(cfg["eps"]))
        if kind == "Embedding":
            ids = g.op("Cast", [x], base, to=self.g.onnx.TensorProto.INT64)
            if cfg.get("padding_idx") is not None:
                pad = g.const(np.array(cfg["padding_idx"], dtype=np.int64), f"{base}.padding_idx", np.int64)
                real = g.op("Not", [g.op("Equal", [ids, pad], base)], base)
                self._mask(real, base)
            return g.op("Gather", [g.const(t["W"], f"{base}.W"), ids], base, axis=0)
        if kind == "Masking":
            value = g.const(cfg["mask_value"], f"{base}.mask_value")
            padded = self.reduce("ReduceMin", g.op("Cast", [g.op("Equal", [x, value], base)], base,
                                                   to=g.onnx.TensorProto.FLOAT), -1, base)
            real = g.op("Not", [g.op("Cast", [padded], base, to=g.onnx.TensorProto.BOOL)], base)
            self._mask(real, base)
            keep = g.op("Unsqueeze", [g.op("Cast", [real], base, to=g.onnx.TensorProto.FLOAT),
                                      g.const([-1], f"{base}.axis", np.int64)], base)
            return g.op("Mul", [x, keep], base)
        if kind in _GATE_ORDER:
            return self.recurrent(base, cfg, [t], x, merge=None)
        if kind == "Bidirectional":
            inner = cfg["layer"]
            if inner.get("go_backwards"):
                raise ValueError("export_onnx: Bidirectional over a go_backwards layer has no ONNX form here")
            halves = [{k[len(p):]: v for k, v in t.items() if k.startswith(p)} for p in ("forward_", "backward_")]
            return self.recurrent(base, inner, halves, x, merge=cfg["merge_mode"])
        raise ValueError(f"export_onnx: layer {k} ({kind}) has no ONNX form here")

    def _mask(self, real: str, base: str) -> None:
        g = self.g
        steps = g.op("Cast", [real], base, to=g.onnx.TensorProto.INT32)
        self.lens = self.reduce("ReduceSum", steps, 1, base)

    def reduce(self, op: str, x: str, axis: int, base: str) -> str:
        """op over one axis, dropped. The axes are an input from opset 18
        (ReduceSum: 13), an attribute before."""
        g = self.g
        if op == "ReduceSum" or g.opset >= 18:
            return g.op(op, [x, g.const([axis], f"{base}.axes", np.int64)], base, keepdims=0)
        return g.op(op, [x], base, axes=[axis], keepdims=0)

    def recurrent(self, base: str, cfg: dict, directions: list, x: str, merge) -> str:
        g, kind = self.g, cfg["type"]
        order = _GATE_ORDER[kind]
        H = int(cfg["units"])

        def blocks(a):           # (..., G·H) with entrena's gate order -> ONNX's
            return np.concatenate([a[..., i * H:(i + 1) * H] for i in order], axis=-1)

        W = np.stack([blocks(d["W_ih"]).T for d in directions])          # (D, G·H, F)
        R = np.stack([blocks(d["W_hh"]).T for d in directions])          # (D, G·H, H)
        gh = len(order) * H
        B = np.stack([np.concatenate([blocks(d["b_ih"]) if "b_ih" in d else np.zeros(gh),
                                      blocks(d["b_hh"]) if "b_hh" in d else np.zeros(gh)]) for d in directions])
        D = len(directions)
        attrs = {"hidden_size": H,
                 "direction": "bidirectional" if D == 2 else ("reverse" if cfg.get("go_backwards") else "forward")}
        if kind == "SimpleRNN":
            attrs["activations"] = [cfg.get("activation", "tanh").capitalize()] * D
        if kind == "GRU":
            attrs["linear_before_reset"] = 1
        xt = g.op("Transpose", [x], base, perm=[1, 0, 2])                 # (T, N, F)
        inputs = [xt, g.const(W, f"{base}.W"), g.const(R, f"{base}.R"), g.const(B, f"{base}.B"),
                  self.lens or ""]
        outs = g.op(_ONNX_RNN_OP[kind], inputs, base, outputs=3 if kind == "LSTM" else 2, **attrs)
        Y, Y_h = outs[0], outs[1]
        if cfg.get("return_sequences"):
            y = g.op("Transpose", [Y], base, perm=[2, 0, 1, 3])           # (N, T, D, H)
            dir_axis, flat = 2, [0, 0, -1]
        else:
            y = g.op("Transpose", [Y_h], base, perm=[1, 0, 2])            # (N, D, H)
            dir_axis, flat = 1, [0, -1]
        if merge in (None, "concat"):
            return g.op("Reshape", [y, g.const(flat, f"{base}.shape", np.int64)], base)
        if merge == "sum":
            return self.reduce("ReduceSum", y, dir_axis, base)
        if merge == "ave":
            return self.reduce("ReduceMean", y, dir_axis, base)
        if merge == "mul":
            first = g.op("Gather", [y, g.const(np.array(0, dtype=np.int64), f"{base}.fwd", np.int64)], base,
                         axis=dir_axis)
            second = g.op("Gather", [y, g.const(np.array(1, dtype=np.int64), f"{base}.bwd", np.int64)], base,
                          axis=dir_axis)
            return g.op("Mul", [first, second], base)
        raise ValueError(f"export_onnx: merge_mode {merge!r} has no ONNX form here")


# Layers that act on each step alone and so pass a mask over steps on.
_STEPWISE = {"Dense", "Activation", "Dropout", "GaussianNoise", "LayerNormalization", "Normalization", "Masking",
             "Embedding"}


def _keeps_mask(cfg: dict, in_shape, out_shape) -> bool:
    """Whether the mask over steps survives the layer (the engine's
    MaskUse::Keep): step-wise layers and recurrent layers that return
    sequences, with the steps unchanged."""
    kind = cfg["type"]
    inner = cfg.get("layer", cfg) if kind == "Bidirectional" else cfg
    recurrent_seq = kind in (*_GATE_ORDER, "Bidirectional") and bool(inner.get("return_sequences"))
    same_steps = len(out_shape) >= 2 and len(in_shape) >= 1 and out_shape[0] == in_shape[0]
    return (kind in _STEPWISE or recurrent_seq) and same_steps


def _scaling(pair, name, parts, shape, divides=False):
    """A (a, b) pair of finite float32 arrays that broadcast to the per-sample
    shape (scalars or one value per feature); the divisor not 0."""
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise TypeError(f"{name}: expected a pair ({parts[0]}, {parts[1]}), got {type(pair).__name__}")
    out = []
    for part, value in zip(parts, pair):
        try:
            arr = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError):
            raise TypeError(f"{name}: {part} must be numbers, got {type(value).__name__}") from None
        try:
            fits = np.broadcast_shapes(arr.shape, tuple(shape)) == tuple(shape)
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{name}: {part} of shape {arr.shape} does not fit samples of shape {tuple(shape)}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name}: {part} must be finite, got {arr.reshape(-1)[~np.isfinite(arr.reshape(-1))][0]}")
        if divides and part == parts[1] and (arr == 0).any():
            raise ValueError(f"{name}: {part} must not be 0 (the input is divided by it)")
        out.append(arr)
    return out


def export_onnx(model, path=None, *, opset: int = 17, input_scaling=None, output_scaling=None):
    """Writes ``model`` (a built entrena Sequential) as an ONNX file at
    ``path`` (atomically) and returns the onnx.ModelProto; with path None,
    only returns it. ``opset`` 17 or newer.

    ``input_scaling=(mean, scale)`` puts (x - mean) / scale before the
    first layer and ``output_scaling=(scale, shift)`` y · scale + shift
    after the last (the CLI folds its standardization in this way)."""
    onnx, helper, _ = _onnx()
    if isinstance(opset, bool) or not isinstance(opset, numbers.Integral) or opset < 17:
        raise ValueError(f"opset: expected an integer >= 17, got {opset!r}")
    opset = int(opset)
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a file path (str or os.PathLike), got {type(path).__name__}")
    if opset > onnx.defs.onnx_opset_version():
        raise ValueError(f"opset: the installed onnx package knows opsets up to {onnx.defs.onnx_opset_version()}, "
                         f"got {opset}")
    core = model._require_core("export_onnx")
    ex = _Exporter(model, opset)
    x = "input"
    if input_scaling is not None:
        mean, scale = _scaling(input_scaling, "input_scaling", ("mean", "scale"), model.input_shape, divides=True)
        x = ex.g.op("Div", [ex.g.op("Sub", [x, ex.g.const(mean, "input.mean")], "input"),
                            ex.g.const(scale, "input.scale")], "input")
    shape = tuple(model.input_shape)
    masked = False
    for k, layer in enumerate(model.layers):
        cfg = layer.engine_config()
        out_shape = tuple(core.layer_output_shape(k))
        had_mask = ex.lens is not None
        x = ex.layer(k, cfg, x, shape, out_shape)
        masked = masked or ex.lens is not None
        if had_mask and not _keeps_mask(cfg, shape, out_shape):
            ex.lens = None       # as the engine: layers that change the steps drop the mask
        shape = out_shape
    if masked:
        warnings.warn("export_onnx: the model masks padded steps; the ONNX graph gives recurrent layers the number "
                      "of real steps per sequence (sequence_lens), which is exact when the padding is at the end "
                      "of each sequence", UserWarning, stacklevel=3)
    g = ex.g
    if output_scaling is not None:
        scale, shift = _scaling(output_scaling, "output_scaling", ("scale", "shift"), model.output_shape)
        x = g.op("Add", [g.op("Mul", [x, g.const(scale, "output.scale")], "output"), g.const(shift, "output.shift")],
                 "output")
    g.nodes.append(helper.make_node("Identity", [x], ["output"], name="output"))
    float_t = onnx.TensorProto.FLOAT
    graph = helper.make_graph(
        g.nodes, model.name or "entrena",
        [helper.make_tensor_value_info("input", float_t, ["batch", *model.input_shape])],
        [helper.make_tensor_value_info("output", float_t, ["batch", *model.output_shape])],
        initializer=g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="entrena", producer_version=_version())
    proto.ir_version = min(proto.ir_version, 10)   # readable by current ONNX Runtime releases
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        path = os.fspath(path)
        if not path or os.path.isdir(path):
            raise ValueError(f"path: expected a file path, got {path!r}"
                             f"{' (a directory)' if path and os.path.isdir(path) else ''}")
        tmp = f"{path}.tmp-{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                f.write(proto.SerializeToString())
            os.replace(tmp, path)
        except OSError as e:      # name the path asked for, not the temporary file
            raise type(e)(e.errno, f"{path}: cannot write: {e.strerror or e}") from None
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return proto


def _version() -> str:
    from .. import __version__
    return __version__
