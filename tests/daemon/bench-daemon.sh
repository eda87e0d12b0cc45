#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What imalogd costs to save records on the stand-in: CPU time, bytes written and memory, set
# against a peer measured in the same run on the same bytes: `cp` of the kernel's list to the
# same disk with `dd conv=fsync` (read, write, one fsync), the least any durable copy costs.
#   bench-daemon.sh IMALOGD STANDIN [RECORDS]     (default 100000)
# Store and copies live in $TMPDIR (a disk, not tmpfs, for the bytes written). Three runs:
#   once:   RECORDS on the kernel's list, one `imalogd --once` saves and deletes them all;
#   peer:   dd conv=fsync of the same list bytes (a cp that fsyncs: plain writes, which
#           getrusage() counts, where cp's copy_file_range() is not counted);
#   steady: a running daemon (the default thresholds, a poll every second) while RECORDS arrive
#           in batches of 1000 every 0.1 s, until all are saved and deleted; its resident memory
#           is sampled every second.
# CPU time, peak RSS and blocks written come from getrusage() (GNU time: %U %S %M %O, %O in
# 512-byte blocks: what the process itself sent to the disk, fsyncs included). The figures are
# the whole process's (start-up included), and are also given per 100,000 records.
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
# per100k FORMAT X: X scaled to 100,000 records.
per100k() {
	awk -v f="$1" -v x="$2" -v n="$records" 'BEGIN { printf f, x * 100000 / n }'
}
cpu() {
	awk -v u="$1" -v s="$2" 'BEGIN { printf "%.2f", u + s }'
}
echo "machine: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "records: $records (stand-in, ima-ng, sha1 and sha256 banks, snapshot_aggregate on)"
echo "disk: $(df -T "$tmp" | awk 'NR == 2 { print $2 }') under $tmp"

# ---- once ----
start
ctl append "$records" >/dev/null
list_bytes=$(wc -c <"$tmp/ima/binary_runtime_measurements")
cp "$tmp/ima/binary_runtime_measurements" "$tmp/list"	# for the peer, before it is deleted
/usr/bin/time -f "%U %S %M %e %O" -o "$tmp/once.time" \
	"$imalogd" --config /dev/null --store "$tmp/once" --securityfs "$tmp/ima" --once 2>/dev/null
read -r user sys rss wall blocks <"$tmp/once.time"
[ "$(value deleted)" -ge "$records" ] || { echo "once: not everything was deleted"; exit 1; }
once_cpu=$(cpu "$user" "$sys") once_written=$((blocks * 512))
echo "once: list ${list_bytes} bytes; cpu ${user} user + ${sys} sys s, wall ${wall} s," \
	"peak rss ${rss} KB, store $(store_bytes "$tmp/once") bytes, written ${once_written}" \
	"bytes, deleted $(value deleted)"

# ---- peer: a plain durable copy of the same bytes ----
stop
[ "$(wc -c <"$tmp/list")" = "$list_bytes" ] || { echo "peer: the list copy is short"; exit 1; }
sync -f "$tmp/list"
/usr/bin/time -f "%U %S %M %e %O" -o "$tmp/peer.time" \
	dd if="$tmp/list" of="$tmp/copy" bs=1M conv=fsync status=none
read -r puser psys prss pwall pblocks <"$tmp/peer.time"
cmp -s "$tmp/list" "$tmp/copy" || { echo "peer: the copy differs"; exit 1; }
peer_cpu=$(cpu "$puser" "$psys") peer_written=$((pblocks * 512))
echo "peer (dd conv=fsync): cpu ${puser} user + ${psys} sys s, wall ${pwall} s," \
	"peak rss ${prss} KB, written ${peer_written} bytes"

# ---- steady ----
start
/usr/bin/time -f "%U %S %M %e %O" -o "$tmp/steady.time" \
	"$imalogd" --config /dev/null --store "$tmp/steady" --securityfs "$tmp/ima" \
	--poll-seconds 1 --delete-records $((records < 100000 ? records : 100000)) \
	2>"$tmp/steady.log" &
timer=$!
until daemon=$(cat "/proc/$timer/task/$timer/children" 2>/dev/null) && [ -n "$daemon" ]; do
	sleep 0.05
done
daemon=${daemon%% *}
rss_kb() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$daemon/status"
}
: >"$tmp/rss"
for ((i = 1; i <= records / 1000; i++)); do
	ctl append 1000 >/dev/null
	sleep 0.1
	[ $((i % 10)) != 0 ] || rss_kb >>"$tmp/rss"
done
# Saved every 1000 records (the default), deleted once the kernel holds 100000 (the default)
# or, for a shorter run, all of them.
until [ "$(value deleted)" -ge "$records" ]; do sleep 0.5; done
rss_kb >>"$tmp/rss"
io=$(grep -E '^(wchar|write_bytes)' "/proc/$daemon/io" | tr '\n' ' ')
kill -TERM "$daemon"
wait "$timer"
timer=""
read -r user sys rss wall blocks <"$tmp/steady.time"
manifests=("$tmp/steady"/logs/*/*.manifest)
steady_cpu=$(cpu "$user" "$sys") steady_written=$((blocks * 512))
# Resident memory over the second half of the run: the steady state, past start-up.
read -r rss_min rss_max rss_last < <(awk '{ v[NR] = $1 } END {
	lo = hi = v[int(NR / 2) + 1]
	for (i = int(NR / 2) + 1; i <= NR; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] }
	print lo, hi, v[NR] }' "$tmp/rss")
echo "steady: cpu ${user} user + ${sys} sys s over ${wall} s, peak rss ${rss} KB, rss in the" \
	"second half ${rss_min}..${rss_max} KB (${rss_last} KB at the end), store" \
	"$(store_bytes "$tmp/steady") bytes in ${#manifests[@]} chunks, written" \
	"${steady_written} bytes; $io; deletions $(grep -c '^imalogd: deleted' "$tmp/steady.log")"
stop

echo "per 100,000 records:"
echo "  imalogd --once:     cpu $(per100k %.2f "$once_cpu") s," \
	"written $(per100k %.0f "$once_written") bytes"
echo "  imalogd (steady):   cpu $(per100k %.2f "$steady_cpu") s," \
	"written $(per100k %.0f "$steady_written") bytes, steady rss ${rss_min}..${rss_max} KB"
echo "  dd conv=fsync peer: cpu $(per100k %.2f "$peer_cpu") s," \
	"written $(per100k %.0f "$peer_written") bytes"
awk -v a="$once_cpu" -v b="$peer_cpu" -v c="$once_written" -v d="$peer_written" 'BEGIN {
	printf "  once vs peer: cpu %s, bytes written %s\n",
		(b > 0 ? sprintf("x%.1f", a / b) : "(peer below 0.01 s)"),
		(d > 0 ? sprintf("x%.2f", c / d) : "(peer wrote nothing)") }'
