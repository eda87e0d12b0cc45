# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series: deletions, then records left staged and current, then kexec
#   (kexec_file_load) into the same kernel; the next kernel carries the staged and current
#   records in order, the deleted count and the PCR values, so that the pieces plus its list
#   replay to the TPM and its first snapshot_aggregate continues the count.
# cmdline: ima_hash=sha256
# guest-bin: kexec
# guest-kernel: yes
# timeout: 400

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
