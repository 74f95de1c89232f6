"""entrena: fast neural-network training on the CPU.

A C++ engine (OpenMP, SIMD) under a small Python API.
"""
from ._core import __version__, get_num_threads, set_num_threads
from . import callbacks, datasets, layers, losses, metrics, optimizers
from .callbacks import Callback
from .history import History
from .layers import Activation, Dense, ReLU
from .losses import CategoricalCrossentropy
from .models import Sequential
from .optimizers import SGD


def cpu_info() -> dict:
    """CPU features, the kernel variant in use and the thread counts."""
    from ._core import cpu_info as _info
    return dict(_info())


__all__ = [
    "__version__", "get_num_threads", "set_num_threads", "cpu_info",
    "Sequential", "Dense", "Activation", "ReLU", "CategoricalCrossentropy", "SGD",
    "Callback", "History", "callbacks", "datasets", "layers", "losses", "metrics", "optimizers",
]
