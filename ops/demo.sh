#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds, and runs `cird demo`:
# librdkafka's mock cluster (3 brokers) in-process, a register in a temp directory, the shipped
# sample scenario (six initiatives through 2026) published to the value-chain topic the way a
# pipeline would, and every step transition and momentum alert printed as a JSON line as it comes
# back from Kafka (in the order `circtl replay` prints them). Logs go to stderr.
#
# With --keep, cird stays up in the background with the sample register and its API on a free
# loopback port: the script prints the outputs, then the API address, the circtl commands to try
# (with CIRCTL_API) and the `kill PID` that stops it, and returns. cird's logs go to
# build/demo/cird.log, its outputs to build/demo/outputs.jsonl.
#
# Usage: ops/demo.sh [--keep] [extra cird flags]   (as root, or with the packages of
#        ops/install-deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

bash ops/install-deps.sh >&2
cmake --preset default >&2
cmake --build --preset default --target cird circtl >&2

cird=build/default/services/cird/cird
keep=false
for arg in "$@"; do
  [ "$arg" = --keep ] && keep=true
done
if ! $keep; then
  exec "$cird" demo "$@"
fi

mkdir -p build/demo
out=build/demo/outputs.jsonl
log=build/demo/cird.log
nohup "$cird" demo "$@" >"$out" 2>"$log" </dev/null &
pid=$!
# The demo prints its last line ("# stop it: kill PID") once every output came back.
for _ in $(seq 1 600); do
  if grep -q '^# stop it: kill' "$out" 2>/dev/null; then
    cat "$out"
    echo "# cird's logs: $log"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "demo: cird exited early; the end of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "demo: cird did not finish the scenario within 120 s (pid $pid, log $log)" >&2
exit 1
