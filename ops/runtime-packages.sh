#!/usr/bin/env bash
# Prints, one a line and sorted, the Debian packages that own the shared libraries the given
# binaries load (as `ldd` resolves them). ops/Dockerfile's runtime stage installs exactly these,
# so the image follows the build's libraries without a hand-kept list.
#
# Usage: ops/runtime-packages.sh BINARY...
# Fails when a library is not found or belongs to no package.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 BINARY..." >&2
  exit 2
fi

libs="$(ldd "$@" | awk '/ => not found/ { print "MISSING:" $1; next } / => \// { print $3 }' | sort -u)"
if grep -q '^MISSING:' <<<"$libs"; then
  echo "runtime-packages: libraries not found: $(grep '^MISSING:' <<<"$libs" | cut -d: -f2 | xargs)" >&2
  exit 1
fi

for lib in $libs; do
  # Debian 12 is merged-/usr: dpkg may know a library by its /lib or by its /usr/lib path.
  owner=""
  for path in "$lib" "/usr${lib#/usr}" "${lib#/usr}" "$(readlink -f "$lib")"; do
    if owner="$(dpkg -S "$path" 2>/dev/null)"; then
      break
    fi
    owner=""
  done
  if [ -z "$owner" ]; then
    echo "runtime-packages: no package owns $lib" >&2
    exit 1
  fi
  echo "${owner%%:*}"
done | sort -u
