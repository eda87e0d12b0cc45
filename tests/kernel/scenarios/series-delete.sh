# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series: deletions with N and with A+D on a log with violations and records in
#   PCRs 10 and 11; after each, the saved pieces plus the remaining list replay to the TPM in
#   every bank, and the snapshot_aggregate equals an independent replay at its cut.
# cmdline: ima_hash=sha256
# expect-pcrs: 10 11
# expect-violations: yes
# timeout: 300

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
