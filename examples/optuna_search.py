"""Hyperparameter search with Optuna over an entrena MLPClassifier, on the
Wisconsin diagnostic breast-cancer data (569 tumours, 30 features, UCI;
shipped with scikit-learn). Each trial trains one epoch at a time with
partial_fit and reports the validation accuracy to Optuna, whose median
pruner stops trials that fall behind; the best parameters are refitted on
the training split and scored once on the held-out test split.

    python examples/optuna_search.py [--trials 30]

Needs Optuna and scikit-learn (pip install "entrena[tune]").
"""
import argparse
import time

import numpy as np
import optuna
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from entrena.sklearn import MLPClassifier

EPOCHS = 40


def make_classifier(params: dict, **extra) -> MLPClassifier:
    hidden = tuple([params["units"]] * params["layers"])
    return MLPClassifier(hidden, activation=params["activation"], lr=params["lr"], dropout=params["dropout"],
                         weight_decay=params["weight_decay"], batch_size=params["batch_size"], random_state=0,
                         **extra)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    X_fit, X_val, y_fit, y_val = train_test_split(X_train, y_train, test_size=0.25, stratify=y_train, random_state=1)
    scaler = StandardScaler().fit(X_fit)
    X_fit_s, X_val_s = scaler.transform(X_fit), scaler.transform(X_val)
    classes = np.unique(y)

    def objective(trial: optuna.Trial) -> float:
        params = {
            "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
            "layers": trial.suggest_int("layers", 1, 3),
            "units": trial.suggest_categorical("units", [16, 64, 256]),
            "activation": trial.suggest_categorical("activation", ["relu", "tanh", "gelu"]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True),
            "batch_size": trial.suggest_categorical("batch_size", [16, 32, 128]),
        }
        clf = make_classifier(params)
        accuracy = 0.0
        for epoch in range(EPOCHS):
            clf.partial_fit(X_fit_s, y_fit, classes=classes)
            accuracy = clf.score(X_val_s, y_val)
            trial.report(accuracy, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return accuracy

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5))
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=args.trials)
    seconds = time.perf_counter() - t0
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    print(f"{len(study.trials)} trials in {seconds:.1f} s ({pruned} pruned)")
    best = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in study.best_params.items()}
    print(f"best parameters: {best}")
    print(f"best validation accuracy: {study.best_value:.4f}")

    # The best parameters, trained for as many epochs on the whole training split.
    scaler = StandardScaler().fit(X_train)
    final = make_classifier(study.best_params, epochs=EPOCHS, tol=None).fit(scaler.transform(X_train), y_train)
    print(f"test accuracy: {final.score(scaler.transform(X_test), y_test):.4f} ({len(X_test)} tumours)")


if __name__ == "__main__":
    main()
