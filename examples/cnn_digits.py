"""A small convolutional network on the 8x8 digits, with augmentation,
against the MLP of `python -m entrena`, on the same train/validation/test
split. Prints both test accuracies.

    python examples/cnn_digits.py [--epochs 60] [--seed 0]
"""
import argparse

import numpy as np

import entrena
from entrena import callbacks as cb
from entrena.datasets import load_digits


def split(seed):
    X, y = load_digits(as_images=True)
    X = X / 16.0
    return entrena.train_val_test_split(X, y, stratify=True, seed=seed)


def fit_and_test(model, data, epochs, batch_size=32):
    Xtr, Xv, Xte, ytr, yv, yte = data
    model.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=2e-3), metrics=["accuracy"])
    stop = cb.EarlyStopping(monitor="val_accuracy", patience=15, restore_best_weights=True)
    model.fit(Xtr, ytr, epochs=epochs, batch_size=batch_size, validation_data=(Xv, yv), callbacks=[stop],
              verbose=0)
    return model.evaluate(Xte, yte)["accuracy"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    data = split(args.seed)

    mlp = entrena.Sequential([entrena.Flatten(), entrena.Dense(128, activation="relu"), entrena.Dense(10)],
                             input_shape=(1, 8, 8), seed=args.seed)
    cnn = entrena.Sequential([
        entrena.RandomTranslation(0.125, 0.125),      # up to one pixel each way
        entrena.RandomRotation(0.03),                 # up to about 11 degrees
        entrena.Conv2D(32, 3, padding="same", activation="relu"),
        entrena.MaxPool2D(2),
        entrena.Conv2D(64, 3, padding="same", activation="relu"),
        entrena.MaxPool2D(2),
        entrena.Flatten(),
        entrena.Dropout(0.25),
        entrena.Dense(128, activation="relu"),
        entrena.Dense(10),
    ], input_shape=(1, 8, 8), seed=args.seed)
    cnn.summary()
    acc_mlp = fit_and_test(mlp, data, args.epochs)
    acc_cnn = fit_and_test(cnn, data, args.epochs)
    n_test = len(data[2])
    print(f"test accuracy on {n_test} digits: MLP {acc_mlp:.4f}, CNN with augmentation {acc_cnn:.4f}")
    return 0 if np.isfinite(acc_cnn) else 1


if __name__ == "__main__":
    raise SystemExit(main())
