"""The C++ library as a C++ developer uses it: tools/cpp_tests.sh builds the
library, its CTest suite and the examples, installs the CMake package to a
temporary prefix, builds a find_package consumer, configures an
add_subdirectory one (tools/sanitize.sh builds and runs it) and checks that
C++ predicts what Python saved."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "cpp_tests.sh"


@pytest.mark.slow
def test_cpp_library_ctest_install_and_consumers(tmp_path):
    if not SCRIPT.exists():
        pytest.skip("tools/cpp_tests.sh is not in this tree (installed package without sources)")
    missing = [t for t in ("cmake", "bash") if shutil.which(t) is None]
    if not (shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
        missing.append("a C++ compiler")
    if missing:
        pytest.skip(f"the C++ tests need {', '.join(missing)}")
    env = dict(os.environ)
    env["PYTHON"] = sys.executable   # the script's Python step uses this interpreter
    proc = subprocess.run(["bash", str(SCRIPT), str(tmp_path / "build")], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1500)
    out = proc.stdout
    assert proc.returncode == 0, out[-6000:]
    assert "100% tests passed" in out, out[-3000:]
    assert "same predictions in Python and C++" in out, out[-3000:]
    assert "README example: ok" in out, out[-3000:]
    # the CNN example trains, predicts better than chance and reloads identically
    assert "GlobalAveragePooling2D" in out and "cnn.safetensors and loaded back: identical" in out, out[-3000:]
    acc = float(out.split("test accuracy ")[1].split()[0])
    assert acc > 0.9, out[-3000:]
    # With an MPI on the PATH the MPI example is built and run on 2 ranks.
    if shutil.which("mpicxx") and shutil.which("mpiexec"):
        assert "ranks 2, epochs 60" in out and "weights equal on every rank: yes" in out, out[-3000:]
