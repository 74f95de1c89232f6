"""Threads on a shared machine: the kernels leave the cores other processes
keep busy (entrena.parallel's busy-core cap), and take them back when they
are free again."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import entrena
from entrena import _core

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not _core.built_with_openmp()
    or len(os.sched_getaffinity(0)) < 2 or os.environ.get("ENTRENA_BUSY_CAP", "") == "0",
    reason="the busy-core cap needs Linux, OpenMP and two CPUs")


def _wait_for(cond, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def test_kernels_leave_busy_cores_and_take_them_back():
    cpus = len(os.sched_getaffinity(0))
    before = entrena.get_num_threads()
    entrena.set_num_threads(cpus)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cpus)]
    try:
        # Every CPU busy with another process: one thread (never zero).
        assert _wait_for(lambda: _core.kernel_threads() == 1, 10), _core.kernel_threads()
        # Kernels still run, and give the same bits as on all threads.
        a = np.random.default_rng(0).standard_normal((300, 200)).astype(np.float32)
        capped = _core.kernels.gemm(a, a, trans_b=True)
    finally:
        for p in busy:
            p.kill()
        for p in busy:
            p.wait()
    try:
        assert _wait_for(lambda: _core.kernel_threads() == cpus, 10), _core.kernel_threads()
        np.testing.assert_array_equal(_core.kernels.gemm(a, a, trans_b=True), capped)
        assert entrena.get_num_threads() == cpus     # the setting itself is never changed
    finally:
        entrena.set_num_threads(before)
