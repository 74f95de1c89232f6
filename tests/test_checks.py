"""The input-check kernel against its NumPy twin, and model inputs with NaN
or infinity rejected at every entry point."""
import numpy as np
import pytest

import entrena
from entrena import _core
from entrena.reference import checks as ref


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 1000, 100_003])
def test_count_nonfinite_matches_reference(dtype, rng, n):
    x = rng.normal(size=n).astype(dtype)
    if n:
        bad = rng.choice(n, size=min(n, 7), replace=False)
        x[bad[::3]] = np.nan
        x[bad[1::3]] = np.inf
        x[bad[2::3]] = -np.inf
    assert _core.kernels.count_nonfinite(x) == ref.count_nonfinite(x)
    x2 = np.array([np.finfo(dtype).max, -np.finfo(dtype).max, np.finfo(dtype).tiny / 4, 0.0], dtype=dtype)
    assert _core.kernels.count_nonfinite(x2) == ref.count_nonfinite(x2) == 0


def test_model_entry_points_reject_nonfinite():
    X, y = entrena.datasets.load_iris()
    m = entrena.Sequential([entrena.Dense(3)], seed=0)
    m.compile()
    m.fit(X, y, epochs=1, verbose=0)
    bad = X.copy()
    bad[3, 2] = np.nan
    bad[7, 0] = -np.inf
    before = [p.copy() for p in m.parameters()]
    for call in (lambda: m.predict(bad), lambda: m.evaluate(bad, y), lambda: m(bad),
                 lambda: m.fit(bad, y, verbose=0),
                 lambda: m.fit(X, y, verbose=0, validation_data=(bad, y)),
                 lambda: m.fit(np.vstack([X, bad[:10]]), np.r_[y, y[:10]], verbose=0, validation_split=0.1)):
        with pytest.raises(ValueError, match=r"expected finite values, got 2 NaN or infinite"):
            call()
    for a, b in zip(before, m.parameters()):
        np.testing.assert_array_equal(a, b)
