# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: the built-in tcb policy with SHA-256 file hashes and a workload of a few hundred
#   programs and files on the ramfs root; every list verified against PCR 10, sha1 and sha256.
# cmdline: ima_policy=tcb ima_hash=sha256
# expect-pcrs: 10
# expect-violations: no

# 200 distinct scripts run and 200 distinct files read as root (each one record under tcb),
# then 20 of the files changed and read again (a changed file is measured again).
workload()
{
	mkdir -p /root/measured/bin /root/measured/data
	for i in $(seq 200); do
		printf '#!/bin/sh\nexit 0 # %s\n' "$i" >/root/measured/bin/prog"$i"
		chmod 0755 /root/measured/bin/prog"$i"
		echo "data file $i" >/root/measured/data/file"$i"
	done
	for i in $(seq 200); do
		/root/measured/bin/prog"$i"
		cat /root/measured/data/file"$i" >/dev/null
	done
	for i in $(seq 20); do
		echo "changed" >>/root/measured/data/file"$i"
		cat /root/measured/data/file"$i" >/dev/null
	done
}

# At least the 420 workload records, counted without imalog.
enough_records()
{
	n=$(wc -l <"$ima/ascii_runtime_measurements")
	echo "$n records"
	[ "$n" -ge 420 ]
}

ktest_check banks test -d "$tpm/pcr-sha1" -a -d "$tpm/pcr-sha256"
ktest_check workload workload
ktest_check records enough_records
ktest_verify_lists
ktest_check no-violations ktest_violations 0
ktest_check snapshot ktest_snapshot ima
