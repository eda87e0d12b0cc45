#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boot one scenario: a fresh swtpm (empty state: a newly manufactured TPM 2.0), then QEMU with
# the kernel and initramfs, the console (ttyS0) written to CONSOLE and the export channel
# (ttyS1) to EXPORT. QEMU runs under timeout; the exit status is QEMU's (124 on timeout).
# Whether the scenario ran is for the caller to judge from the markers in CONSOLE.
#
#   run.sh --kernel BZIMAGE --initrd INITRD --scenario NAME --console CONSOLE --export EXPORT
#          [--append "ARGS"] [--timeout SECONDS] [--mem MB]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel='' initrd='' scenario='' console='' export='' append='' timeout=120 mem=512
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || die "$1 needs an argument"
	case $1 in
	--kernel) kernel=$2 ;;
	--initrd) initrd=$2 ;;
	--scenario) scenario=$2 ;;
	--console) console=$2 ;;
	--export) export=$2 ;;
	--append) append=$2 ;;
	--timeout) timeout=$2 ;;
	--mem) mem=$2 ;;
	*) die "unknown argument $1" ;;
	esac
	shift 2
done
for v in kernel initrd scenario console export; do
	[ -n "${!v}" ] || die "--$v is required"
done
for prog in swtpm qemu-system-x86_64; do
	command -v $prog >/dev/null || die "$prog not found (scripts/install-deps.sh --kernel)"
done

state=$(mktemp -d)
swtpm_pid=
cleanup()
{
	if [ -n "$swtpm_pid" ] && kill -0 "$swtpm_pid" 2>/dev/null; then
		kill "$swtpm_pid" 2>/dev/null || true
		wait "$swtpm_pid" 2>/dev/null || true
	fi
	rm -rf "$state"
}
trap cleanup EXIT

# --terminate: swtpm exits when QEMU closes the connection.
swtpm socket --tpm2 --tpmstate dir="$state" --ctrl type=unixio,path="$state/sock" \
	--terminate --log file="$state/swtpm.log" &
swtpm_pid=$!
for _ in $(seq 50); do
	[ -S "$state/sock" ] && break
	sleep 0.1
done
[ -S "$state/sock" ] || die "swtpm did not create its socket: $(cat "$state/swtpm.log" 2>/dev/null)"

accel=(-accel tcg)
[ -w /dev/kvm ] && accel=(-accel kvm -cpu host)

status=0
timeout --kill-after=10 "$timeout" qemu-system-x86_64 "${accel[@]}" -m "$mem" -smp 1 \
	-nographic -no-reboot -nic none -monitor none \
	-serial file:"$console" -serial file:"$export" \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 oops=panic rootfstype=ramfs ktest.scenario=$scenario $append" \
	-chardev socket,id=chrtpm,path="$state/sock" \
	-tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0 \
	</dev/null || status=$?
exit $status
