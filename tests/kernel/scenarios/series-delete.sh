# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series: deletions with N and with A+D on a log with violations and records in
#   PCRs 10 and 11; after each, the saved pieces plus the remaining list replay to the TPM in
#   every bank, and the snapshot_aggregate equals an independent replay at its cut.
# cmdline: ima_hash=sha256
# expect-pcrs: 10 11
# expect-violations: yes
# timeout: 300

# --- series helpers: the same block in every series-*.sh scenario ---
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
# --- end of series helpers ---

load_policy()
{
	cat >/tmp/policy <<'POLICY'
dont_measure fsmagic=0x9fa0
dont_measure fsmagic=0x62656572
dont_measure fsmagic=0x64626720
dont_measure fsmagic=0x1021994
dont_measure fsmagic=0x73636673
dont_measure fsmagic=0x1cd1
measure func=BPRM_CHECK mask=MAY_EXEC pcr=11
measure func=FILE_CHECK mask=MAY_READ euid=0 pcr=10
POLICY
	cat /tmp/policy >"$ima/policy"
}

# COUNT scripts run (PCR 11) and COUNT files read (PCR 10), names starting with TAG.
workload()
{
	mkdir -p /root/measured
	for i in $(seq "$2"); do
		printf '#!/bin/sh\nexit 0 # %s %s\n' "$1" "$i" >"/root/measured/$1-prog$i"
		chmod 0755 "/root/measured/$1-prog$i"
		echo "data $1 $i" >"/root/measured/$1-file$i"
		"/root/measured/$1-prog$i"
		cat "/root/measured/$1-file$i" >/dev/null
	done
}

# A file open for writing while it is read: a ToMToU violation.
violation()
{
	echo "violation $1" >"/root/measured/viol-$1"
	exec 4>>"/root/measured/viol-$1"
	cat "/root/measured/viol-$1" >/dev/null
	exec 4>&-
	grep -c ' 0000000000000000000000000000000000000000 ' "$ima/ascii_runtime_measurements"
}

interface_files()
{
	for f in binary_runtime_measurements_sha1_staged binary_runtime_measurements_sha256_staged \
		ascii_runtime_measurements_sha1_staged ascii_runtime_measurements_sha256_staged \
		binary_runtime_measurements_staged ascii_runtime_measurements_staged \
		runtime_measurements_deleted; do
		[ -e "$ima/$f" ] || { echo "missing $f"; return 1; }
	done
	ls -l "$ima" | grep runtime_measurements
	[ "$(stat -L -c %a "$ima/binary_runtime_measurements_sha256")" = 660 ] &&
		[ "$(stat -L -c %a "$ima/binary_runtime_measurements_sha256_staged")" = 660 ] &&
		[ "$(stat -c %a "$ima/runtime_measurements_deleted")" = 440 ] &&
		[ "$(cat "$ima/runtime_measurements_deleted")" = 0 ]
}

no_aggregate_yet()
{
	! grep -q ' snapshot_aggregate ' "$ima/ascii_runtime_measurements"
}

ktest_check interface-files interface_files
ktest_check no-aggregate-before-deleting no_aggregate_yet
ktest_check load-policy load_policy
ktest_check workload-1 workload w1 20
ktest_check violation-1 violation 1
ktest_check delete-n-1 series_delete_n
ktest_check aggregate-n-1 series_check_aggregate
ktest_check full-n-1 series_verify_full
ktest_check workload-2 workload w2 20
ktest_check violation-2 violation 2
ktest_check delete-staged-1 series_delete_staged
ktest_check aggregate-staged-1 series_check_aggregate
ktest_check full-staged-1 series_verify_full
ktest_check workload-3 workload w3 10
ktest_check delete-n-2 series_delete_n
ktest_check aggregate-n-2 series_check_aggregate
ktest_check workload-4 workload w4 10
ktest_check delete-staged-2 series_delete_staged
ktest_check aggregate-staged-2 series_check_aggregate
ktest_check workload-5 workload w5 5
ktest_check full-end series_verify_full
ktest_export "$S"/piece.*
