"""entrena.data: splits, scalers, one-hot labels, mini-batches."""
import math

import numpy as np
import pytest

import entrena
from entrena import data
from entrena.data import (MinMaxScaler, StandardScaler, from_one_hot, iterate_batches, one_hot,
                          train_test_split, train_val_test_split)


def _ids(n, width=2):
    """X whose first column is the sample id, y = 10 * id (to check pairing)."""
    ids = np.arange(n)
    X = np.stack([ids] + [ids * 0 + j for j in range(1, width)], axis=1)
    return X, ids * 10


# ------------------------------------------------------------------ splits
@pytest.mark.parametrize("n, sizes", [(100, (70, 15, 15)), (20, (14, 3, 3)), (1797, (1257, 270, 270)),
                                      (7, (3, 2, 2))])
def test_default_split_is_70_15_15_rounding_parts_up(n, sizes):
    X, y = _ids(n)
    parts = train_val_test_split(X, y, seed=0)
    assert tuple(len(p) for p in parts[:3]) == sizes
    assert tuple(len(p) for p in parts[3:]) == sizes


def test_split_parts_are_disjoint_cover_everything_and_keep_pairs():
    X, y = _ids(503, width=3)
    Xtr, Xv, Xte, ytr, yv, yte = train_val_test_split(X, y, val_size=0.2, test_size=0.1, seed=5)
    ids = np.concatenate([Xtr[:, 0], Xv[:, 0], Xte[:, 0]])
    np.testing.assert_array_equal(np.sort(ids), np.arange(503))     # each sample exactly once
    for Xp, yp in ((Xtr, ytr), (Xv, yv), (Xte, yte)):
        np.testing.assert_array_equal(yp, Xp[:, 0] * 10)           # rows stay paired
        np.testing.assert_array_equal(Xp[:, 1:], [[1, 2]] * len(Xp))
    assert (len(Xtr), len(Xv), len(Xte)) == (351, 101, 51)   # ceil(100.6), ceil(50.3), the rest


def test_split_sizes_as_counts_and_zero():
    X, y = _ids(100)
    parts = train_val_test_split(X, y, val_size=10, test_size=25, seed=0)
    assert [len(p) for p in parts[:3]] == [65, 10, 25]
    parts = train_val_test_split(X, y, val_size=0, test_size=0.3, seed=0)
    assert [len(p) for p in parts[:3]] == [70, 0, 30]
    assert parts[1].shape == (0, 2) and parts[4].shape == (0,)


def test_split_is_deterministic_for_a_seed_and_shuffles():
    X, y = _ids(200)
    a = train_val_test_split(X, y, seed=3)
    b = train_val_test_split(X, y, seed=3)
    c = train_val_test_split(X, y, seed=4)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(np.sort(a[2][:, 0]), np.arange(170, 200))   # not simply the tail
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    np.testing.assert_array_equal(train_test_split(X, y, seed=g1)[0], train_test_split(X, y, seed=g2)[0])


def test_split_without_shuffle_keeps_order_with_test_last():
    X, y = _ids(20)
    Xtr, Xv, Xte, *_ = train_val_test_split(X, y, val_size=0.25, test_size=0.25, shuffle=False)
    np.testing.assert_array_equal(Xtr[:, 0], np.arange(10))
    np.testing.assert_array_equal(Xv[:, 0], np.arange(10, 15))
    np.testing.assert_array_equal(Xte[:, 0], np.arange(15, 20))


def test_stratified_split_keeps_class_proportions_exactly_when_they_divide():
    y = np.repeat([0, 1, 2], [600, 300, 100])
    rng = np.random.default_rng(0)
    y = y[rng.permutation(len(y))]
    X = np.arange(len(y))[:, None]
    Xtr, Xv, Xte, ytr, yv, yte = train_val_test_split(X, y, stratify=True, seed=1)
    np.testing.assert_array_equal(np.bincount(ytr), [420, 210, 70])
    np.testing.assert_array_equal(np.bincount(yv), [90, 45, 15])
    np.testing.assert_array_equal(np.bincount(yte), [90, 45, 15])
    np.testing.assert_array_equal(y[Xte[:, 0]], yte)
    # The parts come shuffled, not grouped by class.
    assert np.any(np.diff(yte) < 0) and np.any(np.diff(yte) > 0)


def test_stratified_split_is_within_two_samples_per_class_on_awkward_sizes():
    rng = np.random.default_rng(42)
    for trial in range(60):
        n, k = int(rng.integers(10, 300)), int(rng.integers(2, 12))
        y = np.minimum(rng.geometric(0.3, n) - 1, k - 1)       # imbalanced classes
        vs, ts = float(rng.uniform(0, 0.4)), float(rng.uniform(0.01, 0.4))
        parts = train_val_test_split(np.arange(n), y, val_size=vs, test_size=ts, stratify=True,
                                     seed=trial)
        np.testing.assert_array_equal(np.sort(np.concatenate(parts[:3])), np.arange(n))
        counts = np.bincount(y, minlength=k)
        for part, bound in zip(parts[3:], (2, 2, 1)):
            ideal = counts * len(part) / n
            assert np.abs(np.bincount(part, minlength=k) - ideal).max() < bound


def test_stratify_accepts_one_hot_rows_and_gives_the_same_split():
    y = np.repeat([0, 1, 2, 3], 25)
    Y = one_hot(y)
    a = train_val_test_split(np.arange(100), y, stratify=True, seed=2)
    b = train_val_test_split(np.arange(100), Y, stratify=True, seed=2)
    for p, q in zip(a[:3], b[:3]):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(from_one_hot(b[5]), a[5])


def test_stratified_split_without_shuffle_takes_each_class_tail_for_test():
    y = np.array([0, 1] * 10)
    Xtr, Xte, ytr, yte = train_test_split(np.arange(20), y, test_size=0.2, stratify=True, shuffle=False)
    np.testing.assert_array_equal(Xte, [16, 17, 18, 19])
    np.testing.assert_array_equal(Xtr, np.arange(16))


def test_train_test_split_default_and_n_d_inputs():
    X = np.zeros((50, 1, 8, 8), dtype=np.float32)
    X[:, 0, 0, 0] = np.arange(50)
    y = np.arange(50) % 5
    Xtr, Xte, ytr, yte = train_test_split(X, y, seed=0)
    assert Xtr.shape == (40, 1, 8, 8) and Xte.shape == (10, 1, 8, 8)
    assert Xtr.dtype == np.float32 and ytr.dtype == y.dtype
    np.testing.assert_array_equal(ytr, Xtr[:, 0, 0, 0].astype(int) % 5)


def test_split_sizes_match_sklearn():
    model_selection = pytest.importorskip("sklearn.model_selection")
    for n in (10, 33, 100, 1797):
        for frac in (0.1, 0.15, 0.2, 0.3, 0.5):
            a = model_selection.train_test_split(np.arange(n), test_size=frac, random_state=0)
            b = train_test_split(np.arange(n), np.arange(n), test_size=frac, seed=0)
            assert (len(b[0]), len(b[1])) == (len(a[0]), len(a[1])), (n, frac)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(test_size=1.0), ValueError, r"test_size: expected a number < 1"),
    (dict(test_size=-0.1), ValueError, r"test_size: expected a number >= 0"),
    (dict(test_size=100), ValueError, r"test_size: expected a sample count in \[0, 100\)"),
    (dict(test_size=True), TypeError, r"test_size: expected a fraction"),
    (dict(test_size="0.2"), TypeError, r"test_size: expected a fraction"),
    (dict(val_size=0.5, test_size=0.5), ValueError, r"val_size \+ test_size: .*50 \+ 50 of 100"),
    (dict(val_size=60, test_size=40), ValueError, r"leave at least one training sample"),
    (dict(stratify="yes"), TypeError, r"stratify: expected True or False"),
    (dict(shuffle=1), TypeError, r"shuffle: expected True or False"),
    (dict(seed=-1), ValueError, r"seed: expected an integer >= 0"),
    (dict(seed=1.5), TypeError, r"seed: expected an integer"),
])
def test_split_bad_arguments(kwargs, exc, match):
    X, y = _ids(100)
    with pytest.raises(exc, match=match):
        train_val_test_split(X, y, **kwargs)


def test_split_bad_arrays():
    X, y = _ids(10)
    with pytest.raises(ValueError, match=r"y: expected 10 rows"):
        train_test_split(X, y[:9])
    with pytest.raises(TypeError, match=r"X: expected an array, got None"):
        train_test_split(None, y)
    with pytest.raises(ValueError, match=r"X: expected an array with one row per sample"):
        train_test_split(3.0, y)
    with pytest.raises(ValueError, match=r"X: expected at least one sample"):
        train_test_split(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match=r"y: stratify=True expected .* not one-hot"):
        train_test_split(X, np.full((10, 3), 0.5), stratify=True)
    with pytest.raises(ValueError, match=r"y: stratify=True expected .* got shape \(10, 2, 2\)"):
        train_test_split(X, np.zeros((10, 2, 2)), stratify=True)


# ----------------------------------------------------------------- scalers
def test_standard_scaler_by_hand_with_a_constant_column():
    X = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]])
    s = StandardScaler().fit(X)
    np.testing.assert_allclose(s.mean_, [3.0, 2.0])
    np.testing.assert_allclose(s.var_, [8 / 3, 0.0])
    np.testing.assert_allclose(s.scale_, [math.sqrt(8 / 3), 1.0])
    assert s.n_features_in_ == 2 and s.n_samples_seen_ == 3
    z = math.sqrt(3 / 2)           # 2 / sqrt(8/3)
    np.testing.assert_allclose(s.transform(X), [[-z, 0.0], [0.0, 0.0], [z, 0.0]])
    np.testing.assert_allclose(s.inverse_transform(s.transform(X)), X)
    # New data is scaled with the training statistics.
    np.testing.assert_allclose(s.transform([[7.0, 5.0]]), [[2 * z, 3.0]])


def test_standard_scaler_constant_column_that_rounds_is_exactly_zero():
    X = np.full((7, 3), 0.1)
    X[:, 1] = np.arange(7)
    s = StandardScaler()
    out = s.fit_transform(X)                  # no divide-by-zero warning (warnings are errors)
    np.testing.assert_array_equal(out[:, 0], 0.0)
    np.testing.assert_array_equal(s.scale_[[0, 2]], 1.0)
    np.testing.assert_allclose(out[:, 1].std(), 1.0)
    np.testing.assert_allclose(s.inverse_transform(out), X)


def test_scalers_keep_float_dtypes_and_make_ints_float32():
    X64 = np.random.default_rng(0).normal(size=(20, 3))
    for cls in (StandardScaler, MinMaxScaler):
        assert cls().fit_transform(X64).dtype == np.float64
        assert cls().fit_transform(X64.astype(np.float32)).dtype == np.float32
        assert cls().fit_transform(np.arange(12).reshape(6, 2)).dtype == np.float32
        s = cls().fit(X64)
        np.testing.assert_array_equal(s.fit_transform(X64), cls().fit(X64).transform(X64))


def test_standard_scaler_options():
    X = np.array([[1.0, 10.0], [3.0, 30.0]])
    np.testing.assert_allclose(StandardScaler(with_mean=False).fit_transform(X), [[1.0, 1.0], [3.0, 3.0]])
    np.testing.assert_allclose(StandardScaler(with_std=False).fit_transform(X), [[-1.0, -10.0], [1.0, 10.0]])


def test_min_max_scaler_by_hand():
    X = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    s = MinMaxScaler().fit(X)
    np.testing.assert_allclose(s.data_min_, [1.0, 10.0])
    np.testing.assert_allclose(s.data_max_, [5.0, 10.0])
    np.testing.assert_allclose(s.data_range_, [4.0, 0.0])
    np.testing.assert_allclose(s.transform(X), [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(s.transform([[9.0, 11.0]]), [[2.0, 1.0]])    # outside the fitted range
    s = MinMaxScaler(feature_range=(-1, 1)).fit(X)
    np.testing.assert_allclose(s.transform(X), [[-1.0, -1.0], [0.0, -1.0], [1.0, -1.0]])
    np.testing.assert_allclose(s.inverse_transform(s.transform(X)), X)     # constant column comes back


def test_scalers_match_sklearn():
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    rng = np.random.default_rng(7)
    X = rng.normal(3.0, 2.0, size=(50, 4))
    X[:, 2] = -1.5                                          # a constant column
    T = rng.normal(size=(10, 4))
    pairs = [(StandardScaler(), preprocessing.StandardScaler()),
             (MinMaxScaler(), preprocessing.MinMaxScaler()),
             (MinMaxScaler((-1, 2)), preprocessing.MinMaxScaler((-1, 2)))]
    for ours, theirs in pairs:
        ours.fit(X), theirs.fit(X)
        np.testing.assert_allclose(ours.transform(T), theirs.transform(T), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.inverse_transform(T), theirs.inverse_transform(T),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.scale_, theirs.scale_, rtol=1e-12)
    np.testing.assert_allclose(pairs[0][0].mean_, pairs[0][1].mean_)
    np.testing.assert_allclose(pairs[0][0].var_, pairs[0][1].var_, atol=1e-12)
    np.testing.assert_allclose(pairs[1][0].min_, pairs[1][1].min_)


@pytest.mark.parametrize("cls", [StandardScaler, MinMaxScaler])
def test_scaler_bad_input(cls):
    s = cls()
    for method in ("transform", "inverse_transform"):
        with pytest.raises(RuntimeError, match=rf"{cls.__name__}.{method}: .*not fitted.*call fit"):
            getattr(s, method)(np.zeros((2, 3)))
    s.fit(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match=r"X: .*expected 3 features \(as in fit\), got 2"):
        s.transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"X: .*expected a 2-D array .*X.reshape\(-1, 1\)"):
        s.fit(np.arange(5.0))
    with pytest.raises(ValueError, match=r"X: expected finite values"):
        s.fit([[1.0, np.nan, 2.0]])
    with pytest.raises(TypeError, match=r"X: expected numeric data"):
        s.fit([["a", "b", "c"]])
    with pytest.raises(TypeError, match=r"X: expected an array, got None"):
        s.fit(None)


def test_scaler_bad_arguments():
    with pytest.raises(ValueError, match=r"feature_range: expected low < high, got \(1, 0\)"):
        MinMaxScaler((1, 0))
    with pytest.raises(TypeError, match=r"feature_range: expected a pair"):
        MinMaxScaler(5)
    with pytest.raises(TypeError, match=r"feature_range low: expected a number"):
        MinMaxScaler(("a", 1))
    with pytest.raises(TypeError, match=r"with_mean: expected True or False"):
        StandardScaler(with_mean="no")


# ----------------------------------------------------------------- one-hot
def test_one_hot_by_hand_and_round_trip():
    Y = one_hot([2, 0, 1, 2])
    np.testing.assert_array_equal(Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert Y.dtype == np.float32
    Y5 = one_hot(np.array([[1], [3]]), num_classes=5, dtype="int64")
    np.testing.assert_array_equal(Y5, [[0, 1, 0, 0, 0], [0, 0, 0, 1, 0]])
    assert Y5.dtype == np.int64
    y = np.random.default_rng(0).integers(0, 10, 1000)
    back = from_one_hot(one_hot(y, 10))
    np.testing.assert_array_equal(back, y)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(from_one_hot(one_hot(np.array([0.0, 2.0]))), [0, 2])


@pytest.mark.parametrize("args, exc, match", [
    (([0, -1],), ValueError, r"y: expected integer class labels >= 0, got the value -1"),
    (([0, 1.5],), ValueError, r"y: expected integer class labels >= 0, got the value 1.5"),
    (([0, 3], 3), ValueError, r"y: expected labels in \[0, 3\) for num_classes=3, got the label 3"),
    (([0, 1], 0), ValueError, r"num_classes: expected an integer >= 1"),
    (([0, 1], 2.0), TypeError, r"num_classes: expected an integer"),
    (([0, 1], None, "complex64"), TypeError, r"dtype: expected a real numeric dtype"),
    (([0, 1], None, "nope"), TypeError, r"dtype: expected a real numeric dtype"),
    ((np.zeros((4, 3)),), ValueError, r"y: expected class labels of shape \(n,\), got shape \(4, 3\)"),
    ((["a", "b"],), TypeError, r"y: expected numeric data"),
    (([],), ValueError, r"y: expected at least one sample"),
    (([0, 1e12],), ValueError, r"y: expected class labels below 2\*\*31, got 1e\+12"),
])
def test_one_hot_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        one_hot(*args)


def test_from_one_hot_bad_input():
    with pytest.raises(ValueError, match=r"Y: expected one-hot rows of shape \(n, classes\), got shape \(3,\)"):
        from_one_hot([0, 1, 0])
    with pytest.raises(ValueError, match=r"Y: expected one-hot rows .*got row 1 = \[0.5, 0.5\]"):
        from_one_hot([[1.0, 0.0], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"got row 0 = \[1, 1\]"):
        from_one_hot([[1, 1]])


# ----------------------------------------------------------------- batches
@pytest.mark.parametrize("n, batch, drop_last, count, last", [
    (35_000, 50, False, 700, 50), (200, 5, False, 40, 5), (10, 3, False, 4, 1),
    (10, 3, True, 3, 3), (7, 7, False, 1, 7), (5, 32, False, 1, 5), (1, 1, True, 1, 1),
])
def test_batch_counts_and_sizes(n, batch, drop_last, count, last):
    b = iterate_batches(np.zeros((n, 2)), np.zeros(n), batch, drop_last=drop_last, seed=0)
    assert len(b) == count
    batches = list(b)
    assert len(batches) == count
    assert all(len(xb) == len(yb) == batch for xb, yb in batches[:-1])
    assert len(batches[-1][0]) == last
    assert len(b) == entrena.Sequential.steps_per_epoch(n, batch, drop_last)


def test_every_sample_once_per_pass_with_pairs_kept():
    X, y = _ids(1003)
    b = iterate_batches(X, y, batch_size=64, seed=1)
    orders = []
    for _ in range(2):                          # two passes (epochs)
        seen = []
        for xb, yb in b:
            np.testing.assert_array_equal(yb, xb[:, 0] * 10)
            seen.append(xb[:, 0])
        seen = np.concatenate(seen)
        np.testing.assert_array_equal(np.sort(seen), np.arange(1003))
        orders.append(seen)
    assert not np.array_equal(orders[0], np.arange(1003))      # shuffled
    assert not np.array_equal(orders[0], orders[1])            # reshuffled each pass
    again = np.concatenate([xb[:, 0] for xb, _ in iterate_batches(X, y, batch_size=64, seed=1)])
    np.testing.assert_array_equal(again, orders[0])            # deterministic for a seed


def test_batches_without_shuffle_are_ordered_views_and_x_alone_without_y():
    X = np.arange(20.0).reshape(10, 2)
    batches = list(iterate_batches(X, batch_size=4, shuffle=False))
    assert [b.shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert all(np.shares_memory(b, X) for b in batches)
    np.testing.assert_array_equal(np.concatenate(batches), X)
    dropped = list(iterate_batches(X, batch_size=4, shuffle=True, drop_last=True, seed=0))
    assert len(dropped) == 2 and len(np.unique(np.concatenate(dropped)[:, 0])) == 8


def test_iterate_batches_bad_input():
    X = np.zeros((10, 2))
    with pytest.raises(ValueError, match=r"batch_size: expected an integer >= 1, got 0"):
        iterate_batches(X, batch_size=0)
    with pytest.raises(TypeError, match=r"batch_size: expected an integer, got float"):
        iterate_batches(X, batch_size=2.5)
    with pytest.raises(TypeError, match=r"batch_size: expected an integer, got bool"):
        iterate_batches(X, batch_size=True)
    with pytest.raises(ValueError, match=r"y: expected 10 rows \(one per sample of X\), got 9"):
        iterate_batches(X, np.zeros(9))
    with pytest.raises(ValueError, match=r"batch_size: 11 is larger than the 10 samples"):
        iterate_batches(X, batch_size=11, drop_last=True)
    with pytest.raises(TypeError, match=r"shuffle: expected True or False"):
        iterate_batches(X, shuffle="yes")
    with pytest.raises(TypeError, match=r"drop_last: expected True or False"):
        iterate_batches(X, drop_last=None)
    with pytest.raises(ValueError, match=r"seed: expected an integer >= 0"):
        iterate_batches(X, seed=-3)


def test_top_level_exports():
    assert entrena.data is data
    assert entrena.train_test_split is train_test_split
    assert entrena.train_val_test_split is train_val_test_split
    assert entrena.StandardScaler is StandardScaler and entrena.MinMaxScaler is MinMaxScaler
    assert entrena.one_hot is one_hot
    for name in data.__all__:
        assert hasattr(data, name)
