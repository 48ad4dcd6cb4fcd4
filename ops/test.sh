#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, crash, e2e) twice: with the default
# preset and with the ASan+UBSan preset. Benchmarks (ctest label `bench`) are not part of this run;
# see README.md for them. Ends with ctest's summary line.
#
# Usage: ops/test.sh   (as root on a fresh Debian 12 machine; CI runs it through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

bash ops/install-deps.sh
cmake --workflow --preset release  # Release without tests, as ops/Dockerfile builds it
cmake --workflow --preset default
cmake --workflow --preset asan
