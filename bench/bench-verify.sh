#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark: imalog verify against evmctl ima_measurement on the same generated ima-ng log,
# sha1 and sha256 banks, the same expected values (evmctl --pcrs files) for both.
#
#   bench/bench-verify.sh [--records N] [--reps R]
#
# Prints records per second for both (best of R runs, interleaved so both see the same machine
# load; the median is printed too), peak RSS, the machine's hashing limit for exactly the
# hashes verification needs (bench/hashlimit), how close imalog comes to it, peak RSS at N/10
# and N records, how evmctl compares with the brief's ~300k records/s anchor, and as its last
# line "speedup_vs_evmctl: X.X".
# Environment: IMALOG, IMALOG_GEN, HASHLIMIT (defaults under build/), EVMCTL (evmctl).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
imalog=${IMALOG:-$top/build/src/tool/imalog}
gen=${IMALOG_GEN:-$top/build/tests/gen/imalog-gen}
hashlimit=${HASHLIMIT:-$top/build/bench/hashlimit}
evmctl=${EVMCTL:-evmctl}
records=1000000
reps=5
anchor=300000

usage() {
	echo "usage: $0 [--records N] [--reps R]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--records) [ $# -ge 2 ] || usage; records=$2; shift 2 ;;
	--reps) [ $# -ge 2 ] || usage; reps=$2; shift 2 ;;
	*) usage ;;
	esac
done
if ! [[ $records =~ ^[0-9]+$ && $records -ge 10 && $reps =~ ^[0-9]+$ && $reps -ge 1 ]]; then
	usage
fi
for f in "$imalog" "$gen" "$hashlimit"; do
	[ -x "$f" ] || { echo "bench-verify: $f is not built" >&2; exit 2; }
done
command -v "$evmctl" >/dev/null || { echo "bench-verify: evmctl not found" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench-verify: /usr/bin/time not found (package time)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Divide with one decimal, or any precision: calc EXPR SCALE
calc() {
	awk "BEGIN { printf \"%.${2}f\", $1 }"
}
median() {
	sort -g | awk '{ v[NR] = $1 }
		END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "# machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "cores: $(nproc)"
echo "sha_extensions: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)"
echo "kernel: $(uname -r)"
echo "libcrypto: $(openssl version 2>/dev/null || echo unknown)"
echo "evmctl: $("$evmctl" --version 2>&1 | head -1)"
echo "load_average_at_start: $(cut -d' ' -f1-3 /proc/loadavg)"

small=$((records / 10))
echo "# log"
t0=$(date +%s%N)
"$gen" -n "$records" -t ima-ng -s 1 -B sha1,sha256 -o "$tmp/log" --evmctl-pcrs "$tmp/pcrs-" \
	--expected "$tmp/expected"
t1=$(date +%s%N)
"$gen" -n "$small" -t ima-ng -s 1 -B sha1,sha256 -o "$tmp/small.log" \
	--evmctl-pcrs "$tmp/small-pcrs-"
echo "records: $records (ima-ng, sha1 header digests, PCR 10, no violations)"
echo "log_bytes: $(stat -c %s "$tmp/log")"
echo "generate_seconds: $(calc "($t1 - $t0) / 1e9" 2)"
cat "$tmp/log" "$tmp/small.log" >/dev/null # both tools start from a warm page cache

# run NAME LOG PCRS-PREFIX: one timed run; appends "wall_s cpu_s rss_kb" to $tmp/NAME
run() {
	local name=$1 log=$2 p=$3 t0 t1 rc=0
	local -a cmd
	if [[ $name == evmctl* ]]; then
		cmd=("$evmctl" ima_measurement --ignore-violations --pcrs "sha1,${p}sha1"
			--pcrs "sha256,${p}sha256" "$log")
	else
		cmd=("$imalog" verify --pcrs "sha1,${p}sha1" --pcrs "sha256,${p}sha256" "$log")
	fi
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S %M' -o "$tmp/time" "${cmd[@]}" >/dev/null 2>"$tmp/err" || rc=$?
	t1=$(date +%s%N)
	if [ "$rc" != 0 ]; then
		echo "bench-verify: $name exited $rc on a clean log:" >&2
		cat "$tmp/err" >&2
		exit 1
	fi
	read -r u s m <"$tmp/time"
	echo "$(calc "($t1 - $t0) / 1e9" 4) $(calc "$u + $s" 2) $m" >>"$tmp/$name"
}
column_of() {
	awk -v c="$2" '{ print $c }' "$tmp/$1"
}

echo "# verify, $reps runs each, interleaved"
for ((r = 0; r < reps; r++)); do
	run imalog "$tmp/log" "$tmp/pcrs-"
	run evmctl "$tmp/log" "$tmp/pcrs-"
done
for ((r = 0; r < 3; r++)); do
	run imalog-small "$tmp/small.log" "$tmp/small-pcrs-"
	run evmctl-small "$tmp/small.log" "$tmp/small-pcrs-"
done
# The best run is the one least disturbed by other load; the median is shown beside it.
declare -A best_of
for name in imalog evmctl; do
	best=$(column_of "$name" 1 | sort -g | head -1)
	wall=$(column_of "$name" 1 | median)
	cpu=$(column_of "$name" 2 | median)
	rss=$(column_of "$name" 3 | sort -n | tail -1)
	rss_small=$(column_of "$name-small" 3 | sort -n | tail -1)
	best_of[$name]=$best
	echo "${name}_wall_seconds: best $best, median $wall (all: $(column_of "$name" 1 | tr '\n' ' '))"
	echo "${name}_cpu_seconds_median: $cpu"
	echo "${name}_records_per_second: $(calc "$records / $best" 0)" \
		"(median run $(calc "$records / $wall" 0))"
	echo "${name}_peak_rss_kb: $rss at $records records, $rss_small at $small records" \
		"(growth $((rss - rss_small)) KB, x$(calc "$rss / $rss_small" 2))"
done

echo "# hashing limit: per record sha1 and sha256 of the template data and both extends"
"$hashlimit" --repeat 5 "$tmp/log" >"$tmp/limit"
sed 's/^/hashlimit_/' "$tmp/limit" | grep -v '_pcr'
want=$(awk '$1 == 10 && $2 == "sha256" { print $3 }' "$tmp/expected")
got=$(awk '$1 == "pcr10_sha256:" { print $2 }' "$tmp/limit")
if [ "$want" != "$got" ]; then
	echo "bench-verify: hashlimit hashed other bytes than the log's (PCR 10 $got, want $want)" >&2
	exit 1
fi
single=$(awk '$1 == "single_thread_records_per_second:" { print $2 }' "$tmp/limit")
multi=$(awk '$1 == "all_cores_records_per_second:" { print $2 }' "$tmp/limit")
imalog_rps=$(calc "$records / ${best_of[imalog]}" 0)
evmctl_rps=$(calc "$records / ${best_of[evmctl]}" 0)
# All cores can do at least what one does: when other load keeps the second core busy, the
# parallel figure falls below the single-thread one and the limit is the single-thread one.
limit=$(calc "($multi > $single) ? $multi : $single" 0)
echo "hashing_limit_records_per_second: $limit"
echo "imalog_fraction_of_single_thread_limit: $(calc "$imalog_rps / $single" 2)"
echo "imalog_fraction_of_limit: $(calc "$imalog_rps / $limit" 2)"
echo "evmctl_fraction_of_limit: $(calc "$evmctl_rps / $limit" 2)"

echo "# anchor"
echo "evmctl_vs_brief_anchor: $evmctl_rps records/s measured vs ~$anchor in the brief" \
	"(x$(calc "$evmctl_rps / $anchor" 2))"
echo "load_average_at_end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "speedup_vs_evmctl: $(calc "${best_of[evmctl]} / ${best_of[imalog]}" 1)"
