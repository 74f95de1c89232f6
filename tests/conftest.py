import os

import numpy as np
import pytest

# Tests run the kernels on every thread count the machine has; keep the
# default deterministic.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DTYPES = [np.float32, np.float64]


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
