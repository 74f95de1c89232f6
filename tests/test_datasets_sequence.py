"""entrena.datasets sequence data: make_adding_problem, make_sine_forecast,
window_series and the shipped CO2 series (load_co2)."""
import numpy as np
import pytest

from entrena.datasets import load_co2, make_adding_problem, make_sine_forecast, window_series


# ---------------------------------------------------------- adding problem
@pytest.mark.parametrize("n, steps", [(1000, 50), (7, 2), (64, 3), (1, 11)])
def test_adding_problem_shapes_and_invariants(n, steps):
    X, y = make_adding_problem(n, steps=steps, seed=0)
    assert X.shape == (n, steps, 2) and X.dtype == np.float32 and X.flags.c_contiguous
    assert y.shape == (n, 1) and y.dtype == np.float32
    values, markers = X[:, :, 0], X[:, :, 1]
    assert values.min() >= 0.0 and values.max() < 1.0
    assert set(np.unique(markers).tolist()) <= {0.0, 1.0}
    half = steps // 2
    # Exactly one marker in the first half (t < steps // 2), one in the second.
    np.testing.assert_array_equal(markers[:, :half].sum(axis=1), 1.0)
    np.testing.assert_array_equal(markers[:, half:].sum(axis=1), 1.0)
    # The target is the sum of the two marked values (the same float32 sum).
    first = values[np.arange(n), markers[:, :half].argmax(axis=1)]
    second = values[np.arange(n), half + markers[:, half:].argmax(axis=1)]
    np.testing.assert_array_equal(y[:, 0], first + second)
    np.testing.assert_allclose(y[:, 0], (values * markers).sum(axis=1), rtol=1e-6)


def test_adding_problem_statistics():
    X, y = make_adding_problem(20000, steps=10, seed=1)
    markers = X[:, :, 1]
    # Markers spread over every position of their half; values uniform.
    assert (markers.sum(axis=0) > 0).all()
    assert X[:, :, 0].mean() == pytest.approx(0.5, abs=0.01)
    # y = U1 + U2: mean 1, variance 1/6 (the MSE of always predicting 1).
    assert y.mean() == pytest.approx(1.0, abs=0.01)
    assert y.var() == pytest.approx(1 / 6, rel=0.05)
    assert y.min() >= 0.0 and y.max() < 2.0


# ------------------------------------------------------------ sine forecast
@pytest.mark.parametrize("n, steps, horizon", [(1000, 30, 1), (5, 1, 4), (3, 12, 6)])
def test_sine_forecast_shapes(n, steps, horizon):
    X, y = make_sine_forecast(n, steps=steps, horizon=horizon, seed=0)
    assert X.shape == (n, steps, 1) and X.dtype == np.float32 and X.flags.c_contiguous
    assert y.shape == (n, horizon) and y.dtype == np.float32 and y.flags.c_contiguous
    assert np.isfinite(X).all() and np.isfinite(y).all()


def test_sine_forecast_without_noise_lies_on_one_sine_wave():
    X, y = make_sine_forecast(500, steps=20, horizon=3, noise=0.0, seed=2)
    s = np.concatenate([X[:, :, 0], y], axis=1).astype(np.float64)      # (n, 23)
    assert np.abs(s).max() < 1.5                                          # amplitudes < 1.5
    # A sampled sine wave obeys s(t+1) = c s(t) - s(t-1) with c = 2 cos(2π f).
    # Fit c on the inputs only, then check it predicts the targets too.
    prev, mid, nxt = s[:, :18], s[:, 1:19], s[:, 2:20]
    c = ((nxt + prev) * mid).sum(axis=1) / (mid * mid).sum(axis=1)
    lo, hi = 2 * np.cos(2 * np.pi * 0.2), 2 * np.cos(2 * np.pi * 0.025)  # f in [0.025, 0.2)
    assert (c > lo - 1e-4).all() and (c < hi + 1e-4).all()
    np.testing.assert_allclose(nxt, c[:, None] * mid - prev, atol=1e-5)
    for k in range(3):                                     # the targets continue the wave
        t = 20 + k
        np.testing.assert_allclose(s[:, t], c * s[:, t - 1] - s[:, t - 2], atol=1e-4)


def test_sine_forecast_noise_is_on_the_inputs_only():
    X0, y0 = make_sine_forecast(2000, steps=30, horizon=2, noise=0.0, seed=3)
    X1, y1 = make_sine_forecast(2000, steps=30, horizon=2, noise=0.1, seed=3)
    np.testing.assert_array_equal(y0, y1)                  # noise-free targets, the same waves
    d = (X1 - X0).astype(np.float64)
    assert d.mean() == pytest.approx(0.0, abs=0.005)
    assert d.std() == pytest.approx(0.1, rel=0.02)


# -------------------------------------------------------------- determinism
GENERATORS = {
    "adding": lambda seed: make_adding_problem(200, steps=20, seed=seed),
    "sine": lambda seed: make_sine_forecast(200, steps=15, horizon=2, seed=seed),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_sequence_generators_are_deterministic_for_a_seed(name):
    X1, y1 = GENERATORS[name](0)
    X2, y2 = GENERATORS[name](0)
    X3, y3 = GENERATORS[name](1)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3) and not np.array_equal(y1, y3)
    Xa, ya = GENERATORS[name](np.random.default_rng(5))
    Xb, yb = GENERATORS[name](np.random.default_rng(5))
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(ya, yb)


# ------------------------------------------------------------ window_series
def test_window_series_hand_built_1d():
    series = np.arange(10, dtype=np.float32)
    X, y = window_series(series, steps=3, horizon=2, stride=2)
    np.testing.assert_array_equal(X[:, :, 0], [[0, 1, 2], [2, 3, 4], [4, 5, 6]])
    np.testing.assert_array_equal(y, [[3, 4], [5, 6], [7, 8]])
    assert X.shape == (3, 3, 1) and y.shape == (3, 2)
    assert X.dtype == np.float32 and y.dtype == np.float32
    # stride 1, horizon 1: every window, the next value as target.
    X, y = window_series([1, 2, 3, 4, 5], steps=2)
    np.testing.assert_array_equal(X[:, :, 0], [[1, 2], [2, 3], [3, 4]])
    np.testing.assert_array_equal(y, [[3], [4], [5]])
    # Exactly one window's worth of values.
    X, y = window_series(np.arange(4.0), steps=3, horizon=1)
    assert X.shape == (1, 3, 1) and y.shape == (1, 1) and y[0, 0] == 3.0


def test_window_series_hand_built_multivariate():
    t = np.arange(7)
    series = np.stack([t, 10 * t], axis=1).astype(np.float32)      # (7, 2)
    X, y = window_series(series, steps=2, horizon=2, stride=3)
    assert X.shape == (2, 2, 2) and y.shape == (2, 2, 2)
    np.testing.assert_array_equal(X, [[[0, 0], [1, 10]], [[3, 30], [4, 40]]])
    np.testing.assert_array_equal(y, [[[2, 20], [3, 30]], [[5, 50], [6, 60]]])


@pytest.mark.parametrize("shape", [(50,), (50, 3)])
@pytest.mark.parametrize("steps, horizon, stride", [(5, 1, 1), (7, 3, 4), (1, 1, 10), (40, 10, 1)])
def test_window_series_matches_a_sliding_window(shape, steps, horizon, stride):
    series = np.random.default_rng(0).standard_normal(shape)
    X, y = window_series(series, steps, horizon=horizon, stride=stride)
    # Every full window (input and target) of steps + horizon values, every stride-th.
    full = np.lib.stride_tricks.sliding_window_view(series, steps + horizon, axis=0)[::stride]
    full = np.moveaxis(full, -1, 1)                                   # (n, steps+horizon[, F])
    n = (shape[0] - steps - horizon) // stride + 1
    assert len(X) == len(y) == len(full) == n
    np.testing.assert_array_equal(X, full[:, :steps].reshape(n, steps, -1))
    np.testing.assert_array_equal(y, full[:, steps:])
    assert X.dtype == np.float64 and y.dtype == np.float64               # float64 in, float64 out


@pytest.mark.parametrize("series, dtype", [
    (np.arange(6, dtype=np.float64), np.float64),
    (np.arange(6, dtype=np.float32), np.float32),
    (np.arange(6, dtype=np.int64), np.float32),
    (np.arange(6, dtype=np.float16), np.float32),
    ([0.5, 1.5, 2.5, 3.5, 4.5, 5.5], np.float32),           # a list: float32 like the generators
])
def test_window_series_dtype(series, dtype):
    X, y = window_series(series, steps=2)
    assert X.dtype == dtype and y.dtype == dtype
    assert X.flags.c_contiguous and y.flags.c_contiguous


def test_window_series_returns_copies():
    series = np.arange(8.0)
    X, y = window_series(series, steps=3)
    X[:] = -1.0
    y[:] = -1.0
    np.testing.assert_array_equal(series, np.arange(8.0))
    X, _ = window_series(series, steps=3)
    assert not np.shares_memory(X, series)


# --------------------------------------------------------------------- CO2
def test_co2_loads_with_plausible_values():
    t, co2 = load_co2()
    assert t.shape == co2.shape == (526,)
    assert t.dtype == np.float64 and co2.dtype == np.float32
    # Mid-month decimal years, March 1958 to December 2001, one per month.
    assert t[0] == pytest.approx(1958 + 2.5 / 12) and t[-1] == pytest.approx(2001 + 11.5 / 12)
    np.testing.assert_allclose(np.diff(t), 1 / 12, atol=1e-9)
    assert 300.0 < co2.min() and co2.max() < 450.0
    assert co2[0] == pytest.approx(316.1)                       # first week, 1958-03-29
    # Rising trend: a straight-line fit grows by roughly 1.3 ppm a year, and
    # every full calendar year's mean is above the previous one.
    slope = np.polyfit(t, co2.astype(np.float64), 1)[0]
    assert 1.0 < slope < 1.7
    yearly = co2[10:].astype(np.float64).reshape(-1, 12).mean(axis=1)     # 1959..2001
    assert np.all(np.diff(yearly) > 0)
    # The seasonal cycle: May above September-October in every full year.
    months = co2[10:].reshape(-1, 12)
    assert np.all(months[:, 4] > months[:, 8:10].max(axis=1))


def test_co2_dtype_and_interpolated_months():
    t, co2, weeks = load_co2("float64", return_weeks=True)
    assert co2.dtype == np.float64 and weeks.dtype == np.int64
    np.testing.assert_array_equal(co2.astype(np.float32), load_co2()[1])
    year = np.floor(t).astype(int)
    month = np.floor(t % 1 * 12).astype(int) + 1
    gaps = [(int(a), int(b)) for a, b in zip(year[weeks == 0], month[weeks == 0])]
    assert gaps == [(1958, 6), (1958, 10), (1964, 2), (1964, 3), (1964, 4)]
    assert weeks.max() <= 5
    # Interpolated months lie on the line between their neighbours with data.
    i = np.flatnonzero((year == 1964) & (month == 3))[0]
    np.testing.assert_allclose(co2[i], (co2[i - 2] + co2[i + 2]) / 2)


def test_co2_windows_for_a_recurrent_model():
    _, co2 = load_co2()
    X, y = window_series(co2, steps=24, horizon=12, stride=12)
    assert X.shape == ((526 - 36) // 12 + 1, 24, 1) and y.shape == (len(X), 12)
    np.testing.assert_array_equal(X[1, :, 0], co2[12:36])
    np.testing.assert_array_equal(y[1], co2[36:48])


# ------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("fn, kwargs, exc, match", [
    (make_adding_problem, dict(n_samples=0), ValueError, r"n_samples: expected an integer >= 1, got 0"),
    (make_adding_problem, dict(n_samples=2.0), TypeError, r"n_samples: expected an integer, got float"),
    (make_adding_problem, dict(steps=1), ValueError, r"steps: expected an integer >= 2, got 1"),
    (make_adding_problem, dict(steps=True), TypeError, r"steps: expected an integer, got bool"),
    (make_adding_problem, dict(seed=-1), ValueError, r"seed: expected an integer >= 0"),
    (make_sine_forecast, dict(n_samples=0), ValueError, r"n_samples: expected an integer >= 1, got 0"),
    (make_sine_forecast, dict(steps=0), ValueError, r"steps: expected an integer >= 1, got 0"),
    (make_sine_forecast, dict(horizon=0), ValueError, r"horizon: expected an integer >= 1, got 0"),
    (make_sine_forecast, dict(noise=-0.1), ValueError, r"noise: expected a number >= 0"),
    (make_sine_forecast, dict(noise=float("inf")), ValueError, r"noise: expected a finite number"),
    (make_sine_forecast, dict(noise="0.1"), TypeError, r"noise: expected a number, got str"),
    (make_sine_forecast, dict(seed="1"), TypeError, r"seed: expected an integer"),
    (window_series, dict(series=np.arange(10.0), steps=0), ValueError,
     r"steps: expected an integer >= 1, got 0"),
    (window_series, dict(series=np.arange(10.0), steps=3, horizon=0), ValueError,
     r"horizon: expected an integer >= 1, got 0"),
    (window_series, dict(series=np.arange(10.0), steps=3, stride=0), ValueError,
     r"stride: expected an integer >= 1, got 0"),
    (window_series, dict(series=np.arange(10.0), steps=2.5), TypeError,
     r"steps: expected an integer, got float"),
    (window_series, dict(series=np.arange(10.0), steps=8, horizon=3), ValueError,
     r"series: expected at least steps \+ horizon = 11 time steps \(one window\), got 10"),
    (window_series, dict(series=np.zeros((4, 2)), steps=4), ValueError,
     r"series: expected at least steps \+ horizon = 5 time steps \(one window\), got 4"),
    (window_series, dict(series=np.zeros((2, 3, 4)), steps=1), ValueError,
     r"series: expected a 1-D to 2-D array, got shape \(2, 3, 4\)"),
    (window_series, dict(series=np.zeros(0), steps=1), ValueError,
     r"series: expected at least one sample, got shape \(0,\)"),
    (window_series, dict(series=np.zeros((5, 0)), steps=1), ValueError,
     r"series: expected at least one feature \(column\), got shape \(5, 0\)"),
    (window_series, dict(series=[1.0, float("nan"), 3.0], steps=1), ValueError,
     r"series: expected finite values, got 1 NaN or infinite value\(s\)"),
    (window_series, dict(series=["a", "b", "c"], steps=1), TypeError,
     r"series: expected numeric data"),
    (window_series, dict(series=None, steps=1), TypeError, r"series: expected an array, got None"),
    (load_co2, dict(dtype="int32"), TypeError, r"dtype: expected float32 or float64, got 'int32'"),
    (load_co2, dict(return_weeks="yes"), TypeError, r"return_weeks: expected True or False, got str"),
])
def test_sequence_data_bad_input(fn, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fn(**kwargs)


def test_a_small_model_forecasts_sine_waves():
    """The windows feed straight into training (X float32 (n, steps, 1), y (n, horizon))."""
    import entrena
    X, y = make_sine_forecast(2000, steps=20, horizon=1, noise=0.05, seed=0)
    model = entrena.Sequential([entrena.Flatten(), entrena.Dense(32, activation="tanh"),
                                entrena.Dense(1)], seed=0)
    model.compile(loss="mse", optimizer=entrena.Adam(lr=0.01))
    history = model.fit(X, y, epochs=30, batch_size=64, verbose=0, seed=0)
    # The targets have variance about 0.54; always predicting the mean scores that.
    assert history.history["loss"][-1] < 0.05 * y.var()
