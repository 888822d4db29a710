#!/usr/bin/env bash
# Tests the Python package the way a user gets it: builds the abi3 wheel with maturin,
# installs it into a FRESH venv (not an editable build), type-checks (mypy --strict on
# the example and the tests, stubtest on the native module's stubs), and runs the pytest
# suite from a directory outside the source tree, including the PC/SC tests through
# pcscd + vpcd. Prints pytest's summary line; exits non-zero on any failure, and when
# pytest collected no test (its exit code 5).
#
# Then it builds a second, TEST wheel (debug, cargo feature test-production-root, in
# target/wheels-test-production: never the release wheel of target/wheels), installs
# it in place of the release one and runs tests/test_production.py against it with
# ZAIRYU_TEST_PRODUCTION_ROOT=1: a card of the simulator's synthetic production PKI
# must be genuine there (`ok`), as it must be refused by the release wheel.
#
# The remote-write tests (tests/test_write_remote.py) run against a real
# `zairyu-authority serve` on 127.0.0.1: this script builds it (debug) and passes it
# as ZAIRYU_AUTHORITY_BIN with ZAIRYU_REQUIRE_AUTHORITY=1 (a missing binary fails).
#
# Needs: Rust, python3 (>= 3.9) with venv, and for the PC/SC tests pcscd with
# vsmartcard-vpcd (scripts/setup installs them). If no pcscd runs, this script starts
# one (scripts/pcscd) and stops it at exit. Set ZAIRYU_REQUIRE_PCSC=0 to let the PC/SC
# tests skip instead of fail where pcscd/vpcd are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${ZAIRYU_PYTHON:-python3}

echo "== python: build tools (.venv)"
if [ ! -x .venv/bin/maturin ]; then
  "$python" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "maturin>=1.9,<2"
fi
.venv/bin/maturin --version

echo "== python: the CLI for the vpcd card server (cargo build --release -p zairyu-cli)"
cargo build --release --locked -p zairyu-cli

echo "== python: the write authority service for the remote-write tests (cargo build -p zairyu-authority, debug)"
cargo build --locked -p zairyu-authority

echo "== python: wheel (maturin build --release)"
mkdir -p target/wheels
rm -f target/wheels/zairyu-*.whl
.venv/bin/maturin build --release --locked -m python/Cargo.toml -o target/wheels
wheel=$(ls target/wheels/zairyu-*.whl)
ls -l "$wheel"

work=$(mktemp -d)
started_pcscd=0
cleanup() {
  if [ "$started_pcscd" = 1 ]; then scripts/pcscd stop || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== python: fresh venv with the wheel installed"
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" pytest mypy
"$work/venv/bin/python" -c 'import zairyu, sys; print("zairyu", zairyu.__version__, "from", zairyu.__file__, "on", sys.version.split()[0])'

echo "== python: mypy --strict (example, tests) and stubtest (native stubs)"
(cd "$work" && "$work/venv/bin/python" -m mypy --strict --no-incremental \
  "$root/examples/python/counter.py" "$root/python/tests")
(cd "$work" && "$work/venv/bin/python" -m mypy.stubtest zairyu._native)

echo "== python: in-process simulator where no pcscd can be reached (private, empty /run/pcscd)"
cat > "$work/no_pcscd.py" <<'PY'
import zairyu

with zairyu.open_simulator("05") as card:
    result = card.read("AB12345678CD")
assert result.verification.signature == "valid", result.verification
assert result.verification.anchor_profile == "test"
try:
    zairyu.list_readers()
except zairyu.ReaderUnavailableError:
    pass
else:
    raise SystemExit("list_readers() must raise ReaderUnavailableError without pcscd")
# Without pcscd there is no card: a wait for one times out, a wait for removal ends.
assert zairyu.wait_for_card("Virtual PCD 00 01", timeout=0.2, poll=0.05) is False
assert zairyu.wait_for_removal("Virtual PCD 00 01", timeout=5) is True
print("in-process read without pcscd: ok")
PY
unshare --mount bash -c "mkdir -p /run/pcscd && mount -t tmpfs tmpfs /run/pcscd && cd '$work' && '$work/venv/bin/python' no_pcscd.py"

echo "== python: pcscd"
if ! pgrep -x pcscd >/dev/null; then
  scripts/pcscd start
  started_pcscd=1
fi

echo "== python: pytest (installed wheel)"
set +e
(cd "$work" && ZAIRYU_BIN="$root/target/release/zairyu" ZAIRYU_REQUIRE_PCSC="${ZAIRYU_REQUIRE_PCSC:-1}" \
  ZAIRYU_AUTHORITY_BIN="$root/target/debug/zairyu-authority" ZAIRYU_REQUIRE_AUTHORITY=1 \
  "$work/venv/bin/python" -m pytest --import-mode=importlib -p no:cacheprovider -q -rs \
  --rootdir "$root/python/tests" "$root/python/tests")
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "pytest collected no test: failing" >&2
  exit 1
fi
[ "$rc" = 0 ] || exit "$rc"

echo "== python: test wheel with the synthetic production roots (debug, feature test-production-root)"
test_wheels=target/wheels-test-production
mkdir -p "$test_wheels"
rm -f "$test_wheels"/zairyu-*.whl
.venv/bin/maturin build --locked -m python/Cargo.toml --features test-production-root -o "$test_wheels"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$test_wheels"/zairyu-*.whl
(cd "$work" && ZAIRYU_TEST_PRODUCTION_ROOT=1 "$work/venv/bin/python" -m pytest --import-mode=importlib \
  -p no:cacheprovider -q -rs --rootdir "$root/python/tests" "$root/python/tests/test_production.py")
