#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# imalogd checks the kernel's list against the TPM's PCRs (a fake pcr-<alg>/<n> directory): a
# list that cannot reach them at any record, as after a kexec that carried nothing or lost the
# records measured after the load, is reported loudly with the index the loss lies before, and
# saving goes on; a list the PCRs merely lag behind is not.
#   pcrcheck.sh IMALOG IMALOGD GOLDEN_LOG
set -euo pipefail

imalog=$1 imalogd=$2 golden=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=tests/daemon/lib.sh
. "$(dirname "$0")/lib.sh"
export IMALOG_BOOT_ID=11111111-2222-3333-4444-555555555555
ima=$tmp/ima
mkdir -p "$ima"
n=$("$imalog" show "$golden" | wc -l)
first() { "$imalog" show --count "$1" --format binary "$golden"; }

# scenario NAME: a store, a kernel list and a TPM directory of their own; kernel_list and tpm
# are read from the files $tmp/NAME.list and $tmp/NAME.tpm-log (the records the TPM saw).
once() {
	"$imalogd" --store "$tmp/$1.store" --securityfs "$ima" --tpm "$tmp/$1.tpm" --once \
		2>"$tmp/$1.err"
}
prepare() {
	cp "$tmp/$1.list" "$ima/$B"
	rm -rf "$tmp/$1.tpm"
	"$imalog" replay "$tmp/$1.tpm-log" | fake_tpm "$tmp/$1.tpm"
}
# reports NAME TEXT: the daemon said TEXT, saved the kernel's list all the same, and its status
# keeps TEXT as the last error.
reports() {
	once "$1" && grep -qF "$2" "$tmp/$1.err" &&
		"$imalog" log --store "$tmp/$1.store" --securityfs "$ima" >"$tmp/$1.log" &&
		cmp -s "$tmp/$1.log" "$ima/$B" &&
		grep -qF "$2" "$tmp/$1.store/status.json"
}
quiet() {
	once "$1" && ! grep -F "were lost" "$tmp/$1.err"
}
loss="the kernel's list does not account for PCR 10 (sha1 bank)"

# The TPM saw exactly the list, or the list and 3 more records not extended yet: no loss.
cp "$golden" "$tmp/whole.list"
cp "$golden" "$tmp/whole.tpm-log"
prepare whole
check "a list that reaches the PCRs: nothing reported" quiet whole
first $((n - 3)) >"$tmp/lag.tpm-log"
cp "$golden" "$tmp/lag.list"
prepare lag
check "PCRs lagging the list by 3 records: nothing reported" quiet lag

# A kexec that carried nothing: the TPM saw a whole boot before this kernel's list.
cat "$golden" "$golden" >"$tmp/none.tpm-log"
cp "$golden" "$tmp/none.list"
prepare none
check "nothing carried: reported, the loss before record 0, saving goes on" \
	reports none "$loss: records measured before record 0 were lost"

# A kexec that lost 10 records measured after the load: the store holds the first boot, the
# kernel carried it and appended its own boot; the TPM saw the 10 lost records in between.
cp "$golden" "$tmp/lost.list"
cp "$golden" "$tmp/lost.tpm-log"
prepare lost
check "lost: the first boot is saved" quiet lost
cat "$golden" "$golden" >"$tmp/lost.list"
{ cat "$golden"; first 10; cat "$golden"; } >"$tmp/lost.tpm-log"
prepare lost
export IMALOG_BOOT_ID=22222222-2222-3333-4444-555555555555	# the boot after the kexec
check "lost after the load: reported before the second boot_aggregate, record $n" \
	reports lost "$loss: records measured before record $n were lost"
# A restart in the same boot, with records the store lacks: the loss is in the store's replay
# now, and no record after it would name it.
first 5 >>"$tmp/lost.list"
first 5 >>"$tmp/lost.tpm-log"
prepare lost
check "a restart in the same boot does not report it again" quiet lost
finish
