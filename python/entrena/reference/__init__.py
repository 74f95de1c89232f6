"""The NumPy reference: a plain, readable twin of every C++ kernel of
entrena, computed in float64. Tests compare the engine against it; it is
also a small teaching implementation of how training works.

Submodules: ``gemm`` (GEMM and dense layer), ``activations``, ``losses``,
``optimizers``, ``normalization`` (feature standardization), ``augment``
(image augmentation maps), ``checks``
(input checks), and ``trainer`` (an MLP trained in plain NumPy, the
benchmarks' baseline). The metrics' twins are the functions of
``entrena.metrics``.
``pooling`` (pooling and zero padding) and ``batch_norm`` (batch and layer
normalization) are the twins of those layers' kernels; ``conv``: convolution
(Conv1D, Conv2D) through sliding windows; ``recurrent``: SimpleRNN, LSTM,
GRU (a loop over the steps) and the Embedding lookup.
"""
from . import activations, augment, checks, gemm, losses, normalization, optimizers, trainer  # noqa: F401
from . import batch_norm, conv, pooling, recurrent  # noqa: F401
