#!/usr/bin/env bash
# Regenerates include/zairyu.h with the pinned cbindgen into a temporary file and
# fails on any difference from the checked-in header. `--update` writes it instead.
# Installs the pinned cbindgen if it is missing or another version.
set -euo pipefail
CBINDGEN_VERSION=0.29.4
cd "$(dirname "$0")/.."

if ! cbindgen --version 2>/dev/null | grep -qx "cbindgen $CBINDGEN_VERSION"; then
  echo "installing cbindgen $CBINDGEN_VERSION"
  cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --quiet
fi

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
(cd ffi && cbindgen --quiet --config cbindgen.toml --crate zairyu-ffi --output "$tmp" .)

if [ "${1:-}" = "--update" ]; then
  cp "$tmp" include/zairyu.h
  echo "include/zairyu.h written (cbindgen $CBINDGEN_VERSION)"
  exit 0
fi
if ! diff -u include/zairyu.h "$tmp"; then
  echo "include/zairyu.h differs from what cbindgen $CBINDGEN_VERSION generates: run ffi/check-header.sh --update" >&2
  exit 1
fi
echo "include/zairyu.h is up to date (cbindgen $CBINDGEN_VERSION)"
