"""Shared pieces of the benchmark harness: the workloads, the synthetic
data, the machine description and small measuring helpers. Used by run.py
(the driver) and _worker.py (one measurement in a fresh process)."""
from __future__ import annotations

import json
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

LIBS = ("entrena", "numpy", "torch", "sklearn")
LIB_TITLES = {"entrena": "entrena", "numpy": "NumPy reference", "torch": "PyTorch",
              "sklearn": "scikit-learn"}


@dataclass
class Workload:
    """An MLP (ReLU between Dense layers, softmax cross-entropy) trained on
    synthetic data of ``n`` samples."""
    name: str
    sizes: tuple          # layer widths, input first: (20, 64, 64, 2)
    batch_size: int
    n: int                # training samples
    epochs: int           # timed epochs (one warm-up epoch comes first)
    verify_steps: int     # optimizer steps of the verification run
    seed: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def n_weights(self) -> int:
        """Multiply-add weights (W only); 6 × this ≈ training FLOPs per sample."""
        return sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def train_flops(self) -> int:
        """FLOPs per training sample actually needed: 2 per weight forward,
        2 for dW and 2 for dX backward, except dX of the first layer, which
        nobody computes (the input needs no gradient)."""
        return 6 * self.n_weights - 2 * self.sizes[0] * self.sizes[1]

    @property
    def n_params(self) -> int:
        return self.n_weights + sum(self.sizes[1:])

    def as_dict(self):
        d = asdict(self)
        d["sizes"] = list(self.sizes)
        return d


def workloads(quick: bool):
    """The three training workloads. Full sizes make one entrena epoch take
    a useful fraction of a second or more; --quick shrinks them."""
    if quick:
        return [
            Workload("small", (20, 64, 64, 2), 32, n=4096, epochs=3, verify_steps=20),
            Workload("medium", (784, 256, 128, 10), 128, n=2048, epochs=3, verify_steps=10),
            Workload("large", (784, 1024, 1024, 10), 256, n=1024, epochs=3, verify_steps=4),
        ]
    return [
        Workload("small", (20, 64, 64, 2), 32, n=32768, epochs=5, verify_steps=20),
        Workload("medium", (784, 256, 128, 10), 128, n=16384, epochs=5, verify_steps=20),
        Workload("large", (784, 1024, 1024, 10), 256, n=8192, epochs=5, verify_steps=20),
    ]


def workload_from_dict(d) -> Workload:
    d = dict(d)
    d["sizes"] = tuple(d["sizes"])
    return Workload(**d)


def synthetic_data(n: int, d: int, k: int, seed: int):
    """Gaussian inputs (float32) and labels from a fixed random two-layer
    teacher network plus noise, so that the task is learnable but not
    linear. Per-class offsets make the classes about equally frequent, and
    the first k samples hold one of each class (every library then sees
    every class in its first batch). The same arguments give the same arrays."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    h = 32
    T1 = rng.standard_normal((d, h)) / np.sqrt(d)
    T2 = rng.standard_normal((h, k))
    scores = np.maximum(X @ T1, 0.0) @ T2 + 0.25 * rng.standard_normal((n, k))
    offset = np.zeros(k)
    for _ in range(100):
        freq = np.bincount(np.argmax(scores + offset, axis=1), minlength=k) / n
        offset -= 0.5 * np.log((freq + 1.0 / n) * k)
    y = np.argmax(scores + offset, axis=1).astype(np.int64)
    for c in range(min(k, n)):
        j = c + int(np.flatnonzero(y[c:] == c)[0]) if (y[c:] == c).any() else None
        if j is not None and j != c:
            X[[c, j]] = X[[j, c]]
            y[[c, j]] = y[[j, c]]
    return X, y


def digits_split(seed: int = 0):
    """entrena's bundled 8×8 digits, pixels scaled to [0, 1], split 80/20
    by a seeded permutation: (Xtr, ytr, Xte, yte)."""
    import entrena.datasets
    X, y = entrena.datasets.load_digits()
    X = (X / 16.0).astype(np.float32)
    perm = np.random.default_rng(seed).permutation(len(X))
    cut = int(round(0.8 * len(X)))
    tr, te = perm[:cut], perm[cut:]
    return X[tr], y[tr], X[te], y[te]


# ---------------------------------------------------------------- losses
def cross_entropy(outputs, y, kind: str) -> float:
    """Mean cross-entropy in float64 from logits (kind 'logits') or from
    class probabilities (kind 'proba')."""
    out = np.asarray(outputs, dtype=np.float64)
    idx = np.arange(len(y))
    if kind == "logits":
        m = out.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(out - m).sum(axis=1))
        return float(np.mean(lse - out[idx, y]))
    return float(-np.mean(np.log(np.clip(out[idx, y], 1e-300, None))))


def rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


# -------------------------------------------------------------- machine
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_report(text: str, path) -> None:
    """Prints a Markdown report and writes it to path (if given)."""
    print(text)
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            f.write(text + "\n")


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def versions() -> dict:
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("entrena", "torch", "sklearn"):
        try:
            m = __import__(mod)
            out[mod] = getattr(m, "__version__", "?")
        except Exception as e:  # noqa: BLE001 - any import failure means "absent"
            out[mod] = None
            out[mod + "_error"] = f"{type(e).__name__}: {e}"
    return out


# --------------------------------------------------------------- memory
def rss_bytes() -> int:
    """Current resident set size of this process."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil
    return psutil.Process().memory_info().rss


def reset_peak_rss() -> bool:
    """Resets the kernel's high-water mark (VmHWM) to the current RSS
    (Linux >= 4.0). Returns False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """The process's peak RSS: VmHWM, else getrusage's maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024


# --------------------------------------------------------------- timing
def median(xs):
    return float(statistics.median(xs)) if xs else float("nan")


def time_calls(fn, n_calls: int, warmup: int):
    """Times fn() n_calls times, one perf_counter pair per call, after
    ``warmup`` untimed calls. Returns the list of seconds."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n_calls):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def thread_env(threads: int) -> dict:
    """Environment for a worker limited to ``threads`` threads in every
    library: OpenMP (entrena, PyTorch), OpenBLAS and MKL (NumPy, sklearn)."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = str(threads)
    return env


def dump_json(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=False, default=_json_default)
    os.replace(tmp, path)


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def natural_key(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(s))]
