#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds, and replays the shipped
# sample scenario (four initiatives through 2026) into a register in a temp directory, printing every
# step transition and momentum alert as a JSON line, then checks the register's invariants.
#
# Usage: ops/demo.sh            (as root, or with the packages of ops/install-deps.sh present)
# Environment: CIR_BUILD_DIR (default build/default), CIR_KEEP_DATA=1 keeps the register.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ops/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default --target circtl

data_dir=$(mktemp -d -t cir-demo-XXXXXX)
if [ "${CIR_KEEP_DATA:-0}" != 1 ]; then
  trap 'rm -rf "$data_dir"' EXIT
fi
circtl=build/default/services/circtl/circtl

echo "== replaying events/samples/scenario.jsonl into $data_dir"
"$circtl" replay --data-dir "$data_dir" events/samples/scenario.jsonl
echo "== verifying the register"
"$circtl" verify --data-dir "$data_dir"
echo "== one initiative, as circtl show prints it"
"$circtl" show --data-dir "$data_dir" CHANGE-FAIL
