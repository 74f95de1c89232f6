#!/usr/bin/env bash
# The Python test suite against an extension module built with
# AddressSanitizer and UndefinedBehaviorSanitizer (slow: about ten times the
# normal run; not part of CI, which sanitizes the C++ tests with
# tools/sanitize.sh). The sanitizer runtime is preloaded into Python;
# leaks are not reported (the interpreter itself keeps memory at exit).
#   bash tools/sanitize_python.sh [pytest arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/sanitize-python
py=${PYTHON:-python3}
gen=()
if command -v ninja >/dev/null 2>&1; then gen=(-G Ninja); fi
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="$flags" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" -DENTRENA_BUILD_PYTHON=ON \
  -DENTRENA_BUILD_TESTS=OFF -DENTRENA_BUILD_EXAMPLES=OFF -DENTRENA_INSTALL_CPP=OFF \
  -Dpybind11_DIR="$("$py" -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v "$py")" >/dev/null
cmake --build "$build" -j "${ENTRENA_JOBS:-2}" --target _core
stage=$build/stage/entrena
rm -rf "$build/stage" && mkdir -p "$stage"
for f in "$root"/python/entrena/*; do ln -s "$f" "$stage/$(basename "$f")"; done
cp "$build"/_core*.so "$stage/"
asan=$(g++ -print-file-name=libasan.so)
ubsan=$(g++ -print-file-name=libubsan.so)
cd "$root"
LD_PRELOAD="$asan:$ubsan" ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" UBSAN_OPTIONS="halt_on_error=1" \
  PYTHONPATH="$build/stage" SKBUILD_EDITABLE_SKIP="${SKBUILD_EDITABLE_SKIP:-}" \
  "$py" -m pytest -q -p no:cacheprovider "$@"
