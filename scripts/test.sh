#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: installs what is
# missing, builds the tests, examples and tool, and runs every CTest test
# (labels unit, parity, build, example; the C API's C test and the Python module's
# pytest among them, with Debian's /usr/bin/python3 whatever python3 comes first on
# PATH); then the library's tests and the C API's built with
# clang under AddressSanitizer + UndefinedBehaviorSanitizer, and every fuzz
# target for MMT_FUZZ_SECONDS (default 10) seconds (label fuzz). The sanitizer
# build leaves out the tool and the examples, thin programs over the library
# whose own tests run in the first build: under ASan each took as long to compile
# as a whole folder of tests. See docs/robustness.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
jobs=$(nproc)
# -O2, as Debian builds its packages: -O3 compiles 16% longer for the same numbers
# (which the sanitizer pass checks at -O0 too); the benchmarks keep Release's -O3.
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DMMT_BUILD_TESTS=ON -DMMT_BUILD_EXAMPLES=ON -DMMT_BUILD_PYTHON=ON -DPython_EXECUTABLE=/usr/bin/python3
cmake --build "$root/build" -j "$jobs"
ctest --test-dir "$root/build" --output-on-failure -j "$jobs"

# -O0 with its asserts (no NDEBUG) on: the sanitizers miss nothing unoptimised, and
# this build compiles in a third of -O1's time (3.4 against 10.5 minutes) while its
# tests run 3 minutes longer. The fuzz targets' 10 s here replay their corpus and
# explore a little; the long runs by hand are built at -O1 (tests/fuzz/README.md).
cmake -S "$root" -B "$root/build-asan" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O0" -DMMT_SANITIZE=address,undefined -DMMT_BUILD_FUZZERS=ON \
  -DMMT_BUILD_TESTS=ON -DMMT_BUILD_EXAMPLES=OFF -DMMT_BUILD_TOOLS=OFF
cmake --build "$root/build-asan" -j "$jobs"
ctest --test-dir "$root/build-asan" --output-on-failure -j "$jobs"
