#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# imalogd deleting with A and D on the _staged file (delete = staged, or auto on a kernel that
# refuses N because it was booted with ima_flush_htable), on the stand-in: the choice of
# flavour; the duplicate-detection table left with no digest of a deleted record (with N it
# keeps every one); errors on A and on D (EIO, EEXIST, suspension for kexec); records left
# staged by someone else or by a failed D, saved and deleted at the next cycle and shown by
# imalog log meanwhile; another writer (EBUSY); a kexec with records staged. Throughout:
# nothing is deleted that is not saved, and the store followed by the kernel's lists is every
# record, once.
#   staged.sh IMALOG IMALOGD STANDIN
# Prints PASS:/FAIL: lines and "N passed, N failed"; exit 77 without FUSE.
set -euo pipefail

imalog=$1 imalogd=$2 standin=$3
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh"
standin_required

tmp=$(mktemp -d)
trap standin_cleanup EXIT

export IMALOG_BOOT_ID=5a9ed000-0000-4000-8000-000000000001
S=${B}_staged
dlog="" mark_at=0

# config DELETE: small thresholds, deleting in the given flavour.
config() {
	cat >"$tmp/imalogd.conf" <<-EOF
		save_records = 5
		save_seconds = 1
		delete_records = 50
		delete = $1
	EOF
}
conf=(--config "$tmp/imalogd.conf" --poll-seconds 1)

# start NAME [STANDIN OPTION...]: a stand-in with the snapshot_aggregate, and the daemon on it.
start() {
	local name=$1
	shift
	standin_start "$name" --aggregate "$@"
	logdir=$store/logs/$IMALOG_BOOT_ID
	dlog=$tmp/$name.daemon.log mark_at=0
	daemon_start "$dlog" "${conf[@]}"
}

# once: one cycle that saves and deletes everything (the daemon is not running).
once() {
	"$imalogd" "${conf[@]}" --store "$store" --securityfs "$ima" --once 2>>"$dlog"
}

# caught_up: every record measured so far saved and deleted but the last aggregate.
caught_up() {
	local r
	r=$(status_of records)
	wait_until 30 deleted_at_least $((r - 1)) &&
		[ "$(status_of current)" = 1 ] && [ "$(status_of staged)" = 0 ]
}
# htable_is N: the stand-in's duplicate-detection table holds N digests.
htable_is() {
	[ "$(status_of htable)" = "$1" ] || { echo "htable=$(status_of htable), not $1"; return 1; }
}
delete_with() {
	grep -q "\"delete_with\":\"$1\"" <(tr -d ' \n' <"$store/status.json")
}
staged_records() {
	[ "$(status_of staged)" -gt 0 ]
}
stop() {
	daemon_stop && standin_stop
}

# ---- the flavour ----
echo "# delete = staged, and auto on kernels with and without ima_flush_htable"
config staged
start s --flush-htable
appended 200
check "staged: saved and deleted" caught_up
check "staged: A and D, said at start" said "deleting with A and D on the _staged file"
check "staged: no error" not_said_error
check "staged: status.json says staged" delete_with staged
check "staged: the hash table holds only the last aggregate's digest" htable_is 1
check "staged: store + kernel = truth" whole
check "staged: stops cleanly" stop

config auto
start a --flush-htable
appended 200
check "auto, N refused: saved and deleted" caught_up
check "auto, N refused: says it deletes with A and D from now on" \
	said "the kernel refused N (EINVAL: booted with ima_flush_htable): deleting with A and D"
check "auto, N refused: the hash table holds only the last aggregate's digest" htable_is 1
check "auto, N refused: store + kernel = truth" whole
check "auto, N refused: stops cleanly" stop

start n
appended 200
check "auto, N taken: saved and deleted" caught_up
check "auto, N taken: deletes with N" said "(deleting with N)"
check "auto, N taken: no error" not_said_error
check "auto, N taken: the hash table keeps every digest" htable_is "$(status_of records)"
check "auto, N taken: store + kernel = truth" whole
check "auto, N taken: stops cleanly" stop

config count
start c --flush-htable
appended 80
check "count, N refused: reported" wait_until 10 said "the kernel refuses to delete with N"
check "count, N refused: saved" wait_until 10 saved_all
check "count, N refused: nothing deleted" test "$(deleted)" = 0
check "count, N refused: store + kernel = truth" whole
check "count, N refused: stops cleanly" stop

# ---- errors on A and D ----
echo "# EIO, EEXIST and ESTALE from A and D; EBUSY; records staged by someone else"
config staged
start e --flush-htable
appended 80
check "start: saved and deleted" caught_up
mark
ctl fail write EIO count=all file=$S
appended 80
check "A EIO: reported" wait_until 10 said "staging the kernel's list: Input/output error"
check "A EIO: nothing deleted" unchanged_for 2
check "A EIO: nothing staged" test "$(status_of staged)" = 0
ctl clear
check "A EIO: caught up once it is gone" caught_up
check "A EIO: says it recovered" said "recovered"
check "A EIO: store + kernel = truth" whole

mark
ctl fail read EIO count=1 file=$S
appended 80
check "staged list read EIO: reported" wait_until 10 said "Input/output error"
check "staged list read EIO: caught up" caught_up
check "staged list read EIO: store + kernel = truth" whole

# EEXIST from A (another agent's staging in the kernel's view): nothing is lost, the next
# cycle deletes.
mark
ctl fail write EEXIST count=1 file=$S
appended 80
check "A EEXIST: caught up" caught_up
check "A EEXIST: the rule was used" test "$(status_of faults)" = 0
check "A EEXIST: no error" not_said_error
check "A EEXIST: store + kernel = truth" whole

mark
exec {held}<>"$ima/$B"
appended 80
check "held for writing: reported, retrying" \
	wait_until 10 said "another process holds the measurement list for writing; retrying"
check "held for writing: nothing deleted" unchanged_for 2
exec {held}>&-
check "released: caught up" caught_up
check "released: store + kernel = truth" whole
daemon_stop

# D fails after A succeeded: the records stay staged, imalog log still shows them, and the
# next cycle deletes them.
ctl fail write EIO skip=1 count=1 file=$S
appended 80
mark
check "D EIO: the cycle fails" test "$(
	once
	echo $?
)" != 0
check "D EIO: reported" said "staged records from the kernel: Input/output error"
check "D EIO: the records stay staged" staged_records
check "D EIO: they are saved" saved_all
check "D EIO: store + kernel's lists = truth" whole
mark
check "D EIO: the next cycle deletes them" once
check "D EIO: nothing staged or left" caught_up
check "D EIO: no error then" not_said_error
check "D EIO: store + kernel = truth" whole

# Someone else stages the list (as a crash of the daemon between A and D leaves it), more
# records arrive: the daemon saves both lists and deletes the staged records, then the rest.
appended 40
printf 'A\n' >"$ima/$S"
appended 15
check "staged by another: store + kernel's lists = truth" whole
mark
check "staged by another: one cycle" once
check "staged by another: saved and deleted" caught_up
check "staged by another: no error" not_said_error
check "staged by another: store + kernel = truth" whole
check "staged by another: the hash table holds only the last aggregate's digest" htable_is 1

# Suspended for kexec with records staged: D is refused (they travel to the next kernel), the
# next kernel holds them in front of its list, the daemon continues the log without a gap or a
# second copy.
appended 30
printf 'A\n' >"$ima/$S"
appended 10
ctl suspend
mark
check "suspended: the cycle fails" test "$(
	once
	echo $?
)" != 0
check "suspended: D refused and reported" said "measurement is suspended for kexec"
check "suspended: saved" saved_all
check "suspended: nothing deleted" test "$(status_of staged)" -gt 0
ctl kexec
check "after kexec: the staged records lead the list" test "$(status_of staged)" = 0
check "after kexec: store + kernel = truth" whole
mark
check "after kexec: one cycle" once
check "after kexec: caught up" caught_up
check "after kexec: no error" not_said_error
check "after kexec: store + kernel = truth" whole
logs=("$store"/logs/*)
check "after kexec: one log" test ${#logs[@]} = 1

# Suspended with nothing staged: A is refused, nothing is staged.
appended 30
ctl suspend
mark
check "suspended, A: the cycle fails" test "$(
	once
	echo $?
)" != 0
check "suspended, A: reported" said "measurement is suspended for kexec"
check "suspended, A: nothing staged" test "$(status_of staged)" = 0
ctl resume
check "resumed: one cycle" once
check "resumed: caught up" caught_up
check "resumed: store + kernel = truth" whole
# Every deletion above, D included after records were staged unsaved, cut the log at a chunk's
# end, and the manifests list the snapshot_aggregates (format.md 4.3).
check "every cut at a chunk's end; manifests list the aggregates" manifests_list_aggregates
check "the stand-in stops cleanly" standin_stop
finish
