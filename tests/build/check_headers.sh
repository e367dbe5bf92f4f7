#!/usr/bin/env bash
# build.headers: every public header compiles alone, as C++20 (each included
# twice, so its include guard is checked too), `jobs` at a time.
#   check_headers.sh CXX FLAGS_FILE JOBS HEADER...
# FLAGS_FILE holds mmt::mmt's include directories, definitions and options, one a line.
# Only syntax and semantics are checked (-fsyntax-only): a header alone has no code
# to generate, and the templates it uses are instantiated all the same.
set -euo pipefail
if [[ $1 == --one ]]; then
  cxx=$2 flags=$3 header=$4
  printf '#include "%s"\n#include "%s"\n' "$header" "$header" |
    "$cxx" @"$flags" -std=c++20 -Wall -Wextra -fsyntax-only -x c++ - ||
    { echo "build.headers: $header does not compile alone (above)" >&2; exit 1; }
  exit 0
fi
cxx=$1 flags=$2 jobs=$3
shift 3
printf '%s\0' "$@" | xargs -0 -n 1 -P "$jobs" "$0" --one "$cxx" "$flags"
echo "build.headers: $# headers compile alone as C++20 ($cxx)"
