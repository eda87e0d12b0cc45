#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Everything CI runs: install, build, every meson suite (unit, golden, fuzz corpora, evmctl
# cross-check, stand-in, daemon, quote, verifier), the same under ASan+UBSan, the unit and
# golden suites under valgrind, the packaging checks (tests/package), the QEMU kernel tests on
# the stock and patched kernels, and the end-to-end run (scripts/run.sh --short) on both.
# Ends with "N passed, N failed"; exits non-zero if anything failed.
#   scripts/test.sh [--quick]     --quick: no kernel tests
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
quick=0
[ "${1:-}" = --quick ] && quick=1

passed=0 failed=0
failures=()

note() { printf '\n=== %s\n' "$*"; }

# Count a meson test run from its summary lines.
count_meson() {
	local log=$1 ok fail
	ok=$(awk '/^Ok:/ {print $2}' "$log" | tail -1)
	fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {s += $NF} END {print s + 0}' "$log")
	passed=$((passed + ${ok:-0}))
	failed=$((failed + fail))
	[ "$fail" -eq 0 ] || failures+=("$2")
}

# Count a script that prints "PASS: x" / "FAIL: x" lines; a failing exit without a FAIL line
# (a setup error) counts as one failure.
count_lines() {
	local log=$1 name=$2 status=$3 p f
	p=$(grep -c '^PASS: ' "$log" || true)
	f=$(grep -c '^FAIL: ' "$log" || true)
	[ "$status" -eq 0 ] || [ "$f" -gt 0 ] || f=1
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -eq 0 ] || failures+=("$name")
}

# A step that must succeed but has no count of its own.
step() {
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$name")
	fi
}

# e2e_run ARGS...: scripts/run.sh --short ARGS (the whole system in QEMU, checked on the host).
e2e_run() {
	scripts/run.sh --short "$@" 2>&1 | tee "${*: -1}.log"
}

# The host check of a kept end-to-end run, with one chunk corrupted, must fail (exit 1) and
# name that chunk.
corrupted_chunk_named() {
	local st=0
	scripts/run.sh --check "$1" --corrupt-chunk >"$1-corrupt.log" 2>&1 || st=$?
	cat "$1-corrupt.log"
	[ "$st" -eq 1 ] && grep -q '^the failure names the corrupted chunk: yes$' "$1-corrupt.log"
}

logs=$top/build/test-logs
note "dependencies"
if [ $quick -eq 1 ]; then scripts/install-deps.sh; else scripts/install-deps.sh --kernel; fi

note "build"
[ -d build ] || meson setup build --werror
ninja -C build
mkdir -p "$logs"

note "unit and golden tests"
meson test -C build --print-errorlogs 2>&1 | tee "$logs/meson.log" || true
count_meson "$logs/meson.log" "meson tests"

note "valgrind (unit and golden tests)"
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
meson test -C build --suite unit --wrapper "$vg" --print-errorlogs 2>&1 |
	tee "$logs/valgrind-unit.log" || true
count_meson "$logs/valgrind-unit.log" "valgrind unit"
IMALOG_WRAPPER=$vg meson test -C build --suite golden --print-errorlogs 2>&1 |
	tee "$logs/valgrind-golden.log" || true
count_meson "$logs/valgrind-golden.log" "valgrind golden"

note "ASan + UBSan build, every test again, fuzzers on their corpora"
[ -d build-asan ] || CC=clang meson setup build-asan -Db_sanitize=address,undefined \
	-Db_lundef=false -Dfuzzing=true -Dbuildtype=debug
ninja -C build-asan
# Every suite, the daemon's included: in this build its scripts wait longer for the slower
# programs and the crash test makes 100 kills instead of 500 (tests/daemon/meson.build).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --timeout-multiplier 3 --print-errorlogs 2>&1 |
	tee "$logs/asan.log" || true
count_meson "$logs/asan.log" "ASan+UBSan tests"

note "packaging: meson install (/usr and /usr/local), a program built against it, meson dist"
st=0
tests/package/check-package.sh 2>&1 | tee "$logs/package.log" || st=$?
count_lines "$logs/package.log" "packaging" "$st"

if [ $quick -eq 0 ] && [ -x tests/kernel/run-tests.sh ]; then
	# One compiler cache per machine, outside the work tree, so that a fresh clone (CI) reuses
	# what earlier runs compiled: a kernel then builds in about 2 minutes instead of 13.
	export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/imalog-ccache}
	mkdir -p "$CCACHE_DIR"
	note "kernel tests under QEMU: Debian's 6.12"
	st=0
	IMALOG=$top/build/src/tool/imalog tests/kernel/run-tests.sh 2>&1 |
		tee "$logs/kernel-stock.log" || st=$?
	count_lines "$logs/kernel-stock.log" "kernel tests (stock)" "$st"
	note "kernel tests under QEMU: 6.12 with the series in kernel/"
	st=0
	IMALOG=$top/build/src/tool/imalog tests/kernel/run-tests.sh --patched 2>&1 |
		tee "$logs/kernel-patched.log" || st=$?
	count_lines "$logs/kernel-patched.log" "kernel tests (patched)" "$st"
	note "the end-to-end run, short (scripts/run.sh --short, then --stock), a corrupted chunk"
	rm -rf "$logs/system" "$logs/system-stock"
	step "end-to-end run (patched kernel)" e2e_run --keep "$logs/system"
	step "end-to-end run (stock kernel)" e2e_run --stock --keep "$logs/system-stock"
	step "end-to-end run: a corrupted chunk fails the check, named" corrupted_chunk_named \
		"$logs/system"
fi

echo
[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
