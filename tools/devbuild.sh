#!/usr/bin/env bash
# Developer build: compiles entrena._core into BUILD_DIR (default build/dev)
# and lays out BUILD_DIR/stage/entrena, a package whose Python files are
# symlinks into python/entrena, so edits need no reinstall.
#   tools/devbuild.sh [BUILD_DIR] [extra cmake -D options...]
#   PYTHONPATH=build/dev/stage python -m pytest
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/dev}; shift || true
case "$build" in /*) ;; *) build=$root/$build ;; esac
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DENTRENA_BUILD_PYTHON=ON -DENTRENA_BUILD_TESTS=OFF -DENTRENA_BUILD_EXAMPLES=OFF \
  -Dpybind11_DIR="$(python3 -c 'import pybind11; print(pybind11.get_cmake_dir())')" \
  -DPython_EXECUTABLE="$(command -v python3)" "$@" >/dev/null
cmake --build "$build" --target _core
stage=$build/stage/entrena
rm -rf "$build/stage"; mkdir -p "$stage"
for f in "$root"/python/entrena/*; do ln -s "$f" "$stage/$(basename "$f")"; done
ln -s "$build"/_core*.so "$stage/"
echo "staged: PYTHONPATH=$build/stage"
