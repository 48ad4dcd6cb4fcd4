#!/usr/bin/env bash
# Installs the Debian 12 packages cir needs to build, test and run. Idempotent: packages already
# present are left alone, and `apt-get update` runs only when something is missing.
# Must run as root (as CI does); prints what it installs.
#
# Keep this list in step with ops/Dockerfile's build stage.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # libraries (all from Debian, never vendored)
  libprotobuf-dev protobuf-compiler
  librocksdb-dev
  librdkafka-dev
  prometheus-cpp-dev
  libcli11-dev
  nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # real components used by tests and benchmarks
  rocksdb-tools
  kcat python3-confluent-kafka python3-protobuf
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or with sudo) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
