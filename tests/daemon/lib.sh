# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2154 # imalog, imalogd, standin and tmp: set by the caller
# Helpers for the imalogd tests on the stand-in (crash.sh, faults.sh, ...); sourced, not run.
# The caller sets imalog, imalogd and standin before it sources this, and tmp (a scratch
# directory, which standin_cleanup removes) before it calls the helpers.

passed=0 failed=0
standin_pid="" daemon_pid=""
# The stand-in being used: its mount, control socket, state directory (DIR/truth grows with
# every record appended) and the store the daemon writes.
ima="" sock="" state="" store=""
export B=binary_runtime_measurements

# standin_required: skip the test (exit 77) without FUSE or the stand-in.
standin_required() {
	if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null || [ ! -x "$standin" ]; then
		echo "SKIP: no /dev/fuse, fusermount3 or stand-in"
		exit 77
	fi
}

# standin_cleanup: what every test's EXIT trap does last: kill the daemon, unmount every
# stand-in under $tmp, remove $tmp.
standin_cleanup() {
	local m
	if [ -n "$daemon_pid" ]; then kill -9 "$daemon_pid" 2>/dev/null || true; fi
	for m in "$tmp"/*/; do
		if mountpoint -q "$m"; then
			fusermount3 -u "$m" 2>/dev/null || umount "$m" || true
		fi
	done
	rm -rf "$tmp"
}

# A file descriptor that never has data: `read -t` on it sleeps without starting a process.
exec {nap_fd}<> <(:)
nap() {
	read -r -t "$1" -u "$nap_fd" _ || true
}

pass() {
	echo "PASS: $1"
	passed=$((passed + 1))
}

# fail NAME [FILE...]: report a failure and show the files that explain it.
fail() {
	local f
	echo "FAIL: $1"
	shift
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "    --- ${f##*/}"
		tail -n 30 "$f" | sed 's/^/    /'
	done
	failed=$((failed + 1))
}

# check NAME CMD...: CMD in this shell, its output kept in $tmp/out and shown if it fails.
check() {
	local name=$1 rc=0
	shift
	"$@" >"$tmp/out" 2>&1 || rc=$?
	if [ $rc = 0 ]; then pass "$name"; else fail "$name" "$tmp/out"; fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}

ctl() {
	"$standin" ctl "$sock" "$@"
}

# status_of KEY: one value of the stand-in's status.
status_of() {
	local line
	while IFS= read -r line; do
		if [ "${line%%=*}" = "$1" ]; then
			echo "${line#*=}"
			return 0
		fi
	done < <(ctl status)
	return 1
}

# standin_start NAME [OPTION...]: a stand-in mounted at $tmp/NAME, its state in $tmp/NAME.state,
# and the store the daemon uses for it at $tmp/NAME.store.
standin_start() {
	local name=$1
	shift
	ima=$tmp/$name sock=$tmp/$name.ctl state=$tmp/$name.state store=$tmp/$name.store
	mkdir -p "$ima" "$state"
	"$standin" --foreground --control "$sock" --state "$state" "$@" "$ima" \
		2>"$tmp/$name.standin.log" &
	standin_pid=$!
	for _ in $(seq 100); do
		if mountpoint -q "$ima" && [ -S "$sock" ]; then return 0; fi
		kill -0 "$standin_pid" 2>/dev/null || break
		nap 0.1
	done
	echo "the stand-in did not mount:"
	cat "$tmp/$name.standin.log"
	return 1
}

standin_stop() {
	local rc=0
	[ -n "$standin_pid" ] || return 0
	fusermount3 -u "$ima" || rc=$?
	wait "$standin_pid" || rc=$?
	standin_pid=""
	return $rc
}

# daemon_start LOG [OPTION...]: imalogd in the background on the current stand-in and store,
# its messages in LOG.
daemon_start() {
	local log=$1
	shift
	"$imalogd" --store "$store" --securityfs "$ima" "$@" 2>"$log" &
	daemon_pid=$!
}

# daemon_stop: SIGTERM and wait; the daemon must exit 0.
daemon_stop() {
	local rc=0
	[ -n "$daemon_pid" ] || return 0
	kill -TERM "$daemon_pid" 2>/dev/null || true
	wait "$daemon_pid" || rc=$?
	daemon_pid=""
	return $rc
}

# IMALOG_TEST_SLOWDOWN (default 1): how many times slower than a normal build the programs
# run (the sanitizer build sets it); every wait for something to happen is that much longer.
slowdown=${IMALOG_TEST_SLOWDOWN:-1}

# wait_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds; fails after SECONDS times
# the slowdown.
wait_until() {
	local deadline=$((SECONDS + $1 * slowdown))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		nap 0.1
	done
}

# For `env "$no_lsan" strace ...`: LeakSanitizer cannot work under ptrace; the other sanitizers
# stay on. (env, not a function, so that bash reports a kill where it did without it.)
# shellcheck disable=SC2034 # used by the scripts that source this file
no_lsan=ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

# The records the daemon saved, followed by the kernel's list, are every record ever measured.
same_as_truth() {
	"$imalog" log --store "$store" --securityfs "$ima" >"$tmp/log" &&
		cmp "$tmp/log" "$state/truth"
}

# The store passes its integrity check and, with the kernel's list, replays to the TPM's PCRs.
store_verifies() {
	"$imalog" verify --store "$store" --securityfs "$ima" --pcrs <(ctl pcrs)
}

# kernel_deleted: records deleted from the stand-in's list since its cold boot.
kernel_deleted() {
	local n
	read -r n <"$ima/runtime_measurements_deleted"
	echo "$n"
}

# store_next LOGDIR: the absolute index after the last committed record of a log.
store_next() {
	local manifests=("$1"/*.manifest) last line first
	if [ ! -e "${manifests[0]}" ]; then
		echo 0
		return 0
	fi
	last=${manifests[-1]}
	first=${last##*/}
	first=$((10#${first%.manifest}))
	while IFS= read -r line; do
		if [[ $line =~ ^\ *\"count\":\ ([0-9]+) ]]; then
			echo $((first + BASH_REMATCH[1]))
			return 0
		fi
	done <"$last"
	return 1
}

# only_normal_messages LOG: the daemon said nothing but what a cycle without errors says (a last
# line cut short by SIGKILL, without its newline, is not read).
only_normal_messages() {
	local line
	while IFS= read -r line; do
		case $line in
		"imalogd: saving log "* | "imalogd: saved records up to "* | \
			"imalogd: deleted "*" records ("* | \
			"imalogd: dropped "*" chunks that every verifier acknowledged "*) ;;
		*)
			echo "unexpected: $line"
			return 1
			;;
		esac
	done <"$1"
}

# ---- what faults.sh, staged.sh and retention.sh ask of the daemon, the store and the log ----
# They set dlog (the daemon's log), mark_at, logdir and state (the stand-in's) as they go.

# mark: what the daemon says from now on is what said() looks at.
mark() {
	mark_at=$(stat -c %s "$dlog")
}
# said TEXT: the daemon said it since the mark. Reads to the end: grep -q would leave early and
# tail would die of SIGPIPE, which pipefail turns into a failure.
said() {
	tail -c +$((mark_at + 1)) "$dlog" | grep -F -- "$1" >/dev/null
}
not_said_error() {
	tail -c +$((mark_at + 1)) "$dlog" >"$tmp/since"
	only_normal_messages "$tmp/since"
}
appended() {
	ctl append "$1" >/dev/null
}
deleted() {
	status_of deleted
}
deleted_at_least() {
	[ "$(deleted)" -ge "$1" ]
}
# whole: store + kernel = truth and the store verifies against the simulated TPM.
whole() {
	same_as_truth && store_verifies >/dev/null
}
# unchanged_for SECONDS: the deleted count stays as it is for that long (several polls).
unchanged_for() {
	local d
	d=$(deleted)
	nap "$1"
	[ "$(deleted)" = "$d" ] || { echo "deleted went from $d to $(deleted)"; return 1; }
}
# saved_all: every record measured so far is in the store.
saved_all() {
	[ "$(store_next "$logdir")" = "$(status_of records)" ]
}
# manifests_list_aggregates: every snapshot_aggregate of the truth is at a chunk's end and listed
# in its manifest with its deleted count (format.md 4.3).
manifests_list_aggregates() {
	"$imalog" show --format json "$state/truth" | "$here/check-aggregates.py" "$logdir"
}

# fake_tpm DIR: a directory laid out like /sys/class/tpm/tpm0 (pcr-<alg>/<n>, 24 PCRs of sha1
# and sha256, zero unless named) from "PCR ALG HEX" lines on stdin (what imalog replay prints).
fake_tpm() {
	local dir=$1 alg n pcr hex
	for alg in sha1:40 sha256:64; do
		mkdir -p "$dir/pcr-${alg%:*}"
		for n in $(seq 0 23); do
			printf '%0*d\n' "${alg#*:}" 0 >"$dir/pcr-${alg%:*}/$n"
		done
	done
	while read -r pcr alg hex; do
		echo "$hex" | tr a-f A-F >"$dir/pcr-$alg/$pcr"
	done
}
