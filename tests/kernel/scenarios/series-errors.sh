# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series: bad writes to the measurement files (garbage, 0, negative, too
#   large, past ULONG_MAX, no newline, overlong, A when staged, D with nothing staged, the wrong
#   file, N while records are staged, no CAP_SYS_ADMIN, a second writer) each fail with their
#   documented errno and leave the list unchanged.
# cmdline: ima_policy=tcb ima_hash=sha256
# guest-bin: setpriv
# timeout: 300

orig=$ima/binary_runtime_measurements
staged=$ima/binary_runtime_measurements_staged

write_orig()
{
	series_write "$orig" "$1"
}

write_staged()
{
	series_write "$staged" "$1"
}

# Without CAP_SYS_ADMIN (root keeps CAP_DAC_OVERRIDE): the open fails.
write_without_cap()
{
	/usr/bin/setpriv --bounding-set -sys_admin --inh-caps -sys_admin sh -c "printf '1\n' >$orig"
}

# A second writer while a background process holds a measurement file open for writing; a
# reader is refused too, the holder itself may open another file for writing.
hold_writer()
{
	rm -f "$S/held"
	(
		exec 3<>"$ima/ascii_runtime_measurements_sha256"
		printf '1\n' >"$ima/binary_runtime_measurements_sha256" || exit 1
		: >"$S/held"
		sleep 8
	) &
	for _ in $(seq 50); do
		[ -e "$S/held" ] && return 0
		sleep 0.1
	done
	echo "the holder did not start"
	return 1
}

second_writer()
{
	printf '1\n' >"$orig"
}

reader_while_writer()
{
	cat "$orig" >/dev/null
}

writer_gone()
{
	wait
	imalog replay "$orig" >/dev/null && series_delete_n
}

# Setting up: every program the checks run once before they count, so that the checks add
# no records of their own.
warm_up()
{
	/usr/bin/setpriv --dump >/dev/null
	imalog replay "$orig" >/dev/null
	stat "$orig" >/dev/null
	xxd -p </dev/null
	diff /dev/null /dev/null
	cmp /dev/null /dev/null
	grep -c . /dev/null || true
	sleep 0
	tr a a </dev/null
	sed -n p /dev/null
	awk 'END { }' /dev/null
	sort /dev/null
	ls "$S" >/dev/null
	head -c 1 /dev/null
	seq 1 >/dev/null
	dd if=/dev/null of=/dev/null 2>/dev/null
	printf x | dd of=/dev/null 2>/dev/null
	imalog show --format ascii "$orig" >/dev/null
}

ktest_check warm-up warm_up
count=$(cat "$ima/runtime_measurements_count")
ktest_check garbage series_errno 'Invalid argument' write_orig 'abc\n'
ktest_check zero series_errno 'Invalid argument' write_orig '0\n'
ktest_check negative series_errno 'Invalid argument' write_orig '-1\n'
ktest_check plus-garbage series_errno 'Invalid argument' write_orig '1x\n'
ktest_check larger-than-list series_errno 'No such file or directory' write_orig "$((count + 1000))\\n"
ktest_check ulong-max series_errno 'No such file or directory' write_orig '18446744073709551615\n'
ktest_check past-ulong-max series_errno 'Numerical result out of range' write_orig '18446744073709551616\n'
ktest_check no-newline series_errno 'Invalid argument' write_orig '1'
ktest_check empty-line series_errno 'Invalid argument' write_orig '\n'
ktest_check overlong series_errno 'Invalid argument' write_orig '0000000000000000000001\n'
ktest_check a-on-original series_errno 'Invalid argument' write_orig 'A\n'
ktest_check d-on-original series_errno 'Invalid argument' write_orig 'D\n'
ktest_check n-on-staged series_errno 'Invalid argument' write_staged '1\n'
ktest_check d-nothing-staged series_errno 'No such file or directory' write_staged 'D\n'
ktest_check a-trailing series_errno 'Invalid argument' write_staged 'AA\n'
ktest_check no-cap-sys-admin series_errno 'Operation not permitted' write_without_cap
ktest_check stage write_staged 'A\n'
ktest_check a-when-staged series_errno 'File exists' write_staged 'A\n'
ktest_check n-while-staged series_errno 'File exists' write_orig '1\n'
ktest_check delete-staged write_staged 'D\n'
ktest_check hold-writer hold_writer
ktest_check second-writer series_errno 'Device or resource busy' second_writer
ktest_check reader-while-writer series_errno 'Device or resource busy' reader_while_writer
ktest_check writer-gone writer_gone
