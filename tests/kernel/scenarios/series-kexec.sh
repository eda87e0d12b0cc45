# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series: deletions, then records left staged and current, then kexec
#   (kexec_file_load) into the same kernel; the next kernel carries the staged and current
#   records in order, the deleted count and the PCR values, so that the pieces plus its list
#   replay to the TPM and its first snapshot_aggregate continues the count.
# cmdline: ima_hash=sha256
# guest-bin: kexec
# guest-kernel: yes
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

carry=/carry

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

workload()
{
	mkdir -p /root/measured
	for i in $(seq "$2"); do
		echo "data $1 $i" >"/root/measured/$1-file$i"
		cat "/root/measured/$1-file$i" >/dev/null
	done
}

stage_only()
{
	printf 'A\n' >"$ima/binary_runtime_measurements_staged"
}

# The root file system (ramfs) with the saved pieces and the results so far, as the next
# kernel's initramfs; then load this kernel with kexec_file_load (-s).
load_next_kernel()
{
	rm -rf "$carry"
	mkdir -p "$carry"
	cp "$S"/piece.* "$carry/"
	cat "$ima/runtime_measurements_deleted" >"$carry/deleted"
	cp "$KTEST_DIR/results" "$carry/results"
	(cd / && find . -xdev | cpio -o -H newc) | gzip -1 >/tmp/next-initrd.gz
	kexec -s -l /boot/bzImage --initrd=/tmp/next-initrd.gz \
		--append="$(cat /proc/cmdline) ktest.stage=2"
}

carried_count()
{
	echo "deleted: $(cat "$ima/runtime_measurements_deleted") here, $(cat "$carry/deleted") before kexec"
	[ "$(cat "$ima/runtime_measurements_deleted")" = "$(cat "$carry/deleted")" ]
}

staging_aborted()
{
	[ ! -s "$ima/binary_runtime_measurements_staged" ]
}

# The carried records come first, in the order they had: staged ones, then the current ones.
carried_order()
{
	imalog show --format ascii "$ima/binary_runtime_measurements" |
		awk '$5 ~ "^/root/measured/" { print $5 }' >"$S/order"
	cat "$S/order"
	sed 's|.*/||' "$S/order" | tr '\n' ' ' | grep -q '^k1-file1 k1-file2 k1-file3 k1-file4 k1-file5 k2-file1 k2-file2 k2-file3 $'
}

if grep -q 'ktest.stage=2' /proc/cmdline; then
	# Results and pieces of the first kernel. The results were packed before the check
	# load-next-kernel ended; it passed (else no second kernel) and its line is on the console.
	cat "$carry/results" >>"$KTEST_DIR/results"
	echo "PASS load-next-kernel" >>"$KTEST_DIR/results"
	cp "$carry"/piece.* "$S/"
	ktest_check after-kexec-count carried_count
	ktest_check after-kexec-staging-aborted staging_aborted
	ktest_check after-kexec-order carried_order
	ktest_check after-kexec-full series_verify_full
	ktest_check after-kexec-load-policy load_policy
	ktest_check after-kexec-workload workload k3 5
	ktest_check after-kexec-delete-n series_delete_n
	ktest_check after-kexec-aggregate series_check_aggregate
	ktest_check after-kexec-full-end series_verify_full
else
	ktest_check load-policy load_policy
	ktest_check workload-1 workload w1 10
	ktest_check delete-n series_delete_n
	ktest_check aggregate-n series_check_aggregate
	ktest_check workload-2 workload w2 10
	ktest_check delete-staged series_delete_staged
	ktest_check aggregate-staged series_check_aggregate
	ktest_check workload-k1 workload k1 5
	ktest_check stage-only stage_only
	ktest_check workload-k2 workload k2 3
	ktest_check full-before-kexec series_verify_full
	ktest_check load-next-kernel load_next_kernel
	echo "ktest: kexec into the same kernel"
	kexec -e
	ktest_result FAIL kexec-execute
fi
