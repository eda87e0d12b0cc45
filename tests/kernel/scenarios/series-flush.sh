# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series with the boot option ima_flush_htable: N is refused, A+D deletes and
#   frees the digests too, so a file read again after its record was deleted is measured again;
#   pieces plus the list still replay to the TPM and the aggregates match.
# cmdline: ima_policy=tcb ima_hash=sha256 ima_flush_htable
# timeout: 300

# --- series helpers: the same block in every series-*.sh scenario ---
S=/tmp/series
mkdir -p "$S"

# series_records FILE: the number of records in a binary list.
series_records()
{
	imalog replay --json "$1" >"$S/records.json" || return 1
	ktest_json_field "$S/records.json" records
}

# series_next_piece: the path for the next saved piece, in deletion order.
series_next_piece()
{
	_n=$(ls "$S" | grep -c '^piece\.')
	printf '%s/piece.%03d' "$S" $((_n + 1))
}

# series_delete_n: as an agent does: read the list through a file opened for reading and
# writing, save what was read as the next piece, and delete exactly those records.
series_delete_n()
{
	_p=$(series_next_piece)
	exec 3<>"$ima/binary_runtime_measurements"
	cat <&3 >"$_p"
	_n=$(series_records "$_p")
	echo "deleting $_n records"
	_rc=0
	printf '%s\n' "$_n" >&3 || _rc=$?
	exec 3>&-
	return $_rc
}

# series_delete_staged: stage everything with A, save the staged records, delete them with D.
series_delete_staged()
{
	_p=$(series_next_piece)
	exec 3<>"$ima/binary_runtime_measurements_staged"
	_rc=0
	printf 'A\n' >&3 || _rc=$?
	[ $_rc = 0 ] && cat <&3 >"$_p"
	echo "deleting $(series_records "$_p") staged records"
	[ $_rc = 0 ] && { printf 'D\n' >&3 || _rc=$?; }
	exec 3>&-
	return $_rc
}

# series_full: every saved piece followed by the current list.
series_full()
{
	cat "$S"/piece.* "$ima/binary_runtime_measurements" >"$S/full"
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
	_line=$(grep ' snapshot_aggregate ' "$ima/ascii_runtime_measurements" | tail -n 1)
	[ -n "$_line" ] || { echo "no snapshot_aggregate record"; return 1; }
	printf '%s' "${_line##* }" | xxd -r -p >"$S/aggregate"
	echo "aggregate: $(cat "$S/aggregate")"
	cat "$S"/piece.* >"$S/deleted"
	imalog replay --banks sha1,sha256 "$S/deleted" | sort >"$S/want"
	tr ';' '\n' <"$S/aggregate" |
		sed -n 's/^pcr\([0-9]*\)_\([a-z0-9]*\)=\([0-9a-f]*\)$/\1 \2 \3/p' | sort >"$S/got"
	diff "$S/want" "$S/got" || return 1
	_want=$(series_records "$S/deleted")
	_got=$(tr ';' '\n' <"$S/aggregate" | sed -n 's/^deleted=//p')
	echo "deleted: $_got in the record, $(cat "$ima/runtime_measurements_deleted") in securityfs, $_want saved"
	[ "$_got" = "$_want" ] && [ "$(cat "$ima/runtime_measurements_deleted")" = "$_want" ] || return 1
	_want=$(imalog show --format ascii "$S/deleted" | awk '$5 == "boot_aggregate" { b = $4 } END { print b }')
	_got=$(tr ';' '\n' <"$S/aggregate" | sed -n 's/^boot_aggregate=//p')
	echo "boot_aggregate: $_got in the record, $_want in the log"
	[ "$_got" = "$_want" ] && head -c 10 "$S/aggregate" | grep -qx 'version=1;'
}

# series_errno EXPECTED CMD...: CMD fails with the strerror text of EXPECTED (busybox sh and
# printf print it), and the list is unchanged: same count, same replay.
series_errno()
{
	_want=$1
	shift
	_count=$(cat "$ima/runtime_measurements_count")
	imalog replay "$ima/binary_runtime_measurements" >"$S/before"
	_rc=0
	( "$@" ) 2>"$S/err" || _rc=$?
	echo "exit $_rc: $(cat "$S/err")"
	[ $_rc != 0 ] && grep -q "$_want" "$S/err" || return 1
	imalog replay "$ima/binary_runtime_measurements" >"$S/after"
	echo "count before $_count, after $(cat "$ima/runtime_measurements_count")"
	[ "$(cat "$ima/runtime_measurements_count")" = "$_count" ] && cmp "$S/before" "$S/after"
}
# --- end of series helpers ---

# A new file with the same name and content each time: the same template digest, which the
# hash table would reject as a duplicate had it kept the digests of the deleted record.
read_file()
{
	mkdir -p /root/work
	rm -f /root/work/again
	echo "read twice" >/root/work/again
	cat /root/work/again >/dev/null
}

records_of_file()
{
	imalog show --format ascii "$S/full" | awk '$5 == "/root/work/again"' | wc -l
}

n_refused()
{
	printf '1\n' >"$ima/binary_runtime_measurements"
}

measured_twice()
{
	series_full
	echo "/root/work/again: $(records_of_file) records"
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
