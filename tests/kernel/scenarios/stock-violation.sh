# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: provoke an open-writers and a ToMToU violation under the tcb policy; the list holds
#   them (all-zero digests, extended into the PCRs as all 0xFF) and still verifies.
# cmdline: ima_policy=tcb ima_hash=sha256
# expect-pcrs: 10
# expect-violations: yes

# open-writers: root reads (a measured read under tcb) a file that is open for writing.
open_writers()
{
	echo "written" >/root/open-writers
	exec 3>>/root/open-writers
	cat /root/open-writers >/dev/null
	exec 3>&-
}

# ToMToU (time of measure, time of use): a measured file still open for reading is opened for
# writing.
tomtou()
{
	echo "read" >/root/tomtou
	exec 4</root/tomtou
	exec 5>>/root/tomtou
	exec 5>&- 4<&-
}

# The violation records, counted without imalog: all-zero template digests in the ASCII list.
zero_digests()
{
	n=$(grep -c '^10 0000000000000000000000000000000000000000 ' "$ima/ascii_runtime_measurements")
	echo "$n violation records"
	[ "$n" -eq 2 ]
}

ktest_check open-writers open_writers
ktest_check tomtou tomtou
ktest_check zero-digests zero_digests
ktest_check violations ktest_violations 2
ktest_verify_lists
ktest_check snapshot ktest_snapshot ima
