import importlib
import os

import numpy as np
import pytest

# Tests run the kernels on every thread count the machine has; keep the
# default deterministic.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DTYPES = [np.float32, np.float64]


def pytest_configure(config):
    # CI runs the comparisons with PyTorch and scikit-learn, and the tests of
    # the optional extras (pandas, Optuna, Dask, ONNX), every time: there a missing
    # package is an error, not a skip.
    if os.environ.get("ENTRENA_REQUIRE_PEERS"):
        missing = []
        for name in ("torch", "sklearn", "pandas", "optuna", "dask", "distributed", "onnx", "onnxruntime", "mpi4py"):
            try:
                importlib.import_module(name)
            except ImportError:
                missing.append(name)
        if missing:
            raise pytest.UsageError(f"ENTRENA_REQUIRE_PEERS is set but {', '.join(missing)} "
                                    "cannot be imported; install them (.ci/run does)")


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=__import__("helpers").AVAILABLE_ISAS)
def isa(request):
    """Runs the test once per kernel variant (ISA path) this CPU supports."""
    from entrena import _core
    before = _core.get_isa()
    _core.set_isa(request.param)
    yield request.param
    _core.set_isa(before)


@pytest.fixture
def threads():
    """Restores the thread count a test changes."""
    from entrena import _core
    before = _core.get_num_threads()
    yield
    _core.set_num_threads(before)
