"""Hyperparameter search with scikit-learn's RandomizedSearchCV over an
entrena MLPClassifier, on the 8x8 handwritten digits (1,797 images,
UCI): a Pipeline (StandardScaler, MLPClassifier) searched over the learning
rate, the hidden layers, dropout, weight decay and the batch size with
3-fold cross-validation in 2 processes; the best pipeline, refitted on the
whole training split, is scored once on the held-out test split.

    python examples/hyperparameter_search.py [--iter 24] [--jobs 2]

Needs scikit-learn (pip install "entrena[sklearn]").
"""
import argparse
import time

import numpy as np
from scipy.stats import loguniform
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from entrena.datasets import load_digits
from entrena.sklearn import MLPClassifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iter", type=int, default=24, help="parameter settings to try")
    parser.add_argument("--jobs", type=int, default=2, help="processes for the search")
    args = parser.parse_args()

    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)

    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", MLPClassifier(epochs=60, early_stopping=True, n_iter_no_change=8, random_state=0))])
    space = {
        "mlp__lr": loguniform(1e-4, 1e-1),
        "mlp__hidden_layer_sizes": [(32,), (128,), (256,), (128, 64)],
        "mlp__dropout": [0.0, 0.1, 0.3],
        "mlp__weight_decay": [0.0, 1e-4, 1e-2],
        "mlp__batch_size": [16, 64, 256],
    }
    search = RandomizedSearchCV(pipe, space, n_iter=args.iter, cv=3, n_jobs=args.jobs, random_state=0)
    t0 = time.perf_counter()
    search.fit(X_train, y_train)
    seconds = time.perf_counter() - t0

    print(f"{args.iter} settings x 3 folds in {seconds:.1f} s ({args.jobs} processes)")
    order = np.argsort(-search.cv_results_["mean_test_score"])
    print("rank  cv accuracy  lr        hidden      dropout  weight_decay  batch")
    for rank, i in enumerate(order[:5], 1):
        p = search.cv_results_["params"][i]
        print(f"{rank:>4}  {search.cv_results_['mean_test_score'][i]:.4f}       {p['mlp__lr']:.2e}  "
              f"{str(p['mlp__hidden_layer_sizes']):<10}  {p['mlp__dropout']:<7}  {p['mlp__weight_decay']:<12}  "
              f"{p['mlp__batch_size']}")
    best = {k.replace("mlp__", ""): (round(float(v), 6) if isinstance(v, (float, np.floating)) else v)
            for k, v in search.best_params_.items()}
    print(f"best parameters: {best}")
    print(f"best cross-validated accuracy: {search.best_score_:.4f}")
    print(f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.4f} "
          f"({len(X_test)} digits)")


if __name__ == "__main__":
    main()
