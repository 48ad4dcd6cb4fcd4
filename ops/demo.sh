#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds, and runs `cird demo`:
# librdkafka's mock cluster (3 brokers) in-process, a register in a temp directory, the shipped
# sample scenario (six initiatives through 2026) published to the value-chain topic the way a
# pipeline would, and every step transition and momentum alert printed as a JSON line as it comes
# back from the output topics. Logs go to stderr.
#
# Usage: ops/demo.sh [extra cird flags]   (as root, or with the packages of ops/install-deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

bash ops/install-deps.sh >&2
cmake --preset default >&2
cmake --build --preset default --target cird circtl >&2

exec build/default/services/cird/cird demo "$@"
