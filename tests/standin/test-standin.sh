#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The FUSE stand-in against the interface it imitates: every command and error of the
# export/delete interface, the snapshot_aggregate, fault injection, kexec, the saved state, and
# the truth it reports checked with imalog and against a real log's published PCR values.
#   test-standin.sh STANDIN IMALOG [SOURCE_ROOT]
# Prints PASS:/FAIL: lines and "N passed, N failed". Exit 0 if all passed, 1 if not, 77 when
# FUSE cannot be used here.
set -euo pipefail

standin=$1 imalog=$2
top=${3:-$(cd "$(dirname "$0")/../.." && pwd)}
seed_log=$top/tests/golden/data/embrave-binary_runtime_measurements
seed_pcrs=$top/tests/golden/expected/embrave.pcrs

if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	echo "SKIP: no /dev/fuse or no fusermount3"
	exit 77
fi

tmp=$(mktemp -d)
mnt="" pid=""
cleanup() {
	for m in "$tmp"/*/; do
		if mountpoint -q "$m"; then fusermount3 -u "$m" || true; fi
	done
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

passed=0 failed=0
B=binary_runtime_measurements A=ascii_runtime_measurements
out=$tmp/out

report() {
	if [ "$2" = 0 ]; then
		echo "PASS: $1"
		passed=$((passed + 1))
	else
		echo "FAIL: $1"
		sed 's/^/    /' "$out"
		failed=$((failed + 1))
	fi
}

# check NAME CMD...: CMD in a subshell; its output is shown only when it fails.
check() {
	local name=$1 rc=0
	shift
	("$@") >"$out" 2>&1 || rc=$?
	report "$name" $rc
}

# check_here NAME CMD...: the same, with CMD in this shell (it may change the shell's state).
check_here() {
	local name=$1 rc=0
	shift
	"$@" >"$out" 2>&1 || rc=$?
	report "$name" $rc
}

# start NAME [OPTION...]: mount a stand-in at $tmp/NAME, control socket $tmp/NAME.ctl.
start() {
	mnt=$tmp/$1
	shift
	mkdir -p "$mnt"
	"$standin" --foreground --control "$mnt.ctl" "$@" "$mnt" 2>"$mnt.log" &
	pid=$!
	for _ in $(seq 100); do
		if mountpoint -q "$mnt" && [ -S "$mnt.ctl" ]; then return 0; fi
		if ! kill -0 "$pid" 2>/dev/null; then break; fi
		sleep 0.1
	done
	echo "the stand-in did not mount:"
	cat "$mnt.log"
	return 1
}

# stop: unmount; the stand-in must exit 0 (under a sanitizer: no leak, no error).
stop() {
	local rc=0
	fusermount3 -u "$mnt" || return 1
	wait "$pid" || rc=$?
	pid=""
	cat "$mnt.log"
	echo "the stand-in exited with $rc"
	[ $rc = 0 ]
}

ctl() {
	"$standin" ctl "$mnt.ctl" "$@"
}

ima() {
	printf '%s/%s' "$mnt" "$1"
}

count() {
	cat "$(ima runtime_measurements_count)"
}

deleted() {
	cat "$(ima runtime_measurements_deleted)"
}

records() {
	"$imalog" replay --json "$1" | sed -n 's/^ *"records": \([0-9]*\),*$/\1/p'
}

# put FILE TEXT: one write() of TEXT (printf %b escapes) to a file of the mount.
put() {
	printf '%b' "$2" >"$(ima "$1")"
}

# lists: the kernel's lists as the control socket sees them (no file of the mount is opened,
# so neither a held lock nor an injected fault is disturbed).
lists() {
	ctl status | grep -E '^(records|current|staged|deleted)=' | tr '\n' ' '
}

# expect_errno TEXT CMD...: CMD fails with the strerror TEXT, and the kernel's lists are as they
# were.
expect_errno() {
	local want=$1 rc=0 before after
	shift
	before=$(lists)
	("$@") >/dev/null 2>"$tmp/err" || rc=$?
	echo "exit $rc: $(cat "$tmp/err")"
	[ $rc != 0 ] && grep -q "$want" "$tmp/err" || return 1
	after=$(lists)
	echo "before: $before"
	echo "after:  $after"
	[ "$before" = "$after" ]
}

# --- the interface ---

interface_files() {
	local f
	for f in ${B}_sha1 ${B}_sha256 ${A}_sha1 ${A}_sha256; do
		[ "$(stat -c %a "$(ima "$f")")" = 660 ] &&
			[ "$(stat -c %a "$(ima "${f}_staged")")" = 660 ] ||
			{ echo "$f: mode"; return 1; }
	done
	for f in $B $A; do
		[ "$(readlink "$(ima "$f")")" = "${f}_sha1" ] &&
			[ "$(readlink "$(ima "${f}_staged")")" = "${f}_sha1_staged" ] ||
			{ echo "$f: links"; return 1; }
	done
	for f in runtime_measurements_count runtime_measurements_deleted violations; do
		[ "$(stat -c %a "$(ima $f)")" = 440 ] || { echo "$f: mode"; return 1; }
	done
	ls -l "$mnt"
}

cold_boot() {
	echo "count $(count), deleted $(deleted), violations $(cat "$(ima violations)")"
	[ "$(count)" = 1 ] && [ "$(deleted)" = 0 ] && [ "$(cat "$(ima violations)")" = 0 ] &&
		grep -q ' boot_aggregate$' "$(ima ${A})"
}

append() {
	ctl append 400 pcr11=20 violations=3 && ctl status &&
		[ "$(count)" = 401 ] && [ "$(cat "$(ima violations)")" -gt 0 ]
}

# The truth replays to the simulated PCRs, which cover PCRs 10 and 11 in both banks.
truth_verifies() {
	ctl truth >"$tmp/truth" && ctl pcrs >"$tmp/pcrs" && cat "$tmp/pcrs" &&
		[ "$(cut -d' ' -f1,2 "$tmp/pcrs" | tr '\n' ' ')" = \
			"10 sha1 10 sha256 11 sha1 11 sha256 " ] &&
		"$imalog" verify --pcrs "$tmp/pcrs" "$tmp/truth"
}

# Every view of the list says the same: ASCII is libimalog's rendering of the binary files,
# the per-bank file replays to the same PCRs as the SHA-1 one.
views_agree() {
	"$imalog" show --format ascii "$(ima ${B})" |
		cmp - "$(ima ${A})" &&
		"$imalog" show --format ascii --log-bank sha256 "$(ima ${B}_sha256)" |
		cmp - "$(ima ${A}_sha256)" &&
		"$imalog" replay --banks sha1,sha256 "$(ima ${B})" >"$tmp/r1" &&
		"$imalog" replay --banks sha1,sha256 --log-bank sha256 \
			"$(ima ${B}_sha256)" >"$tmp/r256" &&
		cmp "$tmp/r1" "$tmp/r256" && ctl pcrs | cmp - "$tmp/r1"
}

# seq_file: one read() returns at most a page of whole records; small reads see the same bytes.
seq_reads() {
	local one
	one=$(dd if="$(ima ${B})" bs=65536 count=1 status=none | wc -c)
	echo "one read of 64 KiB returned $one bytes"
	[ "$one" -gt 0 ] && [ "$one" -le 4096 ] &&
		dd if="$(ima ${A})" bs=77 status=none |
		cmp - "$(ima ${A})"
}

ulong_max=18446744073709551615
bad_writes() {
	local n
	n=$(($(count) + 1000))
	expect_errno 'Invalid argument' put ${B} 'abc\n' &&
		expect_errno 'Invalid argument' put ${B} '0\n' &&
		expect_errno 'Invalid argument' put ${B} '-1\n' &&
		expect_errno 'Invalid argument' put ${B} '1x\n' &&
		expect_errno 'Invalid argument' put ${B} '\n' &&
		expect_errno 'Invalid argument' put ${B} '1' &&
		expect_errno 'Invalid argument' put ${B} '0000000000000000000001\n' &&
		expect_errno 'No such file or directory' put ${B} "$n\\n" &&
		expect_errno 'No such file or directory' put ${B} "$ulong_max\\n" &&
		expect_errno 'Numerical result out of range' put ${B}_sha256 \
			"18446744073709551616\\n" &&
		expect_errno 'Invalid argument' put ${A} 'A\n' &&
		expect_errno 'Invalid argument' put ${B} 'D\n' &&
		expect_errno 'Invalid argument' put ${B}_staged '1\n' &&
		expect_errno 'No such file or directory' put ${B}_staged 'D\n' &&
		expect_errno 'Invalid argument' put ${A}_sha256_staged 'AA\n' &&
		expect_errno 'Invalid argument' put runtime_measurements_count '1\n'
}

# next_piece: the path for the next saved piece, in deletion order.
next_piece() {
	printf '%s/piece.%03d' "$tmp" $(($(find "$tmp" -maxdepth 1 -name 'piece.*' | wc -l) + 1))
}

# As an agent deletes: read through a descriptor open for reading and writing, save the
# records read as the next piece, write their number.
delete_n() {
	local p n rc=0
	p=$(next_piece)
	exec 3<>"$(ima ${B})"
	cat <&3 >"$p"
	n=$(records "$p")
	echo "deleting $n records"
	printf '%s\n' "$n" >&3 || rc=$?
	exec 3>&-
	return $rc
}

# The newest snapshot_aggregate: V equals a replay of every piece saved so far, and when
# given, the PCRs the stand-in simulated at the cut (no libimalog involved); the deleted count
# is securityfs's and the pieces'; the boot_aggregate is the newest one measured.
check_aggregate() {
	local line got want
	line=$(grep ' snapshot_aggregate ' "$(ima ${A})" | tail -n 1)
	[ -n "$line" ] || { echo "no snapshot_aggregate record"; return 1; }
	printf '%s' "${line##* }" | xxd -r -p >"$tmp/aggregate"
	echo "aggregate: $(cat "$tmp/aggregate")"
	head -c 10 "$tmp/aggregate" | grep -qx 'version=1;' || return 1
	tr ';' '\n' <"$tmp/aggregate" |
		sed -n 's/^pcr\([0-9]*\)_\([a-z0-9]*\)=\([0-9a-f]*\)$/\1 \2 \3/p' >"$tmp/got"
	cat "$tmp"/piece.* >"$tmp/deleted"
	"$imalog" replay --banks sha1,sha256 "$tmp/deleted" | diff - "$tmp/got" || return 1
	if [ $# -gt 0 ]; then diff "$1" "$tmp/got" || return 1; fi
	got=$(tr ';' '\n' <"$tmp/aggregate" | sed -n 's/^deleted=//p')
	want=$(records "$tmp/deleted")
	echo "deleted: $got in the record, $(deleted) in securityfs, $want saved"
	[ "$got" = "$want" ] && [ "$(deleted)" = "$want" ] || return 1
	got=$(tr ';' '\n' <"$tmp/aggregate" | sed -n 's/^boot_aggregate=//p')
	want=$(ctl truth | "$imalog" show --format ascii - |
		awk '$5 == "boot_aggregate" { b = $4 } END { print b }')
	echo "boot_aggregate: $got in the record, $want in the log"
	[ "$got" = "$want" ]
}

delete_all_n() {
	ctl pcrs >"$tmp/pcrs-at-cut" && delete_n &&
		echo "count $(count)" && [ "$(count)" = 1 ] && check_aggregate "$tmp/pcrs-at-cut"
}

# Pieces, then the current list, are the truth; and they verify against the simulated TPM.
full_is_truth() {
	cat "$tmp"/piece.* "$(ima ${B}_staged)" \
		"$(ima ${B})" >"$tmp/full" &&
		ctl truth | cmp - "$tmp/full" && ctl pcrs >"$tmp/pcrs" &&
		"$imalog" verify --pcrs "$tmp/pcrs" "$tmp/full"
}

stage_and_delete() {
	local p staged
	ctl append 50 >/dev/null || return 1
	put ${B}_staged 'A\n' || return 1
	staged=$(records "$(ima ${B}_staged)")
	echo "staged $staged, current $(count)"
	[ "$staged" = 51 ] && [ "$(count)" = 0 ] || return 1
	ctl append 10 >/dev/null && [ "$(count)" = 10 ] || return 1
	expect_errno 'File exists' put ${B}_staged 'A\n' || return 1
	expect_errno 'File exists' put ${B} '1\n' || return 1
	p=$(next_piece)
	exec 3<>"$(ima ${B}_staged)"
	cat <&3 >"$p"
	printf 'D\n' >&3 || return 1
	exec 3>&-
	echo "deleted $(deleted), staged now $(records "$(ima ${B}_staged)")"
	[ -z "$(cat "$(ima ${B}_staged)")" ] && [ "$(count)" = 11 ] &&
		expect_errno 'No such file or directory' put ${B}_staged 'D\n' &&
		check_aggregate
}

# Many readers or one writer; the writing process may open more files for writing.
one_writer() {
	exec 4<>"$(ima ${A}_sha256)"
	printf '' >"$(ima ${B}_sha256)" || return 1
	expect_errno 'Device or resource busy' put ${B} '1\n' || return 1
	expect_errno 'Device or resource busy' cat "$(ima ${B})" || return 1
	exec 4>&-
	cat "$(ima ${B})" >/dev/null && (exec 5<>"$(ima ${B})")
}

many_readers() {
	exec 4<"$(ima ${B})" 5<"$(ima ${A}_sha256_staged)"
	cat "$(ima ${A})" >/dev/null || return 1
	expect_errno 'Device or resource busy' put ${B} '1\n' || return 1
	exec 4<&- 5<&-
}

no_cap_sys_admin() {
	if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
		echo "not root or no setpriv: skipped"
		return 0
	fi
	expect_errno 'Operation not permitted' setpriv --bounding-set -sys_admin \
		--inh-caps -sys_admin bash -c "printf '1\n' >'$(ima ${B})'"
}

# --- fault injection ---

fault_open() {
	ctl fail open EBUSY file=${B} || return 1
	expect_errno 'Device or resource busy' cat "$(ima ${B})" &&
		cat "$(ima ${B})" >/dev/null
}

fault_read() {
	ctl fail read EIO && expect_errno 'Input/output error' cat "$(ima ${B})" &&
		cat "$(ima ${B})" >/dev/null
}

fault_short() {
	local n
	ctl short 100 || return 1
	n=$(dd if="$(ima ${B})" bs=4096 count=1 status=none | wc -c)
	echo "a read of 4096 bytes returned $n"
	[ "$n" = 100 ] && ctl status | grep -qx 'faults=0'
}

fault_delay() {
	local t0 t1
	ctl delay read 400 count=1 || return 1
	t0=$(date +%s%N)
	cat "$(ima runtime_measurements_count)" >/dev/null
	t1=$(date +%s%N)
	echo "the read took $(((t1 - t0) / 1000000)) ms"
	[ $(((t1 - t0) / 1000000)) -ge 400 ]
}

fault_write() {
	ctl fail write ESTALE && expect_errno 'Stale file handle' put ${B} '1\n'
}

# skip=1 count=2: the first open passes, the next two fail, the fourth passes again.
fault_skip() {
	local f results=""
	f=$(ima runtime_measurements_count)
	ctl fail open EIO skip=1 count=2 file=runtime_measurements_count || return 1
	for _ in 1 2 3 4; do
		if cat "$f" >/dev/null 2>&1; then results+="ok "; else results+="fail "; fi
	done
	echo "$results"
	[ "$results" = "ok fail fail ok " ]
}

fault_clear() {
	ctl fail read EIO count=all && ctl clear && cat "$(ima ${B})" >/dev/null &&
		ctl status | grep -qx 'faults=0'
}

bad_commands() {
	! ctl frobnicate && ! ctl append x && ! ctl fail open ENOTANERRNO && ! ctl short 0 &&
		! ctl fail read EIO file=no_such_file && ! ctl delay read 10 count=0 &&
		ctl help | grep -q '^append N'
}

# --- kexec ---

suspended() {
	ctl append 5 >/dev/null && ctl suspend || return 1
	expect_errno 'Stale file handle' put ${B}_staged 'A\n' &&
		expect_errno 'Stale file handle' put ${B} '1\n' &&
		! ctl append 1 && ctl resume && ctl append 1
}

kexec() {
	local before deleted_before
	put ${B}_staged 'A\n' || return 1
	ctl append 3 >/dev/null || return 1
	cat "$(ima ${B}_staged)" "$(ima ${B})" \
		>"$tmp/carried"
	before=$(records "$tmp/carried")
	deleted_before=$(deleted)
	ctl kexec || return 1
	echo "carried $before records, now $(count); deleted $deleted_before, now $(deleted)"
	[ -z "$(cat "$(ima ${B}_staged)")" ] &&
		[ "$(count)" = $((before + 1)) ] && [ "$(deleted)" = "$deleted_before" ] &&
		head -c "$(stat -c %s "$tmp/carried")" "$(ima ${B})" |
		cmp - "$tmp/carried" &&
		tail -n 1 "$(ima ${A})" | grep -q ' boot_aggregate$'
}

after_kexec() {
	delete_n && check_aggregate
}

# --- other configurations ---

# A real log as the seed: the simulated TPM reaches the values its project published.
seed_log() {
	ctl pcrs | diff - "$seed_pcrs" && cmp "$seed_log" "$(ima ${B})" &&
		ctl truth | cmp - "$seed_log"
}

seed_log_aggregate() {
	ctl append 10 >/dev/null && delete_n && check_aggregate
}

state_save() {
	ctl append 30 >/dev/null && put ${B} '5\n' &&
		put ${B}_staged 'A\n' && ctl append 7 >/dev/null &&
		ctl truth >"$tmp/state-truth" && ctl pcrs >"$tmp/state-pcrs" &&
		cat "$(ima ${B})" >"$tmp/state-current" &&
		cat "$(ima ${B}_staged)" >"$tmp/state-staged" &&
		deleted >"$tmp/state-deleted"
}

state_restored() {
	ctl truth | cmp - "$tmp/state-truth" && ctl pcrs | cmp - "$tmp/state-pcrs" &&
		cmp "$tmp/state-current" "$(ima ${B})" &&
		cmp "$tmp/state-staged" "$(ima ${B}_staged)" &&
		deleted | cmp - "$tmp/state-deleted" &&
		put ${B}_staged 'D\n' && ctl append 1 >/dev/null &&
		ctl pcrs >"$tmp/pcrs" && ctl truth >"$tmp/truth" &&
		"$imalog" verify --pcrs "$tmp/pcrs" "$tmp/truth"
}

no_staging() {
	[ ! -e "$(ima ${B}_staged)" ] &&
		[ ! -e "$(ima runtime_measurements_deleted)" ] &&
		[ "$(stat -c %a "$(ima ${B}_sha1)")" = 440 ] &&
		printf '1\n' >"$tmp/one" && ! cp "$tmp/one" "$(ima ${B})" &&
		cat "$(ima ${B})" >/dev/null &&
		(exec 4<>"$(ima ${B})" && cat "$(ima ${B})" >/dev/null)
}

flush_htable() {
	ctl append 3 >/dev/null &&
		expect_errno 'Invalid argument' put ${B} '1\n' &&
		put ${B}_staged 'A\n' && put ${B}_staged 'D\n' &&
		[ "$(deleted)" = 4 ]
}

# htable=: the duplicate-detection table's digests. N frees only template data; D with the
# boot option empties the table; without it the digests of deleted records stay.
htable() {
	ctl status | grep -x "htable=$1"
}

htable_kept() {
	htable 1 && ctl append 9 >/dev/null && htable 10 && put ${B} '4\n' && htable 10 &&
		put ${B}_staged 'A\n' && put ${B}_staged 'D\n' && htable 10 &&
		ctl append 2 >/dev/null && htable 12
}

htable_flushed() {
	htable 1 && ctl append 5 >/dev/null && put ${B}_staged 'A\n' && ctl append 2 >/dev/null &&
		htable 8 && put ${B}_staged 'D\n' && htable 0 && ctl append 1 >/dev/null && htable 1
}

if ! start probe; then
	if grep -qiE 'permission|not permitted|fuse: device' "$mnt.log"; then
		echo "SKIP: FUSE cannot be mounted here"
		exit 77
	fi
	echo "FAIL: mount"
	echo "0 passed, 1 failed"
	exit 1
fi
check_here probe-unmount stop

start main --aggregate --seed 7
check interface-files interface_files
check cold-boot cold_boot
check append append
check truth-verifies truth_verifies
check views-agree views_agree
check seq-reads seq_reads
check bad-writes bad_writes
check delete-n delete_all_n
check stage-and-delete stage_and_delete
check full-is-truth full_is_truth
check one-writer one_writer
check many-readers many_readers
check no-cap-sys-admin no_cap_sys_admin
check fault-open fault_open
check fault-read fault_read
check fault-short fault_short
check fault-delay fault_delay
check fault-write fault_write
check fault-skip fault_skip
check fault-clear fault_clear
check bad-commands bad_commands
check suspended suspended
check kexec kexec
check after-kexec after_kexec
check full-after-kexec full_is_truth
check_here unmount stop

rm -f "$tmp"/piece.*
start seeded --aggregate --seed-log "$seed_log"
check seed-log seed_log
check seed-log-aggregate seed_log_aggregate
check_here seed-log-unmount stop

start saved --aggregate --state "$tmp/state"
check state-save state_save
check_here state-unmount stop
start saved --aggregate --state "$tmp/state"
check state-restored state_restored
check_here state-unmount-again stop

start stock --no-staging
check no-staging no_staging
check_here stock-unmount stop

start flush --flush-htable
check flush-htable flush_htable
check_here flush-unmount stop

start htable-kept
check htable-kept htable_kept
check_here htable-kept-unmount stop

start htable-flushed --flush-htable
check htable-flushed htable_flushed
check_here htable-flushed-unmount stop

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
