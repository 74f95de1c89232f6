#!/usr/bin/env bash
# A development build of the Python package without installing it:
# configures and builds entrena._core into BUILD_DIR (default build/dev) and
# stages a package in BUILD_DIR/stage/entrena whose Python files are links to
# python/entrena, so edits to Python files need no rebuild.
#   bash tools/devbuild.sh [BUILD_DIR]
#   PYTHONPATH=build/dev/stage python -m pytest
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/dev}
case "$build" in /*) ;; *) build=$root/$build ;; esac
py=${PYTHON:-python3}
gen=()
if command -v ninja >/dev/null 2>&1; then gen=(-G Ninja); fi
pybind11_dir=$("$py" -m pybind11 --cmakedir)
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DENTRENA_BUILD_PYTHON=ON \
  -DENTRENA_BUILD_TESTS=OFF -DENTRENA_BUILD_EXAMPLES=OFF -DENTRENA_INSTALL_CPP=OFF \
  -Dpybind11_DIR="$pybind11_dir" -DPython_EXECUTABLE="$(command -v "$py")" >/dev/null
cmake --build "$build" -j "${ENTRENA_JOBS:-2}" --target _core
stage=$build/stage/entrena
rm -rf "$build/stage"
mkdir -p "$stage"
for f in "$root"/python/entrena/*; do ln -s "$f" "$stage/$(basename "$f")"; done
cp "$build"/_core*.so "$stage/"
echo "staged: $stage (PYTHONPATH=$build/stage)"
