"""Sequential models: Keras-style compile/fit/evaluate/predict and a
PyTorch-style step API. Parameters, gradients and optimizer state live in
the C++ engine; Python sees parameters as writable NumPy views."""
from __future__ import annotations

import fnmatch
import json
import math
import os
import tempfile
import warnings

import numpy as np

from . import _checks, _core
from . import callbacks as _callbacks
from . import data as _data
from . import distributed as _distributed
from . import layers as _layers
from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers
from . import weights as _weights
from .history import History


_PY_KEY = "entrena_python"   # model-file metadata: the Python compile settings


def _shape_text(shape) -> str:
    return "(n" + "".join(f", {d}" for d in shape) + ")"


class Output(np.ndarray):
    """The result of ``model(x)``: an ndarray that remembers its model, so
    that ``loss_fn(out, y); loss_fn.backward()`` reaches the model, and the
    mask over its steps (``mask``: (n, steps) bool, or None), so that the
    loss leaves padded steps out as fit does."""

    model = None
    mask = None

    def __array_finalize__(self, obj):
        # Derived arrays (slices, arithmetic) are plain results, not model outputs.
        self.model = None
        self.mask = None


class Parameters(list):
    """``model.parameters()``: the parameter views, plus the model they belong to."""

    def __init__(self, items, model):
        super().__init__(items)
        self.model = model


class Sequential:
    """A stack of layers, applied in order.

    >>> model = Sequential([Dense(64, activation="relu"), Dense(10)], seed=0)
    >>> model.compile(loss="categorical_crossentropy", optimizer=SGD(lr=0.1))
    >>> history = model.fit(X, y, epochs=10, batch_size=32)
    """

    def __init__(self, layers=None, *, input_shape=None, dtype="float32", seed: int | None = None,
                 name: str | None = None, precision: str | None = None):
        self.dtype = _checks.resolve_dtype(dtype)
        self._precision = _precision_name(precision, self.dtype)
        self._core_mod = _checks.core_module(self.dtype)
        # Without a seed, the next one from entrena.set_seed's generator.
        self.seed = (_core.next_seed() if seed is None
                     else _checks.check_int(seed, "seed", minimum=0, maximum=2**64 - 1))
        self.name = name or "sequential"
        self.layers = []
        self._input_shape = _layers._shape(input_shape, "input_shape")
        self._core = None
        self._training = True
        self.loss = None
        self.optimizer = None
        self.metrics = []
        self.stop_training = False
        self.history = None
        self.metadata = {}
        self._trained = False   # set by fit, optimizer steps, loading weights
        #: The class labels of a classifier trained on labels other than the
        #: class indices 0..C-1 (strings, [3, 7, 9], ...); predict_classes
        #: returns them. None: the labels are the class indices.
        self.classes_ = None
        for layer in layers or []:
            self.add(layer)
        # With the input shape known, the model is built at once (summary,
        # parameters() and predict work before fit).
        if self.layers and self._declared_input_shape() is not None:
            self.build(self._declared_input_shape())

    # ------------------------------------------------------------- building
    def add(self, layer) -> None:
        if isinstance(layer, _layers.Input):
            if self.layers or self._input_shape is not None:
                raise ValueError("layer: Input(shape) must come first, once")
            self._input_shape = layer.shape
            return
        if not isinstance(layer, _layers.Layer):
            raise TypeError(f"layer: expected an entrena layer, got {type(layer).__name__}")
        if self._core is not None:
            raise RuntimeError("add: the model is already built; add layers before the first fit or call")
        if layer._model is not None:
            raise ValueError(f"layer: {layer!r} already belongs to a model")
        layer._model = self
        self.layers.append(layer)

    def _declared_input_shape(self):
        """The input shape given to the model (input_shape=, Input) or to its first layer."""
        if self._input_shape is not None:
            return self._input_shape
        return self.layers[0].input_shape if self.layers else None

    @property
    def built(self) -> bool:
        return self._core is not None

    @property
    def precision(self) -> str:
        """"float32" (or "float64" for float64 models), or "bf16": the matrix
        products of every layer take bfloat16 operands with float32
        accumulation (Keras' "mixed_bfloat16"), in fit, evaluate and predict;
        parameters, gradients, optimizer state, losses and normalizations stay
        float32 and model files are unchanged. Settable at any time."""
        return self._precision if self._precision == "bf16" else self.dtype.name

    @precision.setter
    def precision(self, value) -> None:
        self._precision = _precision_name(value, self.dtype)
        if self._core is not None:
            self._core.bf16 = self._precision == "bf16"

    def build(self, input_shape) -> None:
        """Creates the engine for per-sample inputs of ``input_shape`` (an int
        or a tuple, without the batch dimension) and initialises parameters."""
        if self._core is not None:
            raise RuntimeError("build: the model is already built")
        if not self.layers:
            raise ValueError("build: the model has no layers; add some first")
        input_shape = _layers._shape(input_shape, "input_shape")
        core = self._core_mod.Sequential(self.seed)
        for layer in self.layers:      # layer k is the engine's layer k
            core.add(layer._config_json())
        core.build(list(input_shape))
        core.bf16 = self._precision == "bf16"
        self._core = core
        _checks.register_model(core, self)
        for i, layer in enumerate(self.layers):
            if isinstance(layer, _layers.Normalization):
                layer._apply_pending(dict(core.layer_buffers(i)))
        if self.optimizer is not None and self.optimizer._exclude:
            self.set_param_options(self.optimizer._exclude, weight_decay=False)

    def _ensure_built(self, X: np.ndarray) -> None:
        if self._core is None:
            declared = self._declared_input_shape()
            if declared is not None and X.shape[1:] != declared:
                raise ValueError(f"X: expected shape {_shape_text(declared)} (the model's input_shape), "
                                 f"got {X.shape}")
            self.build(X.shape[1:])

    def _require_core(self, what: str):
        if self._core is None:
            raise RuntimeError(f"{what}: the model is not built yet; call fit, build or the model first")
        return self._core

    @property
    def input_shape(self):
        return tuple(self._require_core("input_shape").input_shape)

    @property
    def output_shape(self):
        return tuple(self._require_core("output_shape").output_shape)

    # ------------------------------------------------------------ parameters
    def parameters(self) -> Parameters:
        """Writable NumPy views of every parameter tensor (no copy), in order."""
        core = self._require_core("parameters")
        return Parameters([p for _, p, _ in self._named()], self)

    def named_parameters(self):
        """[(name, view)] with names like 'dense_0.W'."""
        return [(n, p) for n, p, _ in self._named()]

    def gradients(self):
        """[(name, view)] of the gradient tensors, in the order of parameters()."""
        return [(n, g) for n, _, g in self._named()]

    def _named(self):
        core = self._require_core("parameters")
        out = []
        for li, layer in enumerate(self.layers):
            lname = layer.name or f"{type(layer).__name__.lower()}_{li}"
            for pname, p, g in core.layer_params(li):
                out.append((f"{lname}.{pname}", p, g))
        return out

    def named_buffers(self):
        """[(name, view)] of the state that is not trained (e.g. a
        Normalization layer's mean and variance), writable, in order."""
        core = self._require_core("buffers")
        out = []
        for li, layer in enumerate(self.layers):
            lname = layer.name or f"{type(layer).__name__.lower()}_{li}"
            out += [(f"{lname}.{bname}", v) for bname, v in core.layer_buffers(li)]
        return out

    def state_dict(self) -> dict:
        """{name: copy} of every parameter and buffer, in order."""
        return {n: p.copy() for n, p in self.named_parameters() + self.named_buffers()}

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copies tensors from ``state`` into the parameters and buffers
        (names and shapes must match; with strict=False missing and extra
        names are ignored). Nothing is changed if any tensor does not fit."""
        if not isinstance(state, dict):
            raise TypeError(f"state: expected a dict of arrays, got {type(state).__name__}")
        named = dict(self.named_parameters() + self.named_buffers())
        if strict:
            missing, extra = sorted(set(named) - set(state)), sorted(set(state) - set(named))
            if missing or extra:
                raise ValueError(f"state: names do not match the model (missing {missing}, "
                                 f"unexpected {extra})")
        staged = []
        for name, p in named.items():
            if name not in state:
                continue
            v = _checks.as_float_array(state[name], f"state[{name!r}]", self.dtype, min_ndim=0)
            if v.shape != p.shape:
                raise ValueError(f"state[{name!r}]: expected shape {p.shape}, got {v.shape}")
            staged.append((p, v))
        for p, v in staged:
            p[...] = v
        self._trained = True

    # ------------------------------------------------- parameter options
    def _matching(self, names, what="names") -> list:
        """Parameter names matching names or patterns: a full name
        ("dense_0.b"), a tensor's name in its layer ("b") or a pattern ("*.b")."""
        if isinstance(names, str):
            names = [names]
        full = [n for n, _ in self.named_parameters()]
        out = []
        for pat in names:
            if not isinstance(pat, str):
                raise TypeError(f"{what}: expected parameter names, got {type(pat).__name__}")
            hits = [n for n in full if n == pat or n.rsplit(".", 1)[-1] == pat or fnmatch.fnmatchcase(n, pat)]
            if not hits:
                raise ValueError(f"{what}: {pat!r} matches no parameter; parameters: {', '.join(full)}")
            out += [h for h in hits if h not in out]
        return out

    def _names_of(self, views, what) -> list:
        """The names of parameter views of this model."""
        named = self.named_parameters()
        by_address = {p.__array_interface__["data"][0]: n for n, p in named}
        out = []
        for v in views:
            addr = getattr(v, "__array_interface__", {}).get("data", (None,))[0]
            if addr not in by_address or _checks.model_of(v) is not self:
                raise ValueError(f"{what}: expected views of this model's parameters "
                                 "(from model.parameters())")
            out.append(by_address[addr])
        return out

    def param_options(self) -> dict:
        """{parameter name: {"weight_decay": bool}}: the options each
        parameter tensor carries (saved with the model)."""
        core = self._require_core("param_options")
        return {n: {"weight_decay": wd} for (n, _), wd in zip(self.named_parameters(), core.param_weight_decay())}

    def set_param_options(self, names, *, weight_decay: bool) -> None:
        """Sets the options of the parameters named (full names, names in
        their layer such as "b", or patterns such as "dense_*.W"):
        weight_decay=False makes the optimizer's weight decay skip them (as a
        PyTorch parameter group with weight_decay 0)."""
        core = self._require_core("set_param_options")
        if not isinstance(weight_decay, (bool, np.bool_)):
            raise TypeError(f"weight_decay: expected True or False, got {type(weight_decay).__name__}")
        index = {n: i for i, (n, _) in enumerate(self.named_parameters())}
        for n in self._matching(names):
            core.set_param_weight_decay(index[n], bool(weight_decay))

    def get_weights(self):
        """Copies of the parameter tensors (Keras style)."""
        return [p.copy() for p in self.parameters()]

    def set_weights(self, weights) -> None:
        names = [n for n, _ in self.named_parameters()]
        if len(weights) != len(names):
            raise ValueError(f"weights: expected {len(names)} arrays, got {len(weights)}")
        self.load_state_dict(dict(zip(names, weights)))

    def count_params(self) -> int:
        return int(self._require_core("count_params").num_params)

    # --------------------------------------------------------- Keras style
    def compile(self, loss="categorical_crossentropy", optimizer="sgd", metrics=None) -> None:
        """Chooses the loss, the optimizer and the metrics reported by fit/evaluate."""
        self.loss = _losses.get(loss)
        opt = _optimizers.get(optimizer)
        opt._set_model(self)
        self.optimizer = opt
        self.metrics = [_metrics.get(m) for m in (metrics or [])]
        names = [m.name for m in self.metrics]
        for n in names:
            if n == "loss" or n.startswith("val_") or names.count(n) > 1:
                raise ValueError(f"metrics: the name {n!r} is taken (by the loss, validation or another metric)")

    def _require_compiled(self, what):
        if self.loss is None or self.optimizer is None:
            raise RuntimeError(f"{what}: call compile(loss=..., optimizer=...) first")

    def _inputs(self, X, name="X", finite=False):
        # By default NaN and infinity are left to the engine, which checks
        # every input it is given without temporary arrays; fit checks here,
        # before anything (validation_split included) is used.
        X = _checks.as_float_array(X, name, self.dtype, min_ndim=2, finite=finite)
        if self._core is None:
            self._ensure_built(X)
        return X

    _CLASS_LOSSES = ("categorical_crossentropy", "multiclass_hinge", "binary_crossentropy",
                     "binary_crossentropy_with_logits", "hinge")

    def _encode_labels(self, y, name, classes, learn: bool):
        """Class labels of any kind (strings, or numbers that are not the
        class indices 0..C-1) -> (class indices, classes), given the classes
        known so far (None: the labels are the class indices). Labels that
        already are class indices pass unchanged. Nothing is stored here."""
        if self.loss.name not in self._CLASS_LOSSES:
            return y, classes
        arr = np.asarray(y)
        shape = self.output_shape
        width = shape[-1]
        if arr.ndim < 1 or (arr.shape[1:] != tuple(shape[:-1]) and not (width == 1 and arr.shape[1:] == shape)):
            return y, classes      # one-hot or probability rows: no labels to encode
        binary = width == 1
        if classes is None:
            if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
                return y, classes  # the loss's own checks say what is wrong
            if (binary and arr.dtype.kind == "f" and self.loss.name.startswith("binary_crossentropy")
                    and ((arr >= 0) & (arr <= 1)).all()):
                return y, classes  # targets in [0, 1] are probabilities (soft labels), not labels
            if arr.dtype.kind in "iub" or (arr.dtype.kind == "f" and (arr == np.round(arr)).all()):
                values = np.unique(arr)
                allowed = (-1, 0, 1) if binary else range(width)
                if len(values) and set(values.tolist()) <= set(allowed):
                    return y, classes   # already class indices (or 0/1, -1/+1 labels)
            if not learn:
                return y, classes
            if arr.dtype == object or arr.dtype.kind in "USfiub":
                try:
                    classes = np.unique(arr)
                except TypeError:
                    raise TypeError(f"{name}: class labels must be comparable (sortable), got a mix of "
                                    "types") from None
            else:
                raise TypeError(f"{name}: expected class labels, got an array of dtype {arr.dtype}")
            n_max = 2 if binary else width
            if len(classes) > n_max:
                raise ValueError(f"{name}: {len(classes)} distinct labels but the model has "
                                 f"{'one output (two classes)' if binary else f'{width} outputs'}; labels: "
                                 f"{classes[:10].tolist()}{' ...' if len(classes) > 10 else ''}")
        try:
            codes = np.searchsorted(classes, arr)
            ok = (codes < len(classes)) & (classes[np.minimum(codes, len(classes) - 1)] == arr)
        except TypeError:          # labels of another type than the classes: none of them is known
            codes, ok = None, np.zeros(arr.shape, dtype=bool)
        if not ok.all():
            bad = arr[~ok].reshape(-1)[0]
            raise ValueError(f"{name}: label {bad!r} is not one of the classes the model was trained on "
                             f"({classes[:10].tolist()}{' ...' if len(classes) > 10 else ''})")
        return codes, classes

    def _targets(self, y, n, name="y", classes=None, learn=False):
        """y -> (the targets the engine's loss takes, the classes they map to)."""
        if y is None:
            raise TypeError(f"{name}: expected an array of targets, got None")
        y, classes = self._encode_labels(y, name, classes, learn)
        try:
            t = self.loss.prepare_targets(y, self.output_shape, self.dtype)
        except (TypeError, ValueError) as e:
            if name == "y" or not str(e).startswith("y: "):
                raise
            raise type(e)(f"{name}: {str(e)[3:]}") from None    # the losses name their argument y
        if len(t) != n:
            raise ValueError(f"{name}: expected {n} rows (one per sample of X), got {len(t)}")
        return t, classes

    def fit(self, X, y, epochs: int = 1, batch_size: int = 32, *, shuffle: bool = True,
            drop_last: bool = False, validation_data=None, validation_split: float = 0.0,
            validation_tail: bool = False, callbacks=None, verbose: int = 1, seed: int | None = None,
            initial_epoch: int = 0, diagnose: bool = False, sample_weight=None,
            class_weight=None) -> History:
        """Trains for ``epochs`` passes over (X, y) in mini-batches.

        batch_size = len(X) is batch gradient descent, 1 is stochastic
        gradient descent. Each epoch runs in C++; returns a History.

        ``validation_split`` holds out that fraction of the samples for
        validation: a random sample (seeded by the model's seed, or by
        ``seed``), stratified by class for classifiers, so that sorted data
        still gives a fair validation set; ``validation_tail=True`` takes the
        last samples instead, as Keras does. ``diagnose=True`` prints what
        the learning curves say at the end (``History.diagnose()``).

        ``sample_weight`` (one weight per sample, or per output position)
        and ``class_weight`` (``{label: weight}`` or ``"balanced"``) make the
        loss a weighted mean (``entrena.weights``); ``validation_data`` may
        be ``(X_val, y_val, sample_weight_val)``. Metrics stay unweighted.
        """
        # In data-parallel training the ranks agree that every one of them is
        # ready, with the same data and arguments, before the engine starts: a
        # rank failing here would leave the others waiting in a collective.
        # (Rank 0's seed splits validation_split alike on every rank.)
        split_seed = _distributed.broadcast_object(seed if seed is not None else self.seed)
        failed = None
        try:
            self._require_compiled("fit")
            epochs = _checks.check_int(epochs, "epochs", minimum=0)
            batch_size = _checks.check_int(batch_size, "batch_size", minimum=1)
            verbose = _checks.check_int(verbose, "verbose", minimum=0)
            if not isinstance(diagnose, (bool, np.bool_)):
                raise TypeError(f"diagnose: expected True or False, got {type(diagnose).__name__}")
            initial_epoch = _checks.check_int(initial_epoch, "initial_epoch", minimum=0)
            if seed is not None:
                seed = _checks.check_int(seed, "seed", minimum=0, maximum=2**64 - 1)
                if self._core is None:
                    # The seed covers the initial weights of a model built by this fit too.
                    self.seed, seed = seed, None
            X = self._inputs(X, finite=True)
            Y, classes = self._targets(y, len(X), classes=self.classes_, learn=True)
            SW = _weights.sample_weights(sample_weight, len(X), self.output_shape, self.dtype)
            Wv = None
            if validation_data is not None and validation_split:
                raise ValueError("validation_split: give validation_data or validation_split, not both")
            if validation_split:
                frac = _checks.check_float(validation_split, "validation_split", minimum=0.0,
                                           maximum=1.0, open_min=True, open_max=True)
                n_val = int(math.floor(len(X) * frac))
                if n_val < 1 or n_val >= len(X):
                    raise ValueError(f"validation_split: {frac} of {len(X)} samples leaves no "
                                     "training or no validation sample")
                if validation_tail:
                    # Keras' rule: the last samples, as given.
                    train, val = slice(0, len(X) - n_val), slice(len(X) - n_val, len(X))
                else:
                    labels = Y if Y.ndim == 1 and self.loss.name in self._CLASS_LOSSES else None
                    rng = np.random.default_rng(split_seed)
                    train, val = _data._split_indices(len(X), [n_val], labels, True, rng)
                X, Xv, Y, Yv = X[train], X[val], Y[train], Y[val]
                if SW is not None:
                    SW, Wv = np.ascontiguousarray(SW[train]), np.ascontiguousarray(SW[val])
                    if not (SW > 0).any():
                        raise ValueError("sample_weight: every weight of the training part of validation_split is 0")
                    if not (Wv > 0).any():
                        raise ValueError("sample_weight: every weight of the validation part of validation_split is "
                                         "0, so the validation loss would be 0/0")
                validation_data = (Xv, Yv)
                val_prepared = True
            else:
                val_prepared = False
            # Class weights weigh the training loss only (as in Keras), and
            # "balanced" counts the training samples only; validation takes the
            # sample weights.
            W = _weights.with_class_weight(SW, class_weight, self.loss, Y, self.output_shape, classes, self.dtype)
            if validation_data is not None:
                if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                    raise ValueError("validation_data: expected a tuple (X_val, y_val) or (X_val, y_val, sample_weight_val)")
                Xv = _checks.as_float_array(validation_data[0], "validation_data X", self.dtype, min_ndim=2)
                if Xv.shape[1:] != self.input_shape:
                    raise ValueError(f"validation_data X: expected shape (n, "
                                     f"{', '.join(map(str, self.input_shape))}), got {Xv.shape}")
                Yv = validation_data[1] if val_prepared else self._targets(
                    validation_data[1], len(Xv), "validation_data y", classes)[0]
                if len(validation_data) == 3 and validation_data[2] is not None:
                    Wv = _weights.sample_weights(validation_data[2], len(Xv), self.output_shape, self.dtype,
                                                 "validation_data sample_weight")
                W, Wv = _weights.matching(W, Wv), _weights.matching(Wv, W)
                validation_data = (Xv, Yv) if Wv is None else (Xv, Yv, Wv)
            if drop_last and batch_size > len(X):
                raise ValueError(f"batch_size: {batch_size} is larger than the {len(X)} training samples "
                                 "and drop_last=True leaves no batch")

            if not _distributed.is_main():
                verbose = 0       # in data-parallel training, rank 0 reports
            history = History()
            # In data-parallel training a rank trains on ceil(n / P) samples.
            per_rank = -(-len(X) // _distributed.size())
            cbs = _callbacks.CallbackList(callbacks, model=self, history=history, verbose=verbose, epochs=epochs,
                                          steps=self.steps_per_epoch(per_rank, batch_size, drop_last))
            rules = self._training_rules(cbs.callbacks)
            loss_core = self.loss.core(self.dtype)
            opt_core = self.optimizer.core(self.dtype)
            metric_cores = [(m.name, m.core(self.dtype, self.loss)) for m in self.metrics]
            self.stop_training = False
            self.train()
            cbs.on_train_begin()
            what = {"samples": len(X), "sample shape": X.shape[1:], "dtype": str(X.dtype),
                    "parameters": self.count_params(), "batch_size": batch_size, "epochs": epochs,
                    "initial_epoch": initial_epoch, "shuffle": bool(shuffle), "drop_last": bool(drop_last),
                    "weighted": W is not None,
                    "validation samples": None if validation_data is None else len(validation_data[0])}
        except BaseException as e:
            failed, what = e, None
        _distributed.agree_to_start("fit", failed, what)

        def epoch_begin(epoch):
            cbs.on_epoch_begin(epoch)

        def epoch_end(epoch, logs):
            if "iterations" in logs:
                logs["iterations"] = int(logs["iterations"])
            cbs.on_epoch_end(epoch, logs)
            return not self.stop_training

        progress, every = cbs.progress_hook()
        self._warn_double_activation()
        self._trained = True
        self.classes_ = classes
        try:
            result = self._core_mod.fit(
                self._core, loss_core, opt_core, X, Y, epochs=epochs, batch_size=batch_size,
                shuffle=bool(shuffle), drop_last=bool(drop_last), initial_epoch=initial_epoch,
                seed=seed, validation=validation_data, metrics=metric_cores,
                schedule=rules["schedule"], schedule_monitor=rules["monitor"],
                early_stopping=[r._rule(self) for r in rules["early_stopping"]],
                on_epoch_begin=epoch_begin, on_epoch_end=epoch_end, progress=progress,
                progress_every=every, terminate_on_nonfinite=rules["terminate_on_nonfinite"], sample_weight=W,
                communicator=_distributed.communicator())
        except BaseException:
            cbs.close()       # progress bars and open files; the exception goes on
            raise
        for rule, res in zip(rules["early_stopping"], result["early_stopping"]):
            rule._report(res)
        logs = result["logs"]
        if "iterations" in logs:
            logs["iterations"] = [int(i) for i in logs["iterations"]]
        for epoch_index, epoch in enumerate(result["epoch"]):
            history._record(epoch, {k: v[epoch_index] for k, v in logs.items()})
        history.stop_reason = result["stop_reason"]
        cbs.on_train_end()
        self.history = history
        if diagnose and verbose and history.epochs:
            print("learning curves:\n" + str(history.diagnose()))
        return history

    def find_lr(self, X, y, *, start_lr: float = 1e-6, end_lr: float = 10.0, num_steps: int = 200,
                batch_size: int = 32, smoothing: float = 0.9, diverge: float = 4.0, margin: float = 1.0,
                seed: int = 0, plot=None):
        """The learning-rate range test: trains a copy of this compiled model
        (fresh optimizer state; this model is not changed) for ``num_steps``
        batches while the rate grows geometrically from ``start_lr`` to
        ``end_lr``, and returns the (lr, loss) curve with a suggested rate,
        where the smoothed loss falls fastest (``result.suggestion``).
        ``plot="lr.png"`` draws the curve (needs matplotlib). See
        ``entrena.lr_finder``."""
        from .lr_finder import find_lr
        return find_lr(self, X, y, start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, batch_size=batch_size,
                       smoothing=smoothing, diverge=diverge, margin=margin, seed=seed, plot=plot)

    def _warn_double_activation(self):
        """Warns when the last layer applies the activation the loss applies
        to its input again (softmax before cross-entropy from logits)."""
        last = self.layers[-1] if self.layers else None
        act = getattr(last, "activation", None) if last is not None else None
        pairs = {("softmax", "categorical_crossentropy"), ("sigmoid", "binary_crossentropy_with_logits")}
        if (act, self.loss.name) in pairs:
            warnings.warn(f"the model ends with {act} and the loss {self.loss.name} applies {act} to its input "
                          "(it takes raw scores, logits): the outputs go through it twice. Remove the final "
                          f"{act}" + (", or use binary_crossentropy (on probabilities)" if act == "sigmoid" else
                                      "; predict_proba gives probabilities"), UserWarning, stacklevel=3)

    @staticmethod
    def _training_rules(callbacks) -> dict:
        """The callbacks that are rules of the engine's epoch loop."""
        rules = {"schedule": None, "monitor": "", "early_stopping": [], "terminate_on_nonfinite": False}
        for cb in callbacks:
            if isinstance(cb, _callbacks.EarlyStopping):
                rules["early_stopping"].append(cb)
            elif isinstance(cb, (_callbacks.LearningRateScheduler, _callbacks.ReduceLROnPlateau)):
                if rules["schedule"] is not None:
                    raise ValueError("callbacks: one learning-rate schedule per fit (LearningRateScheduler "
                                     "or ReduceLROnPlateau)")
                rules["schedule"], rules["monitor"] = cb._schedule(cb.model)
            elif isinstance(cb, _callbacks.TerminateOnNaN):
                rules["terminate_on_nonfinite"] = True
        return rules

    @staticmethod
    def steps_per_epoch(n: int, batch_size: int, drop_last: bool = False) -> int:
        """Iterations per epoch: ceil(n / batch_size), or floor with drop_last."""
        return n // batch_size if drop_last else -(-n // batch_size)

    def evaluate(self, X, y, batch_size: int = 1024, *, return_dict: bool = True, sample_weight=None):
        """Loss and metrics on (X, y) in inference mode (the engine computes
        both in one pass over the batches). With ``sample_weight`` the loss
        is the weighted mean (metrics stay unweighted)."""
        self._require_compiled("evaluate")
        X = self._inputs(X)
        Y = self._targets(y, len(X), classes=self.classes_)[0]
        W = _weights.sample_weights(sample_weight, len(X), self.output_shape, self.dtype)
        batch_size = _checks.check_int(batch_size, "batch_size", minimum=1)
        metric_cores = [m.core(self.dtype, self.loss) for m in self.metrics]
        loss, values = self._core_mod.evaluate(self._core, self.loss.core(self.dtype), X, Y, batch_size,
                                               metric_cores, sample_weight=W)
        logs = {"loss": float(loss), **{m.name: float(v) for m, v in zip(self.metrics, values)}}
        return logs if return_dict else [logs["loss"]] + [logs[m.name] for m in self.metrics]

    def predict(self, X, batch_size: int = 1024) -> np.ndarray:
        """The model's raw outputs (logits for a cross-entropy-from-logits model)."""
        X = self._inputs(X)
        if not self._trained:
            self._trained = True   # warn once
            warnings.warn("predict: the model has not been trained (no fit, no loaded or set weights): "
                          "its outputs come from the initial weights", UserWarning, stacklevel=2)
        if batch_size != 1024:
            batch_size = _checks.check_int(batch_size, "batch_size", minimum=1)
        return self._core_mod.predict(self._core, X, batch_size)

    def predict_proba(self, X, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities (softmax or sigmoid of logits where the loss works on logits)."""
        if self.loss is None:
            raise RuntimeError("predict_proba: compile the model first (the loss tells what the outputs are)")
        return self.loss.probabilities(self.predict(X, batch_size))

    def predict_classes(self, X, batch_size: int = 1024) -> np.ndarray:
        """Predicted class labels, as the loss reads the outputs (argmax of
        the rows, a 0/1 label per output column for binary losses)."""
        if self.loss is None:
            raise RuntimeError("predict_classes: compile the model first (the loss tells what the outputs are)")
        codes = self.loss.classes(self.predict(X, batch_size))
        return codes if self.classes_ is None else self.classes_[codes]

    # ------------------------------------------------------- PyTorch style
    def __call__(self, x, initial_state=None):
        """Forward pass on a batch (training mode unless eval() was called).

        Recurrent layers: ``initial_state`` sets the state they start from
        ([h] or [h, c] arrays of shape (n, units); a dict {layer index: [...]}
        when the model has several recurrent layers), for this call only.
        When a layer has ``return_state=True`` the call returns
        ``(output, states)``: the final states of those layers, in order."""
        x = self._inputs(x, "x")
        try:
            if initial_state is not None:
                for k, arrays in self._per_layer(initial_state, "initial_state", self._state_layers()).items():
                    for i, a in enumerate(arrays):
                        if len(a) != len(x):
                            raise ValueError(f"initial_state: expected arrays of {len(x)} rows (one per sample of "
                                             f"x) for layer {k}, got {len(a)} rows in array {i}")
                    self._core.set_initial_state(k, arrays)
            out = self._core.forward(x, self._training).view(Output)
        except BaseException:
            self._core.clear_pending_state()   # an initial state is for this call only
            raise
        out.model = self
        out.mask = self._core.output_mask()
        returning = self._return_state_layers()
        if not returning:
            return out
        return out, [s for k in returning for s in self._core.final_state(k)]

    def backward(self, grad, state_grads=None) -> None:
        """Backpropagates dL/d(output) of the last call; gradients accumulate.
        Recurrent layers allow one backward per call (their saved
        activations are used up).
        ``state_grads``: dL/d(final states) of the layers with
        ``return_state=True``, in the order the call returned them."""
        core = self._require_core("backward")
        g = _checks.as_float_array(grad, "grad", self.dtype, min_ndim=1)
        try:
            self._backward(core, g, state_grads)
        except BaseException:
            core.clear_pending_state()   # state gradients are for this backward only
            raise

    def _backward(self, core, g, state_grads):
        if state_grads is not None:
            returning = self._return_state_layers()
            if not returning:
                raise ValueError("state_grads: no layer of the model has return_state=True")
            if not isinstance(state_grads, (list, tuple)):
                raise TypeError(f"state_grads: expected a list of arrays, got {type(state_grads).__name__}")
            counts = [len(core.state_names(k)) for k in returning]
            if len(state_grads) != sum(counts):
                raise ValueError(f"state_grads: expected {sum(counts)} arrays (as the call returned), "
                                 f"got {len(state_grads)}")
            at = 0
            for k, c in zip(returning, counts):
                core.set_final_state_grad(k, self._state_arrays(state_grads[at:at + c], "state_grads"))
                at += c
        core.backward(g)

    def initial_state_grad(self, layer=None) -> list:
        """dL/d(initial state) of a recurrent layer after backward ([dh] or
        [dh, dc]); ``layer``: its index, needed when there are several."""
        core = self._require_core("initial_state_grad")
        layers = self._state_layers()
        if not layers:
            raise ValueError("initial_state_grad: the model has no recurrent layer")
        if layer is None:
            if len(layers) != 1:
                raise ValueError(f"layer: the model has {len(layers)} recurrent layers {layers}; give the index "
                                 "of one")
            layer = layers[0]
        elif layer not in layers:
            raise ValueError(f"layer: expected the index of a recurrent layer ({layers}), got {layer!r}")
        return core.initial_state_grad(layer)

    @property
    def output_mask(self):
        """The mask over steps of the last call's output, (n, steps) bool,
        True at real steps, or None (Embedding's padding_idx and Masking
        make one; losses average over the real steps only)."""
        return self._core.output_mask() if self._core is not None else None

    def _state_layers(self) -> list:
        core = self._require_core("the recurrent state")
        return [k for k in range(len(self.layers)) if core.state_names(k)]

    def _return_state_layers(self) -> list:
        out = []
        for k, layer in enumerate(self.layers):
            cfg = layer.engine_config()
            inner = cfg.get("layer") if isinstance(cfg.get("layer"), dict) else cfg
            if inner.get("return_state"):
                out.append(k)
        return out

    def _state_arrays(self, arrays, name) -> list:
        if not isinstance(arrays, (list, tuple)):
            raise TypeError(f"{name}: expected a list of arrays ([h] or [h, c]), got {type(arrays).__name__}")
        return [_checks.as_float_array(a, f"{name}[{i}]", self.dtype, min_ndim=2) for i, a in enumerate(arrays)]

    def _per_layer(self, value, name, layers) -> dict:
        """[arrays] for the only recurrent layer, or {layer index: [arrays]}."""
        if not layers:
            raise ValueError(f"{name}: the model has no recurrent layer")
        if isinstance(value, dict):
            out = {}
            for k, arrays in value.items():
                if k not in layers:
                    raise ValueError(f"{name}: {k!r} is not the index of a recurrent layer ({layers})")
                out[k] = self._state_arrays(arrays, f"{name}[{k}]")
            return out
        if len(layers) != 1:
            raise ValueError(f"{name}: the model has {len(layers)} recurrent layers {layers}; give a dict "
                             "{layer index: [arrays]}")
        return {layers[0]: self._state_arrays(value, name)}

    def zero_grad(self) -> None:
        self._require_core("zero_grad").zero_grad()

    def train(self, mode: bool = True):
        self._training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    @property
    def training(self) -> bool:
        return self._training

    # ---------------------------------------------------------- save, load
    def save(self, path, *, include_optimizer: bool = True, metadata: dict | None = None) -> None:
        """Writes the model to a safetensors file (atomically): the weights
        as tensors ``layers.{k}.W`` / ``layers.{k}.b``, the architecture as
        JSON metadata, the compile settings and, with include_optimizer, the
        optimizer's state. The C++ API reads and writes the same files."""
        core = self._require_core("save")
        md = {}
        for k, v in (metadata or {}).items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"metadata: expected str keys and values, got {k!r}: {type(v).__name__}")
            if k in _core.RESERVED_METADATA_KEYS or k == _PY_KEY:
                raise ValueError(f"metadata: the key {k!r} is entrena's own")
            md[k] = v
        md[_PY_KEY] = json.dumps(self._compile_config())
        opt_core = None
        if include_optimizer and self.optimizer is not None and self.optimizer._core is not None:
            opt_core = self.optimizer._core
        _core.save(core, os.fspath(path), metadata=md, optimizer=opt_core)

    def _compile_config(self):
        cfg = {"name": self.name, "seed": self.seed}
        if self.loss is not None:
            cfg["loss"] = {"name": self.loss.name, "config": self.loss.get_config()}
        if self.optimizer is not None:
            opt = self.optimizer.get_config()
            if isinstance(opt.get("betas"), tuple):
                opt["betas"] = list(opt["betas"])
            cfg["optimizer"] = {"name": self.optimizer.name, "config": opt}
        cfg["metrics"] = [m.name for m in self.metrics]
        if self._precision == "bf16":
            cfg["precision"] = "bf16"
        if self.classes_ is not None:
            cfg["classes"] = self.classes_.tolist()
        return cfg

    # ------------------------------------------------------------- display
    def summary(self, print_fn=print):
        """Prints the layers, their output shapes and parameter counts (with
        ``print_fn``); returns the text instead when print_fn is None."""
        core = self._require_core("summary")
        rows = []
        for li, layer in enumerate(self.layers):
            shape = tuple(core.layer_output_shape(li))
            n = sum(p.size for _, p, _ in core.layer_params(li))
            rows.append((layer.name or f"{type(layer).__name__.lower()}_{li}",
                         type(layer).__name__, "(None, " + ", ".join(map(str, shape)) + ")", n))
        w = [max(len(r[i]) for r in rows + [("Layer", "Type", "Output shape")]) for i in range(3)]
        lines = [f"Model: {self.name} ({self.dtype})",
                 f"{'Layer':<{w[0]}}  {'Type':<{w[1]}}  {'Output shape':<{w[2]}}  Params"]
        lines += [f"{a:<{w[0]}}  {b:<{w[1]}}  {c:<{w[2]}}  {d:,}" for a, b, c, d in rows]
        lines.append(f"Total params: {self.count_params():,}")
        n_buffers = sum(v.size for _, v in self.named_buffers())
        if n_buffers:
            lines.append(f"Buffers (not trained): {n_buffers:,}")
        text = "\n".join(lines)
        if print_fn is None:
            return text
        print_fn(text)
        return None

    def __repr__(self):
        return f"Sequential([{', '.join(map(repr, self.layers))}], dtype={self.dtype.name})"

    # ------------------------------------------------------------- interop
    def export_onnx(self, path=None, *, opset: int = 17, input_scaling=None, output_scaling=None):
        """Writes the model as an ONNX file (inference graph, float32, a
        dynamic batch dimension) and returns the onnx.ModelProto; see
        ``entrena.interop.export_onnx`` (also for the optional scaling of
        inputs and outputs folded into the graph). Needs the onnx package."""
        from .interop import export_onnx
        return export_onnx(self, path, opset=opset, input_scaling=input_scaling, output_scaling=output_scaling)

    def to_torch(self):
        """An equivalent ``torch.nn.Sequential`` with copies of the weights
        (see ``entrena.interop``). Needs PyTorch."""
        from .interop import to_torch
        return to_torch(self)

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        """A built model pickles as the bytes of its model file (weights,
        buffers, architecture, compile settings, optimizer state); an
        unbuilt one as its layer configs and compile settings. The
        generator's position (shuffling, dropout) is not kept: a copy that
        trains on draws from its seed again."""
        state = {"dtype": self.dtype.name, "seed": self.seed, "name": self.name, "history": self.history,
                 "precision": self._precision,
                 "training": self._training, "trained": self._trained, "metadata": dict(self.metadata)}
        if self._core is not None:
            with tempfile.TemporaryDirectory(prefix="entrena-") as tmp:
                path = os.path.join(tmp, "model.safetensors")
                self.save(path, metadata=self.metadata)
                with open(path, "rb") as f:
                    state["file"] = f.read()
        else:
            state["layers"] = [layer.engine_config() for layer in self.layers]
            state["layer_names"] = [layer.name for layer in self.layers]
            state["input_shape"] = self._input_shape
            state["compile"] = self._compile_config() if self.loss is not None else None
            state["classes"] = self.classes_
        return state

    def __setstate__(self, state):
        if "file" in state:
            with tempfile.TemporaryDirectory(prefix="entrena-") as tmp:
                path = os.path.join(tmp, "model.safetensors")
                with open(path, "wb") as f:
                    f.write(state["file"])
                other = load(path, dtype=state["dtype"])
            self.__dict__.update(other.__dict__)
            _checks.register_model(self._core, self)
            for layer in self.layers:
                layer._model = self
            if self.optimizer is not None:
                self.optimizer._model = self
        else:
            layers = [_layers.from_config(c) for c in state["layers"]]
            for layer, name in zip(layers, state["layer_names"]):
                layer.name = name
            self.__init__(layers, input_shape=state["input_shape"], dtype=state["dtype"], seed=state["seed"],
                          name=state["name"])
            if state["compile"] is not None:
                _compile_from(self, state["compile"], "pickled model")
            self.classes_ = state["classes"]
        self.seed, self.name, self.history = state["seed"], state["name"], state["history"]
        self._precision = state.get("precision", "float32")     # "float32" (the model's dtype) or "bf16"
        if self._core is not None:
            self._core.bf16 = self._precision == "bf16"
        self._training, self._trained, self.metadata = state["training"], state["trained"], state["metadata"]

    def __deepcopy__(self, memo):
        other = Sequential.__new__(Sequential)
        other.__setstate__(self.__getstate__())
        return other


_PRECISIONS = {"bf16": "bf16", "bfloat16": "bf16", "mixed_bfloat16": "bf16"}


def _precision_name(value, dtype) -> str:
    """The precision policy's name: "float32" (the model's own dtype: "float64"
    for float64 models) or "bf16"."""
    own = np.dtype(dtype).name
    if value is None or (isinstance(value, str) and value.lower() == own):
        return "float32"
    if not isinstance(value, str) or value.lower() not in _PRECISIONS:
        raise ValueError(f"precision: expected {own!r} (the model's dtype) or 'bf16' (also 'mixed_bfloat16'), "
                         f"got {value!r}")
    name = _PRECISIONS[value.lower()]
    if name == "bf16" and dtype != np.float32:
        raise ValueError("precision: bfloat16 products are for float32 models; this one is "
                         f"{np.dtype(dtype).name} (gradient checks stay float64)")
    return name


def load(path, *, dtype=None, compile: bool = True) -> Sequential:
    """Reads a model file written by ``model.save`` (or by the C++ API).

    Returns a built Sequential with the saved weights; with compile=True and
    compile settings in the file, also its loss, optimizer (with its saved
    state) and metrics, so training can go on where it stopped. ``dtype``
    converts the weights to float32 or float64. ``model.metadata`` holds the
    file's extra metadata entries. A file that is not a valid entrena model
    raises ValueError naming the file and what is wrong; one that cannot be
    read raises OSError.
    """
    if dtype is not None:
        dtype = _checks.resolve_dtype(dtype).name
    path = os.fspath(path)
    core, md, opt_state = _core.load(path, dtype)   # the engine checks the file and its architecture
    arch = json.loads(md["architecture"])
    py = _python_settings(md, path)
    layers = [_layers.from_config(c) for c in arch["layers"]]
    # Files of entrena 0.1 kept the layers' names in the Python settings.
    for layer, name in zip(layers, py.get("layer_names", [])):
        if layer.name is None and isinstance(name, str):
            layer.name = name
    model = Sequential(layers, dtype=md.get("dtype", "float32") if dtype is None else dtype,
                       seed=py.get("seed", 0), name=py.get("name"))
    model._core = core
    _checks.register_model(core, model)
    model._trained = True
    if py.get("precision") == "bf16" and model.dtype == np.float32:
        model.precision = "bf16"
    if py.get("classes") is not None:
        model.classes_ = np.asarray(py["classes"])
    model.metadata = {k: v for k, v in md.items()
                      if k not in _core.RESERVED_METADATA_KEYS and k != _PY_KEY}
    if compile and "loss" in py:
        opt = _compile_from(model, py, path)
        if opt is not None and opt_state is not None:
            _restore_optimizer(opt, md, opt_state, model.count_params(), path)
    return model


def _compile_from(model, py: dict, where: str):
    """Compiles model with the Python compile settings py (as
    Sequential._compile_config gives them); returns the optimizer or None."""
    try:
        loss = _losses.get(py["loss"]["name"])
        loss = type(loss)(**py["loss"]["config"])
        opt = None
        if "optimizer" in py:
            o = py["optimizer"]
            opt = type(_optimizers.get(o["name"]))(**o["config"])
        model.compile(loss=loss, optimizer=opt or "sgd", metrics=py.get("metrics") or None)
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{where}: the saved compile settings are not valid: {e}") from None
    return opt


def _python_settings(md, path) -> dict:
    """The Python compile settings stored in a model file, checked."""
    if _PY_KEY not in md:
        return {}
    try:
        py = json.loads(md[_PY_KEY])
    except (ValueError, RecursionError) as e:
        raise ValueError(f"{path}: metadata {_PY_KEY!r} is not valid JSON ({e})") from None
    problems = []
    if not isinstance(py, dict):
        problems.append("expected a JSON object")
        py = {}
    if "seed" in py and (not isinstance(py["seed"], int) or isinstance(py["seed"], bool) or py["seed"] < 0):
        problems.append("seed must be an integer >= 0")
    if "name" in py and not isinstance(py["name"], (str, type(None))):
        problems.append("name must be a string")
    for key in ("loss", "optimizer"):
        entry = py.get(key)
        if entry is not None and not (isinstance(entry, dict) and isinstance(entry.get("name"), str)
                                      and isinstance(entry.get("config"), dict)):
            problems.append(f"{key} must be {{'name': str, 'config': dict}}")
    metrics = py.get("metrics", [])
    if not (isinstance(metrics, list) and all(isinstance(m, str) for m in metrics)):
        problems.append("metrics must be a list of names")
    classes = py.get("classes")
    if classes is not None and not (isinstance(classes, list) and classes and
                                    all(isinstance(c, (str, int, float)) for c in classes)):
        problems.append("classes must be a non-empty list of labels")
    if problems:
        raise ValueError(f"{path}: metadata {_PY_KEY!r}: {'; '.join(problems)}")
    return py


def _restore_optimizer(opt, md, opt_state, n_params, path) -> None:
    """Puts the saved optimizer state into opt, after checking it fits."""
    try:
        info = json.loads(md.get("optimizer_state", "{}"))
        name, steps = info["name"], info["steps"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: metadata 'optimizer_state' is not valid ({e})") from None
    if name != opt.name:
        raise ValueError(f"{path}: the optimizer state was saved by {name!r}, the compile settings name "
                         f"{opt.name!r}")
    for key, value in opt_state.items():
        if np.size(value) != n_params:
            raise ValueError(f"{path}: optimizer buffer {key!r} has {np.size(value)} values, the model has "
                             f"{n_params} parameters")
    try:
        opt.load_state_dict({"name": opt.name, "config": opt.get_config(), "steps": steps, "state": opt_state})
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: the optimizer state is not valid: {e}") from None
