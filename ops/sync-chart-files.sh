#!/usr/bin/env bash
# Copies the monitoring files of ops/ into the chart (helm/cir/files/), because Helm cannot read
# files outside a chart: the PrometheusRule's groups come from files/cir-rules.yaml and the
# Grafana dashboard ConfigMap from files/cir-dashboard.json. Run it after changing either file in
# ops/; the chart tests (ctest -L helm) fail while the copies differ from the originals.
#
# Usage: ops/sync-chart-files.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."

files=(
  "ops/prometheus/cir-rules.yaml:helm/cir/files/cir-rules.yaml"
  "ops/grafana/cir-dashboard.json:helm/cir/files/cir-dashboard.json"
)

mkdir -p helm/cir/files
for pair in "${files[@]}"; do
  src="${pair%%:*}"
  dst="${pair#*:}"
  if [ ! -f "$src" ]; then
    echo "sync-chart-files: $src is missing" >&2
    exit 1
  fi
  if cmp -s "$src" "$dst"; then
    echo "sync-chart-files: $dst is up to date"
  else
    cp "$src" "$dst"
    echo "sync-chart-files: copied $src to $dst"
  fi
done
