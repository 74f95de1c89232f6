"""The NumPy reference: a plain, readable twin of every C++ kernel of
entrena, computed in float64. Tests compare the engine against it; it is
also a small teaching implementation of how training works.

Submodules: ``gemm`` (GEMM and dense layer), ``activations``, ``losses``,
``optimizers``, ``normalization`` (feature standardization), ``checks``
(input checks), and ``trainer`` (an MLP trained in plain NumPy, the
benchmarks' baseline). The metrics' twins are the functions of
``entrena.metrics``.
``conv``: convolution (Conv1D, Conv2D) through sliding windows.
"""
from . import activations, checks, gemm, losses, normalization, optimizers, trainer  # noqa: F401
from . import conv  # noqa: F401
