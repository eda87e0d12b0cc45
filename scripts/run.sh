#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The main job, end to end: install what is missing (Debian 12), build imalog, imalogd and Linux
# 6.12 with the series in kernel/, boot that kernel under QEMU with a software TPM (swtpm), run
# imalogd in the guest while a workload makes thousands of measurements and the daemon deletes
# what it saved, take a quote of PCR 10 with a nonce this host made for the run, and verify the
# store, the kernel's remaining list and the quote here, on the host. Prints a report; exit
# status 0 only if everything verified, 1 if something did not, 2 on setup errors.
#
#   scripts/run.sh [--stock] [--short] [--records N] [--delete N] [--keep DIR]
#   scripts/run.sh --check DIR [--corrupt-chunk]
#   scripts/run.sh --offline [LOG EXPECTED]
#
# --stock          Debian's 6.12 without the series: imalogd saves, the kernel deletes nothing
# --short          the configuration CI runs: 1000 records, deletion at 100
# --records N      workload records (default 3000); --delete N: imalogd's threshold (250)
# --keep DIR       keep the run's files in DIR (default: .cache/system-runs/DATE-PID)
# --check DIR      only the host's verification, again, of a run kept in DIR
# --corrupt-chunk  with --check: change one byte of one chunk first (the check must fail and
#                  name that chunk)
# --offline        the quick demo without QEMU: a real log (a Raspberry Pi's 922 records) and
#                  its PCR 10 values, from tests/golden/
set -euo pipefail

kt=$(cd "$(dirname "$0")/../tests/kernel" && pwd)
# top, cache, die, extract_export
# shellcheck source=tests/kernel/lib.sh
. "$kt/lib.sh"
cd "$top"
start=$SECONDS

offline()
{
	local log=${1:-tests/golden/data/embrave-binary_runtime_measurements}
	local expected=${2:-tests/golden/expected/embrave.pcrs}
	scripts/install-deps.sh
	[ -d build ] || meson setup build
	ninja -C build >/dev/null
	echo "== the first records, as the kernel prints them"
	build/src/tool/imalog show --count 3 "$log"
	echo "== PCR values the log produces"
	build/src/tool/imalog replay "$log"
	echo "== verification against the expected values ($expected)"
	build/src/tool/imalog verify --pcrs "$expected" "$log"
}

stock=0 records=3000 delete=250 keep='' check='' corrupt=0
while [ $# -gt 0 ]; do
	case $1 in
	--offline)
		shift
		offline "$@"
		exit
		;;
	--stock) stock=1 ;;
	--short) records=1000 delete=100 ;;
	--records | --delete | --keep | --check)
		[ $# -ge 2 ] || die "$1 needs an argument"
		case $1 in
		--records) records=$2 ;;
		--delete) delete=$2 ;;
		--keep) keep=$2 ;;
		--check) check=$2 ;;
		esac
		shift
		;;
	--corrupt-chunk) corrupt=1 ;;
	-h | --help)
		sed -n '3,/^[^#]/s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
	shift
done
if ! [[ $records =~ ^[1-9][0-9]*$ && $delete =~ ^[1-9][0-9]*$ ]]; then
	die "--records and --delete take positive numbers"
fi
[ $corrupt = 0 ] || [ -n "$check" ] || die "--corrupt-chunk goes with --check DIR"

imalog=$top/build/src/tool/imalog

# fact KEY: a value the guest reported (export/system/facts), or the host saved (host-facts).
fact()
{
	awk -v k="$1" '$1 == k { sub(/^[^ ]* /, ""); print; exit }' "$run/export/system/facts" \
		"$run/host-facts" 2>/dev/null
}

# json FILE KEY...: a value from a JSON object (nested keys), or nothing.
json()
{
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$@" 2>/dev/null
}

# The store's end: the first absolute index no chunk holds (0 for an empty store).
store_next()
{
	python3 -c '
import glob, json, sys
n = 0
for m in glob.glob(sys.argv[1] + "/logs/*/*.manifest"):
    j = json.load(open(m))
    n = max(n, j["first"] + j["count"])
print(n)' "$1"
}

# corrupt_one STORE: change one byte in the middle of the middle chunk; prints its path.
corrupt_one()
{
	local chunks c size
	mapfile -t chunks < <(find "$1/logs" -name '*.chunk' | sort)
	[ ${#chunks[@]} -gt 0 ] || die "no chunk to corrupt in $1"
	c=${chunks[$((${#chunks[@]} / 2))]}
	size=$(stat -c %s "$c")
	printf '\x5a' | dd of="$c" bs=1 seek=$((size / 2)) conv=notrunc status=none
	echo "$c"
}

# host_check: verify what the guest exported against this host's nonce. Writes host/verify.json
# and the report; returns 0 only if everything verified.
host_check()
{
	local e=$run/export/system h=$run/host store deleted next overlap rc=0 corrupted=''
	mkdir -p "$h"
	[ -s "$e/facts" ] || {
		echo "the guest exported nothing (see $run/console.log)"
		return 1
	}
	store=$e/store
	if [ $corrupt = 1 ]; then
		rm -rf "$h/store"
		cp -r "$store" "$h/store"
		store=$h/store
		corrupted=$(corrupt_one "$store")
		echo "corrupted one byte of ${corrupted#"$store"/}"
	fi
	deleted=$(fact kernel_deleted)
	next=$(store_next "$store")
	# The kernel's list starts at absolute index $deleted; records it still holds that the
	# store has too must be identical, and the rest follows the store.
	overlap=0
	[ "$next" -le "$deleted" ] || overlap=$((next - deleted))
	"$imalog" show --format binary --count "$overlap" "$e/kernel-list" >"$h/overlap-kernel"
	if ! "$imalog" log --store "$store" --no-kernel --from "$deleted" >"$h/overlap-store" \
		2>"$h/overlap.err"; then
		echo "the store cannot be read: $(cat "$h/overlap.err")"
		rc=1
	elif ! cmp -s "$h/overlap-kernel" "$h/overlap-store"; then
		echo "the kernel's records $deleted..$((next - 1)) differ from the store's copies"
		rc=1
	fi
	"$imalog" show --format binary --from "$overlap" "$e/kernel-list" >"$h/kernel-tail"
	local piece_at=$((deleted + overlap))
	local t0=$SECONDS
	"$imalog" verify --json --store "$store" --no-kernel --piece "$h/kernel-tail@$piece_at" \
		--quote "$e/quote.msg" --quote-sig "$e/quote.sig" --ak-pub "$e/ak.pub" \
		--quote-pcrs "$e/quote.pcrs" --nonce "$(cat "$run/nonce")" \
		>"$h/verify.json" 2>"$h/verify.err" || rc=$?
	echo "host_verify_seconds $((SECONDS - t0))" >>"$run/host-facts"
	report "$h/verify.json" "$h/verify.err" "$rc" "$next"
	if [ -n "$corrupted" ]; then
		echo "corrupted chunk: $corrupted"
		if [ "$(json "$h/verify.json" failure file)" = "$corrupted" ]; then
			echo "the failure names the corrupted chunk: yes"
		else
			echo "the failure names the corrupted chunk: NO"
		fi
	fi
	[ "$rc" = 0 ]
}

# report VERIFY_JSON VERIFY_ERR STATUS STORE_NEXT
report()
{
	local v=$1 err=$2 rc=$3 next=$4 deleted kept before after status when
	deleted=$(fact kernel_deleted) kept=$(fact kernel_records)
	status=$run/export/system/store/status.json
	before=$(fact sunreclaim_kb_before) after=$(fact sunreclaim_kb_after)
	when="in all"
	[ -z "$check" ] || when="for this check"
	echo
	echo "== imalog end to end: Linux $(fact kernel), $(fact variant); QEMU, swtpm"
	printf '%-28s %s\n' \
		"records since boot:" "$((deleted + kept)) ($deleted deleted from the kernel + $kept kept)" \
		"workload records:" "$(fact workload_records)" \
		"kept in the kernel:" "$kept records, $(stat -c %s "$run/export/system/kernel-list") bytes" \
		"saved by imalogd:" "$next records in $(find "$run/export/system/store/logs" -name '*.manifest' | wc -l) chunks, $(du -sb "$run/export/system/store/logs" | cut -f1) bytes" \
		"deletions:" "$(json "$status" deletions) by imalogd ($(json "$status" deleted_records) records)" \
		"records verified:" "$(json "$v" records) (from record $(json "$v" from) on, $(json "$v" chunks) chunks + the kernel's list)" \
		"aggregates checked:" "$(json "$v" aggregates) snapshot_aggregate records" \
		"quote:" "$(json "$v" quote scheme)/$(json "$v" quote hash) signature over PCRs $(fact quote_selection), this run's nonce ($(($(wc -c <"$run/nonce") / 2)) bytes from this host)" \
		"quoted state:" "$(json "$v" matched_records) records match it, $(json "$v" records_after) follow" \
		"chunk ends proven:" "$(json "$v" chunk_proofs tpm) by the TPM (quotes by the same key, $(fact quote_key)), $(json "$v" chunk_proofs aggregate) by an aggregate, $(json "$v" chunk_proofs manifest) by the manifest only" \
		"kernel memory (SUnreclaim):" "$before kB before the workload, $after kB after ($((after - before)) kB)" \
		"time:" "$((SECONDS - start)) s $when; guest $(fact guest_seconds) s (workload and quote $(awk -v a="$(fact start_seconds)" -v b="$(fact end_seconds)" 'BEGIN { printf "%.0f", b - a }') s), host verification $(fact host_verify_seconds) s"
	if [ "$rc" != 0 ]; then
		echo "verification failed (exit $rc):"
		[ ! -s "$v" ] || echo "  $(json "$v" failure reason) (record $(json "$v" failure index), $(json "$v" failure file))"
		sed 's/^/  /' "$err"
	fi
	if [ "$rc" = 0 ]; then
		echo "result: verified: the store, the kernel's list and the quote"
	else
		echo "result: NOT verified"
	fi
}

if [ -n "$check" ]; then
	run=$(realpath "$check")
	[ -r "$run/nonce" ] || die "$check: not a kept run (no nonce)"
	[ -x "$imalog" ] || die "$imalog: build first (meson setup build && ninja -C build)"
	host_check
	exit
fi

scripts/install-deps.sh --kernel
[ -e build/build.ninja ] || meson setup build >/dev/null
ninja -C build src/tool/imalog src/daemon/imalogd >/dev/null || die "the build failed"

run=${keep:-$cache/system-runs/$(date +%Y%m%d-%H%M%S)-$$}
[ ! -e "$run" ] || [ -z "$(ls -A "$run")" ] || die "$run exists and is not empty"
mkdir -p "$run"
run=$(realpath "$run")
: >"$run/host-facts"
# A fresh nonce for this run's quote, made here and never read back from the guest.
od -An -N20 -tx1 /dev/urandom | tr -d ' \n' >"$run/nonce"

export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/imalog-ccache}
mkdir -p "$CCACHE_DIR"
t0=$SECONDS
if [ $stock = 1 ]; then
	bzimage=$("$kt/build-kernel.sh") || die "the kernel build failed"
	echo "variant stock kernel: imalogd saves, the kernel cannot delete" >>"$run/host-facts"
else
	bzimage=$("$kt/build-kernel.sh" --patched --set series) || die "the kernel build failed"
	echo "variant with the series: imalogd saves and deletes" >>"$run/host-facts"
fi
echo "kernel_build_seconds $((SECONDS - t0))" >>"$run/host-facts"
"$kt/make-initramfs.sh" -o "$run/initrd.gz" --imalog "$imalog" \
	--imalogd build/src/daemon/imalogd "$kt/guest/system.sh" || die "the initramfs failed"

t0=$SECONDS
status=0
params="ktest.records=$records ktest.delete=$delete"
"$kt/run.sh" --kernel "$bzimage" --initrd "$run/initrd.gz" --scenario system \
	--console "$run/console.log" --export "$run/export.raw" --timeout 900 \
	--append "ima_policy=tcb ima_hash=sha256 ktest.nonce=$(cat "$run/nonce") $params" ||
	status=$?
echo "guest_seconds $((SECONDS - t0))" >>"$run/host-facts"
extract_export "$run/export.raw" "$run/export" >"$run/export.out" 2>&1 || true
if ! grep -q '^ktest: END system passed=[0-9]* failed=0' <(tr -d '\r' <"$run/console.log"); then
	echo "the guest did not finish cleanly (QEMU exit $status); its checks:" >&2
	tr -d '\r' <"$run/console.log" | grep '^ktest: ' | sed 's/^/  /' >&2
fi
rc=0
host_check || rc=1
echo "files: $run"
exit $rc
