# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: no built-in policy; a policy written to securityfs measures executed programs into
#   PCR 11 and files read by root into PCR 10; both PCRs verified in both banks.
# cmdline: ima_hash=sha256
# expect-pcrs: 10 11
# expect-violations: no

# The pseudo file systems are left out as the tcb policy does (fsmagic values from
# include/uapi/linux/magic.h): proc, sysfs, debugfs, tmpfs, securityfs, devpts.
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
measure func=MMAP_CHECK mask=MAY_EXEC pcr=11
measure func=FILE_CHECK mask=MAY_READ euid=0 pcr=10
POLICY
	cat /tmp/policy >"$ima/policy"
	cat "$ima/policy"
	grep -q 'func=BPRM_CHECK.*pcr=11' "$ima/policy"
}

# 50 scripts run (PCR 11) and 50 files read (PCR 10).
workload()
{
	mkdir -p /root/measured
	for i in $(seq 50); do
		printf '#!/bin/sh\nexit 0 # %s\n' "$i" >/root/measured/prog"$i"
		chmod 0755 /root/measured/prog"$i"
		echo "data file $i" >/root/measured/file"$i"
	done
	for i in $(seq 50); do
		/root/measured/prog"$i"
		cat /root/measured/file"$i" >/dev/null
	done
}

# records_in PCR MIN: at least MIN records in PCR, counted without imalog.
records_in()
{
	n=$(grep -c "^$1 " "$ima/ascii_runtime_measurements")
	echo "$n records in PCR $1"
	[ "$n" -ge "$2" ]
}

ktest_check load-policy load_policy
ktest_check workload workload
ktest_check records-pcr10 records_in 10 50
ktest_check records-pcr11 records_in 11 50
ktest_verify_lists
ktest_check snapshot ktest_snapshot ima
