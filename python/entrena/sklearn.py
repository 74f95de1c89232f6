"""scikit-learn estimators over entrena models: ``MLPClassifier`` and
``MLPRegressor``.

They take scikit-learn's MLP arguments where entrena has the same idea
(``hidden_layer_sizes``, ``activation``, ``batch_size="auto"``,
``early_stopping``, ``validation_fraction``, ``n_iter_no_change``, ``tol``,
``random_state``, ``warm_start``, ``verbose``) and entrena's own for the
rest (``optimizer`` and its arguments, ``lr``, ``epochs``, ``dropout``,
``weight_decay``, ``loss``), so they work in a ``Pipeline``, in
``GridSearchCV`` / ``RandomizedSearchCV`` / ``cross_val_score`` (also with
``n_jobs``), and pickle (the model travels as its model-file bytes).

    >>> from entrena.sklearn import MLPClassifier
    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), epochs=50, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3])

The network is Dense layers with ``activation`` (each followed by
Dropout when ``dropout`` > 0) and an output Dense layer; or any layers
(``hidden_layer_sizes`` may list entrena layers instead of sizes); or
whatever ``build_fn(n_features_in, n_outputs)`` returns (a Sequential or a
list of layers ending with the output layer). The fitted model is
``model_`` (an ``entrena.Sequential``), its learning curves ``history_``.

Classifiers: labels of any kind (``classes_``), binary (one output, sigmoid
cross-entropy), multi-class (softmax cross-entropy) or multi-label (a 0/1
indicator matrix: one sigmoid output per label); ``class_weight``
(``"balanced"`` or ``{label: weight}``). Regressors: one or several
outputs, mean squared error by default. ``sample_weight`` in ``fit`` and
``partial_fit`` makes the loss a weighted mean.

Training stops early as scikit-learn's MLP does: after ``n_iter_no_change``
epochs without the training loss improving by ``tol`` (``tol=None``: never),
or with ``early_stopping=True`` without the loss on a held-out
``validation_fraction`` improving by ``tol`` (the weights of the best epoch
are kept). Results are bitwise the same for the same ``random_state``,
whatever the number of threads or processes.

Needs scikit-learn (``pip install entrena[sklearn]``).
"""
from __future__ import annotations

import numbers

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted, check_random_state, column_or_1d, validate_data
except ImportError as e:   # pragma: no cover - the message is the point
    raise ImportError("entrena.sklearn needs scikit-learn: pip install 'entrena[sklearn]'") from e

from . import callbacks as _callbacks
from . import layers as _layers
from . import losses as _losses
from . import weights as _weights
from . import optimizers as _optimizers
from .models import Sequential

__all__ = ["MLPClassifier", "MLPRegressor"]


class _MLPBase(BaseEstimator):
    """What the classifier and the regressor share: building, training and
    the forward pass. Subclasses say how targets become the model's targets
    (``_encode``) and which loss fits them (``_default_loss``)."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, build_fn=None, dropout=0.0, loss=None,
                 optimizer="adam", optimizer_kwargs=None, lr=1e-3, weight_decay=0.0, batch_size="auto",
                 epochs=200, shuffle=True, early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 tol=1e-4, random_state=None, warm_start=False, verbose=0, dtype="float32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.build_fn = build_fn
        self.dropout = dropout
        self.loss = loss
        self.optimizer = optimizer
        self.optimizer_kwargs = optimizer_kwargs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.dtype = dtype

    # ------------------------------------------------------------- building
    def _layers(self, n_features: int, n_outputs: int) -> list:
        if self.build_fn is not None:
            if not callable(self.build_fn):
                raise TypeError(f"build_fn: expected a callable (n_features_in, n_outputs) -> Sequential or "
                                f"layers, got {type(self.build_fn).__name__}")
            built = self.build_fn(n_features, n_outputs)
            if isinstance(built, Sequential):
                if built.built:
                    raise ValueError("build_fn: return an unbuilt Sequential (or a list of layers); the "
                                     "estimator builds and compiles it")
                if np.dtype(built.dtype) != np.dtype(self._dtype()):
                    raise ValueError(f"build_fn: the Sequential is {np.dtype(built.dtype).name} but the estimator's "
                                     f"dtype is {np.dtype(self._dtype()).name}; set dtype={np.dtype(built.dtype).name!r} "
                                     "on the estimator")
                self._built_precision = built.precision
                return [_layers.from_config(layer.engine_config()) for layer in built.layers]
            if isinstance(built, (list, tuple)) and all(isinstance(x, _layers.Layer) for x in built) and built:
                return [_layers.from_config(layer.engine_config()) for layer in built]
            raise TypeError(f"build_fn: expected it to return a Sequential or a list of layers, got "
                            f"{type(built).__name__}")
        spec = self.hidden_layer_sizes
        if isinstance(spec, numbers.Integral) and not isinstance(spec, bool):
            spec = (spec,)
        if isinstance(spec, np.ndarray) and spec.ndim == 1 and spec.dtype.kind in "iu":
            spec = tuple(int(v) for v in spec)        # from a parameter grid or a tuner
        if not isinstance(spec, (list, tuple)):
            raise TypeError(f"hidden_layer_sizes: expected a tuple of layer sizes or a list of entrena layers, "
                            f"got {type(spec).__name__}")
        dropout = self.dropout
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a rate in [0, 1), got {dropout!r}")
        out = []
        for i, item in enumerate(spec):
            if isinstance(item, _layers.Layer):
                out.append(_layers.from_config(item.engine_config()))   # a fresh copy: the parameter stays as given
                continue
            if isinstance(item, bool) or not isinstance(item, numbers.Integral) or item < 1:
                raise ValueError(f"hidden_layer_sizes: expected sizes >= 1 or entrena layers, got {item!r} at "
                                 f"position {i}")
            # scikit-learn calls the sigmoid "logistic".
            activation = "sigmoid" if self.activation == "logistic" else self.activation
            out.append(_layers.Dense(int(item), activation=activation))
            if dropout > 0:
                out.append(_layers.Dropout(float(dropout)))
        out.append(_layers.Dense(n_outputs))
        return out

    def _optimizer(self):
        if self.optimizer_kwargs is not None and not isinstance(self.optimizer_kwargs, dict):
            raise TypeError(f"optimizer_kwargs: expected a dict of the optimizer's arguments, got "
                            f"{type(self.optimizer_kwargs).__name__}")
        kwargs = dict(self.optimizer_kwargs or {})
        base = _optimizers.get(self.optimizer)
        config = base.get_config()
        # The estimator's lr and weight_decay set the optimizer's: a second,
        # different value elsewhere would be silently overridden.
        if "lr" in kwargs:
            raise ValueError(f"optimizer_kwargs: the learning rate is the estimator's lr argument, not an "
                             f"optimizer_kwargs entry (got lr={kwargs['lr']!r}); pass lr={kwargs['lr']!r}")
        if not isinstance(self.optimizer, str) and config.get("lr") != self.lr:
            raise ValueError(f"optimizer: the instance's lr ({config.get('lr')!r}) differs from the estimator's "
                             f"lr ({self.lr!r}), which sets it; pass lr={config.get('lr')!r}")
        if self.weight_decay and "weight_decay" in kwargs and kwargs["weight_decay"] != self.weight_decay:
            raise ValueError("optimizer_kwargs: weight_decay is also the estimator's weight_decay argument; give "
                             "it once")
        unknown = sorted(set(kwargs) - set(config))
        if unknown:
            raise TypeError(f"optimizer_kwargs: {type(base).__name__} takes no argument {unknown[0]!r} (its "
                            f"arguments: {', '.join(k for k in config if k != 'lr')})")
        config.update(kwargs)
        config["lr"] = self.lr
        if self.weight_decay:
            config["weight_decay"] = self.weight_decay
        return type(base)(**config)

    def _dtype(self):
        return np.float64 if self.dtype in ("float64", np.float64) else np.float32

    def _flags(self) -> None:
        """The on/off arguments are True or False (scikit-learn's own
        estimators refuse anything else too)."""
        for name in ("shuffle", "early_stopping", "warm_start"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name}: expected True or False, got {type(value).__name__} {value!r}")
        if not isinstance(self.verbose, numbers.Integral) or self.verbose < 0:      # bools too, as scikit-learn
            raise ValueError(f"verbose: expected an integer >= 0, got {self.verbose!r}")
        tol = self.tol
        if tol is not None and (isinstance(tol, bool) or not isinstance(tol, numbers.Real)
                                or not np.isfinite(tol) or tol < 0):
            raise ValueError(f"tol: expected a number >= 0 or None, got {tol!r}")

    def _seed(self) -> int:
        if isinstance(self.random_state, numbers.Integral) and not isinstance(self.random_state, bool):
            if self.random_state < 0:
                raise ValueError(f"random_state: expected an integer >= 0, a RandomState or None, got "
                                 f"{self.random_state}")
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _new_model(self, n_features: int, n_outputs: int, seed: int) -> Sequential:
        self._built_precision = "float32"
        loss = self.loss if self.loss is not None else self._default_loss()
        self._check_loss(loss)
        model = Sequential(self._layers(n_features, n_outputs), input_shape=(n_features,), dtype=self.dtype,
                           seed=seed)
        if self._built_precision != "float32":
            model.precision = self._built_precision
        if model.output_shape[-1] != n_outputs:
            raise ValueError(f"build_fn: the network ends in {model.output_shape[-1]} outputs; these targets need "
                             f"{n_outputs}")
        model.compile(loss=loss, optimizer=self._optimizer())
        return model

    def _check_loss(self, loss) -> None:
        name = _losses.get(loss).name
        if name in Sequential._CLASS_LOSSES:
            raise ValueError(f"loss: a regressor needs a regression loss (mse, mae, huber, half_mse), got {name!r}; "
                             f"MLPClassifier fits {name!r}")

    def _outputs(self, n_outputs: int) -> int:
        """The model's outputs for targets that need n_outputs columns."""
        return n_outputs

    # ------------------------------------------------------------- training
    def _batch_size(self, n: int) -> int:
        if isinstance(self.batch_size, str):
            if self.batch_size != "auto":
                raise ValueError(f"batch_size: expected an integer >= 1 or 'auto', got {self.batch_size!r}")
            return min(200, n)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, numbers.Integral) \
                or self.batch_size < 1:
            raise ValueError(f"batch_size: expected an integer >= 1 or 'auto', got {self.batch_size!r}")
        return min(int(self.batch_size), n)

    def _callbacks(self, n: int):
        if self.tol is None:
            return [], 0.0
        patience = self.n_iter_no_change
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 1:
            raise ValueError(f"n_iter_no_change: expected an integer >= 1, got {patience!r}")
        if not self.early_stopping:
            return [_callbacks.EarlyStopping("loss", patience=int(patience), min_delta=float(self.tol))], 0.0
        frac = self.validation_fraction
        if isinstance(frac, bool) or not isinstance(frac, numbers.Real) or not 0.0 < frac < 1.0:
            raise ValueError(f"validation_fraction: expected a number in (0, 1), got {frac!r}")
        if int(n * frac) < 1 or int(n * frac) >= n:
            raise ValueError(f"validation_fraction: {frac} of {n} samples leaves no validation or no training "
                             "sample; give more samples or early_stopping=False")
        return [_callbacks.EarlyStopping("val_loss", patience=int(patience), min_delta=float(self.tol),
                                         restore_best_weights=True)], float(frac)

    def _train(self, X, Y, sample_weight, class_weight, epochs: int, continuing: bool, single_epoch: bool):
        n = len(X)
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise ValueError(f"epochs: expected an integer >= 1, got {epochs!r}")
        callbacks, frac = ([], 0.0) if single_epoch else self._callbacks(n)
        model = self.model_
        history = model.fit(X, Y, epochs=int(epochs), batch_size=self._batch_size(n), shuffle=bool(self.shuffle),
                            validation_split=frac, callbacks=callbacks, verbose=int(self.verbose),
                            sample_weight=sample_weight, class_weight=class_weight,
                            initial_epoch=self.n_iter_ if continuing else 0)
        done = len(history["loss"])
        self.n_iter_ = (self.n_iter_ if continuing else 0) + done
        self.loss_curve_ = (list(self.loss_curve_) if continuing else []) + list(history["loss"])
        self.loss_ = self.loss_curve_[-1]
        if "val_loss" in history.history:
            self.validation_loss_curve_ = list(history["val_loss"])
            self.best_validation_loss_ = float(np.nanmin(history["val_loss"]))
        self.history_ = history
        return self

    def _fit(self, X, y, sample_weight, *, partial: bool, classes=None):
        self._flags()
        continuing = hasattr(self, "model_") and (partial or bool(self.warm_start))
        dt = self._dtype()
        X, y = validate_data(self, X, y, reset=not continuing, multi_output=True, dtype=dt,
                             y_numeric=self._numeric_y)
        Y, n_outputs = self._encode(y, fitting=not continuing, classes=classes)
        n_outputs = self._outputs(n_outputs)
        if not continuing:
            self.model_ = self._new_model(X.shape[1], n_outputs, self._seed())
            self.n_iter_ = 0
        elif self.model_.output_shape[-1] != n_outputs:
            raise ValueError(f"y: the fitted model has {self.model_.output_shape[-1]} outputs, these targets need "
                             f"{n_outputs}; fit again without warm_start")
        X = X.astype(self.model_.dtype, copy=False)
        return self._train(X, Y, sample_weight, self._engine_class_weight(), 1 if partial else self.epochs,
                           continuing, single_epoch=partial)

    def _engine_class_weight(self):
        return None

    # ------------------------------------------------------------ inference
    def _forward(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=self.model_.dtype)
        return self.model_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.non_deterministic = False
        return tags


class MLPClassifier(ClassifierMixin, _MLPBase):
    """A multilayer-perceptron classifier trained by entrena (see the module's
    documentation for the arguments). ``class_weight``: ``"balanced"``
    or ``{label: weight}``, applied to the training loss.

    Attributes after fit: ``classes_``, ``n_features_in_``,
    ``feature_names_in_`` (from a DataFrame), ``model_``, ``history_``,
    ``loss_``, ``loss_curve_``, ``n_iter_`` (epochs trained),
    ``n_outputs_``, ``best_validation_loss_`` with early stopping."""

    _numeric_y = False

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, build_fn=None, dropout=0.0, loss=None,
                 optimizer="adam", optimizer_kwargs=None, lr=1e-3, weight_decay=0.0, batch_size="auto",
                 epochs=200, shuffle=True, early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 tol=1e-4, random_state=None, warm_start=False, verbose=0, dtype="float32", class_weight=None):
        super().__init__(hidden_layer_sizes, activation, build_fn=build_fn, dropout=dropout, loss=loss,
                         optimizer=optimizer, optimizer_kwargs=optimizer_kwargs, lr=lr, weight_decay=weight_decay,
                         batch_size=batch_size, epochs=epochs, shuffle=shuffle, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change, tol=tol,
                         random_state=random_state, warm_start=warm_start, verbose=verbose, dtype=dtype)
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None):
        """Trains a new network for ``epochs`` epochs (or goes on training
        the fitted one with ``warm_start=True``)."""
        return self._fit(X, y, sample_weight, partial=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y). The first call needs ``classes`` (every
        label, for single-label targets), as in scikit-learn."""
        if not hasattr(self, "model_") and classes is None and np.ndim(y) == 1:
            raise ValueError("classes: the first call to partial_fit needs every class label (classes=...)")
        if hasattr(self, "model_") and classes is not None and getattr(self, "_kind", None) != "multilabel" \
                and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(f"classes: {np.unique(np.asarray(classes)).tolist()[:10]} differs from the classes of "
                             f"the first call to partial_fit ({self.classes_.tolist()[:10]})")
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    def _engine_class_weight(self):
        """class_weight as the model takes it: keys are labels as given, the
        model sees class indices."""
        cw = self.class_weight
        if cw is None or isinstance(cw, str):
            return cw      # None, or "balanced" (the model checks the name)
        if not isinstance(cw, dict):
            raise TypeError(f"class_weight: expected 'balanced', a dict {{label: weight}} or None, got "
                            f"{type(cw).__name__}")
        if self._kind == "multilabel":
            return cw      # the model says why this cannot be
        labels = self.classes_.tolist()
        out = {}
        for k, v in cw.items():
            key = k.item() if isinstance(k, np.generic) else k
            if key not in labels:
                raise ValueError(f"class_weight: {k!r} is not one of the classes {labels[:10]}")
            out[labels.index(key)] = v
        return out

    def _default_loss(self):
        return "categorical_crossentropy" if self._kind == "multiclass" else "binary_crossentropy_with_logits"

    def _check_loss(self, loss) -> None:
        name = _losses.get(loss).name
        if name not in Sequential._CLASS_LOSSES:
            raise ValueError(f"loss: a classifier needs a classification loss "
                             f"({', '.join(Sequential._CLASS_LOSSES)}), got {name!r}; MLPRegressor fits {name!r}")
        if self._kind == "multiclass" and name not in _weights._CLASS_LOSSES:
            raise ValueError(f"loss: {name} fits two classes or multi-label targets; for {len(self.classes_)} "
                             "classes use categorical_crossentropy or multiclass_hinge")
        own_layers = self.build_fn is not None or (isinstance(self.hidden_layer_sizes, (list, tuple)) and any(
            isinstance(x, _layers.Layer) for x in self.hidden_layer_sizes))
        if name == "binary_crossentropy" and not own_layers:
            raise ValueError("loss: binary_crossentropy takes probabilities, and the estimator's output layer gives "
                             "logits; use binary_crossentropy_with_logits (the default), or end your own layers "
                             "(hidden_layer_sizes or build_fn) with a sigmoid")
        if self._kind == "multilabel" and name in _weights._CLASS_LOSSES:
            raise ValueError(f"loss: {name} picks one class per sample; multi-label targets need "
                             "binary_crossentropy_with_logits, binary_crossentropy or hinge")

    def _outputs(self, n_outputs: int) -> int:
        # Two classes through a loss over one column per class: two columns.
        loss = self.loss if self.loss is not None else self._default_loss()
        if self._kind == "binary" and _losses.get(loss).name in _weights._CLASS_LOSSES:
            return 2
        return n_outputs

    def _encode(self, y, fitting: bool, classes=None):
        """y -> (the model's targets, outputs), learning classes_ when fitting."""
        if np.ndim(y) == 2 and np.shape(y)[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind == "multilabel-indicator":
            if fitting:
                self._kind, self.classes_ = "multilabel", np.arange(y.shape[1])
                self.n_outputs_ = y.shape[1]
            elif getattr(self, "_kind", None) != "multilabel" or y.shape[1] != len(self.classes_):
                raise ValueError(f"y: expected single-label targets or a {len(self.classes_)}-label indicator "
                                 f"matrix as in the first fit, got shape {y.shape}")
            return np.ascontiguousarray(y, dtype=np.float64), y.shape[1]
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"y: expected class labels (binary or multiclass) or a multi-label 0/1 matrix, got "
                             f"{kind} targets")
        if fitting:
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if classes is not None and not np.isin(y, labels).all():
                raise ValueError(f"y: labels {np.setdiff1d(y, labels)[:5].tolist()} are not in classes")
            if len(labels) < 2:
                raise ValueError(f"y: a classifier needs at least 2 classes, got 1 class ({labels[0]!r})")
            self.classes_ = labels
            self._kind = "binary" if len(labels) == 2 else "multiclass"
            self.n_outputs_ = 1
        elif self._kind == "multilabel":
            raise ValueError("y: the model was fitted on multi-label targets; give a 0/1 indicator matrix")
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(f"y: label {y[unknown][0]!r} is not one of the classes {self.classes_.tolist()[:10]}")
        codes = np.searchsorted(self.classes_, y).astype(np.float64)
        return codes, (1 if self._kind == "binary" else len(self.classes_))

    def _probabilities(self, X) -> np.ndarray:
        out = self._forward(X)
        p = self.model_.loss.probabilities(out).astype(np.float64)
        if self._kind == "binary" and p.shape[-1] == 1:
            p = p.reshape(-1)
            return np.column_stack([1.0 - p, p])
        return p

    def predict_proba(self, X) -> np.ndarray:
        """(n, classes) probabilities in the order of ``classes_`` ((n, labels)
        for multi-label targets, each label's own probability)."""
        if getattr(self, "model_", None) is not None and self.model_.loss.output_kind == "margins":
            raise AttributeError(f"predict_proba: the loss {self.model_.loss.name} gives margins, not "
                                 "probabilities")
        return self._probabilities(X)

    def predict_log_proba(self, X) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """Labels: one of ``classes_`` per sample (a 0/1 row per sample for
        multi-label targets)."""
        out = self._forward(X)
        codes = self.model_.loss.classes(out)
        if self._kind == "multilabel":
            return codes.astype(np.int64)
        return self.classes_[codes.reshape(-1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _MLPBase):
    """A multilayer-perceptron regressor trained by entrena (see the module's
    documentation for the arguments): one output per target column, mean
    squared error by default (``loss="huber"``, ``"mae"``, ... also fit).

    Attributes after fit: ``n_features_in_``, ``feature_names_in_`` (from
    a DataFrame), ``model_``, ``history_``, ``loss_``, ``loss_curve_``,
    ``n_iter_``, ``n_outputs_``, ``best_validation_loss_`` with early
    stopping."""

    _numeric_y = True

    def fit(self, X, y, sample_weight=None):
        """Trains a new network for ``epochs`` epochs (or goes on training
        the fitted one with ``warm_start=True``)."""
        return self._fit(X, y, sample_weight, partial=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y)."""
        return self._fit(X, y, sample_weight, partial=True)

    def _default_loss(self):
        return "mse"

    def _encode(self, y, fitting: bool, classes=None):
        y = np.asarray(y, dtype=np.float64)
        outputs = 1 if y.ndim == 1 else y.shape[1]
        if fitting:
            self._one_d = y.ndim == 1
            self.n_outputs_ = outputs
        return np.ascontiguousarray(y), outputs

    def predict(self, X) -> np.ndarray:
        out = self._forward(X).astype(np.float64)
        return out.reshape(-1) if self._one_d else out
