"""Feature standardization: the kernels against the NumPy reference (float32
and float64, one and two threads), a finite-difference check of the
backward pass, and the Normalization layer, whose statistics are buffers
(saved with the model, in state_dict, never trained, not gradchecked)."""
import numpy as np
import pytest

import entrena
from entrena import _core
from entrena.reference import normalization as ref

from helpers import assert_same, check_gradient, check_kernel

K = _core.kernels


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (300, 70), (1000, 129)])
def test_kernels_match_reference(dtype, rng, shape, threads):
    x = rng.normal(size=shape) * 3 + 1
    var = rng.uniform(0, 2, shape[1])
    var[0] = 0.0                     # a constant feature: divided by eps, not by 0
    mean = rng.normal(size=shape[1])
    dy = rng.normal(size=shape)
    for nt in (1, 2):
        _core.set_num_threads(nt)
        got_m, got_v = K.feature_moments(np.ascontiguousarray(x, dtype=dtype))
        want_m, want_v = ref.feature_moments(x.astype(dtype).astype(np.float64))
        np.testing.assert_allclose(got_m, want_m, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got_v, want_v, rtol=1e-11, atol=1e-12)
        check_kernel(K.standardize_forward, ref.standardize_forward, [x, mean, var], dtype)
        check_kernel(K.standardize_backward, ref.standardize_backward, [var, dy], dtype)


def test_backward_matches_finite_differences(rng):
    x = rng.normal(size=(4, 3))
    mean, var = rng.normal(size=3), rng.uniform(0.5, 2, 3)
    w = rng.normal(size=(4, 3))
    analytic = K.standardize_backward(var, w)
    check_gradient(lambda v: (K.standardize_forward(v, mean, var) * w).sum(), analytic, x)


def test_kernel_bad_input():
    with pytest.raises(ValueError, match=r"mean: expected shape \(3,\)"):
        K.standardize_forward(np.zeros((2, 3)), np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match="x: expected a 2-D array"):
        K.feature_moments(np.zeros(3))


def _data(rng, n=200):
    X = rng.normal(size=(n, 3)) * np.array([10.0, 0.1, 3.0]) + np.array([50.0, -2.0, 0.0])
    y = (X[:, 0] - 50 > 0).astype(int) + (X[:, 1] + 2 > 0).astype(int)
    return X, y


@pytest.mark.parametrize("when", ["before_build", "after_build"])
def test_layer_standardizes_with_adapted_statistics(rng, when):
    X, _ = _data(rng)
    norm = entrena.Normalization()
    if when == "before_build":
        norm.adapt(X)
    m = entrena.Sequential([norm], input_shape=(3,), dtype="float64")
    if when == "after_build":
        norm.adapt(X)
    out = m.predict(X)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-10)
    state = m.state_dict()
    np.testing.assert_allclose(state["normalization_0.mean"], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(state["normalization_0.variance"], X.var(axis=0), rtol=1e-12)
    assert m.named_parameters() == [] and m.count_params() == 0


def test_statistics_are_buffers_not_parameters(rng, tmp_path):
    X, y = _data(rng)
    norm = entrena.Normalization()
    norm.adapt(X)
    m = entrena.Sequential([norm, entrena.Dense(8, activation="relu"), entrena.Dense(3)], seed=1,
                           input_shape=(3,))
    buffers = {n: v.copy() for n, v in m.named_buffers()}
    assert sorted(buffers) == ["normalization_0.mean", "normalization_0.variance"]
    m.compile(loss="categorical_crossentropy", optimizer=entrena.AdamW(lr=0.05, weight_decay=0.5),
              metrics=["accuracy"])
    h = m.fit(X, y, epochs=20, batch_size=32, verbose=0)
    for n, v in m.named_buffers():     # the optimizer never touches buffers
        np.testing.assert_array_equal(v, buffers[n])
    assert h.history["accuracy"][-1] > 0.9   # raw data trains once standardized inside the model
    report = entrena.gradcheck(m, X[:20], y[:20])
    assert set(report) == {n for n, _ in m.named_parameters()} and max(report.values()) < 1e-5
    path = tmp_path / "norm.safetensors"
    m.save(path)
    again = entrena.load(path)
    for n, v in again.named_buffers():
        np.testing.assert_array_equal(v, buffers[n])
    np.testing.assert_array_equal(again.predict(X), m.predict(X))
    # load_state_dict restores buffers too.
    fresh = entrena.Sequential([entrena.Normalization(), entrena.Dense(8, activation="relu"),
                                entrena.Dense(3)], input_shape=(3,))
    fresh.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(fresh.predict(X), m.predict(X))


def test_layer_errors(rng):
    norm = entrena.Normalization()
    norm.adapt(rng.normal(size=(10, 4)))
    with pytest.raises(ValueError, match="the data had 4 features, the layer sees 3"):
        entrena.Sequential([norm], input_shape=(3,))
    m = entrena.Sequential([entrena.Normalization()], input_shape=(3,))
    with pytest.raises(ValueError, match=r"data: expected shape \(n, 3\)"):
        m.layers[0].adapt(np.zeros((5, 2)))
