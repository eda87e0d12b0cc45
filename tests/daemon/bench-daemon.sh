#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What imalogd costs to save records on the stand-in: CPU time, bytes written and peak RSS,
# measured with /usr/bin/time and /proc/PID/io.
#   bench-daemon.sh IMALOGD STANDIN [RECORDS]     (default 100000)
# Two runs on a store in $TMPDIR (a disk, not tmpfs, for the bytes written):
#   once:   RECORDS on the kernel's list, one `imalogd --once` saves and deletes them all;
#   steady: a running daemon (the default thresholds, a poll every second) while RECORDS arrive
#           in batches of 1000 every 0.1 s, until all are saved and deleted.
# Prints one line per run; the figures are the whole process's (start-up included).
set -euo pipefail

imalogd=$1 standin=$2 records=${3:-100000}
if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null || [ ! -x "$standin" ]; then
	echo "SKIP: no /dev/fuse, fusermount3 or stand-in"
	exit 77
fi

tmp=$(mktemp -d)
pid="" timer=""
cleanup() {
	if [ -n "$timer" ]; then kill "$timer" 2>/dev/null || true; fi
	if mountpoint -q "$tmp/ima"; then fusermount3 -u "$tmp/ima" || true; fi
	if [ -n "$pid" ]; then wait "$pid" || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
export IMALOG_BOOT_ID=be0c0000-0000-4000-8000-000000000001

ctl() {
	"$standin" ctl "$tmp/ctl" "$@"
}
value() {
	ctl status | sed -n "s/^$1=//p"
}
start() {
	mkdir -p "$tmp/ima"
	"$standin" --foreground --control "$tmp/ctl" --aggregate "$tmp/ima" 2>"$tmp/standin.log" &
	pid=$!
	until mountpoint -q "$tmp/ima" && [ -S "$tmp/ctl" ]; do sleep 0.1; done
}
stop() {
	fusermount3 -u "$tmp/ima"
	wait "$pid"
	pid=""
}
# store_bytes: chunks and manifests, as du counts the files' sizes.
store_bytes() {
	du -sb --exclude=status.json --exclude=lock --exclude=daemon.pid "$1" | cut -f1
}
echo "machine: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "records: $records (stand-in, ima-ng, sha1 and sha256 banks, snapshot_aggregate on)"

# ---- once ----
start
ctl append "$records" >/dev/null
list_bytes=$(wc -c <"$tmp/ima/binary_runtime_measurements")
/usr/bin/time -f "%U %S %M %e" -o "$tmp/once.time" \
	"$imalogd" --config /dev/null --store "$tmp/once" --securityfs "$tmp/ima" --once 2>/dev/null
read -r user sys rss wall <"$tmp/once.time"
echo "once: list ${list_bytes} bytes; cpu ${user} user + ${sys} sys s, wall ${wall} s," \
	"peak rss ${rss} KB, store $(store_bytes "$tmp/once") bytes, deleted $(value deleted)"
stop

# ---- steady ----
start
/usr/bin/time -f "%U %S %M %e" -o "$tmp/steady.time" \
	"$imalogd" --config /dev/null --store "$tmp/steady" --securityfs "$tmp/ima" \
	--poll-seconds 1 --delete-records $((records < 100000 ? records : 100000)) \
	2>"$tmp/steady.log" &
timer=$!
until daemon=$(cat "/proc/$timer/task/$timer/children" 2>/dev/null) && [ -n "$daemon" ]; do
	sleep 0.05
done
daemon=${daemon%% *}
for _ in $(seq $((records / 1000))); do
	ctl append 1000 >/dev/null
	sleep 0.1
done
# Saved every 1000 records (the default), deleted once the kernel holds 100000 (the default)
# or, for a shorter run, all of them.
until [ "$(value deleted)" -ge "$records" ]; do sleep 0.5; done
io=$(grep -E '^(wchar|write_bytes)' "/proc/$daemon/io" | tr '\n' ' ')
kill -TERM "$daemon"
wait "$timer"
timer=""
read -r user sys rss wall <"$tmp/steady.time"
manifests=("$tmp/steady"/logs/*/*.manifest)
echo "steady: cpu ${user} user + ${sys} sys s over ${wall} s, peak rss ${rss} KB," \
	"store $(store_bytes "$tmp/steady") bytes in ${#manifests[@]} chunks; $io;" \
	"deletions $(grep -c '^imalogd: deleted' "$tmp/steady.log")"
stop
