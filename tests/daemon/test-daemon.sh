#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# imalogd against a plain directory standing in for securityfs without the delete interface:
# saving, restarts without duplicates, one daemon per store, a full disk, a corrupted chunk.
#   test-daemon.sh IMALOG IMALOGD GOLDEN_LOG
set -euo pipefail

imalog=$1 imalogd=$2 golden=$3
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	mountpoint -q "$tmp/small" && umount "$tmp/small"
	rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
check() {
	local name=$1
	shift
	if "$@"; then
		echo "PASS: $name"
		passed=$((passed + 1))
	else
		echo "FAIL: $name"
		failed=$((failed + 1))
	fi
}
export IMALOG_BOOT_ID=11111111-2222-3333-4444-555555555555
ima=$tmp/ima store=$tmp/store
mkdir -p "$ima"
cp "$golden" "$ima/binary_runtime_measurements"
once() { "$imalogd" --store "$1" --securityfs "$ima" --once 2> "$tmp/err"; }
same_log() { "$imalog" log --store "$1" --securityfs "$ima" > "$tmp/log" && cmp -s "$tmp/log" "$ima/binary_runtime_measurements"; }

check "first save" once "$store"
check "the store equals the kernel's list" same_log "$store"
cat "$golden" >> "$ima/binary_runtime_measurements"
check "second save after the list grew" once "$store"
check "restart: nothing stored twice" same_log "$store"
check "two chunks" test "$(ls "$store/logs/$IMALOG_BOOT_ID"/*.manifest | wc -l)" -eq 2
check "verify --store" "$imalog" verify --store "$store" --securityfs "$ima" \
	--pcrs <("$imalog" replay "$ima/binary_runtime_measurements")

"$imalogd" --store "$store" --securityfs "$ima" --poll-seconds 1 2> "$tmp/daemon.err" &
pids+=($!)
sleep 1
second() { ! "$imalogd" --store "$store" --securityfs "$ima" --once 2> "$tmp/err2" && grep -q "in use by another imalogd" "$tmp/err2"; }
check "a second daemon is refused" second
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true

# A full disk: nothing is lost, the error is reported, the daemon catches up.
if [ "$(id -u)" -eq 0 ]; then
	mkdir -p "$tmp/small"
	mount -t tmpfs -o size=160k tmpfs "$tmp/small"
	cp "$golden" "$ima/binary_runtime_measurements"
	check "fits the first time" once "$tmp/small/store"
	cat "$golden" "$golden" >> "$ima/binary_runtime_measurements"
	full() { ! once "$tmp/small/store" && grep -q "No space left on device" "$tmp/err"; }
	check "full disk: save fails with the reason" full
	check "full disk: the store stays consistent" "$imalog" verify --store "$tmp/small/store" \
		--securityfs "$ima" --no-kernel --pcrs <("$imalog" show --count 922 --format binary \
		"$ima/binary_runtime_measurements" | "$imalog" replay -)
	mount -o remount,size=10m "$tmp/small"
	check "space again: caught up" once "$tmp/small/store"
	check "space again: nothing lost or duplicated" same_log "$tmp/small/store"
	umount "$tmp/small"
else
	echo "SKIP: full disk (needs root to mount a small tmpfs)"
fi

# A corrupted chunk: found at start-up and by verify, naming the file; nothing is added.
chunk=$(ls "$store/logs/$IMALOG_BOOT_ID"/*.chunk | tail -1)
printf 'X' | dd of="$chunk" bs=1 seek=100 conv=notrunc status=none
corrupt_daemon() { ! once "$store" && grep -q "$(basename "$chunk")" "$tmp/err"; }
corrupt_verify() { ! "$imalog" verify --store "$store" --securityfs "$ima" --pcrs <("$imalog" replay "$ima/binary_runtime_measurements") 2> "$tmp/err3" && grep -q "$(basename "$chunk")" "$tmp/err3"; }
check "corrupted chunk: imalogd refuses, naming it" corrupt_daemon
check "corrupted chunk: verify fails, naming it" corrupt_verify
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
