#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# imalogd on the stand-in against what goes wrong around it: I/O errors, short reads, EBUSY
# and ESTALE from the kernel's files; a full disk; a corrupted, truncated or missing chunk and
# a lost manifest; a second daemon; a second deleter; a kexec; a reader in the middle of a
# commit. Throughout: nothing is deleted from the kernel that is not saved, errors are reported
# and the daemon catches up once the fault is gone, with nothing lost or stored twice.
#   faults.sh IMALOG IMALOGD STANDIN
# Prints PASS:/FAIL: lines and "N passed, N failed"; exit 77 without FUSE.
set -euo pipefail

imalog=$1 imalogd=$2 standin=$3
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh"
standin_required

tmp=$(mktemp -d)
others=()
cleanup() {
	local p
	for p in "${others[@]}"; do
		if [ -n "$p" ]; then kill -9 "$p" 2>/dev/null || true; fi
	done
	standin_cleanup
}
trap cleanup EXIT

boot1=f0000000-0000-4000-8000-000000000001
boot2=f0000000-0000-4000-8000-000000000002
boot3=f0000000-0000-4000-8000-000000000003
export IMALOG_BOOT_ID=$boot1
cat >"$tmp/imalogd.conf" <<-EOF
	save_records = 5
	save_seconds = 1
	delete_records = 50
EOF
conf=(--config "$tmp/imalogd.conf" --poll-seconds 1)
dlog="" mark_at=0

# start NAME [OPTION...]: a stand-in with the snapshot_aggregate and a running daemon on it.
start() {
	local name=$1
	shift
	standin_start "$name" --aggregate
	logdir=$store/logs/$IMALOG_BOOT_ID
	dlog=$tmp/$name.daemon.log
	daemon_start "$dlog" "${conf[@]}" "$@"
	mark_at=0
}

alive() {
	kill -0 "$daemon_pid"
}

# caught_up: wait until every record measured so far is saved and deleted (more than
# delete_records are on the list, so a deletion is due). Done already if the list holds only
# the snapshot_aggregate of the last deletion.
caught_up() {
	local r
	r=$(status_of records)
	if [ "$(status_of current)" = 1 ] && [ "$(deleted)" = $((r - 1)) ]; then return 0; fi
	wait_until 30 deleted_at_least "$r"
}



one_log() {
	local logs=("$store"/logs/*)
	[ ${#logs[@]} = 1 ] || { echo "logs: ${logs[*]}"; return 1; }
}
# delete_10: another process deletes the 10 oldest records.
delete_10() {
	printf '10\n' 1<>"$ima/$B"
}

# stop: the daemon exits 0 on SIGTERM and the stand-in unmounts cleanly.
stop() {
	daemon_stop && standin_stop
}

# ---- errors on the kernel's files ----
echo "# I/O errors, short reads, EBUSY and ESTALE on binary_runtime_measurements"
start k
appended 80
check "start: saved and deleted" caught_up

# fault OP ERRNO MESSAGE: every OP on the list fails with ERRNO while 80 records arrive.
fault() {
	local op=$1 err=$2 msg=$3 d
	mark
	d=$(deleted)
	ctl fail "$op" "$err" count=all file=$B
	appended 80
	check "$op $err: reported: $msg" wait_until 10 said "$msg"
	check "$op $err: nothing deleted while it fails" unchanged_for 2.5
	check "$op $err: nothing deleted since it began" test "$(deleted)" = "$d"
	check "$op $err: the daemon keeps running" alive
	check "$op $err: nothing deleted that is not saved" \
		test "$(deleted)" -le "$(store_next "$logdir")"
	ctl clear
	check "$op $err: caught up once it is gone" caught_up
	check "$op $err: says it recovered" said "recovered"
	check "$op $err: store + kernel = truth" whole
}
fault open EIO "opening the measurement list: Input/output error"
fault read EIO "reading $ima: Input/output error"
fault open EBUSY "another process holds the measurement list for writing; retrying"
fault write EIO "from the kernel: Input/output error"
fault write ESTALE "measurement is suspended for kexec: the records travel to the next kernel"
fault write EBUSY "from the kernel: Device or resource busy"

mark
ctl short 100 count=all file=$B
appended 80
check "reads of at most 100 bytes: caught up" caught_up
check "reads of at most 100 bytes: no error" not_said_error
ctl clear
check "reads of at most 100 bytes: store + kernel = truth" whole

# A one-off error in the middle of a run: the cycle fails, the next one works.
mark
ctl fail read EIO skip=3 count=1 file=$B
appended 80
check "one read EIO: caught up" caught_up
check "one read EIO: it was hit and reported" said "Input/output error"
check "one read EIO: the rule was used up" test "$(status_of faults)" = 0
check "one read EIO: store + kernel = truth" whole

# ---- a second daemon, imalog snapshot ----
echo "# one daemon per store"
second() {
	! "$imalogd" "${conf[@]}" --store "$store" --securityfs "$ima" --once 2>"$tmp/second.err" &&
		grep -qF "is in use by another imalogd" "$tmp/second.err"
}
check "a second daemon on the store is refused" second
check "the first one keeps running" alive
appended 20
snapshot() {
	"$imalog" snapshot --store "$store" --securityfs "$ima" >"$tmp/snapshot.out" &&
		grep -q "saved up to record" "$tmp/snapshot.out" &&
		[ "$(deleted)" -ge "$(($(status_of records) - 1))" ]
}
check "imalog snapshot goes through the daemon: saved and deleted now" snapshot
check "store + kernel = truth" whole
check "manifests list the snapshot_aggregates with their deleted counts" manifests_list_aggregates
check "daemon and stand-in stop cleanly" stop

# ---- a full disk ----
echo "# a full disk under the store"
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$tmp/small"
	mount -t tmpfs -o size=256k tmpfs "$tmp/small"
	standin_start d --aggregate
	store=$tmp/small/store logdir=$tmp/small/store/logs/$IMALOG_BOOT_ID dlog=$tmp/d.daemon.log
	daemon_start "$dlog" "${conf[@]}"
	appended 100
	check "full disk: the first records fit" caught_up
	mark
	d=$(deleted)
	appended 3000
	check "full disk: reported" wait_until 15 said "No space left on device"
	check "full disk: says nothing is deleted until they are saved" \
		said "nothing is deleted from the kernel until they are saved"
	appended 60
	check "full disk: nothing deleted while saving fails" unchanged_for 2.5
	check "full disk: deleted count as before the disk filled" test "$(deleted)" = "$d"
	check "full disk: the kernel's list keeps growing" test "$(status_of current)" -ge 3060
	check "full disk: the daemon keeps running" alive
	check "full disk: the store stays consistent" "$imalog" status --store "$store" \
		--securityfs "$ima"
	mount -o remount,size=20m "$tmp/small"
	check "space again: caught up" caught_up
	check "space again: says it recovered" said "recovered"
	check "space again: store + kernel = truth" whole
	check "full disk: daemon and stand-in stop cleanly" stop
	umount "$tmp/small"
else
	echo "SKIP: full disk (needs root to mount a small tmpfs)"
fi

# ---- I/O errors on the daemon's own system calls ----
echo "# EIO and ENOSPC at each write, fsync, rename, unlink and mkdir of imalogd --once"
# io_walk SYSCALL ERRNO: runs of imalogd --once, the Nth SYSCALL failing with ERRNO, N = 1, 2...
# until a run makes fewer. After each: it exited 0 or 1 with a message, nothing is deleted that
# is not saved, the store is consistent; the next clean run catches up and nothing is lost.
io_walk() {
	local sc=$1 err=$2 n rc
	for ((n = 1; ; n++)); do
		appended 5
		env "$no_lsan" strace -o "$tmp/strace.out" -e trace="$sc" -e inject="$sc:error=$err:when=$n" \
			"$imalogd" "${conf[@]}" --store "$store" --securityfs "$ima" --once \
			2>"$tmp/io.err" && rc=0 || rc=$?
		grep -q INJECTED "$tmp/strace.out" || break
		if [ $rc != 0 ] && { [ $rc != 1 ] || ! grep -q "^imalogd: " "$tmp/io.err"; }; then
			echo "$sc $n: exit $rc"
			cat "$tmp/io.err"
			return 1
		fi
		if [ "$(deleted)" -gt "$(store_next "$logdir")" ]; then
			echo "$sc $n: $(deleted) deleted, $(store_next "$logdir") saved"
			return 1
		fi
		"$imalog" status --store "$store" --securityfs "$ima" >/dev/null ||
			{ echo "$sc $n: the store is inconsistent"; return 1; }
		if ! "$imalogd" "${conf[@]}" --store "$store" --securityfs "$ima" --once \
			2>"$tmp/io.err"; then
			echo "$sc $n: the clean run after it failed"
			cat "$tmp/io.err"
			return 1
		fi
		same_as_truth || { echo "$sc $n: store + kernel differ from the truth"; return 1; }
	done
	echo "$sc $err: $((n - 1)) calls walked"
}
if command -v strace >/dev/null; then
	standin_start i --aggregate
	logdir=$store/logs/$IMALOG_BOOT_ID
	appended 60
	for walk in "write EIO" "fsync EIO" "rename EIO" "unlink EIO" "mkdir EIO" "write ENOSPC"; do
		before=$failed
		# shellcheck disable=SC2086 # two words: the system call and the errno
		check "${walk% *} fails with ${walk#* }, at each call in turn" io_walk $walk
		[ "$failed" != "$before" ] || sed 's/^/    /' "$tmp/out"
	done
	check "I/O errors: store + kernel = truth" whole
	check "I/O errors: the stand-in stops cleanly" standin_stop
else
	echo "SKIP: I/O errors on the daemon's system calls (needs strace)"
fi

# ---- a damaged store ----
echo "# a corrupted, truncated or missing chunk, a lost manifest"
start c
for _ in 1 2 3 4; do
	appended 60
	check "four chunks: saved and deleted" caught_up
done
daemon_stop
cp -a "$logdir" "$tmp/c.good"

refused() {
	! "$imalog" verify --store "$store" --securityfs "$ima" --pcrs <(ctl pcrs) \
		2>"$tmp/verify.err" >/dev/null && grep -qF "$1" "$tmp/verify.err"
}

# damaged NAME FILE [KEPT]: the store was damaged at FILE; imalogd refuses to save or delete,
# naming it, and imalog verify fails naming it; the file KEPT is still there. Once the store
# is repaired the daemon catches up.
damaged() {
	local name=$1 base=${2##*/} d c n
	dlog=$tmp/c.$name.log mark_at=0
	d=$(deleted) c=$(status_of current) n=$(store_next "$logdir")
	daemon_start "$dlog" "${conf[@]}"
	check "$name: imalogd says the store is inconsistent, naming $base" \
		wait_until 10 said "$base"
	appended 80
	check "$name: nothing deleted" unchanged_for 2.5
	check "$name: the kernel's list keeps growing" test "$(status_of current)" -ge $((c + 80))
	# (The daemon before may have saved the snapshot_aggregate of its last deletion.)
	check "$name: nothing saved" test "$(store_next "$logdir")" = "$n"
	check "$name: imalog verify --store fails, naming $base" refused "$base"
	check "$name: the daemon stops on SIGTERM" daemon_stop
	if [ -n "${3:-}" ]; then
		check "$name: ${3##*/} is kept" test -e "$3"
	fi
	rm -rf "$logdir"
	cp -a "$tmp/c.good" "$logdir"
	dlog=$tmp/c.$name.repaired.log mark_at=0
	daemon_start "$dlog" "${conf[@]}"
	check "$name, repaired: caught up" caught_up
	check "$name, repaired: store + kernel = truth" whole
	daemon_stop
	rm -rf "$tmp/c.good"
	cp -a "$logdir" "$tmp/c.good"
}
chunks=("$logdir"/*.chunk)
printf 'X' | dd of="${chunks[1]}" bs=1 seek=40 conv=notrunc status=none
damaged "a byte changed in a chunk" "${chunks[1]}"
chunks=("$logdir"/*.chunk)
truncate -s -7 "${chunks[-1]}"
damaged "the last chunk truncated" "${chunks[-1]}"
chunks=("$logdir"/*.chunk)
rm "${chunks[2]}"
damaged "a chunk missing" "${chunks[2]}"
chunks=("$logdir"/*.chunk)
rm "${chunks[1]%.chunk}.manifest"
damaged "a manifest lost" "${chunks[2]}" "${chunks[1]}"
# Damaged, then a kexec: the next boot's daemon cannot tell whether the list continues the log;
# it must not start a new log and delete.
chunks=("$logdir"/*.chunk)
printf 'X' | dd of="${chunks[0]}" bs=1 seek=40 conv=notrunc status=none
ctl kexec
export IMALOG_BOOT_ID=$boot2
damaged "a byte changed, then a kexec" "${chunks[0]}"
check "a byte changed, then a kexec: one log directory" one_log
export IMALOG_BOOT_ID=$boot1
check "damaged store: the stand-in stops cleanly" standin_stop

# ---- a second deleter ----
echo "# another process holds the list for writing, or deletes records itself"
start e
appended 80
check "start: saved and deleted" caught_up
mark
exec {held}<>"$ima/$B"
appended 80
check "held for writing: reported, retrying" \
	wait_until 10 said "another process holds the measurement list for writing; retrying"
check "held for writing: nothing deleted" unchanged_for 2
exec {held}>&-
check "released: caught up" caught_up
check "released: says it recovered" said "recovered"
check "released: store + kernel = truth" whole
daemon_stop

# A deleter that removes records the daemon has saved but not deleted yet: no gap, and the
# daemon then deletes only the rest.
dlog=$tmp/e.keep.log mark_at=0
daemon_start "$dlog" "${conf[@]}" --delete-records 0
appended 30
check "30 records saved, none deleted (--delete-records 0)" wait_until 10 saved_all
check "another process deletes 10 saved records" wait_until 5 delete_10
kill -USR1 "$daemon_pid"
check "the daemon deletes the rest" caught_up
check "no gap or other error reported" not_said_error
check "store + kernel = truth" same_as_truth
replays() {
	"$imalog" verify --pcrs <(ctl pcrs) "$tmp/log"
}
check "store + kernel replay to the TPM's PCRs" replays
# The aggregate of that deletion claims a cut inside a chunk: the verifier checks it against
# its own replay at that record, in the chunk (kept by the worker that checks the chunk, which
# the manifest told where the cut is) and in a plain log piece (found by a second pass).
inner_cut() {
	"$imalog" show --format json "$tmp/log" | python3 -c '
import glob, json, os, sys
ends = set()
for path in glob.glob(os.path.join(sys.argv[1], "*.manifest")):
    m = json.load(open(path))
    ends.add(m["first"] + m["count"])
for line in sys.stdin:
    rec = json.loads(line)
    f = {x["id"]: x for x in rec.get("fields", [])}
    if f.get("n-ng", {}).get("value") != "snapshot_aggregate":
        continue
    text = bytes.fromhex(f["buf"]["hex"]).decode()
    deleted = int(dict(kv.split("=", 1) for kv in text.split(";") if kv)["deleted"])
    if deleted not in ends:
        print(rec["recnum"], deleted)
        break' "$logdir"
}
read -r inner_index inner_deleted < <(inner_cut) || true
check "the other deleter's cut ($inner_deleted) falls inside a chunk" test -n "$inner_index"
check "imalog verify --store checks the aggregate of a cut inside a chunk" store_verifies
check "  and so does imalog verify of the same log as one plain piece" \
	"$imalog" verify --piece "$tmp/log" --pcrs <(ctl pcrs)
# A kernel that lies: the same aggregate forged (a PCR value, the deleted count), its digests
# recomputed, the TPM extended with it. Only the check at the cut can tell; it names the record.
forged_rejected() {
	local how=$1
	python3 "$here/forge-aggregate.py" "$tmp/log" "$inner_index" "$how" "$tmp/forged"
	"$imalog" replay "$tmp/forged" >"$tmp/forged.pcrs"
	if "$imalog" verify --piece "$tmp/forged" --pcrs "$tmp/forged.pcrs" --json \
		>"$tmp/forged.json"; then
		echo "the forged aggregate ($how) verified"
		return 1
	fi
	python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))["failure"]
print(f)
sys.exit(f["index"] != int(sys.argv[2]) or "snapshot_aggregate" not in f["reason"])' \
		"$tmp/forged.json" "$inner_index"
}
check "a forged aggregate at that inner cut (PCR value) is rejected, naming its index" \
	forged_rejected value
check "a forged aggregate at that inner cut (deleted count) is rejected, naming its index" \
	forged_rejected count
daemon_stop

# A deleter that removes records the daemon has not saved: the daemon names the gap with its
# absolute range, does not extend the store past it and deletes nothing more.
printf '%s\n' "save_records = 100000" "save_seconds = 3600" "delete_records = 0" \
	>"$tmp/lazy.conf"
dlog=$tmp/e.lazy.log mark_at=0
daemon_start "$dlog" --config "$tmp/lazy.conf" --poll-seconds 1
wait_until 10 test -s "$dlog"
appended 30
gap_from=$(store_next "$logdir")
check "another process deletes 10 unsaved records" wait_until 5 delete_10
gap_to=$(($(deleted) - 1))
gap="records $gap_from..$gap_to were deleted from the kernel without being saved"
check "the daemon reports: $gap" wait_until 10 said "$gap"
kill -USR1 "$daemon_pid"
check "even when asked to snapshot, nothing more is deleted" unchanged_for 2.5
check "the store is not extended past the gap" test "$(store_next "$logdir")" = "$gap_from"
log_refuses() {
	! "$imalog" log --store "$store" --securityfs "$ima" 2>"$tmp/log.err" >/dev/null &&
		grep -qF "records $gap_from..$gap_to are neither stored nor in the kernel" \
			"$tmp/log.err"
}
check "imalog log fails, naming records $gap_from..$gap_to" log_refuses
verify_refuses() {
	! "$imalog" verify --store "$store" --securityfs "$ima" --pcrs <(ctl pcrs) \
		>"$tmp/verify.err" 2>&1 &&
		cat "$tmp/verify.err" &&
		grep -qF "records $gap_from..$gap_to are missing" "$tmp/verify.err"
}
check "imalog verify --store fails, naming records $gap_from..$gap_to" verify_refuses
status_names_gap() {
	"$imalog" status --store "$store" --securityfs "$ima" | grep -F "$gap"
}
check "imalog status shows it as the last error" status_names_gap
check "gap: daemon and stand-in stop cleanly" stop

# Two daemons on two stores deleting from one kernel: each deletes only what it saved, under
# the kernel's one-writer lock; every deleted record is in one store or the other, and where a
# store lacks records its daemon says which.
start t
store_a=$store dlog_a=$dlog pid_a=$daemon_pid
store=$tmp/t.store2 dlog=$tmp/t.daemon2.log
daemon_start "$dlog" "${conf[@]}"
others=("$daemon_pid")
store=$store_a dlog=$dlog_a daemon_pid=$pid_a
for _ in $(seq 15); do
	appended 15
	nap 0.3
done
nap 2

# intervals STORE...: "first count" of every chunk in the stores, in order.
intervals() {
	local s m line
	for s in "$@"; do
		for m in "$s"/logs/*/*.manifest; do
			while IFS= read -r line; do
				[[ $line =~ ^\ *\"count\":\ ([0-9]+) ]] || continue
				m=${m##*/}
				echo "$((10#${m%.manifest})) ${BASH_REMATCH[1]}"
			done <"$m"
		done
	done | sort -n
}
# covered TO STORE...: records 0..TO-1 are all in the stores.
covered() {
	local to=$1 next=0 first count
	shift
	while read -r first count; do
		if [ "$first" -gt "$next" ]; then
			echo "records $next..$((first - 1)) are in no store"
			return 1
		fi
		[ $((first + count)) -le "$next" ] || next=$((first + count))
	done < <(intervals "$@")
	[ "$next" -ge "$to" ] || { echo "records $next..$((to - 1)) are in no store"; return 1; }
}
# gaps_in_other LOG STORE: every gap the daemon of LOG reported was saved in STORE.
unsaved="were deleted from the kernel without being saved"
gaps_in_other() {
	local a b
	while read -r a b; do
		covered_range "$a" "$b" "$2" || { echo "gap $a..$b is not in $2"; return 1; }
		echo "gap $a..$b: in the other store"
	done < <(sed -n "s/.*records \([0-9]*\)\.\.\([0-9]*\) $unsaved.*/\1 \2/p" "$1")
}
covered_range() {
	local a=$1 b=$2 first count
	while read -r first count; do
		if [ "$first" -le "$a" ] && [ "$a" -lt $((first + count)) ]; then
			a=$((first + count))
		fi
	done < <(intervals "$3")
	[ "$a" -gt "$b" ]
}
d=$(deleted)
check "two daemons: both keep running" kill -0 "${others[0]}" "$daemon_pid"
check "two daemons: each deleted record ($d) is in one store or the other" \
	covered "$d" "$store_a" "$tmp/t.store2"
check "two daemons: the gaps the first reports are in the second store" \
	gaps_in_other "$dlog_a" "$tmp/t.store2"
check "two daemons: the gaps the second reports are in the first store" \
	gaps_in_other "$tmp/t.daemon2.log" "$store_a"
kill -TERM "${others[0]}"
wait "${others[0]}" || true
others=()
check "two daemons: daemon and stand-in stop cleanly" stop

# ---- kexec ----
echo "# kexec while the daemon runs, and after a restart in the next boot"
start x
appended 80
check "start: saved and deleted" caught_up
not_measured() {
	! ctl append 5 2>/dev/null
}
appended 20
check "20 records saved, not deleted yet" wait_until 10 saved_all
ctl suspend
mark
kill -USR1 "$daemon_pid"
check "suspended for kexec: the deletion is refused and reported" \
	wait_until 10 said "measurement is suspended for kexec"
check "suspended: nothing deleted" unchanged_for 1.5
check "suspended: nothing measured" not_measured
ctl kexec
appended 80
check "kexec while the daemon runs: caught up" caught_up
check "kexec while the daemon runs: store + kernel = truth" whole
check "kexec while the daemon runs: one log directory" one_log
daemon_stop

# In the next boot the kernel's list starts with records the store already holds (saved, not
# deleted), then records it does not.
dlog=$tmp/x.keep.log mark_at=0
daemon_start "$dlog" "${conf[@]}" --delete-records 0
appended 30
check "30 records saved, none deleted (--delete-records 0)" wait_until 10 saved_all
daemon_stop
appended 10
ctl kexec
export IMALOG_BOOT_ID=$boot2
dlog=$tmp/x.boot2.log mark_at=0
daemon_start "$dlog" "${conf[@]}"
appended 60
check "restart after kexec: caught up" caught_up
check "restart after kexec: continues log $boot1" said "saving log $boot1 of boot $boot2"
check "restart after kexec: one log directory" one_log
check "restart after kexec: its boots lists the new boot" grep -qx "$boot2" "$logdir/boots"
check "restart after kexec: store + kernel = truth (nothing stored twice, same numbering)" whole
daemon_stop

# A kexec when everything was saved and deleted: the list holds only what came after.
ctl kexec
export IMALOG_BOOT_ID=$boot3
dlog=$tmp/x.boot3.log mark_at=0
daemon_start "$dlog" "${conf[@]}"
appended 60
check "kexec after a full deletion, restart: caught up" caught_up
check "kexec after a full deletion, restart: continues log $boot1" \
	said "saving log $boot1 of boot $boot3"
check "kexec after a full deletion, restart: one log directory" one_log
check "kexec after a full deletion, restart: store + kernel = truth" whole
check "kexec: manifests list the snapshot_aggregates with their deleted counts" manifests_list_aggregates
check "kexec: daemon and stand-in stop cleanly" stop
export IMALOG_BOOT_ID=$boot1

# ---- a reader in the middle of a commit ----
echo "# imalog reading the store while imalogd commits a chunk"
if command -v strace >/dev/null; then
	start r
	appended 60
	check "start: saved and deleted" caught_up
	daemon_stop
	appended 30
	# The daemon's renames take 0.5 s more: after the chunk's, before the manifest's.
	env "$no_lsan" strace -o /dev/null -e trace=rename -e inject=rename:delay_exit=500000 \
		"$imalogd" "${conf[@]}" --store "$store" --securityfs "$ima" --once \
		2>"$tmp/r.err" &
	others=($!)
	between() {
		local c=("$logdir"/*.chunk)
		[ ! -e "${c[-1]%.chunk}.manifest" ]
	}
	check "the daemon is between a chunk's rename and its manifest's" wait_until 10 between
	chunks=("$logdir"/*.chunk)
	check "imalog status meanwhile" "$imalog" status --store "$store" --securityfs "$ima"
	check "imalog log --no-kernel meanwhile" "$imalog" log --no-kernel --store "$store" \
		--securityfs "$ima" -f ascii
	check "the daemon completes its cycle" wait "${others[0]}"
	others=()
	check "the chunk being committed is still there" test -e "${chunks[-1]}"
	check "and has its manifest" test -e "${chunks[-1]%.chunk}.manifest"
	check "store + kernel = truth" whole
	# A commit between imalog log's check of the store and its reading of the chunks (its
	# fifth getdents64, held 1.5 s): the records of the new chunk come once, from the
	# kernel's list it read first, not also from the chunk.
	appended 30
	env "$no_lsan" strace -o /dev/null -e trace=getdents64 \
		-e inject=getdents64:delay_enter=$((1500000 * slowdown)):when=5 \
		"$imalog" log --store "$store" --securityfs "$ima" >"$tmp/r.log" &
	others=($!)
	nap "$((slowdown / 2)).$((slowdown % 2 * 5))"
	saved_now() {
		"$imalogd" "${conf[@]}" --store "$store" --securityfs "$ima" --once 2>"$tmp/r.err" &&
			wait "${others[0]}"
	}
	check "a chunk committed while imalog log reads the store" saved_now
	others=()
	# The --once deletion added a snapshot_aggregate after the log's read: one record more.
	once_each() {
		cmp "$tmp/r.log" <(head -c "$(stat -c %s "$tmp/r.log")" "$state/truth") &&
			[ "$(tail -c +$(($(stat -c %s "$tmp/r.log") + 1)) "$state/truth" |
				"$imalog" show - | wc -l)" = 1 ]
	}
	check "  its records are written once: the log is the truth but the later aggregate" \
		once_each
	check "reader: the stand-in stops cleanly" standin_stop
else
	echo "SKIP: a reader in the middle of a commit (needs strace)"
fi
finish
