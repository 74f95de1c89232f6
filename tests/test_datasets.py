"""entrena.datasets: the shipped digits/iris and the synthetic generators."""
import numpy as np
import pytest

from entrena import datasets
from entrena.datasets import (load_digits, load_iris, make_blobs, make_moons, make_regression,
                              make_spirals)


# ------------------------------------------------------------------- real
def test_digits_shape_values_and_class_counts():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16
    np.testing.assert_array_equal(X, np.round(X))                      # whole pixel values
    np.testing.assert_array_equal(np.bincount(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    X64, y64 = load_digits(dtype="float64")
    assert X64.dtype == np.float64
    np.testing.assert_array_equal(X64, X)
    images, y_img = load_digits(as_images=True)
    assert images.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), X)     # row-major pixels: row by row
    np.testing.assert_array_equal(y_img, y)


def test_iris_shape_values_and_class_counts():
    X, y = load_iris()
    assert X.shape == (150, 4) and X.dtype == np.float32
    assert y.shape == (150,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [50, 50, 50])
    np.testing.assert_allclose(X[0], [5.1, 3.5, 1.4, 0.2], rtol=1e-6)   # Fisher's first setosa
    assert datasets.IRIS_CLASSES == ("setosa", "versicolor", "virginica")
    assert 4.0 < X[:, 0].min() and X[:, 0].max() < 8.0                 # sepal lengths in cm


# -------------------------------------------------------------- synthetic
GENERATORS = {
    "moons": lambda seed: make_moons(seed=seed),
    "spirals": lambda seed: make_spirals(seed=seed),
    "regression": lambda seed: make_regression(seed=seed),
    "blobs": lambda seed: make_blobs(seed=seed),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_are_deterministic_for_a_seed(name):
    X1, y1 = GENERATORS[name](0)
    X2, y2 = GENERATORS[name](0)
    X3, _ = GENERATORS[name](1)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert np.isfinite(X1).all() and X1.flags.c_contiguous


@pytest.mark.parametrize("n", [200, 201, 2])
def test_make_moons_shapes_balance_and_geometry(n):
    X, y = make_moons(n, noise=0.0, seed=0)
    assert X.shape == (n, 2) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [n - n // 2, n // 2])
    a, b = X[y == 0].astype(np.float64), X[y == 1].astype(np.float64)
    # Upper arc: unit circle around (0, 0), y >= 0; lower arc: around (1, 0.5), y <= 0.5.
    np.testing.assert_allclose(np.hypot(a[:, 0], a[:, 1]), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(b[:, 0] - 1.0, b[:, 1] - 0.5), 1.0, atol=1e-6)
    assert (a[:, 1] >= -1e-6).all() and (b[:, 1] <= 0.5 + 1e-6).all()
    assert np.any(np.diff(y) != 0) or n == 2                          # shuffled, not in blocks
    if n == 200:
        assert np.any(y[:100] == 1)


def test_make_moons_noise_has_the_given_std():
    X0, _ = make_moons(400, noise=0.0, seed=3)
    X1, _ = make_moons(400, noise=0.1, seed=3)
    # Same points before noise (same seed, same shuffle), noise of std 0.1.
    assert np.std(X1 - X0) == pytest.approx(0.1, rel=0.1)


def test_make_moons_without_noise_matches_sklearn():
    sk = pytest.importorskip("sklearn.datasets")
    Xs, ys = sk.make_moons(400, noise=0.0, shuffle=False)
    X0, y0 = make_moons(400, noise=0.0, seed=3)
    for c in (0, 1):                                  # the same arcs, point for point
        mine, theirs = X0[y0 == c].astype(np.float64), Xs[ys == c]
        # x = cos t (or 1 - cos t) is strictly monotonic along an arc: sort by it.
        np.testing.assert_allclose(mine[np.argsort(mine[:, 0])], theirs[np.argsort(theirs[:, 0])],
                                   atol=1e-6)


@pytest.mark.parametrize("n, k", [(300, 3), (301, 3), (10, 5), (2, 2)])
def test_make_spirals_shapes_balance_and_geometry(n, k):
    X, y = make_spirals(n, n_classes=k, noise=0.0, seed=0)
    assert X.shape == (n, 2) and X.dtype == np.float32 and y.dtype == np.int64
    counts = np.bincount(y, minlength=k)
    assert counts.max() - counts.min() <= 1 and counts.sum() == n
    X = X.astype(np.float64)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() <= 1.0 + 1e-6
    # Without noise every point lies on its arm: angle = 2πk/K + 4r (mod 2π).
    on = r > 1e-3
    want = 2 * np.pi * y[on] / k + 4 * r[on]
    diff = np.angle(np.exp(1j * (np.arctan2(X[on, 1], X[on, 0]) - want)))
    np.testing.assert_allclose(diff, 0.0, atol=1e-4)


def test_make_spirals_noise_moves_points_along_the_angle():
    X0, y0 = make_spirals(300, noise=0.0, seed=4)
    X1, y1 = make_spirals(300, noise=0.2, seed=4)
    np.testing.assert_array_equal(y0, y1)
    # Angle noise keeps each radius.
    np.testing.assert_allclose(np.hypot(*X1.T), np.hypot(*X0.T), atol=1e-6)
    assert not np.allclose(X0, X1, atol=1e-3)


def test_make_regression_linear_target_and_coefficients():
    X, y, coef = make_regression(500, n_features=6, n_informative=3, noise=0.0, seed=0,
                                 return_coef=True)
    assert X.shape == (500, 6) and X.dtype == np.float32
    assert y.shape == (500,) and y.dtype == np.float32
    assert coef.shape == (6,) and np.count_nonzero(coef) == 3
    assert (np.abs(coef[coef != 0]) >= 1.0).all() and (np.abs(coef) < 10.0).all()
    np.testing.assert_allclose(y, X.astype(np.float64) @ coef, rtol=1e-5, atol=1e-4)
    assert abs(X.mean()) < 0.1 and X.std() == pytest.approx(1.0, rel=0.05)
    # With noise 0.5, least squares recovers the coefficients and the residual std is ~0.5.
    X, y, coef = make_regression(4000, n_features=4, noise=0.5, seed=1, return_coef=True)
    assert np.count_nonzero(coef) == 4                                  # all informative by default
    fit, *_ = np.linalg.lstsq(X.astype(np.float64), y.astype(np.float64), rcond=None)
    np.testing.assert_allclose(fit, coef, atol=0.05)
    assert np.std(y - X.astype(np.float64) @ coef) == pytest.approx(0.5, rel=0.05)


def test_make_blobs_shapes_balance_and_centres():
    X, y, C = make_blobs(301, centers=3, n_features=4, seed=0, return_centers=True)
    assert X.shape == (301, 4) and X.dtype == np.float32 and y.dtype == np.int64
    assert C.shape == (3, 4) and (np.abs(C) <= 10).all()
    np.testing.assert_array_equal(np.bincount(y), [101, 100, 100])
    centers = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    X, y = make_blobs(3000, centers=centers, cluster_std=[0.1, 0.5, 1.0], seed=2)
    for c in range(3):
        pts = X[y == c].astype(np.float64)
        np.testing.assert_allclose(pts.mean(axis=0), centers[c], atol=0.1)
        assert pts.std(axis=0) == pytest.approx([[0.1, 0.5, 1.0][c]] * 2, rel=0.1)
    X, y = make_blobs(4, centers=centers[:2], cluster_std=0.0, seed=0)
    np.testing.assert_array_equal(X, centers[y].astype(np.float32))


@pytest.mark.parametrize("fn, kwargs, exc, match", [
    (make_moons, dict(n_samples=1), ValueError, r"n_samples: expected an integer >= 2, got 1"),
    (make_moons, dict(n_samples=2.5), TypeError, r"n_samples: expected an integer, got float"),
    (make_moons, dict(n_samples=True), TypeError, r"n_samples: expected an integer, got bool"),
    (make_moons, dict(noise=-0.1), ValueError, r"noise: expected a number >= 0"),
    (make_moons, dict(noise=float("nan")), ValueError, r"noise: expected a finite number"),
    (make_moons, dict(noise="a"), TypeError, r"noise: expected a number"),
    (make_moons, dict(seed=-1), ValueError, r"seed: expected an integer >= 0"),
    (make_moons, dict(seed="0"), TypeError, r"seed: expected an integer"),
    (make_spirals, dict(n_classes=1), ValueError, r"n_classes: expected an integer >= 2, got 1"),
    (make_spirals, dict(n_samples=2, n_classes=3), ValueError,
     r"n_samples: expected at least n_classes=3 \(one sample per class\), got 2"),
    (make_spirals, dict(noise=-1), ValueError, r"noise: expected a number >= 0"),
    (make_regression, dict(n_samples=0), ValueError, r"n_samples: expected an integer >= 1, got 0"),
    (make_regression, dict(n_features=0), ValueError, r"n_features: expected an integer >= 1"),
    (make_regression, dict(n_features=3, n_informative=4), ValueError,
     r"n_informative: expected at most n_features=3, got 4"),
    (make_regression, dict(n_informative=-1), ValueError, r"n_informative: expected an integer >= 0"),
    (make_regression, dict(noise=-1.0), ValueError, r"noise: expected a number >= 0"),
    (make_regression, dict(return_coef="yes"), TypeError, r"return_coef: expected True or False"),
    (make_blobs, dict(centers=0), ValueError, r"centers: expected an integer >= 1, got 0"),
    (make_blobs, dict(centers=True), TypeError, r"centers: expected a number of clusters"),
    (make_blobs, dict(centers=[[0, 0, 0]]), ValueError,
     r"centers: expected centres with n_features=2 coordinates, got shape \(1, 3\); pass n_features=3"),
    (make_blobs, dict(centers=[1.0, 2.0]), ValueError, r"centers: expected a 2-D array"),
    (make_blobs, dict(n_samples=2, centers=3), ValueError,
     r"n_samples: expected at least one sample per cluster \(3\), got 2"),
    (make_blobs, dict(cluster_std=-1.0), ValueError, r"cluster_std: expected a number >= 0"),
    (make_blobs, dict(cluster_std=[1.0, 2.0]), ValueError,
     r"cluster_std: expected one value >= 0 per cluster \(3\), got \[1.0, 2.0\]"),
    (make_blobs, dict(n_features=0), ValueError, r"n_features: expected an integer >= 1"),
    (make_blobs, dict(return_centers=1), TypeError, r"return_centers: expected True or False"),
])
def test_generators_bad_input(fn, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fn(**kwargs)


def test_generators_accept_a_numpy_generator():
    a = make_blobs(50, seed=np.random.default_rng(5))
    b = make_blobs(50, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])


def test_a_small_model_separates_moons():
    """The generator output feeds straight into training (X float32, y int64)."""
    import entrena
    X, y = make_moons(300, noise=0.05, seed=0)
    model = entrena.Sequential([entrena.Dense(32, activation="relu"), entrena.Dense(2)], seed=0)
    model.compile(loss="categorical_crossentropy", optimizer=entrena.SGD(lr=0.3), metrics=["accuracy"])
    history = model.fit(X, y, epochs=150, batch_size=32, verbose=0, seed=0)
    assert history.history["accuracy"][-1] > 0.95
