"""entrena: fast neural-network training on the CPU.

A C++ engine (OpenMP, SIMD) under a small Python API.
"""
import os
import warnings

from . import _checks, _core
from ._core import __version__, get_num_threads
from . import callbacks, data, datasets, diagnose, layers, losses, metrics, optimizers, schedules
from .callbacks import Callback
from .data import MinMaxScaler, StandardScaler, one_hot, train_test_split, train_val_test_split
from .gradcheck import gradcheck
from .history import History
from .layers import (ELU, GELU, Activation, Dense, Dropout, Flatten, Input, Layer, LeakyReLU,
                     LogSoftmax, Normalization, ReLU, SiLU, Sigmoid, Softmax, Softplus, Swish, Tanh)
from .layers import GaussianNoise, RandomCrop, RandomFlip, RandomRotation, RandomTranslation
from .layers import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D, BatchNormalization,
                     GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAvgPool1D, GlobalAvgPool2D,
                     GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                     LayerNormalization, MaxPool1D, MaxPool2D, MaxPooling1D, MaxPooling2D, Reshape,
                     ZeroPadding2D)
from .layers import Conv1D, Conv2D
from .layers import GRU, LSTM, Bidirectional, Embedding, Masking, SimpleRNN
from .losses import (BinaryCrossentropy, BinaryCrossentropyWithLogits, CategoricalCrossentropy,
                     HalfMeanSquaredError, Hinge, Huber, MeanAbsoluteError, MeanSquaredError,
                     MulticlassHinge)
from .models import Sequential, load
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSprop


def set_num_threads(n: int) -> None:
    """Sets how many threads entrena's kernels may use (default: all cores).
    Results are bitwise identical for any number of threads."""
    _core.set_num_threads(_checks.check_int(n, "n", minimum=1, maximum=4096))


def set_seed(seed: int) -> None:
    """Seeds every model created afterwards without its own seed (its
    initial weights, shuffles and dropout masks), like torch.manual_seed or
    keras.utils.set_random_seed: the same script then gives the same
    results. Models created before keep their generators."""
    _core.set_seed(_checks.check_int(seed, "seed", minimum=0, maximum=2**64 - 1))


def _check_isa_request():
    """ENTRENA_ISA asks for a kernel variant; say so when it cannot be had."""
    want = os.environ.get("ENTRENA_ISA", "")
    if not want:
        return
    variants = ["generic", "avx2", "avx512"]
    info = _core.cpu_info()
    if want not in variants:
        warnings.warn(f"ENTRENA_ISA={want!r} is not a kernel variant (expected one of "
                      f"{', '.join(variants)}); using {info['isa']}", RuntimeWarning, stacklevel=2)
    elif want != info["isa"]:
        warnings.warn(f"ENTRENA_ISA={want!r}: this CPU supports up to {info['best_isa']}; using "
                      f"{info['isa']}", RuntimeWarning, stacklevel=2)


_check_isa_request()


def cpu_info() -> dict:
    """CPU features, the kernel variant in use and the thread counts."""
    return dict(_core.cpu_info())


__all__ = [
    "__version__", "get_num_threads", "set_num_threads", "set_seed", "cpu_info", "gradcheck",
    "Sequential", "load", "Input", "Layer", "Dense", "Dropout", "Flatten", "Normalization", "Activation", "ReLU",
    "RandomFlip", "RandomTranslation", "RandomCrop", "RandomRotation", "GaussianNoise",
    "Sigmoid", "Tanh", "LeakyReLU", "ELU", "GELU", "SiLU", "Swish", "Softplus", "Softmax", "LogSoftmax",
    "CategoricalCrossentropy", "MeanSquaredError", "HalfMeanSquaredError", "MeanAbsoluteError", "Huber",
    "BinaryCrossentropy", "BinaryCrossentropyWithLogits", "Hinge", "MulticlassHinge", "SGD",
    "Adam", "AdamW", "RMSprop", "Adagrad",
    "Conv1D", "Conv2D", "Embedding", "Masking", "SimpleRNN", "LSTM", "GRU", "Bidirectional",
    "train_test_split", "train_val_test_split", "StandardScaler", "MinMaxScaler", "one_hot",
    "Callback", "History", "callbacks", "data", "datasets", "diagnose", "layers", "losses", "metrics", "optimizers", "schedules",
    "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D",
    "AveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
    "BatchNormalization", "LayerNormalization", "Reshape", "ZeroPadding2D",
]
