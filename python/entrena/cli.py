"""The command-line trainer: ``python -m entrena train`` on a CSV file and
``python -m entrena predict`` with the saved model."""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys

import numpy as np

import entrena
from entrena import data as edata
from entrena import metrics as emetrics

_META_KEY = "entrena_cli"


class CLIError(Exception):
    """A problem with the user's files or flags: printed without a traceback."""


def read_csv(path, target=None, features=None):
    """Reads a CSV with a header row. Returns (feature names, X as float64,
    target values as strings or None). With ``features``, only those columns
    are read as features (in that order) and the others are ignored."""
    if not os.path.isfile(path):
        raise CLIError(f"--data: no such file: {path}")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise CLIError(f"--data: expected a header row and at least one data row in {path}")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    for i, r in enumerate(body):
        if len(r) != len(header):
            raise CLIError(f"--data: row {i + 2} of {path} has {len(r)} fields, the header has {len(header)}")
    cols = list(zip(*body))
    y = None
    if target is not None:
        if target not in header:
            raise CLIError(f"--target: no column {target!r} in {path}; columns: {', '.join(header)}")
        t = header.index(target)
        y = [v.strip() for v in cols[t]]
        cols = cols[:t] + cols[t + 1:]
        header = header[:t] + header[t + 1:]
    if features is not None:
        missing = [f for f in features if f not in header]
        if missing:
            raise CLIError(f"--data: missing feature column(s) {', '.join(missing)}")
        cols = [cols[header.index(f)] for f in features]
        header = list(features)
    if not header:
        raise CLIError("--data: no feature columns besides the target")
    X = np.empty((len(body), len(header)))
    for j, (name, col) in enumerate(zip(header, cols)):
        for i, v in enumerate(col):
            try:
                X[i, j] = float(v)
            except ValueError:
                raise CLIError(f"--data: column {name!r} row {i + 2}: expected a number, got {v!r} "
                               "(feature columns must be numeric)") from None
    if not np.isfinite(X).all():
        i, j = np.argwhere(~np.isfinite(X))[0]
        raise CLIError(f"--data: column {header[j]!r} row {i + 2}: missing or non-finite value")
    return header, X, y


def infer_task(y_text):
    """'regression' if every target is a number with a fractional part or
    there are many distinct values, else 'classification'."""
    try:
        vals = np.array([float(v) for v in y_text])
    except ValueError:
        return "classification"
    if not np.isfinite(vals).all():
        return "regression"
    distinct = np.unique(vals)
    if np.all(vals == np.round(vals)) and len(distinct) <= max(20, int(0.05 * len(vals))):
        return "classification"
    return "regression"


def _split_counts(n, val, test):
    n_test = int(round(n * test))
    n_val = int(round(n * val))
    if n - n_test - n_val < 1:
        raise CLIError(f"--val-size/--test-size leave no training rows out of {n}")
    return n_val, n_test


def train(args) -> int:
    if args.threads:
        entrena.set_num_threads(args.threads)
    names, X, y_text = read_csv(args.data, args.target)
    task = args.task if args.task != "auto" else infer_task(y_text)
    try:
        hidden = [int(h) for h in args.hidden.split(",") if h.strip()] if args.hidden else []
    except ValueError:
        raise CLIError(f"--hidden: expected layer sizes like 128,64, got {args.hidden!r}") from None
    if any(h < 1 for h in hidden):
        raise CLIError(f"--hidden: layer sizes must be >= 1, got {args.hidden!r}")

    if task == "classification":
        classes = sorted(set(y_text), key=lambda v: (_num_key(v), v))
        index = {c: i for i, c in enumerate(classes)}
        y = np.array([index[v] for v in y_text], dtype=np.int64)
        if len(classes) < 2:
            raise CLIError(f"--target: classification needs at least 2 classes, {args.target!r} has {len(classes)}")
        out_units, loss = len(classes), "categorical_crossentropy"
        metric_names = ["accuracy"]
    else:
        try:
            y = np.array([float(v) for v in y_text])
        except ValueError:
            raise CLIError(f"--target: regression needs numeric targets in {args.target!r}") from None
        classes = None
        out_units, loss = 1, "mse"
        metric_names = ["mae", "r2"]

    n_val, n_test = _split_counts(len(X), args.val_size, args.test_size)
    strat = task == "classification" and not args.no_stratify
    try:
        Xtr, Xv, Xte, ytr, yv, yte = edata.train_val_test_split(
            X, y, val_size=n_val if n_val else 0, test_size=n_test if n_test else 0,
            stratify=strat, seed=args.seed)
    except ValueError as e:
        raise CLIError(f"split: {e}") from None
    scaler = edata.StandardScaler().fit(Xtr)
    Xtr, Xv, Xte = (scaler.transform(a) if len(a) else a for a in (Xtr, Xv, Xte))
    y_mean, y_std = 0.0, 1.0
    if task == "regression":
        y_mean, y_std = float(ytr.mean()), float(ytr.std() or 1.0)
        ytr_fit, yv_fit = (ytr - y_mean) / y_std, (yv - y_mean) / y_std
    else:
        ytr_fit, yv_fit = ytr, yv

    layers = []
    for h in hidden:
        layers.append(entrena.Dense(h, activation=args.activation, kernel_init="he_uniform"
                                    if args.activation == "relu" else "glorot_uniform"))
        if args.dropout:
            layers.append(entrena.Dropout(args.dropout))
    layers.append(entrena.Dense(out_units))
    model = entrena.Sequential(layers, seed=args.seed)
    opt = entrena.optimizers.get(args.optimizer)
    opt.lr = args.lr if args.lr is not None else opt.lr
    model.compile(loss=loss, optimizer=opt, metrics=metric_names)
    callbacks = []
    if args.patience and len(Xv):
        callbacks.append(entrena.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience,
                                                         restore_best_weights=True))
    print(f"entrena {entrena.__version__}: {task} on {args.data} ({len(X)} rows, {len(names)} "
          f"features; {len(Xtr)} train / {len(Xv)} validation / {len(Xte)} test)")
    history = model.fit(Xtr, ytr_fit, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(Xv, yv_fit) if len(Xv) else None, callbacks=callbacks,
                        verbose=0 if args.quiet else (2 if args.no_bar else 1), seed=args.seed)
    if not args.quiet:
        print("learning curves:\n" + str(history.diagnose()))

    results = {}
    if len(Xte):
        if task == "classification":
            pred = model.predict_classes(Xte)
            results = {"accuracy": emetrics.accuracy(yte, pred),
                       "f1_macro": emetrics.f1(yte, pred, average="macro")}
        else:
            pred = model.predict(Xte).reshape(-1) * y_std + y_mean
            results = {"mse": emetrics.mse(yte, pred), "mae": emetrics.mae(yte, pred),
                       "r2": emetrics.r2(yte, pred)}
        print("test " + " - ".join(f"{k} {v:.4f}" for k, v in results.items()))
    info = {"task": task, "features": names, "target": args.target, "classes": classes,
            "scaler_mean": scaler.mean_.tolist(), "scaler_scale": scaler.scale_.tolist(),
            "y_mean": y_mean, "y_std": y_std, "test": results}
    model.save(args.out, metadata={_META_KEY: json.dumps(info)})
    print(f"saved the model to {args.out}")
    return 0


def _num_key(v):
    try:
        return (0, float(v))
    except ValueError:
        return (1, 0.0)


def _plain_model_rows(model, args):
    """Predictions of a model saved from Python (not by 'entrena train'): each
    CSV row holds one sample's inputs, flattened in row-major order (for an
    image model (C, H, W), the pixels of channel 0 row by row, then channel 1,
    ...); a header row names the columns."""
    _, X, _ = read_csv(args.data, None)
    want = int(np.prod(model.input_shape))
    if X.shape[1] != want:
        raise CLIError(f"--data: the model takes {want} values per sample (input shape "
                       f"{model.input_shape}), the CSV rows have {X.shape[1]}")
    X = X.reshape((len(X),) + tuple(model.input_shape))
    if model.loss is not None and model.loss.name in model._CLASS_LOSSES:
        proba = model.predict_proba(X)
        labels = model.predict_classes(X)
        width = proba.shape[-1]
        header = ["class"] + ([f"p_{i}" for i in range(width)] if args.proba else [])
        return header, [[str(lab)] + ([f"{v:.6g}" for v in np.ravel(p)] if args.proba else [])
                        for lab, p in zip(labels, proba)]
    out = model.predict(X).reshape(len(X), -1)
    return [f"output_{i}" for i in range(out.shape[1])], [[f"{v:.8g}" for v in row] for row in out]


def predict(args) -> int:
    model = entrena.load(args.model)
    raw = model.metadata.get(_META_KEY)
    if raw is None:
        header, out_rows = _plain_model_rows(model, args)
        return _write_rows(args, header, out_rows)
    info = json.loads(raw)
    _, X, _ = read_csv(args.data, None, features=info["features"])
    X = (X - np.array(info["scaler_mean"])) / np.array(info["scaler_scale"])
    out_rows = []
    if info["task"] == "classification":
        proba = model.predict_proba(X)
        labels = [info["classes"][i] for i in proba.argmax(axis=1)]
        header = [info["target"]] + ([f"p_{c}" for c in info["classes"]] if args.proba else [])
        for lab, p in zip(labels, proba):
            out_rows.append([lab] + ([f"{v:.6g}" for v in p] if args.proba else []))
    else:
        pred = model.predict(X).reshape(-1) * info["y_std"] + info["y_mean"]
        header = [info["target"]]
        out_rows = [[f"{v:.8g}"] for v in pred]
    return _write_rows(args, header, out_rows)


def _write_rows(args, header, out_rows) -> int:
    out = open(args.out, "w", newline="") if args.out else sys.stdout
    try:
        w = csv.writer(out)
        w.writerow(header)
        w.writerows(out_rows)
    finally:
        if args.out:
            out.close()
    if args.out:
        print(f"wrote {len(out_rows)} predictions to {args.out}", file=sys.stderr)
    return 0


def export(args) -> int:
    """Writes the model as ONNX. A model saved by 'train' takes the raw
    feature columns: its standardization (and, for regression, the target's)
    goes into the graph."""
    if not os.path.isfile(args.model):
        raise CLIError(f"--model: no such file: {args.model}")
    model = entrena.load(args.model, compile=False)
    raw = model.metadata.get(_META_KEY)
    pre = post = None
    if raw is not None:
        info = json.loads(raw)
        pre = (np.array(info["scaler_mean"]), np.array(info["scaler_scale"]))
        if info.get("task") == "regression":
            post = (np.array(info["y_std"]), np.array(info["y_mean"]))
    from entrena.interop import export_onnx
    export_onnx(model, args.out, opset=args.opset, input_scaling=pre, output_scaling=post)
    print(f"wrote {args.out}: input (batch, {', '.join(map(str, model.input_shape))}), "
          f"output (batch, {', '.join(map(str, model.output_shape))}), opset {args.opset}")
    if raw is not None:
        info = json.loads(raw)
        names = info.get("features")
        if names:
            print(f"input columns: {', '.join(names)}")
        if info.get("classes"):
            print(f"outputs: logits of the classes {', '.join(map(str, info['classes']))}")
    return 0


def add_parsers(sub):
    t = sub.add_parser("train", help="train an MLP on a CSV file",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--data", required=True, help="CSV file with a header row")
    t.add_argument("--target", required=True, help="the column to predict")
    t.add_argument("--task", choices=["auto", "classification", "regression"], default="auto")
    t.add_argument("--hidden", default="128,64", help="hidden layer sizes, e.g. 128,64")
    t.add_argument("--activation", default="relu")
    t.add_argument("--dropout", type=float, default=0.0)
    t.add_argument("--epochs", type=int, default=50)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--optimizer", default="adam")
    t.add_argument("--lr", type=float, default=None)
    t.add_argument("--val-size", type=float, default=0.15)
    t.add_argument("--test-size", type=float, default=0.15)
    t.add_argument("--no-stratify", action="store_true")
    t.add_argument("--patience", type=int, default=10,
                   help="early stopping on val_loss, keeping the best epoch's weights (0: off)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=0)
    t.add_argument("--out", default="model.safetensors")
    t.add_argument("--no-bar", action="store_true", help="epoch lines only, no progress bar")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=train)
    p = sub.add_parser("predict", help="predict with a model saved by 'train'",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="CSV with the training feature columns")
    p.add_argument("--out", default=None, help="output CSV (default: standard output)")
    p.add_argument("--proba", action="store_true", help="also write class probabilities")
    p.set_defaults(func=predict)
    e = sub.add_parser("export", help="write a saved model as an ONNX file (needs the onnx package)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    e.add_argument("--model", required=True, help="an entrena model file (.safetensors)")
    e.add_argument("--out", required=True, help="the ONNX file to write")
    e.add_argument("--opset", type=int, default=17, help="ONNX opset (17 or newer)")
    e.set_defaults(func=export)


def check_flags(parser, args) -> None:
    """The numeric flags, named as flags (argparse's usage error, exit 2)."""
    for name, low in (("epochs", 1), ("batch_size", 1), ("threads", 0)):
        value = getattr(args, name, None)
        if value is not None and value < low:
            parser.error(f"--{name.replace('_', '-')}: expected "
                         f"{'a positive integer' if low else 'an integer >= 0 (0: all cores)'}, got {value}")
    dropout = getattr(args, "dropout", None)
    if dropout is not None and not 0.0 <= dropout < 1.0:
        parser.error(f"--dropout: expected a rate in [0, 1), got {dropout}")
    out = getattr(args, "out", None)
    if getattr(args, "command", None) == "export" and out is not None and os.path.isdir(out):
        parser.error(f"--out: expected a file path, got {out!r} (a directory)")


def run(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m entrena")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parsers(sub)
    args = parser.parse_args(argv)
    check_flags(parser, args)
    try:
        return args.func(args)
    except CLIError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
