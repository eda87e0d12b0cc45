# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series: a workload keeps adding measurements while deletions with N and with
#   A+D run; afterwards nothing is lost or duplicated: the pieces saved before each deletion and
#   the remaining list replay to the TPM, and every record measured is in exactly one place.
# cmdline: ima_hash=sha256
# expect-pcrs: 10 11
# timeout: 400

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
