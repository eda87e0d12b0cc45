# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series with the boot option ima_flush_htable: N is refused, A+D deletes and
#   frees the digests too, so a file read again after its record was deleted is measured again;
#   pieces plus the list still replay to the TPM and the aggregates match.
# cmdline: ima_policy=tcb ima_hash=sha256 ima_flush_htable
# timeout: 300

# A new file with the same name and content each time: the same template digest, which the
# hash table would reject as a duplicate had it kept the digests of the deleted record.
read_file()
{
	mkdir -p /root/measured
	rm -f /root/measured/again
	echo "read twice" >/root/measured/again
	cat /root/measured/again >/dev/null
}

records_of_file()
{
	imalog show --format ascii "$S/full" | awk '$5 == "/root/measured/again"' | wc -l
}

n_refused()
{
	series_write "$ima/binary_runtime_measurements" '1\n'
}

measured_twice()
{
	series_full
	echo "/root/measured/again: $(records_of_file) records"
	[ "$(records_of_file)" = 2 ]
}

ktest_check read-once read_file
ktest_check n-refused series_errno 'Invalid argument' n_refused
ktest_check delete-staged-1 series_delete_staged
ktest_check aggregate-1 series_check_aggregate
ktest_check read-again read_file
ktest_check measured-twice measured_twice
ktest_check delete-staged-2 series_delete_staged
ktest_check aggregate-2 series_check_aggregate
ktest_check full series_verify_full
