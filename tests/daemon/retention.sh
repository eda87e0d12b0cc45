#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# imalogd's retention limits on the stand-in (docs/format.md 4.6): chunks are dropped only once
# every verifier acknowledged them and the kernel no longer holds their records, never the
# newest; what is left is consistent and verifies from the verifier's saved state; a verifier
# from boot and `imalog log --from` before the first kept record say the records were dropped;
# kills at every step of a drop lose nothing that was not acknowledged.
#   retention.sh IMALOG IMALOGD STANDIN
# Prints PASS:/FAIL: lines and "N passed, N failed"; exit 77 without FUSE.
set -euo pipefail

imalog=$1 imalogd=$2 standin=$3
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh"
standin_required

tmp=$(mktemp -d)
trap standin_cleanup EXIT

export IMALOG_BOOT_ID=ac000000-0000-4000-8000-000000000001
# keep_chunks = 2: every chunk but the newest two may go, once acknowledged.
conf=$tmp/imalogd.conf
printf '%s\n' "save_records = 5" "save_seconds = 1" "delete_records = 50" "keep_chunks = 2" \
	>"$conf"
dlog=""

# caught_up: every record measured so far is saved and deleted.
caught_up() {
	local r
	r=$(status_of records)
	if [ "$(status_of current)" = 1 ] && [ "$(deleted)" = $((r - 1)) ]; then return 0; fi
	wait_until 30 deleted_at_least "$r"
}
saved_everything() {
	[ "$(store_next "$logdir")" = "$(status_of records)" ]
}
stop_all() {
	daemon_stop && standin_stop
}
# A snapshot through the daemon: saved, deleted and retention applied now.
snapshot() {
	"$imalog" snapshot --store "$store" --securityfs "$ima" >/dev/null
}
manifests() {
	local m=("$logdir"/*.manifest)
	[ -e "${m[0]}" ] || return 0
	printf '%s\n' "${m[@]}"
}
nchunks() {
	manifests | wc -l
}
# first_kept: the index of the first chunk in the store (files left below `dropped` by a drop
# cut short are not part of it).
first_kept() {
	local m d
	d=$(dropped_index)
	while IFS= read -r m; do
		m=${m##*/}
		m=$((10#${m%.manifest}))
		if [ "$m" -ge "$d" ]; then
			echo "$m"
			return 0
		fi
	done < <(manifests)
	echo "$d"
}
dropped_index() {
	if [ -e "$logdir/dropped" ]; then cat "$logdir/dropped"; else echo 0; fi
}
# verifier NAME: a verifier with its own state file that acknowledges what it verified.
verifier() {
	"$imalog" verify --store "$store" --securityfs "$ima" --pcrs <(ctl pcrs) \
		--state "$tmp/verifier-$1.state" --ack "$1"
}
state_next() {
	sed -n 's/.*"next": *\([0-9]*\).*/\1/p' "$tmp/verifier-$1.state" | head -1
}
# tail_from N: the records from absolute index N on, as the stand-in measured them.
tail_from() {
	"$imalog" show --format binary --from "$1" "$state/truth"
}
# log_from_kept: imalog log from the first kept record equals the truth from there.
log_from_kept() {
	local k
	k=$(first_kept)
	"$imalog" log --store "$store" --securityfs "$ima" --from "$k" >"$tmp/log" &&
		tail_from "$k" | cmp - "$tmp/log"
}
# no_files_below K: no chunk or manifest of a record before K is left.
no_files_below() {
	local f n
	for f in "$logdir"/*.chunk "$logdir"/*.manifest; do
		[ -e "$f" ] || continue
		n=${f##*/}
		n=$((10#${n%%.*}))
		[ "$n" -ge "$1" ] || { echo "left: $f"; return 1; }
	done
}
consistent() {
	"$imalog" status --store "$store" --securityfs "$ima" >"$tmp/status.out"
}

# ---- no acknowledgement: nothing dropped ----
echo "# a limit without acknowledgements drops nothing"
standin_start r --aggregate
logdir=$store/logs/$IMALOG_BOOT_ID
dlog=$tmp/r.daemon.log
daemon_start "$dlog" --config "$conf" --poll-seconds 1
for _ in 1 2 3 4 5; do
	appended 60
	check "60 records saved and deleted" caught_up
done
snapshot
check "more chunks than keep_chunks ($(nchunks))" test "$(nchunks)" -gt 2
check "no acknowledgement: no dropped file" test ! -e "$logdir/dropped"
check "no acknowledgement: the store still starts at record 0" test "$(first_kept)" = 0
check "no acknowledgement: store + kernel = truth" same_as_truth

# ---- one verifier acknowledges ----
echo "# a verifier acknowledges what it verified"
check "imalog verify --state --ack v1 verifies and acknowledges" verifier v1
acked=$(cat "$logdir/acks/v1")
check "the acknowledgement ($acked) is the state's next index ($(state_next v1))" \
	test "$acked" = "$(state_next v1)"
check "it covers stored records" test "$acked" -gt 0
snapshot
# Stopped, so that what follows looks at one state of the store: a later poll would save the
# snapshot_aggregate the deletion added, and the chunk before it would go too.
check "the daemon stops cleanly" daemon_stop
k=$(dropped_index)
check "chunks dropped: the log now starts at record $k" test "$k" -gt 0
check "no more than acknowledged was dropped ($k <= $acked)" test "$k" -le "$acked"
check "keep_chunks = 2: two chunks are left" test "$(nchunks)" = 2
check "the first chunk kept begins at the dropped index" test "$(first_kept)" = "$k"
check "no chunk or manifest below $k is left" no_files_below "$k"
check "the daemon says what it dropped" grep -q "^imalogd: dropped .* chunks that every" "$dlog"
check "only normal messages" only_normal_messages "$dlog"
check "the store is consistent (imalog status)" consistent
status_dropped() {
	grep -q "^dropped: *records 0\.\.$((k - 1)) " "$tmp/status.out" &&
		grep -q "^acknowledged: *records before $acked by v1" "$tmp/status.out"
}
check "imalog status shows the dropped range and the acknowledgement" status_dropped
check "imalog log --from $k = the truth from $k" log_from_kept
log_refuses() {
	local rc=0
	"$imalog" log --store "$store" --securityfs "$ima" --from "$1" >/dev/null \
		2>"$tmp/log.err" || rc=$?
	[ "$rc" = 1 ] && grep -qF "records $1..$((k - 1)) were dropped from the store" \
		"$tmp/log.err" && grep -qF "use --from $k" "$tmp/log.err"
}
check "imalog log --from 0 fails, naming the dropped records and where the log starts" \
	log_refuses 0
check "imalog log --from $((k - 1)) fails too" log_refuses $((k - 1))
check "the verifier resumes from its state on what is left" verifier v1
from_boot_refused() {
	local rc=0
	"$imalog" verify --store "$store" --securityfs "$ima" --pcrs <(ctl pcrs) \
		>/dev/null 2>"$tmp/boot.err" || rc=$?
	[ "$rc" = 1 ] && grep -qF "records 0..$((k - 1)) were dropped from the store" \
		"$tmp/boot.err" && grep -qF "no longer starts at record 0" "$tmp/boot.err"
}
check "a verifier from boot fails: the log no longer starts at record 0" from_boot_refused
stateless_ack() {
	local rc=0
	"$imalog" verify --store "$store" --securityfs "$ima" --pcrs <(ctl pcrs) --ack v9 \
		2>"$tmp/v9.err" >/dev/null || rc=$?
	[ "$rc" = 2 ] && grep -qF -- "--ack needs --store and --state" "$tmp/v9.err" &&
		[ ! -e "$logdir/acks/v9" ]
}
check "a verifier without a state file cannot acknowledge" stateless_ack

# ---- a second, slower verifier holds chunks back ----
echo "# two verifiers: the slower one bounds what goes"
dlog=$tmp/r.daemon2.log
daemon_start "$dlog" --config "$conf" --poll-seconds 1
low=$(first_kept)
check "imalog ack --name v2 $low" "$imalog" ack --store "$store" --name v2 "$low"
for _ in 1 2 3 4; do
	appended 60
	check "60 records saved and deleted" caught_up
done
check "v1 verifies and acknowledges again" verifier v1
snapshot
check "nothing at or after v2's acknowledgement ($low) was dropped" \
	test "$(dropped_index)" -le "$low"
check "so more than keep_chunks chunks stay ($(nchunks))" test "$(nchunks)" -gt 2
check "store + kernel = truth from $low" log_from_kept
past_end() {
	local next
	next=$(store_next "$logdir")
	! "$imalog" ack --store "$store" --name v2 $((next + 1)) 2>"$tmp/ack.err" &&
		grep -qF "is past the end of log" "$tmp/ack.err" &&
		[ "$(cat "$logdir/acks/v2")" = "$low" ]
}
check "an acknowledgement past the store's end is refused, the old one kept" past_end
bad_name() {
	! "$imalog" ack --store "$store" --name ../x 5 2>/dev/null && [ ! -e "$logdir/x" ]
}
check "an acknowledgement name with a slash is refused" bad_name
# A damaged acknowledgement stops every drop and is named.
printf 'x\n' >"$logdir/acks/v3"
check "v2 acknowledges everything stored" "$imalog" ack --store "$store" --name v2 \
	"$(store_next "$logdir")"
before=$(dropped_index)
appended 60
check "60 records saved and deleted" caught_up
unreadable="nothing is dropped while an acknowledgement cannot be read: $logdir/acks/v3"
damaged_snapshot() {
	! "$imalog" snapshot --store "$store" --securityfs "$ima" 2>"$tmp/snapshot.err" &&
		grep -qF "$unreadable" "$tmp/snapshot.err"
}
check "a damaged acknowledgement: imalog snapshot fails, naming it" damaged_snapshot
check "a damaged acknowledgement: the daemon says so" grep -qF "$unreadable" "$dlog"
check "a damaged acknowledgement: nothing dropped" test "$(dropped_index)" = "$before"
rm "$logdir/acks/v3"
check "v1 verifies and acknowledges again" verifier v1
lower=$(cat "$logdir/acks/v1" "$logdir/acks/v2" | sort -n | head -1)
snapshot
check "once it is gone, chunks are dropped again" test "$(dropped_index)" -gt "$before"
check "but none past the lower acknowledgement ($lower)" test "$(first_kept)" -le "$lower"
check "store + kernel = truth from the first kept record" log_from_kept
check "v1 resumes from its state" verifier v1
check "the daemon stops cleanly" daemon_stop

# ---- the kernel still holds the records ----
echo "# records the kernel still holds are never dropped"
printf '%s\n' "save_records = 5" "save_seconds = 1" "delete_records = 0" "keep_chunks = 1" \
	>"$tmp/nodelete.conf"
dlog=$tmp/r.nodelete.log
daemon_start "$dlog" --config "$tmp/nodelete.conf" --poll-seconds 1
head=$(deleted)
for _ in 1 2 3; do
	appended 30
	check "30 records saved, none deleted" wait_until 10 saved_everything
done
check "everything stored is acknowledged" "$imalog" ack --store "$store" --name v1 \
	"$(store_next "$logdir")"
check "and v2 too" "$imalog" ack --store "$store" --name v2 "$(store_next "$logdir")"
starts_at() {
	[ "$(first_kept)" = "$1" ]
}
# A poll later: no snapshot, which would delete.
check "the chunks the kernel no longer holds go: the store starts at $head" \
	wait_until 10 starts_at "$head"
nap 2.5
check "and the ones it still holds stay" starts_at "$head"
check "the daemon stops cleanly" daemon_stop
check "the stand-in stops cleanly" standin_stop

# ---- keep_bytes and keep_age ----
echo "# keep_bytes and keep_age"
limit_run() {
	local name=$1 line=$2
	standin_start "$name" --aggregate
	logdir=$store/logs/$IMALOG_BOOT_ID
	printf '%s\n' "save_records = 5" "save_seconds = 1" "delete_records = 50" "$line" \
		>"$tmp/$name.conf"
	dlog=$tmp/$name.daemon.log
	daemon_start "$dlog" --config "$tmp/$name.conf" --poll-seconds 1
	for _ in 1 2 3 4; do
		appended 60
		check "$line: 60 records saved and deleted" caught_up
	done
	check "$line: verified and acknowledged" verifier "$name"
}
limit_run b "keep_bytes = 20000"
bytes_kept() {
	local total=0 f
	for f in "$logdir"/*.chunk; do total=$((total + $(stat -c %s "$f"))); done
	# Over the limit only by the newest chunk, which always stays.
	[ "$total" -le 20000 ] || [ "$(nchunks)" = 1 ]
}
snapshot
daemon_stop
check "keep_bytes = 20000: chunks dropped" test "$(dropped_index)" -gt 0
check "keep_bytes = 20000: what is left fits, or is the newest chunk alone" bytes_kept
check "keep_bytes: store + kernel = truth from the first kept record" log_from_kept
check "keep_bytes: the verifier resumes" verifier b
check "keep_bytes: stops cleanly" standin_stop
limit_run a "keep_age = 3s"
# saved_times: "first epoch-seconds" of every chunk, from its manifest's saved_at.
saved_times() {
	local m at
	while IFS= read -r m; do
		at=$(sed -n 's/.*"saved_at": *"\([^"]*\)".*/\1/p' "$m")
		m=${m##*/}
		echo "$((10#${m%.manifest})) $(date -d "$at" +%s)"
	done < <(manifests)
}
# by_age T0 T1: a snapshot ran between T0 and T1: the chunks dropped were saved more than 3 s
# before it, the ones kept (but the newest) at most 3 s before it.
by_age() {
	local t0=$1 t1=$2 first at k newest
	k=$(dropped_index) newest=$(manifests | tail -1)
	newest=${newest##*/}
	newest=$((10#${newest%.manifest}))
	while read -r first at; do
		if [ "$first" -lt "$k" ] && [ $((t1 - at)) -le 3 ]; then
			echo "chunk $first saved at $at, dropped by a snapshot before $t1"
			return 1
		fi
		if [ "$first" -ge "$k" ] && [ "$first" != "$newest" ] && [ $((t0 - at)) -gt 3 ]; then
			echo "chunk $first saved at $at, kept by a snapshot after $t0"
			return 1
		fi
	done <"$tmp/saved_times"
}
saved_times >"$tmp/saved_times"
t0=$(date +%s)
snapshot
check "keep_age = 3s: only chunks older than 3 s went" by_age "$t0" "$(date +%s)"
nap 4.5
snapshot
all_acked_gone() {
	[ "$(first_kept)" = "$(cat "$logdir/acks/a")" ] || { manifests; return 1; }
}
check "keep_age = 3s: 4.5 s later every acknowledged chunk is gone" all_acked_gone
check "keep_age: store + kernel = truth from the first kept record" log_from_kept
check "keep_age: the verifier resumes" verifier a
check "keep_age: stops cleanly" stop_all

# ---- kills in the middle of a drop ----
echo "# imalogd --once killed at each rename, unlink and fsync of a save, deletion and drop"
if ! command -v strace >/dev/null; then
	echo "SKIP: kills at each step of a drop (needs strace)"
	finish
	exit
fi
standin_start w --aggregate
logdir=$store/logs/$IMALOG_BOOT_ID
printf '%s\n' "save_records = 5" "save_seconds = 1" "delete_records = 1" "keep_chunks = 1" \
	>"$tmp/w.conf"
once() {
	"$imalogd" --config "$tmp/w.conf" --store "$store" --securityfs "$ima" --once \
		2>"$tmp/once.err"
}
# after_kill: the drop happened or it did not; nothing acknowledged by no one is gone; the
# store is consistent, equals the truth from where it starts, and the verifier resumes.
after_kill() {
	local k acked
	k=$(dropped_index) acked=$(cat "$logdir/acks/w")
	[ "$k" -le "$acked" ] || { echo "dropped $k, acknowledged only $acked"; return 1; }
	consistent || { cat "$tmp/status.out"; return 1; }
	log_from_kept || { echo "store + kernel differ from the truth"; return 1; }
	[ "$(first_kept)" -le "$acked" ] || { echo "first kept $(first_kept) > $acked"; return 1; }
	verifier w >/dev/null || { echo "the verifier does not resume"; return 1; }
	once || { echo "the clean run after it failed"; cat "$tmp/once.err"; return 1; }
	no_files_below "$(dropped_index)" || return 1
	log_from_kept
}
walks=0 kills=0 drops=0
for sc in rename unlink fsync; do
	for ((n = 1; ; n++)); do
		appended 12
		if ! once || ! verifier w >/dev/null; then
			fail "$sc $n: setting up" "$tmp/once.err"
			break
		fi
		appended 12
		before=$(dropped_index)
		( env "$no_lsan" strace -o /dev/null -e trace="$sc" -e inject="$sc:signal=KILL:when=$n" \
			"$imalogd" --config "$tmp/w.conf" --store "$store" --securityfs "$ima" \
			--once 2>"$tmp/once.err" || exit $? ) 2>/dev/null && rc=0 || rc=$?
		[ "$rc" = 137 ] || break
		kills=$((kills + 1))
		[ "$(dropped_index)" = "$before" ] || drops=$((drops + 1))
		if ! after_kill >"$tmp/why" 2>&1; then
			fail "killed at $sc $n: nothing unacknowledged lost, consistent, verifies" \
				"$tmp/why"
			break
		fi
	done
	walks=$((walks + 1))
done
check "$kills kills at each rename, unlink and fsync: consistent, nothing unacknowledged \
lost, the verifier resumes" test "$kills" -gt 10
check "some kills came after the drop's commit point ($drops)" test "$drops" -gt 0
check "the stand-in stops cleanly" standin_stop
finish
