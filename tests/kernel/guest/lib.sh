# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for scenario scripts, sourced before the scenario in the guest (busybox sh).
# README.md describes the guest environment and these functions.

ima=/sys/kernel/security/ima
tpm=/sys/class/tpm/tpm0
KTEST_DIR=/tmp/ktest
KTEST_EXPORT=$KTEST_DIR/export

# ktest_result PASS|FAIL NAME: record and print one check result.
ktest_result()
{
	echo "$1 $2" >>"$KTEST_DIR/results"
	echo "ktest: $1: $KTEST_SCENARIO/$2"
}

# ktest_status NAME WANT CMD [ARG]...: CMD (a program or shell function) must exit WANT.
# Its output is kept in /tmp/ktest/out/NAME.out and shown when the check fails.
ktest_status()
{
	_name=$1 _want=$2 _got=0
	shift 2
	_out=$KTEST_DIR/out/$(echo "$_name" | tr / _).out
	"$@" >"$_out" 2>&1 || _got=$?
	if [ "$_got" = "$_want" ]; then
		ktest_result PASS "$_name"
		return 0
	fi
	ktest_result FAIL "$_name"
	echo "ktest:   '$*' exited $_got, expected $_want; last lines of its output:"
	tail -n 15 "$_out" | sed 's/^/ktest:   | /'
	return 0
}

# ktest_check NAME CMD [ARG]...: CMD must succeed.
ktest_check()
{
	_n=$1
	shift
	ktest_status "$_n" 0 "$@"
}

# ktest_export FILE...: send FILEs to the host, into the scenario's export/files/.
ktest_export()
{
	mkdir -p "$KTEST_EXPORT/files"
	cp "$@" "$KTEST_EXPORT/files/"
}

# ktest_snapshot NAME: save the PCRs, then every IMA measurement file, into export/NAME/:
#   tpm0/pcr-ALG/N   copies of the sysfs PCR files (a directory for imalog verify --pcrs)
#   pcrs.txt         the same values as "N ALG hex" lines
#   binary_runtime_measurements*, ascii_runtime_measurements*   the lists
# PCRs come first: the kernel appends a record before it extends the PCRs, so the lists may run
# ahead of the PCRs, never behind. The lists are read until the binary list is unchanged across
# the reads of all files, so that the ASCII and binary files hold the same records.
ktest_snapshot()
{
	_dir=$KTEST_EXPORT/$1
	for _try in 1 2 3 4 5; do
		rm -rf "$_dir"
		mkdir -p "$_dir/tpm0"
		for _bank in "$tpm"/pcr-*; do
			_alg=${_bank##*/pcr-}
			mkdir "$_dir/tpm0/pcr-$_alg"
			for _n in $(seq 0 23); do
				cat "$_bank/$_n" >"$_dir/tpm0/pcr-$_alg/$_n"
				echo "$_n $_alg $(tr A-F a-f <"$_bank/$_n")" >>"$_dir/pcrs.txt"
			done
		done
		for _f in "$ima"/binary_runtime_measurements* "$ima"/ascii_runtime_measurements*; do
			cat "$_f" >"$_dir/${_f##*/}"
		done
		cmp -s "$ima/binary_runtime_measurements" "$_dir/binary_runtime_measurements" && return 0
	done
	echo "ktest: the measurement list kept growing during 5 snapshots" >&2
	return 1
}

# ktest_json_field FILE KEY: the number after "KEY": in imalog's JSON output.
ktest_json_field()
{
	tr -d ' \n' <"$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

# ktest_verify_lists: imalog verify the running kernel's lists against the TPM's PCRs: first
# with every default (the SHA-1 header list, /sys/class/tpm/tpm0), then each list named.
ktest_verify_lists()
{
	ktest_check verify-defaults imalog verify
	for _f in "$ima"/binary_runtime_measurements*; do
		case $_f in *_staged) continue ;; esac	# a staged list is a piece, not a log
		ktest_check "verify-${_f##*/}" imalog verify --pcrs "$tpm" "$_f"
	done
}

# ktest_violations N: imalog replay counts exactly N violations in the SHA-1 header list.
ktest_violations()
{
	imalog replay --json "$ima/binary_runtime_measurements" >"$KTEST_DIR/replay.json"
	cat "$KTEST_DIR/replay.json"
	[ "$(ktest_json_field "$KTEST_DIR/replay.json" violations)" = "$1" ]
}
