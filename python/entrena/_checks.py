"""Input checks at the Python boundary. Every error names the argument, what
was expected and what was given."""
from __future__ import annotations

import numbers
import weakref

import numpy as np

from . import _core

_DTYPES = {np.dtype(np.float32): _core.f32, np.dtype(np.float64): _core.f64}


def resolve_dtype(dtype) -> np.dtype:
    """float32 or float64 as a NumPy dtype; anything else is a TypeError."""
    if dtype.__class__ is np.dtype and dtype in _DTYPES:
        return dtype
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _DTYPES:
        raise TypeError(f"dtype: expected float32 or float64, got {dtype!r}")
    return dt


def core_module(dtype):
    """The _core submodule (f32 or f64) holding the classes for dtype."""
    return _DTYPES[resolve_dtype(dtype)]


def as_float_array(a, name: str, dtype, *, min_ndim: int = 1, max_ndim: int | None = None,
                   finite: bool = True) -> np.ndarray:
    """a as a C-contiguous array of dtype (converted once, here).

    Raises TypeError for non-numeric data and ValueError for wrong
    dimensions, empty arrays or (with finite=True) NaN/inf values.
    """
    if (type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous
            and min_ndim <= a.ndim <= (max_ndim if max_ndim is not None else a.ndim)
            and a.ndim >= 1 and a.shape[0] > 0):
        # Already what the engine takes: no conversion, no copy.
        if finite and not np.isfinite(a).all():
            _raise_nonfinite(a, name)
        return a
    if a is None:
        raise TypeError(f"{name}: expected an array, got None")
    arr = np.asarray(a)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name}: expected numeric data, got an array of dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if arr.ndim < min_ndim or (max_ndim is not None and arr.ndim > max_ndim):
        want = f"{min_ndim}-D" if max_ndim == min_ndim else (
            f"at least {min_ndim}-D" if max_ndim is None else f"{min_ndim}-D to {max_ndim}-D")
        raise ValueError(f"{name}: expected a {want} array, got shape {arr.shape}")
    if arr.size == 0 and arr.ndim >= 1 and arr.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one sample, got shape {arr.shape}")
    with np.errstate(over="ignore"):       # values beyond the type's range are reported below
        out = np.ascontiguousarray(arr, dtype=dtype)
    if finite and not np.isfinite(out).all():
        if arr.dtype.kind in "fiub" and out.dtype != arr.dtype and np.isfinite(arr).all():
            bad = int(out.size - np.count_nonzero(np.isfinite(out)))
            raise ValueError(f"{name}: {bad} value(s) beyond the range of {np.dtype(dtype).name} "
                             f"(largest {np.finfo(dtype).max:.3g})")
        _raise_nonfinite(out, name)
    return out


def _raise_nonfinite(a, name):
    bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
    raise ValueError(f"{name}: expected finite values, got {bad} NaN or infinite value(s)")


#: The largest count (epochs, batch size, sizes) the engine takes: sizes are
#: 64-bit signed integers there, and no real tensor comes near this.
MAX_COUNT = 2**62


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = MAX_COUNT) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        low = f"in [{minimum}, {maximum}]" if minimum is not None else f"<= {maximum}"
        raise ValueError(f"{name}: expected an integer {low}, got {value}")
    return value


def check_float(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
                open_min: bool = False, open_max: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    if minimum is not None and (value < minimum or (open_min and value == minimum)):
        raise ValueError(f"{name}: expected a number {'>' if open_min else '>='} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (open_max and value == maximum)):
        raise ValueError(f"{name}: expected a number {'<' if open_max else '<='} {maximum}, got {value}")
    return value


def same_length(X: np.ndarray, y: np.ndarray, xname: str = "X", yname: str = "y") -> None:
    if len(X) != len(y):
        raise ValueError(f"{yname}: expected {len(X)} rows (one per sample of {xname}), got {len(y)}")


# The Python model of each engine model (for finding the model a parameter
# view belongs to: a view's base is the engine model that owns its memory).
_MODELS = weakref.WeakValueDictionary()


def register_model(core, model) -> None:
    _MODELS[id(core)] = model


def model_of(array):
    """The Sequential whose parameter buffer ``array`` views, or None."""
    base = array
    while base is not None:
        m = _MODELS.get(id(base))
        if m is not None and m._core is base:
            return m
        base = getattr(base, "base", None)
    return None
