#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: a Release build without tests (as
# ops/Dockerfile builds it); the whole suite with the default preset, under ASan+UBSan and under
# ThreadSanitizer; and the libFuzzer targets for a bounded time under ASan+UBSan (clang). Prints
# each stage's time. Benchmarks (ctest label `bench`) are not part of this run; see README.md for
# them. Ends with ctest's summary line (of the default suite, run last).
#
# Usage: ops/test.sh   (as root on a fresh Debian 12 machine; CI runs it through .ci/run)
#        CIR_FUZZ_SECONDS=60 (default) bounds each fuzz target's run.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
stage() {
  local name=$1
  shift
  local t0
  t0=$(date +%s)
  echo "==== test.sh: $name" >&2
  "$@"
  echo "==== test.sh: $name took $(($(date +%s) - t0)) s (total $(($(date +%s) - started)) s)" >&2
}

stage "install dependencies" bash ops/install-deps.sh
stage "release build (no tests)" cmake --workflow --preset release
stage "ASan+UBSan build and suite" cmake --workflow --preset asan
stage "ThreadSanitizer build and suite" cmake --workflow --preset tsan
stage "fuzzing (clang libFuzzer, ASan+UBSan)" cmake --workflow --preset fuzz
stage "default build and suite" cmake --workflow --preset default
