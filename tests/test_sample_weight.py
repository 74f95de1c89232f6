"""Sample weights and class weights: the weighted loss kernels against their
NumPy twins (value, gradient, finite differences, bad arguments), what a
weight means (all ones = no weights, 0 = row left out, k = row repeated k
times), fit / evaluate / validation with sample_weight and class_weight
(against duplicated data, PyTorch and scikit-learn), the errors, masked
sequence models and the step API."""
import numpy as np
import pytest

import entrena
from entrena import _core
from entrena import losses as LS
from entrena.layers import GRU, Dense, Embedding
from entrena.reference import losses as ref

from helpers import assert_same, check_gradient, check_kernel
from test_losses import _data as _loss_data

K = _core.kernels
REDUCTIONS = ["mean", "sum"]
ELEMENTWISE = ["mse", "half_mse", "mae", "huber", "binary_crossentropy", "binary_crossentropy_with_logits",
               "hinge"]


# ------------------------------------------------------------ kernel cases
def _elementwise(name, shape):
    def make(rng):
        pred, target, kw = _loss_data(name, rng, shape)     # the unweighted tests' inputs
        extra = [kw["delta"]] if "delta" in kw else []
        if name in ("mae", "huber", "hinge"):
            # Away from the kinks (|d| = 0, |d| = delta, t·pred = 1) for the finite differences.
            d = pred - target if name != "hinge" else 1 - target * pred
            pred = np.where(np.abs(d) < 1e-2, pred + 0.1, pred)
            if name == "huber":
                pred = np.where(np.abs(np.abs(pred - target) - 1.3) < 1e-2, pred + 0.1, pred)
        return pred, target, extra
    return make


def _cross_entropy(kind, smoothing):
    def make(rng):
        n, c = 11, 5
        logits = rng.normal(0, 3, (n, c))
        if kind == "indices":
            target = rng.integers(0, c, n).astype(float)
        else:
            p = rng.uniform(0, 1, (n, c)) ** 3
            target = p / p.sum(axis=1, keepdims=True)
        return logits, target, [smoothing]
    return make


def _multi_margin(rng):
    n, c = 10, 4
    return rng.normal(0, 1, (n, c)), rng.integers(0, c, n).astype(float), [0.8]


CASES = {}
for _name in ELEMENTWISE:
    CASES[f"{_name}-1d"] = (_name, _elementwise(_name, (13,)))
    CASES[f"{_name}-2d"] = (_name, _elementwise(_name, (9, 3)))
CASES["categorical_crossentropy-indices"] = ("categorical_crossentropy", _cross_entropy("indices", 0.0))
CASES["categorical_crossentropy-probabilities"] = ("categorical_crossentropy", _cross_entropy("probabilities", 0.0))
CASES["categorical_crossentropy-indices-smoothing"] = ("categorical_crossentropy", _cross_entropy("indices", 0.15))
CASES["categorical_crossentropy-probabilities-smoothing"] = ("categorical_crossentropy",
                                                            _cross_entropy("probabilities", 0.15))
CASES["multiclass_hinge"] = ("multiclass_hinge", _multi_margin)


def _case(case_id, rng):
    """(forward, backward, twin forward, twin backward, pred, target, extra args, rows)."""
    name, make = CASES[case_id]
    pred, target, extra = make(rng)
    return (getattr(K, f"{name}_forward"), getattr(K, f"{name}_backward"), getattr(ref, f"{name}_forward"),
            getattr(ref, f"{name}_backward"), pred, target, extra, len(pred))


def _weights(rng, rows):
    """Random weights with some zeros (but not all)."""
    w = rng.uniform(0.1, 3.0, rows)
    w[1::4] = 0.0
    return w


def _loss_tol(dtype):
    return (2e-6, 1e-6) if np.dtype(dtype) == np.float32 else (1e-12, 1e-13)


def _cast(dtype, *arrays):
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]


# ---------------------------------------------- 1. kernels vs NumPy twins
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case_id", sorted(CASES))
def test_weighted_kernel_matches_twin(dtype, rng, case_id, reduction):
    fwd, bwd, rfwd, rbwd, pred, target, extra, rows = _case(case_id, rng)
    w = _weights(rng, rows)
    args = [pred, target, *extra, reduction, w]
    rtol, atol = _loss_tol(dtype)
    (value,) = check_kernel(fwd, rfwd, args, dtype, rtol=rtol, atol=atol, names=["loss"])
    (grad,) = check_kernel(bwd, rbwd, args, dtype, names=["gradient"])
    # The weights are used: the unweighted values differ.
    p, t = _cast(dtype, pred, target)
    assert value != fwd(p, t, *extra, reduction)
    assert not np.array_equal(grad, bwd(p, t, *extra, reduction))
    # Rows of weight 0 get a zero gradient.
    assert not np.asarray(grad)[w == 0].any()


def test_twin_weighted_mean_by_hand():
    """The documented formula, once by hand: rows of width 2, weights (1, 3, 0)."""
    pred = np.array([[1.0, 2.0], [0.0, 0.0], [5.0, 5.0]])
    target = np.zeros((3, 2))
    w = np.array([1.0, 3.0, 0.0])
    # l_r = (1 + 4, 0, 50); mean = (1·5 + 3·0 + 0·50) / (2 · 4), sum = 5.
    for fn in (K.mse_forward, ref.mse_forward):
        assert fn(pred, target, "mean", w) == pytest.approx(5.0 / 8.0, rel=1e-15)
        assert fn(pred, target, "sum", w) == pytest.approx(5.0, rel=1e-15)
    np.testing.assert_allclose(K.mse_backward(pred, target, "mean", w), [[0.25, 0.5], [0, 0], [0, 0]],
                               rtol=1e-15)
    # All weights 0: the mean is 0, and so is its gradient.
    assert K.mse_forward(pred, target, "mean", np.zeros(3)) == 0.0
    assert not K.mse_backward(pred, target, "mean", np.zeros(3)).any()
    assert ref.mse_forward(pred, target, "mean", np.zeros(3)) == 0.0


# --------------------------------------- 2. what a weight means (kernels)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case_id", sorted(CASES))
def test_all_ones_weights_are_bitwise_no_weights(dtype, rng, case_id, reduction):
    fwd, bwd, _, _, pred, target, extra, rows = _case(case_id, rng)
    p, t, ones = _cast(dtype, pred, target, np.ones(rows))
    assert fwd(p, t, *extra, reduction, ones) == fwd(p, t, *extra, reduction)
    np.testing.assert_array_equal(bwd(p, t, *extra, reduction, ones), bwd(p, t, *extra, reduction))
    np.testing.assert_array_equal(bwd(p, t, *extra, reduction, weight=None), bwd(p, t, *extra, reduction))


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_zero_weight_rows_contribute_nothing(dtype, rng, case_id):
    fwd, bwd, _, _, pred, target, extra, rows = _case(case_id, rng)
    keep = np.ones(rows, dtype=bool)
    keep[[0, 3, 4, rows - 1]] = False
    p, t, w = _cast(dtype, pred, target, keep.astype(float))
    pk, tk = _cast(dtype, pred[keep], target[keep])
    rtol, atol = _loss_tol(dtype)
    assert fwd(p, t, *extra, "mean", w) == pytest.approx(fwd(pk, tk, *extra, "mean"), rel=rtol, abs=atol)
    g = bwd(p, t, *extra, "mean", w)
    assert not g[~keep].any()
    assert_same(g[keep], bwd(pk, tk, *extra, "mean"), dtype, what="gradient of the kept rows")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case_id", sorted(CASES))
def test_integer_weight_is_the_row_repeated(dtype, rng, case_id, reduction):
    fwd, bwd, _, _, pred, target, extra, rows = _case(case_id, rng)
    k = rng.integers(0, 4, rows)
    k[0], k[1] = 0, 3
    rep = np.repeat(np.arange(rows), k)
    p, t, w = _cast(dtype, pred, target, k.astype(float))
    pr, tr = _cast(dtype, pred[rep], target[rep])
    rtol, atol = _loss_tol(dtype)
    assert fwd(p, t, *extra, reduction, w) == pytest.approx(fwd(pr, tr, *extra, reduction), rel=rtol, abs=atol)
    # The gradient of a weighted row is the sum of its copies' gradients.
    g_rep = bwd(pr, tr, *extra, reduction).astype(np.float64)
    summed = np.zeros(np.shape(pred))
    np.add.at(summed, rep, g_rep)
    assert_same(bwd(p, t, *extra, reduction, w), summed, dtype, what="gradient")


# ------------------------------------------------ 3. finite differences
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case_id", sorted(CASES))
def test_weighted_kernel_finite_differences(rng, case_id, reduction):
    fwd, bwd, _, _, pred, target, extra, rows = _case(case_id, rng)
    w = _weights(rng, rows)
    check_gradient(lambda x: fwd(x, target, *extra, reduction, w), bwd(pred, target, *extra, reduction, w),
                   pred, rtol=1e-6, atol=1e-8, what=f"{case_id} ({reduction})")


# --------------------------------------------------- 4. bad weight arguments
@pytest.mark.parametrize("case_id", sorted(CASES))
def test_kernel_bad_weights(rng, case_id):
    fwd, bwd, _, _, pred, target, extra, rows = _case(case_id, rng)
    good = np.ones(rows)
    negative = good.copy()
    negative[2] = -0.5
    nan = good.copy()
    nan[1] = np.nan
    inf = good.copy()
    inf[0] = np.inf
    for fn in (fwd, bwd):
        with pytest.raises(ValueError, match=f"weight: expected {rows} weights"):
            fn(pred, target, *extra, "mean", np.ones(rows + 1))
        with pytest.raises(ValueError, match=f"weight: expected {rows} weights"):
            fn(pred, target, *extra, "mean", np.ones(rows - 1))
        if np.ndim(pred) == 2 and np.shape(pred) == np.shape(target):
            # One weight per row of the last axis, not one per element.
            with pytest.raises(ValueError, match="weight: expected"):
                fn(pred, target, *extra, "mean", np.ones(np.size(pred)))
        with pytest.raises(ValueError, match=r"weight: expected finite weights >= 0, got -0.5 at 2"):
            fn(pred, target, *extra, "mean", negative)
        with pytest.raises(ValueError, match="weight: expected finite weights >= 0, got nan"):
            fn(pred, target, *extra, "sum", nan)
        with pytest.raises(ValueError, match="weight: expected finite weights >= 0, got inf"):
            fn(pred, target, *extra, "sum", inf)


# ------------------------------------------------------------------ models
def _mlp(out=3, hidden=8, seed=0, dtype="float32", loss="categorical_crossentropy", opt=None, n_in=4):
    m = entrena.Sequential([Dense(hidden, activation="relu"), Dense(out)], input_shape=(n_in,), seed=seed,
                           dtype=dtype)
    m.compile(loss=loss, optimizer=opt if opt is not None else entrena.SGD(lr=0.1))
    return m


def _classification(rng, n=60, c=3):
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    y = np.minimum(y, c - 1)
    return X, y


def _assert_same_weights(a, b):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q, err_msg=name)


# ---------------------------------------------------------------- 5. fit
@pytest.mark.parametrize("loss", ["categorical_crossentropy", "mse"])
def test_fit_all_ones_sample_weight_is_bitwise_no_weight(rng, loss):
    X, y = _classification(rng, n=100)
    target = y if loss != "mse" else rng.normal(size=(100, 3))
    runs = []
    for sw in (None, np.ones(100), np.linspace(0.2, 2.0, 100)):
        m = _mlp(loss=loss, opt=entrena.Adam(lr=0.01))
        h = m.fit(X, target, epochs=3, batch_size=16, shuffle=True, verbose=0, sample_weight=sw)
        runs.append((m, h.history["loss"]))
    (m0, h0), (m1, h1), (m2, h2) = runs
    assert h1 == h0
    _assert_same_weights(m1, m0)
    # Weights that are not all equal do change the training.
    assert h2 != h0
    assert not np.array_equal(m2.parameters()[0], m0.parameters()[0])


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "mse", "binary_crossentropy_with_logits"])
def test_full_batch_integer_weights_equal_duplicated_rows(rng, loss):
    n = 30
    X = rng.normal(size=(n, 4))
    if loss == "categorical_crossentropy":
        y, out = rng.integers(0, 3, n), 3
    elif loss == "mse":
        y, out = rng.normal(size=(n, 2)), 2
    else:
        y, out = rng.integers(0, 2, (n, 2)).astype(float), 2
    k = rng.integers(0, 4, n)
    k[:2] = [0, 3]
    rep = np.repeat(np.arange(n), k)
    weighted = _mlp(out=out, dtype="float64", loss=loss, opt=entrena.SGD(lr=0.2))
    hw = weighted.fit(X, y, epochs=5, batch_size=n, shuffle=False, verbose=0, sample_weight=k)
    dup = _mlp(out=out, dtype="float64", loss=loss, opt=entrena.SGD(lr=0.2))
    hd = dup.fit(X[rep], y[rep], epochs=5, batch_size=len(rep), shuffle=False, verbose=0)
    np.testing.assert_allclose(hw.history["loss"], hd.history["loss"], rtol=1e-12)
    for p, q in zip(weighted.parameters(), dup.parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)
    # And the rows of weight 0 did count for nothing: not the plain data set.
    plain = _mlp(out=out, dtype="float64", loss=loss, opt=entrena.SGD(lr=0.2))
    hp = plain.fit(X, y, epochs=5, batch_size=n, shuffle=False, verbose=0)
    assert abs(hp.history["loss"][-1] - hw.history["loss"][-1]) > 1e-6


def test_epoch_loss_weighs_each_batch_by_its_weight_sum(rng):
    """Mini-batches of unequal weight sums: with lr 0 the epoch's loss is the
    weighted mean over the whole data set."""
    X, y = _classification(rng, n=50)
    w = rng.uniform(0, 3, 50)
    w[:10] = 0.0
    m = _mlp(dtype="float64", opt=entrena.SGD(lr=0.0))
    h = m.fit(X, y, epochs=1, batch_size=8, shuffle=True, verbose=0, sample_weight=w)
    want = ref.categorical_crossentropy_forward(m.predict(X), y.astype(float), weight=w)
    assert h.history["loss"][0] == pytest.approx(want, rel=1e-12)
    # A "sum" loss adds the weighted losses up.
    ms = _mlp(dtype="float64", opt=entrena.SGD(lr=0.0), loss=LS.CategoricalCrossentropy(reduction="sum"))
    hs = ms.fit(X, y, epochs=1, batch_size=8, verbose=0, sample_weight=w)
    assert hs.history["loss"][0] == pytest.approx(
        ref.categorical_crossentropy_forward(ms.predict(X), y.astype(float), reduction="sum", weight=w), rel=1e-12)


# ------------------------------------------------ 6. against PyTorch
def _torch_twin(model, torch):
    """A torch.nn.Sequential with the weights of a Dense(relu) -> Dense model (double)."""
    W1, b1, W2, b2 = (np.array(p, dtype=np.float64) for p in model.parameters())
    net = torch.nn.Sequential(torch.nn.Linear(W1.shape[0], W1.shape[1]), torch.nn.ReLU(),
                              torch.nn.Linear(W2.shape[0], W2.shape[1])).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(W1.T.copy()))
        net[0].bias.copy_(torch.from_numpy(b1))
        net[2].weight.copy_(torch.from_numpy(W2.T.copy()))
        net[2].bias.copy_(torch.from_numpy(b2))
    return net


def _torch_train(net, torch, X, loss_of, steps, lr):
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    x = torch.from_numpy(X)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_of(net(x))
        losses.append(loss.item())
        loss.backward()
        opt.step()
    params = [net[0].weight.detach().numpy().T, net[0].bias.detach().numpy(),
              net[2].weight.detach().numpy().T, net[2].bias.detach().numpy()]
    return losses, params


def _compare_with_torch(model, hist, t_losses, t_params):
    np.testing.assert_allclose(hist.history["loss"], t_losses, rtol=1e-10)
    for p, q in zip(model.parameters(), t_params):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("class_weight", ["dict", "balanced"])
def test_class_weight_matches_torch_cross_entropy(rng, class_weight):
    torch = pytest.importorskip("torch")
    compute_class_weight = pytest.importorskip("sklearn.utils.class_weight").compute_class_weight
    n = 40
    X = rng.normal(size=(n, 4))
    y = np.r_[np.zeros(22, int), np.ones(12, int), np.full(6, 2)]
    rng.shuffle(y)
    if class_weight == "dict":
        cw_arg, cw = {0: 0.5, 2: 3.0}, np.array([0.5, 1.0, 3.0])
    else:
        cw_arg = "balanced"
        cw = compute_class_weight("balanced", classes=np.arange(3), y=y)
    model = _mlp(dtype="float64", opt=entrena.SGD(lr=0.3))
    net = _torch_twin(model, torch)
    ce = torch.nn.CrossEntropyLoss(weight=torch.from_numpy(cw))
    yt = torch.from_numpy(y)
    t_losses, t_params = _torch_train(net, torch, X, lambda out: ce(out, yt), 3, 0.3)
    hist = model.fit(X, y, epochs=3, batch_size=n, shuffle=False, verbose=0, class_weight=cw_arg)
    _compare_with_torch(model, hist, t_losses, t_params)


def test_class_weight_matches_torch_in_float32(rng):
    torch = pytest.importorskip("torch")
    n = 40
    X = rng.normal(size=(n, 4))
    y = rng.integers(0, 3, n)
    cw = np.array([2.0, 1.0, 0.25])
    model = _mlp(dtype="float32", opt=entrena.SGD(lr=0.3))
    net = _torch_twin(model, torch).float()
    ce = torch.nn.CrossEntropyLoss(weight=torch.from_numpy(cw).float())
    yt = torch.from_numpy(y)
    t_losses, t_params = _torch_train(net, torch, X.astype(np.float32), lambda out: ce(out, yt), 3, 0.3)
    hist = model.fit(X, y, epochs=3, batch_size=n, shuffle=False, verbose=0,
                     class_weight={0: 2.0, 1: 1.0, 2: 0.25})
    np.testing.assert_allclose(hist.history["loss"], t_losses, rtol=1e-5)
    for p, q in zip(model.parameters(), t_params):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("columns", [1, 2])
def test_weighted_bce_with_logits_matches_torch(rng, columns):
    torch = pytest.importorskip("torch")
    n = 36
    X = rng.normal(size=(n, 4))
    y = rng.integers(0, 2, (n, columns)).astype(np.float64)
    w = rng.uniform(0, 2, n)
    w[::5] = 0.0
    model = _mlp(out=columns, dtype="float64", loss="binary_crossentropy_with_logits", opt=entrena.SGD(lr=0.5))
    net = _torch_twin(model, torch)
    bce = torch.nn.BCEWithLogitsLoss(reduction="none")
    yt, wt = torch.from_numpy(y), torch.from_numpy(w)[:, None]
    # The weighted mean over every element: sum_i w_i sum_j l_ij / (columns · sum_i w_i).
    t_losses, t_params = _torch_train(net, torch, X, lambda out: (bce(out, yt) * wt).sum() / (columns * wt.sum()),
                                      3, 0.5)
    hist = model.fit(X, y if columns > 1 else y[:, 0], epochs=3, batch_size=n, shuffle=False, verbose=0,
                     sample_weight=w)
    _compare_with_torch(model, hist, t_losses, t_params)


# ------------------------------------ 7. class labels, balanced, products
def _fit_run(X, y, *, dtype="float32", epochs=2, **kw):
    m = _mlp(dtype=dtype, opt=entrena.Adam(lr=0.01))
    h = m.fit(X, y, epochs=epochs, batch_size=8, shuffle=True, verbose=0, **kw)
    return m, h.history["loss"]


def test_class_weight_with_string_labels(rng):
    X, idx = _classification(rng, n=48)
    names = np.array(["cat", "dog", "emu"])
    y = names[idx]
    m_str, h_str = _fit_run(X, y, class_weight={"cat": 2.0, "emu": 0.5})
    m_idx, h_idx = _fit_run(X, idx, class_weight={0: 2.0, 2: 0.5})
    m_sw, h_sw = _fit_run(X, y, sample_weight=np.array([2.0, 1.0, 0.5])[idx])
    assert h_str == h_idx == h_sw
    _assert_same_weights(m_str, m_idx)
    _assert_same_weights(m_str, m_sw)
    np.testing.assert_array_equal(m_str.classes_, names)
    # NumPy string keys work as well.
    m_np, h_np = _fit_run(X, y, class_weight={np.str_("cat"): 2.0, np.str_("emu"): 0.5})
    assert h_np == h_str
    with pytest.raises(ValueError, match="class_weight: 'cow' is not a class label"):
        _mlp().fit(X, y, verbose=0, class_weight={"cat": 2.0, "cow": 1.0})
    with pytest.raises(ValueError, match="class_weight: 3 is not a class label"):
        _mlp().fit(X, idx, verbose=0, class_weight={3: 1.0})


def test_class_weight_with_numeric_labels_that_are_not_indices(rng):
    X, idx = _classification(rng, n=48)
    labels = np.array([3, 7, 9])
    m_lab, h_lab = _fit_run(X, labels[idx], class_weight={7: 3.0})
    m_idx, h_idx = _fit_run(X, idx, class_weight={1: 3.0})
    assert h_lab == h_idx
    _assert_same_weights(m_lab, m_idx)


@pytest.mark.parametrize("labels", ["indices", "strings"])
def test_balanced_is_sklearns_compute_class_weight(rng, labels):
    compute_class_weight = pytest.importorskip("sklearn.utils.class_weight").compute_class_weight
    X, idx = _classification(rng, n=48)
    y = idx if labels == "indices" else np.array(["a", "b", "c"])[idx]
    cw = compute_class_weight("balanced", classes=np.unique(y), y=y)
    assert len(set(np.round(cw, 6))) == 3      # unbalanced data: three different weights
    m_bal, h_bal = _fit_run(X, y, class_weight="balanced")
    m_sw, h_sw = _fit_run(X, y, sample_weight=cw[idx])
    assert h_bal == h_sw
    _assert_same_weights(m_bal, m_sw)
    m_plain, h_plain = _fit_run(X, y)
    assert h_plain != h_bal


def test_balanced_counts_only_the_training_part_of_validation_split(rng):
    """validation_split takes its rows out first: "balanced" weighs by the
    class counts of the rows that train (scikit-learn's compute_class_weight
    over y_train), and validation stays unweighted."""
    compute_class_weight = pytest.importorskip("sklearn.utils.class_weight").compute_class_weight
    X, idx = _classification(rng, n=48)
    idx[36:] = 2                  # the validation tail is all one class: it must not count
    cw = compute_class_weight("balanced", classes=np.arange(3), y=idx[:36])
    whole = compute_class_weight("balanced", classes=np.arange(3), y=idx)
    assert not np.allclose(cw, whole)
    runs = []
    for kw in ({"validation_split": 0.25, "validation_tail": True, "class_weight": "balanced"},
               {"validation_split": 0.25, "validation_tail": True,
                "sample_weight": np.concatenate([cw[idx[:36]], np.ones(12)])}):
        m = _mlp(dtype="float64", opt=entrena.Adam(lr=0.01))
        h = m.fit(X, idx, epochs=2, batch_size=8, verbose=0, **kw)
        runs.append((m, {k: v for k, v in h.history.items() if k != "seconds"}))
    assert runs[0][1] == runs[1][1]
    _assert_same_weights(runs[0][0], runs[1][0])


def test_class_weight_times_sample_weight(rng):
    X, idx = _classification(rng, n=48)
    sw = rng.uniform(0.1, 2.0, 48).astype(np.float32)
    cw = np.array([1.5, 0.5, 4.0], dtype=np.float32)
    m_both, h_both = _fit_run(X, idx, class_weight={0: 1.5, 1: 0.5, 2: 4.0}, sample_weight=sw)
    m_prod, h_prod = _fit_run(X, idx, sample_weight=cw[idx] * sw)
    assert h_both == h_prod
    _assert_same_weights(m_both, m_prod)
    # "balanced" multiplies too (float64 model: the product is exact in the model's dtype).
    compute_class_weight = pytest.importorskip("sklearn.utils.class_weight").compute_class_weight
    bal = compute_class_weight("balanced", classes=np.arange(3), y=idx)
    sw64 = sw.astype(np.float64)
    m_b, h_b = _fit_run(X, idx, dtype="float64", class_weight="balanced", sample_weight=sw64)
    m_p, h_p = _fit_run(X, idx, dtype="float64", sample_weight=bal[idx] * sw64)
    assert h_b == h_p
    _assert_same_weights(m_b, m_p)


def test_class_weight_binary_one_column(rng):
    """0/1 labels in one output column: class_weight {0: a, 1: b} weighs the samples."""
    X = rng.normal(size=(40, 4))
    y = (X[:, 0] > 0.3).astype(int)
    runs = []
    for kw in ({"class_weight": {0: 0.5, 1: 2.0}}, {"sample_weight": np.where(y == 1, 2.0, 0.5)}):
        m = _mlp(out=1, loss="binary_crossentropy_with_logits", opt=entrena.SGD(lr=0.1))
        runs.append((m, m.fit(X, y, epochs=2, batch_size=8, verbose=0, **kw).history["loss"]))
    assert runs[0][1] == runs[1][1]
    _assert_same_weights(runs[0][0], runs[1][0])


def test_class_weight_hinge_with_minus_one_labels(rng):
    X = rng.normal(size=(40, 4))
    y = np.where(X[:, 0] > 0.3, 1, -1)
    runs = []
    for kw in ({"class_weight": {-1: 0.5, 1: 2.0}}, {"sample_weight": np.where(y == 1, 2.0, 0.5)}):
        m = _mlp(out=1, loss="hinge", opt=entrena.SGD(lr=0.1))
        runs.append((m, m.fit(X, y, epochs=2, batch_size=8, verbose=0, **kw).history["loss"]))
    assert runs[0][1] == runs[1][1]


# ----------------------------------------------------------- 8. errors
def test_sample_weight_errors(rng):
    X, y = _classification(rng, n=20)
    m = _mlp()
    bad = [
        (np.ones(19), ValueError, r"sample_weight: expected 20 weights \(one per sample\)"),
        (np.ones(21), ValueError, r"sample_weight: expected 20 weights"),
        (np.ones((20, 3)), ValueError, r"sample_weight: expected shape \(n,\)"),
        (np.ones((20, 1, 1)), ValueError, r"sample_weight: expected shape"),
        (np.r_[np.ones(19), -1.0], ValueError, r"sample_weight: expected finite weights >= 0, got .*-1\.0\)? at sample 19"),
        (np.r_[np.nan, np.ones(19)], ValueError, r"sample_weight: expected finite"),
        (np.r_[np.inf, np.ones(19)], ValueError, r"sample_weight: expected finite"),
        (np.zeros(20), ValueError, r"sample_weight: every weight is (0|zero)"),
        (np.array(["a"] * 20), TypeError, r"sample_weight: expected numeric data"),
    ]
    for sw, exc, msg in bad:
        with pytest.raises(exc, match=msg):
            m.fit(X, y, verbose=0, sample_weight=sw)
        with pytest.raises(exc, match=msg):
            m.evaluate(X, y, sample_weight=sw)
    with pytest.raises(ValueError, match="validation_data sample_weight: expected 5 weights"):
        m.fit(X, y, verbose=0, validation_data=(X[:5], y[:5], np.ones(4)))
    with pytest.raises(ValueError, match="validation_data sample_weight: every weight is (0|zero)"):
        m.fit(X, y, verbose=0, validation_data=(X[:5], y[:5], np.zeros(5)))


def test_class_weight_errors(rng):
    X, y = _classification(rng, n=20)
    with pytest.raises(ValueError, match="class_weight: needs a classification loss, got mse"):
        _mlp(loss="mse").fit(X, rng.normal(size=(20, 3)), verbose=0, class_weight={0: 1.0})
    with pytest.raises(ValueError, match="class_weight: needs a classification loss"):
        _mlp(loss="mse").fit(X, rng.normal(size=(20, 3)), verbose=0, class_weight="balanced")
    multi = rng.integers(0, 2, (20, 3))
    with pytest.raises(ValueError, match="class_weight: multi-label targets"):
        _mlp(loss="binary_crossentropy_with_logits").fit(X, multi, verbose=0, class_weight={0: 1.0, 1: 2.0})
    m = _mlp()
    with pytest.raises(ValueError, match="class_weight: expected 'balanced' or a dict"):
        m.fit(X, y, verbose=0, class_weight="weird")
    with pytest.raises(TypeError, match="class_weight: expected 'balanced' or a dict"):
        m.fit(X, y, verbose=0, class_weight=[1, 2])
    with pytest.raises(ValueError, match=r"class_weight\[1\]"):
        m.fit(X, y, verbose=0, class_weight={1: -2.0})
    with pytest.raises(ValueError, match=r"class_weight\[1\]"):
        m.fit(X, y, verbose=0, class_weight={1: float("nan")})
    with pytest.raises(TypeError, match=r"class_weight\[0\]"):
        m.fit(X, y, verbose=0, class_weight={0: "heavy"})
    with pytest.raises(ValueError, match="class_weight: every sample's weight is (0|zero)"):
        m.fit(X, y, verbose=0, class_weight={0: 0.0, 1: 0.0, 2: 0.0})
    with pytest.raises(ValueError, match="class_weight: every sample's weight is (0|zero)"):
        m.fit(X, y, verbose=0, class_weight={0: 0.0, 1: 0.0, 2: 0.0}, sample_weight=np.ones(20))


# ----------------------------------------------- 9. evaluate, validation
@pytest.mark.parametrize("batch_size", [1024, 7])
def test_evaluate_sample_weight_matches_twin(rng, batch_size):
    X, y = _classification(rng, n=45)
    w = rng.uniform(0, 2, 45)
    w[::6] = 0.0
    m = _mlp()
    m.fit(X, y, epochs=2, verbose=0)
    out = m.predict(X).astype(np.float64)
    got = m.evaluate(X, y, batch_size=batch_size, sample_weight=w)["loss"]
    assert got == pytest.approx(ref.categorical_crossentropy_forward(out, y.astype(float), weight=w), rel=1e-6)
    plain = m.evaluate(X, y, batch_size=batch_size)["loss"]
    assert plain == pytest.approx(ref.categorical_crossentropy_forward(out, y.astype(float)), rel=1e-6)
    assert got != pytest.approx(plain, rel=1e-3)
    assert m.evaluate(X, y, batch_size=batch_size, sample_weight=np.ones(45))["loss"] == plain

    Y2 = rng.normal(size=(45, 2))
    r = _mlp(out=2, loss="mse")
    r.fit(X, Y2, epochs=2, verbose=0)
    out2 = r.predict(X).astype(np.float64)
    got2 = r.evaluate(X, Y2, batch_size=batch_size, sample_weight=w)["loss"]
    assert got2 == pytest.approx(ref.mse_forward(out2, Y2, weight=w), rel=1e-6)
    assert r.evaluate(X, Y2, batch_size=batch_size)["loss"] == pytest.approx(ref.mse_forward(out2, Y2), rel=1e-6)
    # (n, 1) is one weight per sample too.
    assert r.evaluate(X, Y2, batch_size=batch_size, sample_weight=w[:, None])["loss"] == got2


def test_evaluate_metrics_stay_unweighted(rng):
    X, y = _classification(rng, n=40)
    m = _mlp()
    m.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    m.fit(X, y, epochs=1, verbose=0)
    w = rng.uniform(0, 2, 40)
    plain, weighted = m.evaluate(X, y), m.evaluate(X, y, sample_weight=w)
    assert weighted["accuracy"] == plain["accuracy"]
    assert plain["accuracy"] == pytest.approx(np.mean(m.predict(X).argmax(1) == y))
    assert weighted["loss"] != plain["loss"]


def test_validation_data_with_sample_weight(rng):
    X, y = _classification(rng, n=60)
    Xv, yv = _classification(rng, n=25)
    wv = rng.uniform(0, 3, 25)
    m = _mlp()
    h = m.fit(X, y, epochs=3, batch_size=16, verbose=0, validation_data=(Xv, yv, wv))
    assert h.history["val_loss"][-1] == pytest.approx(m.evaluate(Xv, yv, sample_weight=wv)["loss"], rel=1e-6)
    assert h.history["val_loss"][-1] != pytest.approx(m.evaluate(Xv, yv)["loss"], rel=1e-4)
    # A None third entry is no weights.
    m2 = _mlp()
    h2 = m2.fit(X, y, epochs=1, verbose=0, validation_data=(Xv, yv, None))
    assert h2.history["val_loss"][-1] == pytest.approx(m2.evaluate(Xv, yv)["loss"], rel=1e-6)


def test_validation_split_splits_the_weights(rng):
    X, y = _classification(rng, n=50)
    w = rng.uniform(0, 3, 50)
    nv = 10
    m = _mlp(opt=entrena.Adam(lr=0.01))
    h = m.fit(X, y, epochs=2, batch_size=8, verbose=0, sample_weight=w, validation_split=0.2,
              validation_tail=True)
    # Training saw the first 40 samples with their weights...
    t = _mlp(opt=entrena.Adam(lr=0.01))
    ht = t.fit(X[:-nv], y[:-nv], epochs=2, batch_size=8, verbose=0, sample_weight=w[:-nv])
    assert h.history["loss"] == ht.history["loss"]
    _assert_same_weights(m, t)
    # ...and validation the last 10 with theirs.
    assert h.history["val_loss"][-1] == pytest.approx(
        m.evaluate(X[-nv:], y[-nv:], sample_weight=w[-nv:])["loss"], rel=1e-6)


def test_class_weight_weighs_only_the_training_loss(rng):
    X, y = _classification(rng, n=50)
    Xv, yv = _classification(rng, n=20)
    cw = {0: 3.0, 1: 0.2}
    m = _mlp()
    h = m.fit(X, y, epochs=2, batch_size=10, verbose=0, class_weight=cw, validation_data=(Xv, yv))
    assert h.history["val_loss"][-1] == pytest.approx(m.evaluate(Xv, yv)["loss"], rel=1e-6)
    # validation_split: the held-out part gets the sample weights only.
    sw = rng.uniform(0.5, 2, 50)
    m2 = _mlp()
    h2 = m2.fit(X, y, epochs=2, batch_size=10, verbose=0, class_weight=cw, sample_weight=sw,
                validation_split=0.2, validation_tail=True)
    assert h2.history["val_loss"][-1] == pytest.approx(
        m2.evaluate(X[-10:], y[-10:], sample_weight=sw[-10:])["loss"], rel=1e-6)
    m3 = _mlp()
    h3 = m3.fit(X, y, epochs=2, batch_size=10, verbose=0, class_weight=cw, validation_split=0.2,
                validation_tail=True)
    assert h3.history["val_loss"][-1] == pytest.approx(m3.evaluate(X[-10:], y[-10:])["loss"], rel=1e-6)


# -------------------------------------- 10. masked sequence model
N, T, V = 12, 6, 9


def _sequences(rng):
    X = rng.integers(1, V, (N, T))
    lengths = np.r_[T, 1, rng.integers(1, T + 1, N - 2)]
    for i, length in enumerate(lengths):
        X[i, length:] = 0
    y = rng.integers(0, 3, (N, T))
    return X, y


def _seq_model(dtype="float64", seed=0):
    m = entrena.Sequential([Embedding(V, 8, padding_idx=0), GRU(6, return_sequences=True), Dense(3)],
                           input_shape=(T,), dtype=dtype, seed=seed)
    m.compile(loss="categorical_crossentropy", optimizer=entrena.SGD(lr=0.1))
    return m


def test_masked_sequence_per_step_weights(rng):
    X, y = _sequences(rng)
    w = rng.uniform(0.1, 2, (N, T))
    w[2, 0] = 0.0
    m = _seq_model().eval()
    loss_fn = m.loss
    out = m(X)
    mask = out.mask
    np.testing.assert_array_equal(mask, X != 0)
    assert not mask.all()
    want = ref.categorical_crossentropy_forward(np.asarray(out)[mask], y[mask].astype(float), weight=w[mask])
    assert loss_fn(out, y, sample_weight=w) == pytest.approx(want, rel=1e-12)
    assert m.evaluate(X, y, sample_weight=w)["loss"] == pytest.approx(want, rel=1e-12)
    assert m.evaluate(X, y, batch_size=5, sample_weight=w)["loss"] == pytest.approx(want, rel=1e-12)
    # Without weights: the plain mean over the real steps.
    plain = ref.categorical_crossentropy_forward(np.asarray(out)[mask], y[mask].astype(float))
    assert loss_fn(out, y) == pytest.approx(plain, rel=1e-12)
    assert want != pytest.approx(plain, rel=1e-4)
    g = loss_fn.gradient(out, y, sample_weight=w)
    assert not g[~mask].any()
    np.testing.assert_allclose(g[mask], ref.categorical_crossentropy_backward(
        np.asarray(out)[mask], y[mask].astype(float), weight=w[mask]), rtol=1e-12, atol=1e-15)

    # Weights at padded steps change nothing.
    w2 = w.copy()
    w2[~mask] = rng.uniform(5, 50, (~mask).sum())
    assert loss_fn(out, y, sample_weight=w2) == loss_fn(out, y, sample_weight=w)
    np.testing.assert_array_equal(loss_fn.gradient(out, y, sample_weight=w2), g)
    assert m.evaluate(X, y, sample_weight=w2)["loss"] == m.evaluate(X, y, sample_weight=w)["loss"]
    runs = []
    for ww in (w, w2):
        mt = _seq_model()
        runs.append((mt, mt.fit(X, y, epochs=2, batch_size=4, verbose=0, sample_weight=ww).history["loss"]))
    assert runs[0][1] == runs[1][1]
    _assert_same_weights(runs[0][0], runs[1][0])


def test_masked_sequence_per_sample_weights_broadcast_over_steps(rng):
    X, y = _sequences(rng)
    ws = rng.uniform(0.1, 2, N)
    wsteps = np.repeat(ws[:, None], T, axis=1)
    m = _seq_model().eval()
    out = m(X)
    mask = out.mask
    want = ref.categorical_crossentropy_forward(np.asarray(out)[mask], y[mask].astype(float), weight=wsteps[mask])
    assert m.loss(out, y, sample_weight=ws) == pytest.approx(want, rel=1e-12)
    assert m.evaluate(X, y, sample_weight=ws)["loss"] == pytest.approx(want, rel=1e-12)
    np.testing.assert_array_equal(m.loss.gradient(out, y, sample_weight=ws),
                                  m.loss.gradient(out, y, sample_weight=wsteps))
    runs = []
    for ww in (ws, wsteps):
        mt = _seq_model()
        runs.append((mt, mt.fit(X, y, epochs=2, batch_size=4, verbose=0, sample_weight=ww).history["loss"]))
    assert runs[0][1] == runs[1][1]
    _assert_same_weights(runs[0][0], runs[1][0])
    with pytest.raises(ValueError, match="sample_weight: expected shape"):
        m.evaluate(X, y, sample_weight=np.ones((N, T + 1)))


def test_masked_sequence_class_weight_per_step(rng):
    X, y = _sequences(rng)
    cw = np.array([0.5, 1.0, 3.0])
    runs = []
    for kw in ({"class_weight": {0: 0.5, 2: 3.0}}, {"sample_weight": cw[y]}):
        mt = _seq_model()
        runs.append((mt, mt.fit(X, y, epochs=2, batch_size=4, verbose=0, **kw).history["loss"]))
    assert runs[0][1] == runs[1][1]
    _assert_same_weights(runs[0][0], runs[1][0])


@pytest.mark.parametrize("how", ["validation_data", "validation_split"])
def test_masked_sequence_class_weight_with_weighted_validation(rng, how):
    X, y = _sequences(rng)
    sw = np.linspace(0.5, 2.0, N)
    m = _seq_model()
    if how == "validation_data":
        Xv, yv, wv = X[:5], y[:5], sw[:5]
        h = m.fit(X, y, epochs=1, batch_size=4, verbose=0, class_weight="balanced", validation_data=(Xv, yv, wv))
    else:
        Xv, yv, wv = X[-3:], y[-3:], sw[-3:]
        h = m.fit(X, y, epochs=1, batch_size=4, verbose=0, class_weight={0: 2.0}, sample_weight=sw,
                  validation_split=0.25, validation_tail=True)
    assert h.history["val_loss"][-1] == pytest.approx(m.evaluate(Xv, yv, sample_weight=wv)["loss"], rel=1e-9)


# -------------------------------------------------------- 11. step API
def test_step_api_backward_uses_the_weights(rng):
    X, y = _classification(rng, n=30)
    w = rng.uniform(0, 2, 30)
    w[::4] = 0.0
    m = _mlp(dtype="float64")
    loss_fn = LS.CategoricalCrossentropy(label_smoothing=0.1)
    out = m(X)
    value = loss_fn(out, y, sample_weight=w)
    assert value == pytest.approx(ref.categorical_crossentropy_forward(np.asarray(out), y.astype(float), 0.1,
                                                                       weight=w), rel=1e-12)
    m.zero_grad()
    loss_fn.backward()
    via_backward = [g.copy() for _, g in m.gradients()]

    out = m(X)
    grad = loss_fn.gradient(out, y, sample_weight=w)
    assert_same(grad, ref.categorical_crossentropy_backward(np.asarray(out), y.astype(float), 0.1, weight=w),
                np.float64)
    m.zero_grad()
    m.backward(grad)
    for (name, g), b in zip(m.gradients(), via_backward):
        np.testing.assert_array_equal(g, b, err_msg=name)

    out = m(X)
    loss_fn(out, y)
    m.zero_grad()
    loss_fn.backward()
    assert not np.allclose(m.gradients()[0][1], via_backward[0])


def test_step_api_backward_masked_sequence(rng):
    X, y = _sequences(rng)
    w = rng.uniform(0.1, 2, (N, T))
    m = _seq_model()
    out = m(X)
    m.loss(out, y, sample_weight=w)
    m.zero_grad()
    m.loss.backward()
    via_backward = [g.copy() for _, g in m.gradients()]
    out = m(X)
    m.zero_grad()
    m.backward(m.loss.gradient(out, y, sample_weight=w))
    for (name, g), b in zip(m.gradients(), via_backward):
        np.testing.assert_array_equal(g, b, err_msg=name)
    assert any(b.any() for b in via_backward)


def test_step_api_weights_for_two_output_regression(rng):
    X = rng.normal(size=(20, 4))
    Y = rng.normal(size=(20, 2))
    w = rng.uniform(0, 2, 20)
    m = _mlp(out=2, dtype="float64", loss="mse")
    out = m(X)
    assert m.loss(out, Y, sample_weight=w) == pytest.approx(ref.mse_forward(np.asarray(out), Y, weight=w),
                                                            rel=1e-12)
    assert_same(m.loss.gradient(out, Y, sample_weight=w), ref.mse_backward(np.asarray(out), Y, weight=w),
                np.float64)
    with pytest.raises(ValueError, match="sample_weight"):
        m.loss(out, Y, sample_weight=np.ones(19))
    with pytest.raises(ValueError, match="sample_weight"):
        m.loss.gradient(out, Y, sample_weight=-np.ones(20))


def test_weights_that_would_make_nonsense_are_refused(rng):
    """Weights whose sums overflow the model's type, soft targets with class
    weights, and a validation part with only zero weights: each is a clear
    error instead of a model that silently does not train or a 0/0 loss."""
    X, idx = _classification(rng, n=48)
    m = _mlp(opt=entrena.SGD(lr=0.1))
    with pytest.raises(ValueError, match="sample_weight: the weights add up to .* too much for float32"):
        m.fit(X, idx, sample_weight=np.full(48, 1e38), verbose=0)
    m64 = _mlp(dtype="float64", opt=entrena.SGD(lr=0.1))
    m64.fit(X, idx, sample_weight=np.full(48, 1e38), epochs=1, verbose=0)     # fine in float64
    soft = np.full((48, 3), 1 / 3)
    with pytest.raises(ValueError, match="soft labels"):
        m.fit(X, soft, class_weight="balanced", verbose=0)
    with pytest.raises(ValueError, match="soft labels"):
        m.fit(X, soft, class_weight={0: 2.0}, verbose=0)
    onehot = np.eye(3)[idx]
    m.fit(X, onehot, class_weight="balanced", epochs=1, verbose=0)            # one-hot rows have a class
    with pytest.raises(ValueError, match="beyond the range of float32"):
        m.fit(X, idx, sample_weight=np.full(48, 1e39), verbose=0)
    with pytest.raises(ValueError, match="below float32's smallest number"):
        m.fit(X, idx, sample_weight=np.full(48, 1e-47), verbose=0)
    with pytest.raises(ValueError, match="too little for float32"):
        m.fit(X, idx, sample_weight=np.full(48, 1e-40), verbose=0)
    w = np.ones(48)
    w[36:] = 0.0
    with pytest.raises(ValueError, match="validation part of validation_split is 0"):
        m.fit(X, idx, sample_weight=w, validation_split=0.25, validation_tail=True, verbose=0)
