"""entrena.metrics: hand-computed examples, scikit-learn agreement, the
get() registry and the inputs fit/evaluate pass."""
import numpy as np
import pytest

from entrena import metrics
from entrena.metrics import (accuracy, binary_accuracy, confusion_matrix, f1, mae, mse, precision,
                             r2, recall)

# A 3-class example worked by hand:
#   confusion matrix (rows true, columns predicted)   [[2, 1, 0],
#                                                      [1, 2, 1],
#                                                      [0, 0, 3]]
#   TP = [2, 2, 3]; predicted = column sums [3, 3, 4]; actual = row sums [3, 4, 3]
#   precision = [2/3, 2/3, 3/4]   recall = [2/3, 1/2, 1]   F1 = 2TP/(pred+actual) = [4/6, 4/7, 6/7]
#   micro precision = recall = F1 = accuracy = 7/10
Y_TRUE = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 1, 1, 2, 0, 2, 2, 2])
CM = np.array([[2, 1, 0], [1, 2, 1], [0, 0, 3]])


def _probs(labels, k, rng):
    """Random probability rows whose argmax is labels."""
    p = rng.uniform(0.0, 0.3, (len(labels), k))
    p[np.arange(len(labels)), labels] = 0.9
    return p / p.sum(axis=1, keepdims=True)


# --------------------------------------------------------- classification
def test_confusion_matrix_by_hand():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(cm, CM)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, num_classes=4)[:3, :3], CM)
    assert confusion_matrix(Y_TRUE, Y_PRED, num_classes=4)[3].sum() == 0
    # Probability rows of width 5 fix the size even if classes 3 and 4 never win.
    probs = _probs(Y_PRED, 5, np.random.default_rng(0))
    cm5 = confusion_matrix(Y_TRUE, probs)
    assert cm5.shape == (5, 5)
    np.testing.assert_array_equal(cm5[:3, :3], CM)


def test_precision_recall_f1_by_hand():
    assert precision(Y_TRUE, Y_PRED) == pytest.approx((2 / 3 + 2 / 3 + 3 / 4) / 3)     # 25/36
    assert recall(Y_TRUE, Y_PRED) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)             # 13/18
    assert f1(Y_TRUE, Y_PRED) == pytest.approx((4 / 6 + 4 / 7 + 6 / 7) / 3)             # 44/63
    for fn in (precision, recall, f1):
        assert fn(Y_TRUE, Y_PRED, average="micro") == pytest.approx(0.7)
    np.testing.assert_allclose(precision(Y_TRUE, Y_PRED, average=None), [2 / 3, 2 / 3, 3 / 4])
    np.testing.assert_allclose(recall(Y_TRUE, Y_PRED, average=None), [2 / 3, 1 / 2, 1])
    np.testing.assert_allclose(f1(Y_TRUE, Y_PRED, average=None), [4 / 6, 4 / 7, 6 / 7])
    assert f1(Y_TRUE, Y_PRED) != pytest.approx(f1(Y_TRUE, Y_PRED, average="micro"))
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(0.7)


def test_binary_average_by_hand():
    y_true = [1, 1, 0, 0, 1]
    y_pred = [1, 0, 0, 0, 1]            # TP 2, FP 0, FN 1
    assert precision(y_true, y_pred, average="binary") == 1.0
    assert recall(y_true, y_pred, average="binary") == pytest.approx(2 / 3)
    assert f1(y_true, y_pred, average="binary") == pytest.approx(0.8)
    # The same from probabilities of class 1 and from (n, 2) probability rows.
    p1 = np.array([0.9, 0.2, 0.1, 0.4, 0.6])
    assert f1(y_true, p1, average="binary") == pytest.approx(0.8)
    assert f1(y_true, np.stack([1 - p1, p1], axis=1), average="binary") == pytest.approx(0.8)
    # Class 1 never predicted nor present: 0/0 counts as 0.
    assert precision([0, 0], [0, 0], average="binary") == 0.0


def test_macro_averages_over_classes_present_and_zero_division_is_zero():
    assert f1([0, 0, 2], [0, 0, 2]) == 1.0            # class 1 absent from both: not averaged
    # Class 1 never predicted: its precision is 0/0 -> 0; class 0 precision 1/2.
    assert precision([0, 1], [0, 0]) == pytest.approx(0.25)
    assert recall([0, 1], [0, 0]) == pytest.approx(0.5)


def test_class_readings_of_labels_one_hot_and_probabilities():
    rng = np.random.default_rng(1)
    probs = _probs(Y_PRED, 3, rng)
    onehot = np.eye(3)[Y_TRUE]
    for t in (Y_TRUE, Y_TRUE.astype(np.float32), Y_TRUE[:, None], onehot):
        for p in (Y_PRED, probs, np.eye(3)[Y_PRED]):
            assert accuracy(t, p) == pytest.approx(0.7)
            np.testing.assert_array_equal(confusion_matrix(t, p), CM)
            assert f1(t, p) == pytest.approx(44 / 63)
    # A vector of non-integer values in [0, 1] is P(class 1), thresholded at 0.5.
    assert accuracy([0, 1, 1, 0], np.array([[0.2], [0.7], [0.4], [0.5]])) == 0.75
    assert accuracy(np.array([[0.0], [1.0]]), [0.3, 0.8]) == 1.0


def test_binary_accuracy_by_hand():
    y_true = [0, 1, 1, 0]
    p = [0.2, 0.7, 0.4, 0.5]                              # > 0.5 -> [0, 1, 0, 0]
    assert binary_accuracy(y_true, p) == 0.75
    assert binary_accuracy(np.array(y_true)[:, None], np.array(p)[:, None]) == 0.75
    assert binary_accuracy(np.array(y_true, dtype=np.float32)[:, None], p) == 0.75
    assert binary_accuracy(y_true, p, threshold=0.1) == 0.5       # -> [1, 1, 1, 1]
    # Multi-label: every entry counts.
    assert binary_accuracy([[1, 0], [0, 1]], [[0.9, 0.6], [0.1, 0.8]]) == 0.75


def test_classification_metrics_match_sklearn():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    for k in (2, 3, 7):
        t = rng.integers(0, k, 400)
        p = np.where(rng.random(400) < 0.6, t, rng.integers(0, k, 400))
        p[p == k - 1] = 0                                  # one class never predicted
        probs = _probs(p, k, rng)
        assert accuracy(t, probs) == pytest.approx(skm.accuracy_score(t, p))
        np.testing.assert_array_equal(confusion_matrix(t, probs),
                                      skm.confusion_matrix(t, p, labels=np.arange(k)))
        averages = ("macro", "micro", None) + (("binary",) if k == 2 else ())
        for ours, theirs in ((precision, skm.precision_score), (recall, skm.recall_score),
                             (f1, skm.f1_score)):
            for avg in averages:
                want = theirs(t, p, average=avg, zero_division=0.0)
                np.testing.assert_allclose(ours(t, probs, average=avg), want, rtol=1e-12)


@pytest.mark.parametrize("fn, args, exc, match", [
    (accuracy, ([0, 1, 2], [0, 1]), ValueError, r"y_pred: expected 3 rows \(one per row of y_true\), got 2"),
    (accuracy, ([0, 1], [-0.5, 2.3]), ValueError, r"y_pred: expected class labels .*got values from -0.5 to 2.3"),
    (accuracy, ([0, -1], [0, 1]), ValueError, r"y_true: expected class labels >= 0, got the label -1"),
    (accuracy, ([0, 1e30], [0, 1]), ValueError, r"y_true: expected class labels below 2\*\*53, got 1e\+30"),
    (accuracy, (None, [0, 1]), TypeError, r"y_true: expected an array, got None"),
    (accuracy, ([0, 1], [0, np.nan]), ValueError, r"y_pred: expected finite values"),
    (accuracy, ([0, 1], np.zeros((2, 2, 2))), ValueError, r"y_pred: expected an array of shape \(n,\) or \(n, k\)"),
    (accuracy, (["a", "b"], [0, 1]), TypeError, r"y_true: expected numeric data"),
    (accuracy, ([], []), ValueError, r"y_true: expected at least one sample"),
    (confusion_matrix, ([0, 3], [0, 1], 3), ValueError, r"num_classes: expected more than the largest class label \(3\), got 3"),
    (confusion_matrix, ([0, 1], [0, 1], 0), ValueError, r"num_classes: expected an integer >= 1"),
    (binary_accuracy, ([0, 2], [0.1, 0.9]), ValueError, r"y_true: binary_accuracy expected labels 0 or 1, got the value 2"),
    (binary_accuracy, ([0, 1], [[0.1, 0.9], [0.2, 0.3]]), ValueError, r"y_pred: expected the shape of y_true \(2,\), got \(2, 2\)"),
    (binary_accuracy, ([0, 1], [0.1, 0.9], 1.5), ValueError, r"threshold: expected a number <= 1"),
])
def test_classification_bad_input(fn, args, exc, match):
    with pytest.raises(exc, match=match):
        fn(*args)


@pytest.mark.parametrize("fn", [precision, recall, f1])
def test_average_bad_input(fn):
    with pytest.raises(ValueError, match=r"average: expected 'macro', 'micro', 'binary' or None, got 'weighted'"):
        fn([0, 1], [0, 1], average="weighted")
    with pytest.raises(ValueError, match=r"average: 'binary' expected classes 0 and 1, got classes up to 2"):
        fn([0, 1, 2], [0, 1, 1], average="binary")


# ------------------------------------------------------------- regression
def test_regression_metrics_by_hand():
    t, p = [1.0, 2.0, 3.0], [1.0, 3.0, 5.0]
    assert mse(t, p) == pytest.approx(5 / 3)            # (0 + 1 + 4) / 3
    assert mae(t, p) == pytest.approx(1.0)              # (0 + 1 + 2) / 3
    assert r2(t, p) == pytest.approx(-1.5)              # 1 - 5 / 2
    assert r2(t, t) == 1.0
    assert r2(t, [2.0, 2.0, 2.0]) == 0.0                # predicting the mean
    # (n,) and (n, 1) are interchangeable.
    assert mse(np.array(t)[:, None], p) == pytest.approx(5 / 3)
    assert metrics.mean_squared_error is mse and metrics.mean_absolute_error is mae


def test_r2_multi_output_is_the_uniform_mean_and_constant_targets():
    t = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    # Column 0: 1 - 5/2 = -1.5; column 1 is constant and predicted exactly: 1.
    assert r2(t, [[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]]) == pytest.approx((-1.5 + 1.0) / 2)
    # A constant column predicted wrongly scores 0.
    assert r2(t, [[1.0, 4.0], [2.0, 5.0], [3.0, 5.0]]) == pytest.approx((1.0 + 0.0) / 2)


def test_regression_metrics_match_sklearn():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    for shape in ((50,), (50, 1), (50, 3)):
        t = rng.normal(size=shape)
        p = t + rng.normal(scale=0.5, size=shape)
        assert mse(t, p) == pytest.approx(skm.mean_squared_error(t, p), rel=1e-12)
        assert mae(t, p) == pytest.approx(skm.mean_absolute_error(t, p), rel=1e-12)
        assert r2(t, p) == pytest.approx(skm.r2_score(t, p), rel=1e-12)


@pytest.mark.parametrize("fn", [mse, mae, r2])
def test_regression_bad_input(fn):
    with pytest.raises(ValueError, match=r"y_pred: expected the shape of y_true \(3,\), got \(2,\)"):
        fn([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"y_pred: expected the shape of y_true \(3, 2\), got \(3, 3\)"):
        fn(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"y_true: expected finite values"):
        fn([1.0, np.inf], [1.0, 2.0])
    with pytest.raises(TypeError, match=r"y_pred: expected an array, got None"):
        fn([1.0, 2.0], None)


def test_r2_needs_two_samples():
    with pytest.raises(ValueError, match=r"y_true: r2 expected at least 2 samples, got 1"):
        r2([1.0], [1.0])


# ---------------------------------------------------------------- registry
@pytest.mark.parametrize("name, fn", [
    ("accuracy", accuracy), ("acc", accuracy), ("binary_accuracy", binary_accuracy),
    ("precision", precision), ("recall", recall), ("f1", f1), ("mse", mse), ("mae", mae), ("r2", r2),
])
def test_get_by_name_reports_the_name_as_given(name, fn):
    m = metrics.get(name)
    assert isinstance(m, metrics.Metric)
    assert m.name == name and m.fn is fn
    assert metrics.get(name.upper()).name == name.upper()
    assert metrics.get(name.upper()).fn is fn


def test_get_f1_is_macro_and_other_identifiers():
    assert metrics.get("f1")(Y_TRUE, Y_PRED) == pytest.approx(44 / 63)
    m = metrics.Metric("mine", accuracy)
    assert metrics.get(m) is m

    def top_ok(y_true, y_pred):
        return 1.0
    assert metrics.get(top_ok).name == "top_ok" and metrics.get(top_ok)([0], [0]) == 1.0
    with pytest.raises(ValueError, match=r"metrics: expected one of .*\bf1\b.*; got 'aucc'"):
        metrics.get("aucc")
    with pytest.raises(TypeError, match=r"metrics: expected a name or a callable, got int"):
        metrics.get(3)


def test_metrics_accept_what_fit_and_evaluate_pass():
    """y_true as the loss prepared it (float class indices (n,)) and
    probabilities (n, c); binary: (n, 1) targets and (n, 1) probabilities;
    regression: (n, width) values."""
    rng = np.random.default_rng(2)
    y = np.array([0, 2, 1, 1, 0, 2], dtype=np.float32)
    probs = _probs(np.array([0, 2, 1, 0, 0, 2]), 3, rng).astype(np.float32)
    assert metrics.get("accuracy")(y, probs) == pytest.approx(5 / 6)
    # Class 0: P = 2/3, R = 1, F1 = 4/5; class 1: P = 1, R = 1/2, F1 = 2/3; class 2: 1.
    assert metrics.get("f1")(y, probs) == pytest.approx((4 / 5 + 2 / 3 + 1) / 3)
    yb = np.array([[0.0], [1.0], [1.0], [0.0]], dtype=np.float32)
    pb = np.array([[0.1], [0.8], [0.3], [0.6]], dtype=np.float32)
    for name in ("accuracy", "binary_accuracy"):
        assert metrics.get(name)(yb, pb) == 0.5
    assert metrics.get("precision")(yb, pb) == pytest.approx((1 / 2 + 1 / 2) / 2)
    Y = rng.normal(size=(8, 2)).astype(np.float32)
    assert metrics.get("mse")(Y, Y + 1) == pytest.approx(1.0)
    assert metrics.get("r2")(Y, Y) == 1.0


def test_large_labels_are_compacted_or_refused():
    # Macro/micro scores only look at the classes that occur, however large their labels.
    assert f1([0, 10**9, 10**9], [0, 10**9, 0]) == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert precision([0, 10**9], [0, 10**9], average="micro") == 1.0
    # A dense result sized by a huge label would be a mistake: refused, not allocated.
    with pytest.raises(ValueError, match=r"y_true, y_pred: confusion_matrix expected class indices below 8192"):
        confusion_matrix([0, 10**9], [0, 1])
    with pytest.raises(ValueError, match=r"y_true, y_pred: average=None expected class indices below"):
        f1([0, 10**9], [0, 1], average=None)
    with pytest.raises(ValueError, match=r"confusion_matrix expected class indices below 8192"):
        confusion_matrix([0, 1], [0, 1], num_classes=10**6)


# ------------------------------------------- the engine's metrics (C++)
# fit and evaluate accumulate metrics in C++ batch by batch; over a whole
# data set they equal the NumPy functions above on the loss's view of the
# outputs (probabilities where the loss gives them that meaning).
import json  # noqa: E402

import entrena  # noqa: E402
from entrena import _core  # noqa: E402
from entrena import losses as LS  # noqa: E402

ENGINE_METRICS = _core.names("metric")[0]


def _case(loss_name, rng, n=97):
    """(loss, outputs, targets as the loss prepares them) for a loss."""
    if loss_name in ("categorical_crossentropy", "multiclass_hinge"):
        out = rng.normal(size=(n, 4))
        y = rng.integers(0, 4, n).astype(float)
    elif loss_name == "categorical_crossentropy-onehot":
        loss_name = "categorical_crossentropy"
        out = rng.normal(size=(n, 4))
        y = np.eye(4)[rng.integers(0, 4, n)]
    elif loss_name == "binary_crossentropy":
        out = rng.uniform(0, 1, (n, 1))
        y = rng.integers(0, 2, (n, 1)).astype(float)
    elif loss_name == "binary_crossentropy-multilabel":
        loss_name = "binary_crossentropy"
        out = rng.uniform(0, 1, (n, 3))
        y = rng.integers(0, 2, (n, 3)).astype(float)
    elif loss_name == "binary_crossentropy_with_logits":
        out = rng.normal(size=(n, 1))
        y = rng.integers(0, 2, (n, 1)).astype(float)
    elif loss_name == "hinge":
        out = rng.normal(size=(n, 1))
        y = rng.choice([-1.0, 1.0], (n, 1))
    else:
        out = rng.normal(size=(n, 2))
        y = out + rng.normal(size=(n, 2)) * 0.3
    return LS.get(loss_name), out, y


CASES = ["categorical_crossentropy", "categorical_crossentropy-onehot", "multiclass_hinge",
         "binary_crossentropy", "binary_crossentropy-multilabel", "binary_crossentropy_with_logits",
         "hinge", "mse"]


def _applies(metric, loss, y, out):
    if metric in ("binary_accuracy", "mse", "mae", "r2"):
        return y.shape == out.shape
    return True


def _labels_01(y):
    return np.isin(y, (0.0, 1.0, -1.0)).all()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("metric", ENGINE_METRICS)
def test_engine_metrics_equal_their_numpy_twins(dtype, metric, case):
    rng = np.random.default_rng(5)
    loss, out, y = _case(case, rng)
    out = out.astype(dtype)
    y = y.astype(dtype)
    core_loss = loss.core(dtype)
    m = _checks_core(dtype).make_metric(metric)
    if metric in ("mse", "mae", "r2") and loss.output_kind == "margins":
        with pytest.raises(ValueError, match=f"{metric} compares outputs with targets, but the outputs"):
            m.update(out, y, core_loss)
        return
    if metric in ("log_loss", "roc_auc") and loss.output_kind == "margins":
        with pytest.raises(ValueError, match=f"{metric} needs probabilities, but the outputs"):
            m.update(out, y, core_loss)
        return
    if metric == "top_k_accuracy" and out.shape[1] == 1:
        with pytest.raises(ValueError, match="top_k_accuracy expected outputs of one column per class"):
            m.update(out, y, core_loss)
        return
    if not _applies(metric, loss, y, out):
        with pytest.raises(ValueError, match=f"{metric} expected targets of the output's shape"):
            m.update(out, y, core_loss)
        return
    if metric == "binary_accuracy" and not _labels_01(y):
        return   # regression targets: no twin to compare with (it refuses them)
    for a, b in ((0, 30), (30, 31), (31, 97)):     # in batches, as fit and evaluate do
        m.update(np.ascontiguousarray(out[a:b]), np.ascontiguousarray(y[a:b]), core_loss)
    y_view = loss.metric_targets(y)
    # Top-k ranks the raw outputs (margins too: they rank the classes).
    scores = out if metric == "top_k_accuracy" and loss.output_kind == "margins" else loss.metric_inputs(out)
    want = metrics.get(metric)(y_view, scores)
    tol = 1e-12 if dtype == np.float64 else 2e-6
    assert m.result() == pytest.approx(want, rel=tol, abs=tol), (metric, case)
    assert m.higher_is_better == (metric not in ("mse", "mae", "log_loss"))


def _checks_core(dtype):
    return _core.f64 if np.dtype(dtype) == np.float64 else _core.f32


def test_engine_metrics_over_positions():
    """Outputs (n, T, C) with targets (n, T): one class per position."""
    rng = np.random.default_rng(2)
    out = rng.normal(size=(10, 7, 3))
    y = rng.integers(0, 3, (10, 7)).astype(float)
    m = _core.f64.make_metric("accuracy")
    m.update(out, y, LS.CategoricalCrossentropy().core(np.float64))
    assert m.result() == pytest.approx(accuracy(y.reshape(-1), out.reshape(-1, 3)))


def test_every_engine_metric_has_a_numpy_twin_and_names_come_from_the_engine():
    names, aliases = _core.names("metric")
    for name in names + list(aliases):
        m = metrics.get(name)
        assert m.name == name and m.engine_name in names and callable(m.fn)
