# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series: bad writes to the measurement files (garbage, 0, negative, too
#   large, past ULONG_MAX, no newline, overlong, A when staged, D with nothing staged, the wrong
#   file, N while records are staged, no CAP_SYS_ADMIN, a second writer) each fail with their
#   documented errno and leave the list unchanged.
# cmdline: ima_policy=tcb ima_hash=sha256
# guest-bin: setpriv
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

orig=$ima/binary_runtime_measurements
staged=$ima/binary_runtime_measurements_staged

write_orig()
{
	series_write "$orig" "$1"
}

write_staged()
{
	series_write "$staged" "$1"
}

# Without CAP_SYS_ADMIN (root keeps CAP_DAC_OVERRIDE): the open fails.
write_without_cap()
{
	/usr/bin/setpriv --bounding-set -sys_admin --inh-caps -sys_admin sh -c "printf '1\n' >$orig"
}

# A second writer while a background process holds a measurement file open for writing; a
# reader is refused too, the holder itself may open another file for writing.
hold_writer()
{
	rm -f "$S/held"
	(
		exec 3<>"$ima/ascii_runtime_measurements_sha256"
		printf '1\n' >"$ima/binary_runtime_measurements_sha256" || exit 1
		: >"$S/held"
		sleep 8
	) &
	for _ in $(seq 50); do
		[ -e "$S/held" ] && return 0
		sleep 0.1
	done
	echo "the holder did not start"
	return 1
}

second_writer()
{
	printf '1\n' >"$orig"
}

reader_while_writer()
{
	cat "$orig" >/dev/null
}

writer_gone()
{
	wait
	imalog replay "$orig" >/dev/null && series_delete_n
}

# Setting up: every program the checks run once before they count, so that the checks add
# no records of their own.
warm_up()
{
	/usr/bin/setpriv --dump >/dev/null
	imalog replay "$orig" >/dev/null
	stat "$orig" >/dev/null
	xxd -p </dev/null
	diff /dev/null /dev/null
	cmp /dev/null /dev/null
	grep -c . /dev/null || true
	sleep 0
	tr a a </dev/null
	sed -n p /dev/null
	awk 'END { }' /dev/null
	sort /dev/null
	ls "$S" >/dev/null
	head -c 1 /dev/null
	seq 1 >/dev/null
	dd if=/dev/null of=/dev/null 2>/dev/null
	printf x | dd of=/dev/null 2>/dev/null
	imalog show --format ascii "$orig" >/dev/null
}

ktest_check warm-up warm_up
count=$(cat "$ima/runtime_measurements_count")
ktest_check garbage series_errno 'Invalid argument' write_orig 'abc\n'
ktest_check zero series_errno 'Invalid argument' write_orig '0\n'
ktest_check negative series_errno 'Invalid argument' write_orig '-1\n'
ktest_check plus-garbage series_errno 'Invalid argument' write_orig '1x\n'
ktest_check larger-than-list series_errno 'No such file or directory' write_orig "$((count + 1000))\\n"
ktest_check ulong-max series_errno 'No such file or directory' write_orig '18446744073709551615\n'
ktest_check past-ulong-max series_errno 'Numerical result out of range' write_orig '18446744073709551616\n'
ktest_check no-newline series_errno 'Invalid argument' write_orig '1'
ktest_check empty-line series_errno 'Invalid argument' write_orig '\n'
ktest_check overlong series_errno 'Invalid argument' write_orig '0000000000000000000001\n'
ktest_check a-on-original series_errno 'Invalid argument' write_orig 'A\n'
ktest_check d-on-original series_errno 'Invalid argument' write_orig 'D\n'
ktest_check n-on-staged series_errno 'Invalid argument' write_staged '1\n'
ktest_check d-nothing-staged series_errno 'No such file or directory' write_staged 'D\n'
ktest_check a-trailing series_errno 'Invalid argument' write_staged 'AA\n'
ktest_check no-cap-sys-admin series_errno 'Operation not permitted' write_without_cap
ktest_check stage write_staged 'A\n'
ktest_check a-when-staged series_errno 'File exists' write_staged 'A\n'
ktest_check n-while-staged series_errno 'File exists' write_orig '1\n'
ktest_check delete-staged write_staged 'D\n'
ktest_check hold-writer hold_writer
ktest_check second-writer series_errno 'Device or resource busy' second_writer
ktest_check reader-while-writer series_errno 'Device or resource busy' reader_while_writer
ktest_check writer-gone writer_gone
