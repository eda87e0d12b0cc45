# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: figures for docs/performance.md, with kernel/perf/time-deletions.patch applied:
#   list mutex hold per deletion (N = 1,000, 10,000, 100,000), memory freed per record, the
#   snapshot_aggregate replay over 100,000 records; with ima_flush_htable, A+D of 100,000.
# cmdline: ima_hash=sha256
# timeout: 3000

load_policy()
{
	printf '%s\n' 'dont_measure fsmagic=0x9fa0' 'dont_measure fsmagic=0x62656572' \
		'dont_measure fsmagic=0x01021994' 'dont_measure fsmagic=0x73636673' \
		'measure func=FILE_CHECK mask=MAY_READ euid=0 pcr=10' >"$ima/policy"
}
# make COUNT new records: files created, read in bulk and removed, 1000 at a time (a ramfs
# file holds a page: 100,000 files at once would not fit)
records()
{
	d=/root/p$1
	t0=$(date +%s)
	i=0
	while [ $i -lt "$2" ]; do
		mkdir -p "$d"
		j=0
		while [ $j -lt 1000 ] && [ $i -lt "$2" ]; do
			i=$((i + 1))
			j=$((j + 1))
			echo "$1 $i" >"$d/f$i"
		done
		find "$d" -type f | xargs cat >/dev/null
		rm -rf "$d"
	done
	echo "perf: $2 records in $(( $(date +%s) - t0 )) s, list now $(cat $ima/runtime_measurements_count)"
}
mem()
{
	grep -E '^(MemFree|Slab|SUnreclaim):' /proc/meminfo | tr -s ' ' | tr '\n' ' '
	echo
}
delete_n()
{
	echo "perf: before N=$1: $(mem)"
	printf '%s\n' "$1" | dd of="$ima/binary_runtime_measurements" bs=64 conv=notrunc 2>&1 | head -1
	echo "perf: after N=$1: $(mem)"
	dmesg | grep 'perf:' | tail -n 1
}
delete_all()
{
	echo "perf: before A+D of $(cat $ima/runtime_measurements_count): $(mem)"
	printf 'A\n' | dd of="$ima/binary_runtime_measurements_staged" bs=64 conv=notrunc 2>/dev/null
	printf 'D\n' | dd of="$ima/binary_runtime_measurements_staged" bs=64 conv=notrunc 2>&1 | head -1
	echo "perf: after A+D: $(mem)"
	dmesg | grep 'perf:' | tail -n 1
}
PN=$(sed -n 's/.*perf\.n=\([0-9]*\).*/\1/p' /proc/cmdline)
load_policy
# Warm-up: the first run of the deletion code includes its translation by QEMU (TCG).
records w 20
delete_all
records x 20
delete_n 20
if grep -q ima_flush_htable /proc/cmdline; then
	records a "${PN:-100000}"
	delete_all
	records b 1000
	delete_all
else
	records a "${PN:-112000}"
	delete_n $((PN / 112))
	delete_n $((PN * 10 / 112))
	delete_n $((PN * 100 / 112))
	delete_all
fi
ktest_result PASS perf
