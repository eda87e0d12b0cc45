# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series with imalogd across kexec. Stage 1: the daemon saves and deletes under
#   a workload; imalog snapshot saves and deletes everything, a few records measured after it
#   are carried. Stage 2: imalogd continues the same log (a new boot id in boots), the carried
#   list starts at the store's end, nothing is stored twice, the whole log replays to the TPM
#   in every bank and verifies; records deleted unsaved are reported as a gap with their range,
#   and imalog verify --store fails naming it; then a load with a tiny list and 150 records
#   measured after it, more than the kexec segment holds. Stage 3: imalogd reports the records
#   the kexec lost and goes on saving.
# cmdline: ima_policy=tcb ima_hash=sha256
# guest-bin: kexec
# guest-kernel: yes
# timeout: 600

carry=/carry
STORE=$carry/store
D=/tmp/daemon
mkdir -p "$D" "$carry" /root/w

start_daemon()
{
	imalogd --config "$D/imalogd.conf" >>"$D/imalogd.log" 2>&1 &
	echo $! >"$D/imalogd.pid"
	imalogd_wait
}

stop_daemon()
{
	kill -TERM "$(cat "$D/imalogd.pid")" 2>/dev/null || true
	wait "$(cat "$D/imalogd.pid")" 2>/dev/null || true
	cat "$D/imalogd.log"
}

# workload TAG N: N files read by root, one record each, named /root/w/TAG-N.
workload()
{
	for i in $(seq "$2"); do
		echo "data $1 $i" >"/root/w/$1-$i"
		cat "/root/w/$1-$i" >/dev/null
	done
}

# The log being written: the directory a chunk was added to last.
logdir() { ls -td "$STORE"/logs/* | head -n 1; }
deleted() { cat "$ima/runtime_measurements_deleted"; }
# store_end: the index after the last stored record (the newest manifest's first + count).
store_end()
{
	se_m=$(ls "$(logdir)"/*.manifest | tail -n 1)
	echo $(($(ktest_json_field "$se_m" first) + $(ktest_json_field "$se_m" count)))
}

# The pre-kexec save: no daemon running (as at the shutdown point the unit runs), imalog
# snapshot saves and deletes everything, whatever the threshold.
pre_kexec_save()
{
	stop_daemon >/dev/null
	imalog snapshot --store "$STORE" || return 1
	echo "store end $(store_end), kernel deleted count $(deleted)"
	store_end >"$carry/saved-end"
	[ "$(store_end)" = "$(deleted)" ]
}

# The whole log (the store, then the kernel's list) replays to the TPM in every bank. The store
# is on the measured root file system: reading its chunks adds records, so the PCRs come first.
whole_log_verifies()
{
	series_pcrs "$D/tpm"
	imalog log --store "$STORE" --from 0 >"$D/full" && series_verify_every_bank "$D/full" "$D/tpm"
}

at_start()
{
	series_pcrs "$D/tpm"
	imalog verify --pcrs "$D/tpm" "$ima/binary_runtime_measurements"
}

# load_next_kernel STAGE: the root file system (the store, the results so far) as the next
# kernel's initrd, loaded with kexec_file_load (-s), which carries the measurement list.
load_next_kernel()
{
	cp "$KTEST_DIR/results" "$carry/results"
	(cd / && find . -xdev | cpio -o -H newc) | gzip -1 >/tmp/next-initrd.gz
	kexec -s -l /boot/bzImage --initrd=/tmp/next-initrd.gz \
		--append="$(sed 's/ ktest.stage=[0-9]*//' /proc/cmdline) ktest.stage=$1"
}

# Load with a tiny list (the gap's deletion left the kernel almost nothing): the segment holds
# it and half a page more; then measure far more than that before the jump.
lossy_load()
{
	stop_daemon >/dev/null
	echo "the kernel holds $(cat "$ima/runtime_measurements_count") records at the load"
	load_next_kernel 3 || return 1
	workload late 150
}

saving_goes_on()
{
	for _ in $(seq 100); do
		grep "saved records up to" "$D/imalogd.log" && return 0
		usleep 100000
	done
	return 1
}

# The next kernel's imalogd says records were lost, before the boot_aggregate of this boot.
loss_reported()
{
	cat "$D/imalogd.log"
	n=$(imalog log --store "$STORE" --from 0 --format ascii |
		awk '$5 == "boot_aggregate" { n = NR - 1 } END { print n }')
	echo "this boot's boot_aggregate: record $n (counting from 0 in the whole log)"
	grep -F "records measured before record" "$D/imalogd.log" | grep -F "(a kexec that did not carry"
}

# The carried list starts where the store ended at the save, and is short.
carried_from_save()
{
	n=$(imalog show "$ima/binary_runtime_measurements" | wc -l)
	echo "deleted count $(deleted), store end at save $(cat "$carry/saved-end"), kernel holds $n"
	echo "before kexec -e: $(cat "$carry/pre-exec")"
	[ "$(deleted)" = "$(cat "$carry/saved-end")" ] && [ "$n" -lt 400 ]
}

same_log_two_boots()
{
	cat "$(logdir)/boots"
	[ "$(ls "$STORE/logs" | wc -l)" = 1 ] && [ "$(wc -l <"$(logdir)/boots")" = 2 ]
}

# Every workload file exactly once in the whole log; chunks contiguous (imalog verify --store
# checks the chain); the whole log replays to the TPM in every bank.
whole_log()
{
	imalog log --store "$STORE" --from 0 >"$D/full" || return 1
	imalog show --format ascii "$D/full" | awk '$5 ~ "^/root/w/" { print $5 }' |
		sort | uniq -c | awk '$1 != 1 { print "twice or more: " $0; bad = 1 } END { exit bad }' ||
		return 1
	imalog show --format ascii "$D/full" | awk '$5 ~ "^/root/w/" { print $5 }' >"$D/names"
	for t in w1-40 k1-5 k2-5; do
		grep -qx "/root/w/$t" "$D/names" || { echo "/root/w/$t missing"; return 1; }
	done
	whole_log_verifies
}

verify_store()
{
	series_pcrs "$D/tpm"
	imalog verify --store "$STORE" --pcrs "$D/tpm"
}

# Another agent deletes records imalogd did not save; the restarted daemon names the range.
provoke_gap()
{
	stop_daemon >/dev/null
	workload g 10
	gap_from=$(store_end)
	n=$(imalog show "$ima/binary_runtime_measurements" | wc -l)
	printf '%s\n' "$n" >"$ima/binary_runtime_measurements" || return 1
	gap_to=$(($(deleted) - 1))
	echo "$gap_from $gap_to" >"$D/gap-range"
	echo "records $gap_from..$gap_to were deleted from the kernel without being saved" >"$D/gap"
	cat "$D/gap"
	: >"$D/imalogd.log"
	start_daemon
	sleep 3
	grep -F "$(cat "$D/gap")" "$D/imalogd.log"
}

# imalog verify --store fails, naming the range the gap covers.
verify_names_gap()
{
	read -r gap_from gap_to <"$D/gap-range"
	series_pcrs "$D/tpm"
	! imalog verify --store "$STORE" --pcrs "$D/tpm" >"$D/verify.out" 2>&1 || return 1
	cat "$D/verify.out"
	grep -F "records $gap_from..$gap_to are missing" "$D/verify.out"
}

imalogd_config 50 10
if grep -q 'ktest.stage=3' /proc/cmdline; then
	cat "$carry/results" >>"$KTEST_DIR/results"
	echo "PASS lossy-load" >>"$KTEST_DIR/results"
	ktest_check lost-daemon start_daemon
	ktest_check lost-reported loss_reported
	ktest_check lost-saving-goes-on saving_goes_on
	stop_daemon >/dev/null
elif grep -q 'ktest.stage=2' /proc/cmdline; then
	cat "$carry/results" >>"$KTEST_DIR/results"
	echo "PASS load-next-kernel" >>"$KTEST_DIR/results"
	ktest_check after-kexec-carried-from-save carried_from_save
	ktest_check after-kexec-daemon start_daemon
	ktest_check after-kexec-workload workload k2 5
	ktest_check after-kexec-snapshot imalog snapshot --store "$STORE"
	ktest_check after-kexec-same-log same_log_two_boots
	ktest_check after-kexec-no-loss-reported sh -c "! grep 'were lost\|gap' $D/imalogd.log"
	ktest_check after-kexec-whole-log whole_log
	ktest_check after-kexec-verify-store verify_store
	ktest_check gap-reported provoke_gap
	ktest_check gap-verify-fails verify_names_gap
	ktest_check lossy-load lossy_load
	echo "ktest: kexec into the same kernel, past the segment's room"
	kexec -e
	ktest_result FAIL kexec-execute-lossy
else
	ktest_check at-start at_start
	ktest_check daemon-start start_daemon
	ktest_check workload-w1 workload w1 40
	ktest_check pre-kexec-save pre_kexec_save
	ktest_check workload-k1 workload k1 5
	ktest_check whole-before-load whole_log_verifies
	ktest_check load-next-kernel load_next_kernel 2
	echo "ktest: kexec into the same kernel"
	echo "deleted $(deleted), current $(cat "$ima/runtime_measurements_count")" >"$carry/pre-exec"
	kexec -e
	ktest_result FAIL kexec-execute
fi
