"""Data-parallel training over MPI: one model trained by P processes.

    # train.py, run with: mpiexec -n 4 python train.py
    import entrena
    from entrena import distributed

    distributed.init()                       # MPI.COMM_WORLD through mpi4py
    model = entrena.Sequential([...], seed=0)
    model.compile(...)
    model.fit(X, y, epochs=10, batch_size=64)   # every rank passes the whole data set
    if distributed.is_main():
        model.save("model.safetensors")

After ``init()``, ``fit`` trains data-parallel:

- every rank starts from rank 0's weights, buffers and generator;
- each epoch permutes the samples the same way on every rank (padded to a
  multiple of P by wrapping around, as PyTorch's DistributedSampler) and
  rank r trains on positions r, r + P, ...: equal batch counts per rank;
- after each batch's backward pass the ranks' gradients are combined inside
  the engine's epoch loop (no return to Python), each rank's mean weighing
  by its share of the samples (or real steps, or sample weights): the
  buffer is cut into P blocks, each rank adds one block of every rank in
  rank order and the sums are gathered back (MPI_Alltoall, then
  MPI_Allgather), so the result is the same bits on every rank and in every
  run, whatever MPI's own algorithms; P ranks with batch b step like one
  process with batch P·b (to float rounding); running statistics
  (BatchNormalization) are averaged after each epoch;
- validation runs on the whole validation set on every rank, so
  validation metrics and early stopping agree; every stop (early stopping,
  a callback, a non-finite loss, Ctrl-C, an exception in a callback) is
  agreed, so all ranks leave fit together (a rank whose peer failed raises
  StateError); the epoch loss and the training metrics are over all ranks'
  samples (each metric's state merged in rank order), so any logged key
  can be monitored;
- only rank 0 prints progress and writes files from the built-in callbacks
  (ModelCheckpoint, CSVLogger); guard your own saves with ``is_main()``.

The engine calls MPI itself, through the functions of the MPI library that
mpi4py loaded (their addresses are handed over once, in ``init``). Needs
mpi4py and an MPI (``pip install "entrena[mpi]"`` installs mpi4py and the
Open MPI wheel). ``benchmarks/allreduce.py`` measures the averaging and
docs/distributed.md models its cost on real networks.
"""
from __future__ import annotations

import ctypes
import pickle

import numpy as np

from . import _core

_STATE = {"comm": None, "core": None}


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError("entrena.distributed needs mpi4py and an MPI library: pip install 'entrena[mpi]'") from e
    return MPI


def _library_function(name: str) -> int:
    """The address of an MPI function in the MPI library mpi4py loaded."""
    for lib in _candidate_libraries():
        try:
            return ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
        except AttributeError:
            continue
    raise RuntimeError(f"distributed: cannot find {name} in the MPI library mpi4py loaded")


def _candidate_libraries():
    yield ctypes.CDLL(None)              # symbols loaded globally (mpi4py's usual way)
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "libmpi" in line and "/" in line}
    except OSError:
        paths = set()
    for path in sorted(paths):
        yield ctypes.CDLL(path)


def init(comm=None):
    """Sets up data-parallel training over ``comm`` (an mpi4py
    communicator; MPI.COMM_WORLD by default). Returns (rank, size)."""
    MPI = _mpi()
    comm = MPI.COMM_WORLD if comm is None else comm
    if not isinstance(comm, MPI.Intracomm):
        raise TypeError(f"comm: expected an mpi4py intracommunicator, got {type(comm).__name__}")
    core = _core.mpi_communicator(
        MPI._sizeof(MPI.Comm), MPI._handleof(comm), MPI._handleof(MPI.BYTE), _library_function("MPI_Alltoall"),
        _library_function("MPI_Allgather"), _library_function("MPI_Bcast"), comm.Get_rank(), comm.Get_size())
    _STATE.update(comm=comm, core=core)
    return comm.Get_rank(), comm.Get_size()


def finalize() -> None:
    """Back to single-process training (MPI itself stays initialized)."""
    _STATE.update(comm=None, core=None)


def is_initialized() -> bool:
    return _STATE["core"] is not None


def rank() -> int:
    """This process's rank (0 without init)."""
    return _STATE["core"].rank if _STATE["core"] is not None else 0


def size() -> int:
    """The number of ranks (1 without init)."""
    return _STATE["core"].size if _STATE["core"] is not None else 1


def is_main() -> bool:
    """True on rank 0 (and without init): the rank that writes files."""
    return rank() == 0


def communicator():
    """The engine communicator fit uses (None without init)."""
    return _STATE["core"]


def broadcast_object(obj):
    """Rank 0's value of a picklable object, on every rank (obj itself
    without init). When rank 0 cannot pickle it, rank 0 raises the pickling
    error and the other ranks a RuntimeError (none is left waiting)."""
    comm = _STATE["comm"]
    if comm is None:
        return obj
    if comm.Get_rank() == 0:
        try:
            payload, error = pickle.dumps(obj), None
        except Exception as e:            # noqa: BLE001 - any pickling failure is sent on
            payload, error = None, e
        comm.bcast((payload, None if error is None else f"{type(error).__name__}: {error}"), root=0)
        if error is not None:
            raise error
        return obj
    payload, message = comm.bcast(None, root=0)
    if message is not None:
        raise RuntimeError(f"broadcast_object: rank 0 could not pickle its object ({message})")
    return pickle.loads(payload)


def agree_to_start(who: str, error, what, failure: str = "failed before training started") -> None:
    """Before a collective run (fit): every rank says whether it is ready
    (error None) and with what (a dict of picklable values that must be
    equal on every rank). Raises error on the rank that has one, a
    RuntimeError on the others; a ValueError on every rank when the values
    differ. Without init: raises error if any."""
    comm = _STATE["comm"]
    if comm is None:
        if error is not None:
            raise error
        return
    views = comm.allgather(None if error is not None else what)
    if error is not None:
        raise error
    if any(v is None for v in views):
        raise RuntimeError(f"{who}: another rank {failure} (its error is raised there)")
    for key in what:
        values = [v.get(key) for v in views]
        if any(v != values[0] for v in values):
            shown = ", ".join(f"rank {r}: {v!r}" for r, v in enumerate(values))
            raise ValueError(f"{who}: the ranks differ in {key} ({shown}); in data-parallel training every rank "
                             "passes the whole data set, the same model and the same arguments")


def any_rank(flag: bool) -> bool:
    """True when flag is true on any rank (flag itself without init)."""
    comm = _STATE["comm"]
    return bool(flag) if comm is None else bool(comm.allreduce(int(bool(flag)), op=_mpi().MAX))


def allreduce_sum(array):
    """Sums a float32 or float64 NumPy array over the ranks, in place and in
    rank order (the same bits on every rank); returns it. The array must be
    C-contiguous and writable (TypeError or ValueError otherwise, with or
    without init), and of the same size and type on every rank (ValueError
    on every rank otherwise)."""
    error = None
    if not isinstance(array, np.ndarray):
        error = TypeError(f"array: expected a NumPy array, got {type(array).__name__}")
    elif array.dtype not in (np.float32, np.float64):
        error = TypeError(f"array: expected float32 or float64, got {array.dtype}")
    elif not array.flags.c_contiguous or not array.flags.writeable:
        error = ValueError("array: expected a C-contiguous, writable array (it is summed in place), got "
                           f"{'a non-contiguous' if not array.flags.c_contiguous else 'a read-only'} one")
    core = _STATE["core"]
    agree_to_start("allreduce_sum", error,
                   None if error is not None else {"size": array.size, "dtype": str(array.dtype)},
                   "refused its array")
    if core is not None:
        core.allreduce_sum(array)
    return array
