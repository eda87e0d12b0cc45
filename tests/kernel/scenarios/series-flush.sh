# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series with the boot option ima_flush_htable: N is refused, A+D deletes and
#   frees the digests too, so a file read again after its record was deleted is measured again;
#   pieces plus the list still replay to the TPM and the aggregates match.
# cmdline: ima_policy=tcb ima_hash=sha256 ima_flush_htable
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

# A new file with the same name and content each time: the same template digest, which the
# hash table would reject as a duplicate had it kept the digests of the deleted record.
read_file()
{
	mkdir -p /root/measured
	rm -f /root/measured/again
	echo "read twice" >/root/measured/again
	cat /root/measured/again >/dev/null
}

records_of_file()
{
	imalog show --format ascii "$S/full" | awk '$5 == "/root/measured/again"' | wc -l
}

n_refused()
{
	series_write "$ima/binary_runtime_measurements" '1\n'
}

measured_twice()
{
	series_full
	echo "/root/measured/again: $(records_of_file) records"
	[ "$(records_of_file)" = 2 ]
}

ktest_check read-once read_file
ktest_check n-refused series_errno 'Invalid argument' n_refused
ktest_check delete-staged-1 series_delete_staged
ktest_check aggregate-1 series_check_aggregate
ktest_check read-again read_file
ktest_check measured-twice measured_twice
ktest_check delete-staged-2 series_delete_staged
ktest_check aggregate-2 series_check_aggregate
ktest_check full series_verify_full
