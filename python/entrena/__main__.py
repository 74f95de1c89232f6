"""``python -m entrena``: train a digits classifier on the built-in data set
and report its test accuracy (the main job).

``python -m entrena train --data file.csv --target COLUMN`` trains on your
CSV; ``python -m entrena predict --model model.safetensors --data file.csv``
predicts with the saved model (see ``python -m entrena train --help``)."""
from __future__ import annotations

import argparse
import sys

import numpy as np

import entrena
from entrena.cli import run
from entrena.datasets import load_digits


def demo(args) -> int:
    if args.threads:
        entrena.set_num_threads(args.threads)
    X, y = load_digits()
    X = X / 16.0
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(X))
    n_test = len(X) // 5
    test, train = order[:n_test], order[n_test:]
    model = entrena.Sequential([
        entrena.Dense(128, activation="relu"),
        entrena.Dense(64, activation="relu"),
        entrena.Dense(10),
    ], seed=args.seed)
    model.compile(loss="categorical_crossentropy", optimizer=entrena.SGD(lr=args.lr),
                  metrics=["accuracy"])
    print(f"entrena {entrena.__version__}: digits, {len(train)} training and {len(test)} test "
          f"images, MLP 64-128-64-10, {entrena.get_num_threads()} thread(s)")
    model.fit(X[train], y[train], epochs=args.epochs, batch_size=args.batch_size,
              verbose=2 if args.quiet_bar else 1, seed=args.seed)
    acc = entrena.metrics.accuracy(y[test], model.predict(X[test]))
    print(f"test accuracy: {acc:.4f}")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("train", "predict", "export"):
        return run(argv)
    parser = argparse.ArgumentParser(
        prog="entrena", description=__doc__,
        epilog="Subcommands: python -m entrena train | predict | export --help (a CSV file to a model, a model "
               "to predictions, a model to ONNX).")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="kernel threads (default: all cores)")
    parser.add_argument("--quiet-bar", action="store_true", help="no progress bar, epoch lines only")
    args = parser.parse_args(argv)
    from .cli import check_flags
    check_flags(parser, args)
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
