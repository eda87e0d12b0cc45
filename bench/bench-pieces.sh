#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark of the piecewise verifier, in one run on the same records:
#   1. full verification of a store of CHUNKS chunks (RECORDS records, with the
#      snapshot_aggregate after every cut) plus the kernel's list, with 1 and with 2 threads;
#   2. evmctl ima_measurement on the same records concatenated into one file;
#   3. incremental cost: after a full run saved its state, a new process verifies the NEW
#      records that arrived since, from the state file.
# Usage: bench/bench-pieces.sh [--records N] [--chunks N] [--new N]
#   (defaults 10000000, 1000, 1000). Needs about 2.5 times 120 bytes per record in $TMPDIR.
# Environment: IMALOG, IMALOG_GEN, MKSTORE (defaults under build/), EVMCTL (evmctl).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
imalog=${IMALOG:-$top/build/src/tool/imalog}
gen=${IMALOG_GEN:-$top/build/tests/gen/imalog-gen}
mkstore=${MKSTORE:-$top/build/tests/verifier/mkstore}
evmctl=${EVMCTL:-evmctl}
records=10000000
chunks=1000
new=1000
while [ $# -gt 0 ]; do
	case $1 in
	--records) records=$2; shift 2 ;;
	--chunks) chunks=$2; shift 2 ;;
	--new) new=$2; shift 2 ;;
	*) echo "usage: bench-pieces.sh [--records N] [--chunks N] [--new N]" >&2; exit 2 ;;
	esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
calc() { python3 -c "v = round($1, $2); print(int(v) if $2 == 0 else v)"; }
now() { date +%s%N; }

echo "# machine"
echo "cores: $(nproc)"
echo "load_average_at_start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "evmctl: $("$evmctl" --version 2>&1 | head -1)"

# The store: chunks of records/chunks records each, an aggregate after each cut (counted in
# the chunk after it), and the kernel's list: the new records.
per=$((records / chunks))
t0=$(now)
"$gen" -n $((records + new - chunks)) -t ima-ng -s 1 -B sha1,sha256 -o "$tmp/log"
"$mkstore" "$tmp/log" "$tmp/store" --chunk "$per" --chunks "$chunks" --aggregates \
	--tail "$tmp/kernel" --pcrs "$tmp/pcrs" >/dev/null
rm "$tmp/log"
echo "# store"
echo "chunks: $chunks of $per records ($((records)) records), kernel's list: $new records"
echo "store_bytes: $(du -sb "$tmp/store" | cut -f1)"
echo "build_seconds: $(calc "($(now) - $t0) / 1e9" 1)"
cat "$tmp/store"/logs/*/*.chunk "$tmp/kernel" >"$tmp/all" # also warms the page cache
# evmctl's --pcrs files: "PCR-NN: hex" for PCRs 0..23, zeros where the log extends none.
for bank in sha1 sha256; do
	awk -v b="$bank" -v w="$([ "$bank" = sha1 ] && echo 40 || echo 64)" '
		$2 == b { v[$1] = $3 }
		END {
			z = sprintf("%0" w "d", 0)
			for (p = 0; p < 24; p++) printf "PCR-%02d: %s\n", p, (p in v) ? v[p] : z
		}' "$tmp/pcrs" >"$tmp/evmctl-$bank"
done

# timed NAME CMD...: wall seconds into $tmp/NAME.s; the command must exit 0.
timed() {
	local name=$1 t0 rc=0
	shift
	t0=$(now)
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
	calc "($(now) - $t0) / 1e9" 3 >"$tmp/$name.s"
	if [ "$rc" != 0 ]; then
		echo "bench-pieces: $name exited $rc:" >&2
		cat "$tmp/$name.err" >&2
		exit 1
	fi
}
verify=("$imalog" verify --store "$tmp/store" --no-kernel --piece "$tmp/kernel"
	--pcrs "$tmp/pcrs" --json)

timed full-1 "${verify[@]}" --threads 1 --state "$tmp/state"
timed full-2 "${verify[@]}" --threads 2
timed evmctl "$evmctl" ima_measurement --ignore-violations --pcrs "sha1,$tmp/evmctl-sha1" \
	--pcrs "sha256,$tmp/evmctl-sha256" "$tmp/all"
timed incremental "${verify[@]}" --threads 2 --state "$tmp/state"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }

total=$((records + new))
echo "# full verification, $total records"
for t in 1 2; do
	s=$(cat "$tmp/full-$t.s")
	echo "imalog_threads_$t: $s s wall ($(field "$tmp/full-$t.out" seconds | cut -c1-6) s in" \
		"the verifier), $(calc "$total / $s" 0) records/s"
done
echo "speedup_2_threads: $(calc "$(cat "$tmp/full-1.s") / $(cat "$tmp/full-2.s")" 2)"
echo "evmctl: $(cat "$tmp/evmctl.s") s wall, $(calc "$total / $(cat "$tmp/evmctl.s")" 0) records/s"
echo "speedup_vs_evmctl: 1 thread x$(calc "$(cat "$tmp/evmctl.s") / $(cat "$tmp/full-1.s")" 1)," \
	"2 threads x$(calc "$(cat "$tmp/evmctl.s") / $(cat "$tmp/full-2.s")" 1)"
echo "# incremental: a new process, from the state file"
echo "resumed_from_record: $(field "$tmp/incremental.out" from)"
echo "records_replayed: $(field "$tmp/incremental.out" records)"
echo "incremental_seconds: $(cat "$tmp/incremental.s") wall," \
	"$(field "$tmp/incremental.out" seconds | cut -c1-6) in the verifier"
echo "full_vs_incremental: x$(calc "$(cat "$tmp/full-2.s") / $(cat "$tmp/incremental.s")" 0)"
