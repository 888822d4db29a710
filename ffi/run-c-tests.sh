#!/usr/bin/env bash
# Builds the C library (static and shared), checks the generated header, compiles the
# C tests (ffi/tests/test_api.c) and the examples (examples/c/) against include/ and
# the library, and runs them: the tests once built with AddressSanitizer (leak
# detection on) and once under Valgrind (memcheck, leaks of kind definite/indirect are
# errors), the examples on the in-process simulator and through pcscd + vpcd with a
# card served by `zairyu sim serve` on reader "Virtual PCD 00 01".
#
# It also builds a TEST library (debug, cargo features test-production-root and
# test-hooks; kept apart in target/c-tests/test-build, never a release artefact) and
# runs the same C tests against it, with AddressSanitizer, built with
# -DZAIRYU_TEST_HOOKS -DZAIRYU_TEST_PRODUCTION_ROOT: the production verdict from the
# simulator's synthetic production roots, the panic boundary and a malformed chip image
# (zairyu_test_read_result_with_image). read_card built on
# it exits 0 for a synthetic-production card; on the release library it exits 7
# (the synthetic roots are not pinned there).
#
# The address write through the write authority service: it builds `zairyu-authority`
# (debug, the build `cargo test --workspace` makes), writes a test deployment with
# `zairyu-authority init` to target/c-tests/authority, restricts its policy (counter-1
# everywhere, counter-2 Tokyo only, counter-3 not named), serves it on a free loopback
# port and gives the C tests its URL and directory (ZAIRYU_TEST_AUTHORITY_URL,
# ZAIRYU_TEST_AUTHORITY_DIR); afterwards `zairyu-authority audit verify` must pass.
# The service is stopped at exit, also on failure.
#
# Needs gcc, pkg-config, libpcsclite-dev, pcscd and vsmartcard-vpcd (scripts/setup),
# and valgrind (installed here if missing). Uses a running pcscd; starts one with
# scripts/pcscd (and stops it at the end) if none runs. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
READER="Virtual PCD 00 01"
VPCD_PORT=35964
out=target/c-tests
mkdir -p "$out"

step() { echo "== $*"; }

if ! command -v valgrind >/dev/null; then
  step "installing valgrind"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
fi

step "header up to date (cbindgen)"
ffi/check-header.sh

step "build libzairyu (static and shared) and the CLI (sim serve)"
cargo build --locked --release -p zairyu-ffi
cargo build --locked --release -p zairyu-cli
lib=$root/target/release

step "build the write authority service (zairyu-authority, debug)"
cargo build --locked -p zairyu-authority
authority_bin=$root/target/debug/zairyu-authority

step "build the test library (debug; features test-production-root, test-hooks)"
cargo build --locked -p zairyu-ffi --features test-production-root,test-hooks
# Copied at once, away from target/debug, where a plain debug build would replace it.
test_lib=$out/test-build
mkdir -p "$test_lib"
cp target/debug/libzairyu.a "$test_lib/libzairyu.a"
version=$(cargo pkgid -p zairyu-ffi)
version=${version##*[@#]}

mkdir -p "$lib/pkgconfig"
sed -e "s|@LIBDIR@|$lib|" -e "s|@INCLUDEDIR@|$root/include|" -e "s|@VERSION@|$version|" \
  ffi/zairyu.pc.in > "$lib/pkgconfig/zairyu.pc"
export PKG_CONFIG_PATH="$lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

step "compile (gcc $(gcc -dumpversion), zairyu $version)"
CFLAGS=(-std=c11 -Wall -Wextra -Werror -g -O1 $(pkg-config --cflags zairyu))
# The C tests read the result codes from the header itself (no list of their own).
TEST_DEFS=(-DEXPECTED_VERSION="\"$version\"" -DZAIRYU_HEADER_PATH="\"$root/include/zairyu.h\"")
STATIC=("$lib/libzairyu.a" -lpcsclite -lpthread -ldl -lm)
ASAN=(-fsanitize=address -fno-omit-frame-pointer)
gcc "${CFLAGS[@]}" "${ASAN[@]}" "${TEST_DEFS[@]}" ffi/tests/test_api.c "${STATIC[@]}" -o "$out/test_api_asan"
gcc "${CFLAGS[@]}" "${TEST_DEFS[@]}" ffi/tests/test_api.c "${STATIC[@]}" -o "$out/test_api"
for ex in read_card counter_loop; do
  gcc "${CFLAGS[@]}" "examples/c/$ex.c" "${STATIC[@]}" -o "$out/$ex"
done
# The README's evidence example (the C block after <!-- c-evidence-example -->), as it is.
awk '/<!-- c-evidence-example -->/ {f = 1; next} f && /^```c$/ {on = 1; next} on && /^```$/ {exit} on' \
  README.md > "$out/readme_evidence.c"
[ -s "$out/readme_evidence.c" ] || { echo "README has no C block after <!-- c-evidence-example -->" >&2; exit 1; }
gcc "${CFLAGS[@]}" "${ASAN[@]}" "$out/readme_evidence.c" "${STATIC[@]}" -o "$out/readme_evidence_asan"
TEST_STATIC=("$test_lib/libzairyu.a" -lpcsclite -lpthread -ldl -lm)
gcc "${CFLAGS[@]}" "${ASAN[@]}" "${TEST_DEFS[@]}" -DZAIRYU_TEST_HOOKS -DZAIRYU_TEST_PRODUCTION_ROOT \
  ffi/tests/test_api.c "${TEST_STATIC[@]}" -o "$out/test_api_test_build_asan"
gcc "${CFLAGS[@]}" examples/c/read_card.c "${TEST_STATIC[@]}" -o "$out/read_card_test_build"
# The documented shared-library build: pkg-config flags only.
gcc -std=c11 -Wall -Wextra -Werror examples/c/read_card.c $(pkg-config --cflags --libs zairyu) -o "$out/read_card_shared"

step "PC/SC: pcscd and a simulated card on vpcd ($READER)"
started_pcscd=0
serve_pid=""
authority_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
  if [ -n "$authority_pid" ]; then kill "$authority_pid" 2>/dev/null || true; wait "$authority_pid" 2>/dev/null || true; fi
  if [ "$started_pcscd" = 1 ]; then scripts/pcscd stop; fi
}
trap cleanup EXIT
if ! pgrep -x pcscd >/dev/null; then
  scripts/pcscd start
  started_pcscd=1
fi
target/release/zairyu sim serve --vpcd-port "$VPCD_PORT" 2>"$out/sim-serve.log" &
serve_pid=$!

ca_dir=$out/test-ca
mkdir -p "$ca_dir"
cp sim/fixtures/gen1-test-ca.der "$ca_dir/"
production_dir=$out/synthetic-production-roots
mkdir -p "$production_dir"
cp sim/fixtures/gen1-synthetic-production-ca.der sim/fixtures/gen2-synthetic-production-ca.der "$production_dir/"
export ZAIRYU_TEST_READER="$READER" ZAIRYU_TEST_CA_DIR="$ca_dir" ZAIRYU_TEST_PRODUCTION_DIR="$production_dir"

step "write authority service on 127.0.0.1 (zairyu-authority init + serve)"
authority_dir=$root/$out/authority
rm -rf "$authority_dir"
"$authority_bin" init --out "$authority_dir" --counter counter-1 --counter counter-2 --counter counter-3 \
  --listen 127.0.0.1:0 >/dev/null
cat > "$authority_dir/policy.toml" <<'TOML'
version = 1

[[counter]]
id = "counter-1"
municipalities = ["*"]

[[counter]]
id = "counter-2"
municipalities = ["13*"]
TOML
"$authority_bin" serve --config "$authority_dir/authority.toml" 2>"$out/authority-serve.log" &
authority_pid=$!
authority_url=""
for _ in $(seq 300); do
  authority_url=$(sed -n 's/.*listening on \(https:[^ ]*\).*/\1/p' "$out/authority-serve.log" | head -n 1)
  [ -n "$authority_url" ] && break
  kill -0 "$authority_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$authority_url" ]; then
  cat "$out/authority-serve.log" >&2
  echo "zairyu-authority serve did not start" >&2
  exit 1
fi
echo "zairyu-authority listening on $authority_url"
export ZAIRYU_TEST_AUTHORITY_URL="$authority_url" ZAIRYU_TEST_AUTHORITY_DIR="$authority_dir"

failures=0
check() { # name, command...
  local name=$1
  shift
  if "$@"; then echo "ok: $name"; else echo "FAILED: $name" >&2; failures=$((failures + 1)); fi
}
expect_output() { # status, pattern, command... : exit status and output matching pattern
  local want=$1 pattern=$2 log rc=0
  shift 2
  log=$("$@" </dev/null 2>&1) || rc=$?
  [ "$rc" = "$want" ] || { echo "$log" >&2; echo "(exit status $rc, want $want)" >&2; return 1; }
  grep -qE "$pattern" <<<"$log" || { echo "$log" >&2; echo "(no match for: $pattern)" >&2; return 1; }
}

step "C tests under AddressSanitizer"
check "test_api (ASan, detect_leaks=1)" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 "$out/test_api_asan"
check "test_api on the test library (ASan; production path, panic boundary)" \
  env ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 "$out/test_api_test_build_asan"

step "C tests under Valgrind"
# ffi/valgrind.supp: false positives of rustls/ring on the authority service's TLS link
# only (the file says why); leaks are never suppressed.
SUPP=--suppressions=$root/ffi/valgrind.supp
VALGRIND=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect "$SUPP")
memcheck() { # log file, command...: Valgrind's summary is printed, its verdict is the exit status
  local log=$1 rc=0
  shift
  valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect "$SUPP" --log-file="$log" "$@" || rc=$?
  grep -E "ERROR SUMMARY|definitely lost:|indirectly lost:|possibly lost:|still reachable:|All heap blocks" "$log" | sed 's/^==[0-9]*== */  valgrind: /'
  [ "$rc" = 0 ] || cat "$log" >&2
  return "$rc"
}
check "test_api (Valgrind memcheck)" memcheck "$out/valgrind-test_api.log" "$out/test_api"

step "examples"
check "README evidence example (ASan): exit 0, the CSV header and one row" \
  expect_output 0 '^1,05,' env ASAN_OPTIONS=detect_leaks=1 "$out/readme_evidence_asan"
# read_card exits as the CLI: 0 only for a genuine (production) card, 12 for one
# valid under a test anchor (every simulated card of the test PKI).
shared_read() { LD_LIBRARY_PATH="$lib" expect_output 12 "anchor profile +test" "$out/read_card_shared" AB12345678CD; }
wrong_number() { # exit status 1 and the result name on stderr
  local log rc=0
  log=$("$out/read_card" "$@" AB12345678CE 2>&1) || rc=$?
  [ "$rc" = 1 ] && grep -q "wrong_card_number" <<<"$log"
}
counter() { # card number, pattern
  local log
  log=$(echo "$1" | timeout 60 "$out/counter_loop" --reader "$READER" --sim-test-ca --max-cards 1) || return 1
  grep -q "$2" <<<"$log" || { echo "$log" >&2; return 1; }
}
check "read_card, in-process simulator (test anchor: exit 12)" \
  expect_output 12 "signature +valid" "$out/read_card" AB12345678CD
check "read_card, shared library via pkg-config" shared_read
check "read_card, pcscd + vpcd (test anchor: exit 12)" \
  expect_output 12 "verdict +test" "$out/read_card" --reader "$READER" --sim-test-ca AB12345678CD
check "read_card, wrong number (simulator)" wrong_number
check "read_card, wrong number (pcscd + vpcd)" wrong_number --reader "$READER"
check "read_card under Valgrind, simulator" expect_output 12 "verdict +test" "${VALGRIND[@]}" "$out/read_card" AB12345678CD
check "read_card under Valgrind, pcscd + vpcd" \
  expect_output 12 "verdict +test" "${VALGRIND[@]}" "$out/read_card" --reader "$READER" --sim-test-ca AB12345678CD
check "read_card, synthetic production card, test library: genuine (exit 0)" \
  expect_output 0 "verdict +production" "$out/read_card_test_build" --sim-production-pki --trust-dir "$production_dir" AB12345678CD
check "read_card, synthetic production roots refused by the release library (exit 7)" \
  expect_output 7 "verify_unpinned_production_root" "$out/read_card" --sim-production-pki --trust-dir "$production_dir" AB12345678CD
check "read_card, card text with NUL and control characters: shown escaped" \
  expect_output 12 'address +東京都\\x00千代田区\\x1B\[2J\\u\{202E\}霞が関\\x7F１$' \
  "$out/read_card" --sim-hostile-text AB12345678CD
check "counter_loop, pcscd + vpcd" counter AB12345678CD '"ok":false,"verdict":"test","report":{'
check "counter_loop, wrong number" counter AB12345678CE '"code":"wrong_card_number"'

step "write authority service: the audit log of every write above is whole"
check "zairyu-authority audit verify" \
  expect_output 0 "audit log whole" "$authority_bin" audit verify --config "$authority_dir/authority.toml"

if [ "$failures" -ne 0 ]; then
  echo "C tests: $failures check(s) failed" >&2
  exit 1
fi
echo "== C tests passed"
