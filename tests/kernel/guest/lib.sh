# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for scenario scripts, sourced before the scenario in the guest (busybox sh).
# README.md describes the guest environment and these functions.

ima=/sys/kernel/security/ima
tpm=/sys/class/tpm/tpm0
KTEST_DIR=/tmp/ktest
KTEST_EXPORT=$KTEST_DIR/export

# ktest_result PASS|FAIL NAME: record and print one check result.
ktest_result()
{
	echo "$1 $2" >>"$KTEST_DIR/results"
	echo "ktest: $1: $KTEST_SCENARIO/$2"
}

# ktest_status NAME WANT CMD [ARG]...: CMD (a program or shell function) must exit WANT.
# Its output is kept in /tmp/ktest/out/NAME.out and shown when the check fails.
ktest_status()
{
	_name=$1 _want=$2 _got=0
	shift 2
	_out=$KTEST_DIR/out/$(echo "$_name" | tr / _).out
	"$@" >"$_out" 2>&1 || _got=$?
	if [ "$_got" = "$_want" ]; then
		ktest_result PASS "$_name"
		return 0
	fi
	ktest_result FAIL "$_name"
	echo "ktest:   '$*' exited $_got, expected $_want; last lines of its output:"
	tail -n 15 "$_out" | sed 's/^/ktest:   | /'
	return 0
}

# ktest_check NAME CMD [ARG]...: CMD must succeed.
ktest_check()
{
	_n=$1
	shift
	ktest_status "$_n" 0 "$@"
}

# ktest_export FILE...: send FILEs to the host, into the scenario's export/files/.
ktest_export()
{
	mkdir -p "$KTEST_EXPORT/files"
	cp "$@" "$KTEST_EXPORT/files/"
}

# ktest_snapshot NAME: save the PCRs, then every IMA measurement file, into export/NAME/:
#   tpm0/pcr-ALG/N   copies of the sysfs PCR files (a directory for imalog verify --pcrs)
#   pcrs.txt         the same values as "N ALG hex" lines
#   binary_runtime_measurements*, ascii_runtime_measurements*   the lists
# PCRs come first: the kernel appends a record before it extends the PCRs, so the lists may run
# ahead of the PCRs, never behind. The lists are read until the binary list is unchanged across
# the reads of all files, so that the ASCII and binary files hold the same records.
ktest_snapshot()
{
	_dir=$KTEST_EXPORT/$1
	for _try in 1 2 3 4 5; do
		rm -rf "$_dir"
		mkdir -p "$_dir/tpm0"
		for _bank in "$tpm"/pcr-*; do
			_alg=${_bank##*/pcr-}
			mkdir "$_dir/tpm0/pcr-$_alg"
			for _n in $(seq 0 23); do
				cat "$_bank/$_n" >"$_dir/tpm0/pcr-$_alg/$_n"
				echo "$_n $_alg $(tr A-F a-f <"$_bank/$_n")" >>"$_dir/pcrs.txt"
			done
		done
		for _f in "$ima"/binary_runtime_measurements* "$ima"/ascii_runtime_measurements*; do
			cat "$_f" >"$_dir/${_f##*/}"
		done
		cmp -s "$ima/binary_runtime_measurements" "$_dir/binary_runtime_measurements" && return 0
	done
	echo "ktest: the measurement list kept growing during 5 snapshots" >&2
	return 1
}

# ktest_json_field FILE KEY: the number after "KEY": in imalog's JSON output.
ktest_json_field()
{
	tr -d ' \n' <"$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

# ktest_verify_lists: imalog verify the running kernel's lists against the TPM's PCRs: first
# with every default (the SHA-1 header list, /sys/class/tpm/tpm0), then each list named.
ktest_verify_lists()
{
	ktest_check verify-defaults imalog verify
	for _f in "$ima"/binary_runtime_measurements*; do
		case $_f in *_staged) continue ;; esac	# a staged list is a piece, not a log
		ktest_check "verify-${_f##*/}" imalog verify --pcrs "$tpm" "$_f"
	done
}

# ktest_violations N: imalog replay counts exactly N violations in the SHA-1 header list.
ktest_violations()
{
	imalog replay --json "$ima/binary_runtime_measurements" >"$KTEST_DIR/replay.json"
	cat "$KTEST_DIR/replay.json"
	[ "$(ktest_json_field "$KTEST_DIR/replay.json" violations)" = "$1" ]
}

# ---- helpers for the series-* scenarios (the patched kernel's export/delete interface) ----
# $S holds their files: pieces saved before deletions (piece.NNN), the concatenated log, ...
S=/tmp/series
mkdir -p "$S"

# series_banks: the TPM's PCR banks, comma-separated (sha1,sha256,...).
series_banks()
{
	ls -d "$tpm"/pcr-* | sed 's|.*/pcr-||' | tr '\n' ',' | sed 's/,$//'
}

# series_write FILE TEXT: one write(2) of TEXT (printf escapes) to FILE; dd reports the errno.
series_write()
{
	printf '%b' "$2" | dd of="$1" bs=4096 conv=notrunc 2>&1
}

# series_records FILE: the number of records in a binary list.
series_records()
{
	imalog replay --json "$1" >"$S/records.json" || return 1
	ktest_json_field "$S/records.json" records
}

# series_next_piece: the path for the next saved piece, in deletion order.
series_next_piece()
{
	sr_n=$(ls "$S" | grep -c '^piece\.')
	printf '%s/piece.%03d' "$S" $((sr_n + 1))
}

# series_delete_n: as an agent does: read the list through a file opened for reading and
# writing, save what was read as the next piece, and delete exactly those records.
series_delete_n()
{
	sr_p=$(series_next_piece)
	exec 3<>"$ima/binary_runtime_measurements"
	cat <&3 >"$sr_p"
	sr_n=$(series_records "$sr_p")
	echo "deleting $sr_n records"
	sr_rc=0
	printf '%s\n' "$sr_n" >&3 || sr_rc=$?
	exec 3>&-
	return $sr_rc
}

# series_delete_staged: stage everything with A, save the staged records, delete them with D.
series_delete_staged()
{
	sr_p=$(series_next_piece)
	exec 3<>"$ima/binary_runtime_measurements_staged"
	sr_rc=0
	printf 'A\n' >&3 || sr_rc=$?
	[ $sr_rc = 0 ] && cat <&3 >"$sr_p"
	echo "deleting $(series_records "$sr_p") staged records"
	[ $sr_rc = 0 ] && { printf 'D\n' >&3 || sr_rc=$?; }
	exec 3>&-
	return $sr_rc
}

# series_full: every saved piece, then the staged records, then the current list.
series_full()
{
	cat "$S"/piece.* "$ima/binary_runtime_measurements_staged" \
		"$ima/binary_runtime_measurements" >"$S/full"
	echo "$S/full: $(series_records "$S/full") records"
}

# series_verify_full: the saved pieces and the remaining list replay to the TPM's PCRs.
series_verify_full()
{
	series_full && imalog verify --pcrs "$tpm" "$S/full"
}

# series_pcrs DIR: copies of the TPM's PCR files in DIR (pcr-ALG/N). Read them before a list:
# the kernel appends a record before it extends the PCR, so the list may run ahead of PCRs read
# first, never behind (a file measured after the read, such as a chunk of a store on a measured
# file system, would otherwise be missing from the list).
series_pcrs()
{
	rm -rf "$1"
	for sp_bank in "$tpm"/pcr-*; do
		mkdir -p "$1/${sp_bank##*/}"
		for sp_n in $(seq 0 23); do
			cat "$sp_bank/$sp_n" >"$1/${sp_bank##*/}/$sp_n"
		done
	done
}

# series_verify_every_bank FILE [PCRS]: FILE replays to the TPM's PCRs (or those copied in the
# directory PCRS), in every bank the TPM has.
series_verify_every_bank()
{
	imalog verify --json --pcrs "${2:-$tpm}" "$1" >"$S/verify.json" || return 1
	cat "$S/verify.json"
	for sv_alg in $(series_banks | tr , ' '); do
		grep -q "\"$sv_alg\"" "$S/verify.json" || { echo "bank $sv_alg not verified"; return 1; }
	done
}

# series_check_aggregate: the newest snapshot_aggregate holds the deleted count and, for every
# PCR and bank, the value of an independent replay of all pieces saved so far.
series_check_aggregate()
{
	sr_line=$(grep ' snapshot_aggregate ' "$ima/ascii_runtime_measurements" | tail -n 1)
	[ -n "$sr_line" ] || { echo "no snapshot_aggregate record"; return 1; }
	printf '%s' "${sr_line##* }" | xxd -r -p >"$S/aggregate"
	echo "aggregate: $(cat "$S/aggregate")"
	cat "$S"/piece.* >"$S/deleted"
	imalog replay --banks "$(series_banks)" "$S/deleted" | sort >"$S/want"
	tr ';' '\n' <"$S/aggregate" |
		sed -n 's/^pcr\([0-9]*\)_\([a-z0-9]*\)=\([0-9a-f]*\)$/\1 \2 \3/p' | sort >"$S/got"
	diff "$S/want" "$S/got" || return 1
	sr_want=$(series_records "$S/deleted")
	sr_got=$(tr ';' '\n' <"$S/aggregate" | sed -n 's/^deleted=//p')
	echo "deleted: $sr_got in the record, $(cat "$ima/runtime_measurements_deleted") in securityfs, $sr_want saved"
	[ "$sr_got" = "$sr_want" ] && [ "$(cat "$ima/runtime_measurements_deleted")" = "$sr_want" ] || return 1
	sr_want=$(imalog show --format ascii "$S/deleted" | awk '$5 == "boot_aggregate" { b = $4 } END { print b }')
	sr_got=$(tr ';' '\n' <"$S/aggregate" | sed -n 's/^boot_aggregate=//p')
	echo "boot_aggregate: $sr_got in the record, $sr_want in the log"
	[ "$sr_got" = "$sr_want" ] && head -c 10 "$S/aggregate" | grep -qx 'version=1;'
}

# series_errno EXPECTED CMD...: CMD fails with the strerror text of EXPECTED (busybox sh and
# printf print it), and the list is unchanged: same count, same replay.
series_errno()
{
	sr_want=$1
	shift
	# Every program used here runs once first: the check must add no records of its own.
	imalog replay "$ima/binary_runtime_measurements" >/dev/null
	dd if=/dev/null of=/dev/null 2>/dev/null
	grep -q x /dev/null || cmp /dev/null /dev/null
	sr_count=$(cat "$ima/runtime_measurements_count")
	imalog replay "$ima/binary_runtime_measurements" >"$S/before"
	sr_rc=0
	( "$@" ) >"$S/err" 2>&1 || sr_rc=$?
	echo "exit $sr_rc: $(cat "$S/err")"
	[ $sr_rc != 0 ] && grep -q "$sr_want" "$S/err" || return 1
	imalog replay "$ima/binary_runtime_measurements" >"$S/after"
	echo "count before $sr_count, after $(cat "$ima/runtime_measurements_count")"
	[ "$(cat "$ima/runtime_measurements_count")" = "$sr_count" ] && cmp "$S/before" "$S/after"
}

# ---- imalogd in the guest: $D holds its configuration, log and pid, $STORE its store ----

# imalogd_config DELETE SAVE: a configuration that deletes once the kernel holds DELETE records
# and saves every SAVE new records (or every second), in every bank the TPM has.
imalogd_config()
{
	cat >"$D/imalogd.conf" <<CONF
store = $STORE
delete_records = $1
save_records = $2
save_seconds = 1
poll_seconds = 1
banks = $(series_banks)
CONF
}

# imalogd_wait: until the daemon started last has written its status after a first cycle (so
# that imalog snapshot finds it rather than running a cycle of its own).
imalogd_wait()
{
	for _ in $(seq 600); do
		tr -d ' \n' <"$STORE/status.json" 2>/dev/null |
			grep -q "\"pid\":$(cat "$D/imalogd.pid")," && return 0
		usleep 100000
	done
	echo "imalogd did not start: $(cat "$D/imalogd.log")"
	return 1
}
