"""entrena: fast neural-network training on the CPU.

A C++ engine (OpenMP, SIMD) under a small Python API.
"""
from ._core import __version__, get_num_threads, set_num_threads

__all__ = ["__version__", "get_num_threads", "set_num_threads"]
