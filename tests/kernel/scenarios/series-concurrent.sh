# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series: a workload keeps adding measurements while deletions with N and with
#   A+D run; afterwards nothing is lost or duplicated: the pieces saved before each deletion and
#   the remaining list replay to the TPM, and every record measured is in exactly one place.
# cmdline: ima_hash=sha256
# expect-pcrs: 10 11
# timeout: 400

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

# Reads new files (each a new record) until /tmp/stop exists; counts them in /tmp/made.
workload()
{
	mkdir -p /root/load
	i=0
	while [ ! -e /tmp/stop ]; do
		i=$((i + 1))
		echo "load $i" >"/root/load/f$i"
		cat "/root/load/f$i" >/dev/null
		echo "$i" >/tmp/made
	done
}

start_workload()
{
	rm -f /tmp/stop /tmp/made
	workload &
	echo $! >/tmp/workload.pid
	sleep 1
	[ -s /tmp/made ]
}

stop_workload()
{
	: >/tmp/stop
	wait "$(cat /tmp/workload.pid)"
	echo "workload read $(cat /tmp/made) files"
}

deletions()
{
	for round in 1 2 3 4 5 6; do
		if [ $((round % 2)) = 1 ]; then
			series_delete_n || return 1
		else
			series_delete_staged || return 1
		fi
		sleep 1
	done
}

# Every file the workload read is measured exactly once in pieces and list together.
each_file_once()
{
	series_full
	imalog show --format ascii "$S/full" | awk '$5 ~ "^/root/load/f" { print $5 }' | sort >"$S/names"
	echo "$(wc -l <"$S/names") records of $(cat /tmp/made) files read"
	[ "$(wc -l <"$S/names")" = "$(cat /tmp/made)" ] &&
		[ "$(sort -u "$S/names" | wc -l)" = "$(cat /tmp/made)" ]
}

# The records of the list plus the deleted ones are all the records measured since boot.
counts_add_up()
{
	series_full
	deleted=$(cat "$ima/runtime_measurements_deleted")
	current=$(cat "$ima/runtime_measurements_count")
	echo "deleted $deleted + current $current, saved $(series_records "$S/full")"
	[ $((deleted + current)) = "$(series_records "$S/full")" ]
}

ktest_check load-policy load_policy
ktest_check start-workload start_workload
ktest_check deletions deletions
ktest_check stop-workload stop_workload
ktest_check aggregate-last series_check_aggregate
ktest_check full series_verify_full
ktest_check each-file-once each_file_once
ktest_check counts-add-up counts_add_up
