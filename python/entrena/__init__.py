"""entrena: fast neural-network training on the CPU.

A C++ engine (OpenMP, SIMD) under a small Python API.
"""
from . import _checks, _core
from ._core import __version__, get_num_threads, set_num_threads
from . import callbacks, data, datasets, layers, losses, metrics, optimizers, schedules
from .callbacks import Callback
from .data import MinMaxScaler, StandardScaler, one_hot, train_test_split, train_val_test_split
from .gradcheck import gradcheck
from .history import History
from .layers import (ELU, GELU, Activation, Dense, Dropout, Flatten, Input, Layer, LeakyReLU,
                     LogSoftmax, Normalization, ReLU, SiLU, Sigmoid, Softmax, Softplus, Swish, Tanh)
from .losses import (BinaryCrossentropy, BinaryCrossentropyWithLogits, CategoricalCrossentropy,
                     HalfMeanSquaredError, Hinge, Huber, MeanAbsoluteError, MeanSquaredError,
                     MulticlassHinge)
from .models import Sequential, load
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSprop


def set_seed(seed: int) -> None:
    """Seeds every model created afterwards without its own seed (its
    initial weights, shuffles and dropout masks), like torch.manual_seed or
    keras.utils.set_random_seed: the same script then gives the same
    results. Models created before keep their generators."""
    _core.set_seed(_checks.check_int(seed, "seed", minimum=0))


def cpu_info() -> dict:
    """CPU features, the kernel variant in use and the thread counts."""
    return dict(_core.cpu_info())


__all__ = [
    "__version__", "get_num_threads", "set_num_threads", "set_seed", "cpu_info", "gradcheck",
    "Sequential", "load", "Input", "Layer", "Dense", "Dropout", "Flatten", "Normalization", "Activation", "ReLU",
    "Sigmoid", "Tanh", "LeakyReLU", "ELU", "GELU", "SiLU", "Swish", "Softplus", "Softmax", "LogSoftmax",
    "CategoricalCrossentropy", "MeanSquaredError", "HalfMeanSquaredError", "MeanAbsoluteError", "Huber",
    "BinaryCrossentropy", "BinaryCrossentropyWithLogits", "Hinge", "MulticlassHinge", "SGD",
    "Adam", "AdamW", "RMSprop", "Adagrad",
    "train_test_split", "train_val_test_split", "StandardScaler", "MinMaxScaler", "one_hot",
    "Callback", "History", "callbacks", "data", "datasets", "layers", "losses", "metrics", "optimizers", "schedules",
]
