"""Input checks in NumPy."""
import numpy as np


def count_nonfinite(x):
    """The number of NaN or infinite values."""
    return int(x.size - np.count_nonzero(np.isfinite(x)))
