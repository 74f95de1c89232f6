"""The NumPy reference: a plain, readable twin of every C++ kernel of
entrena, computed in float64. Tests compare the engine against it; it is
also a small teaching implementation of how training works.

Submodules: ``gemm`` (GEMM and dense layer), ``activations``, ``losses``,
``optimizers``, ``checks`` (input checks), and ``trainer`` (an MLP trained in plain NumPy,
the benchmarks' baseline).
"""
from . import activations, checks, gemm, losses, optimizers, trainer  # noqa: F401
