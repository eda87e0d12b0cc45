#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Cross-check imalog verify against evmctl ima_measurement (ima-evm-utils) on generated logs.
#
# Clean logs of several sizes and templates: both must accept. Tampered copies: imalog must
# reject every one, and evmctl must reject every one except where evmctl 1.4 is known to
# accept a failure (listed in known_evmctl_defect below, reported as such, not as failures).
# evmctl is given --ignore-violations: without it, evmctl extends a violation as zeros,
# whereas the kernel extends 0xff, so logs with violations could never match.
#
# Environment: IMALOG (default build/src/tool/imalog), IMALOG_GEN (default
# build/tests/gen/imalog-gen), EVMCTL (default evmctl). Exit 77 (skip) without evmctl.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
imalog=${IMALOG:-$top/build/src/tool/imalog}
gen=${IMALOG_GEN:-$top/build/tests/gen/imalog-gen}
evmctl=${EVMCTL:-evmctl}

if ! command -v "$evmctl" >/dev/null; then
	echo "SKIP: evmctl not found (Debian package ima-evm-utils)"
	exit 77
fi
for f in "$imalog" "$gen"; do
	if [ ! -x "$f" ]; then
		echo "FAIL: $f is not built"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
pass() {
	echo "PASS: $*"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}

# Exit codes of both tools on LOG against the sha1 and sha256 evmctl files P1 and P2.
run_evmctl() {
	local rc=0
	"$evmctl" ima_measurement --ignore-violations --pcrs "sha1,$2" --pcrs "sha256,$3" "$1" \
		>/dev/null 2>&1 || rc=$?
	echo "$rc"
}
run_imalog() {
	local rc=0 log=$1
	shift
	"$imalog" verify "$@" "$log" >/dev/null 2>&1 || rc=$?
	echo "$rc"
}

# --- clean logs: both accept ------------------------------------------------------------

accept_case() {
	local what=$1 d=$2 log=$2/binary_runtime_measurements e i
	e=$(run_evmctl "$log" "$d/evmctl-pcrs-sha1" "$d/evmctl-pcrs-sha256")
	i=$(run_imalog "$log" --pcrs "sha1,$d/evmctl-pcrs-sha1" --pcrs "sha256,$d/evmctl-pcrs-sha256")
	if [ "$e" = 0 ] && [ "$i" = 0 ]; then
		pass "$what: both accept"
	else
		fail "$what: expected both to accept, imalog exit $i, evmctl exit $e"
	fi
}

# evmctl 1.4 refuses logs that mix the legacy "ima" template with others, so "mixed" here
# leaves it out; imalog's own tests cover that mix.
no_ima_mix='mixed:ima-ng,ima-sig,ima-ngv2,ima-sigv2,ima-buf,ima-modsig,evm-sig,n-ng|d-ng,d|n-ng'
templates=(ima ima-ng ima-sig ima-ngv2 ima-sigv2 ima-buf ima-modsig evm-sig 'd-ng|n-ng|sig'
	'n-ng|d-ng' "$no_ima_mix")
echo "# clean logs"
i=0
for t in "${templates[@]}"; do
	for n in 1 500; do
		i=$((i + 1))
		"$gen" -n "$n" -t "$t" -V 0.02 -p 0.1 -s "$i" -B sha1,sha256 -d "$tmp/c$i"
		accept_case "${t/#mixed:*/mixed} $n records" "$tmp/c$i"
	done
done
for spec in "ima-ng 100000 0.001 0.05" "$no_ima_mix 20000 0.01 0.1" "ima 20000 0.01 0"; do
	read -r t n v p <<<"$spec"
	i=$((i + 1))
	"$gen" -n "$n" -t "$t" -V "$v" -p "$p" -s "$i" -B sha1,sha256 -d "$tmp/c$i"
	accept_case "${t/#mixed:*/mixed} $n records" "$tmp/c$i"
done

# --- tampered copies --------------------------------------------------------------------

# Bytes [off, off+len) of a file.
slice() {
	dd if="$1" bs=64K iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none
}
flip_bit() {
	local f=$1 off=$2 bit=$3 b
	b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
	# shellcheck disable=SC2059 # the octal escape is the data
	printf "$(printf '\\%03o' $((b ^ (1 << bit))))" |
		dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
# Replace the hex value of PCR-NN in an evmctl file with a different one.
wrong_value() {
	sed "s/^\\(PCR-$2: \\)0/\\1X/; s/^\\(PCR-$2: \\)[1-9a-f]/\\10/; s/^\\(PCR-$2: \\)X/\\11/" "$1"
}

# Where evmctl 1.4 exits 0 on a failure, as found by running this script. Case names are
# those of tamper_cases.
known_evmctl_defect() {
	local case=$1 template=$2
	case $case in
	wrong-sha1-pcr10 | wrong-sha1-pcr11)
		return 0 ;; # sha1 values are not compared once the sha256 bank matches
	trailing-partial-record)
		return 0 ;; # an incomplete final record is silently ignored
	pcr11-records-dropped)
		return 0 ;; # a PCR the log no longer extends is not compared
	template-name-changed)
		[ "$template" != ima ] ;; # the name is not hashed and not checked
	*)
		return 1 ;;
	esac
}

# Expected imalog exit: 2 for input that cannot be parsed, 1 for a failed verification;
# "12" accepts either.
tamper_cases=(
	"template-data-bit 1" "header-digest-bit 1" "header-digest-zeroed 1"
	"violation-digest-nonzero 1" "pcr-10-to-11 1" "pcr-out-of-range 2" "name-length-huge 2"
	"template-name-changed 2" "truncated-in-last-record 2" "truncated-in-middle-record 2"
	"trailing-partial-record 2" "last-record-dropped 1" "middle-record-dropped 1"
	"two-records-swapped 1" "record-duplicated 1" "wrong-sha1-pcr10 1" "wrong-sha256-pcr10 1"
	"wrong-sha1-pcr11 1" "wrong-sha256-pcr11 1" "empty-log 12" "pcr11-records-dropped 12"
)

# Record fields from the generator's offsets file: start, template data, pcr, end, violation.
declare -a R_START R_TDATA R_PCR R_END R_VIO
load_offsets() {
	R_START=() R_TDATA=() R_PCR=() R_END=() R_VIO=()
	local a b c e v
	while read -r a b c e v; do
		R_START+=("$a") R_TDATA+=("$b") R_PCR+=("$c") R_END+=("$e") R_VIO+=("$v")
	done <"$1"
}
# First record at or after $1 in PCR $2 with violation flag $3.
find_record() {
	local i
	for ((i = $1; i < ${#R_START[@]}; i++)); do
		[ "${R_PCR[i]}" = "$2" ] && [ "${R_VIO[i]}" = "$3" ] && { echo "$i"; return; }
	done
	echo "no record in PCR $2 with violation=$3 after $1" >&2
	return 1
}

# Write the tampered log to $out and its expected values to $p1/$p2 (and $plain).
make_tampered() {
	local case=$1 d=$2 log=$2/binary_runtime_measurements n=${#R_START[@]} k k2 v
	k=$(find_record $((n / 2)) 10 0)
	k2=$(find_record $((k + 1)) 10 0)
	v=$(find_record 1 10 1)
	cp "$log" "$out"
	p1=$d/evmctl-pcrs-sha1 p2=$d/evmctl-pcrs-sha256 plain=$d/expected
	case $case in
	template-data-bit) flip_bit "$out" $((R_TDATA[k] + 12)) 0 ;;
	header-digest-bit) flip_bit "$out" $((R_START[k] + 4 + 7)) 5 ;;
	header-digest-zeroed)
		dd if=/dev/zero of="$out" bs=1 seek=$((R_START[k] + 4)) count=20 conv=notrunc \
			status=none ;;
	violation-digest-nonzero) flip_bit "$out" $((R_START[v] + 4 + 19)) 0 ;;
	pcr-10-to-11) flip_bit "$out" "${R_START[k]}" 0 ;;
	pcr-out-of-range) flip_bit "$out" $((R_START[k] + 3)) 7 ;;
	name-length-huge) flip_bit "$out" $((R_START[k] + 24 + 3)) 6 ;;
	template-name-changed) flip_bit "$out" $((R_START[k] + 24 + 4 + 1)) 2 ;;
	truncated-in-last-record) slice "$log" 0 $((R_END[n - 1] - 5)) >"$out" ;;
	truncated-in-middle-record) slice "$log" 0 $((R_TDATA[k] + 3)) >"$out" ;;
	trailing-partial-record) slice "$log" "${R_START[k]}" 7 >>"$out" ;;
	last-record-dropped) slice "$log" 0 "${R_START[n - 1]}" >"$out" ;;
	middle-record-dropped)
		{
			slice "$log" 0 "${R_START[k]}"
			slice "$log" "${R_END[k]}" $((R_END[n - 1] - R_END[k]))
		} >"$out" ;;
	two-records-swapped)
		{
			slice "$log" 0 "${R_START[k]}"
			slice "$log" "${R_START[k2]}" $((R_END[k2] - R_START[k2]))
			slice "$log" "${R_END[k]}" $((R_START[k2] - R_END[k]))
			slice "$log" "${R_START[k]}" $((R_END[k] - R_START[k]))
			slice "$log" "${R_END[k2]}" $((R_END[n - 1] - R_END[k2]))
		} >"$out" ;;
	record-duplicated)
		{
			slice "$log" 0 "${R_END[k]}"
			slice "$log" "${R_START[k]}" $((R_END[n - 1] - R_START[k]))
		} >"$out" ;;
	wrong-sha1-pcr10) wrong_value "$p1" 10 >"$tmp/p1" && p1=$tmp/p1 ;;
	wrong-sha256-pcr10) wrong_value "$p2" 10 >"$tmp/p2" && p2=$tmp/p2 ;;
	wrong-sha1-pcr11) wrong_value "$p1" 11 >"$tmp/p1" && p1=$tmp/p1 ;;
	wrong-sha256-pcr11) wrong_value "$p2" 11 >"$tmp/p2" && p2=$tmp/p2 ;;
	empty-log) : >"$out" ;;
	pcr11-records-dropped)
		python3 - "$log" "$d/offsets" "$out" <<-'EOF'
			import sys
			data = open(sys.argv[1], "rb").read()
			with open(sys.argv[3], "wb") as out:
			    for line in open(sys.argv[2]):
			        start, _, pcr, end, _ = map(int, line.split())
			        if pcr != 11:
			            out.write(data[start:end])
		EOF
		;;
	esac
}

tamper_case() {
	local label=$1 d=$2 template=$3 case=$4 want=$5 e i what
	out=$tmp/tampered
	make_tampered "$case" "$d"
	e=$(run_evmctl "$out" "$p1" "$p2")
	i=$(run_imalog "$out" --pcrs "sha1,$p1" --pcrs "sha256,$p2")
	# The plain file names PCRs 10 and 11 explicitly: dropping every PCR 11 record must fail.
	[ "$case" != pcr11-records-dropped ] || i=$(run_imalog "$out" --pcrs "$plain")
	what="$label $case"
	if [ "$i" = 0 ] || [[ $want != *"$i"* ]]; then
		fail "$what: imalog exit $i, expected ${want//12/1 or 2} (evmctl exit $e)"
	elif [ "$e" != 0 ]; then
		if known_evmctl_defect "$case" "$template"; then
			fail "$what: evmctl now rejects (exit $e); remove it from the known defects"
		else
			pass "$what: both reject (imalog $i, evmctl $e)"
		fi
	elif known_evmctl_defect "$case" "$template"; then
		pass "$what: imalog rejects ($i); evmctl accepts: known evmctl defect"
	else
		fail "$what: evmctl accepts a tampered log (exit 0), imalog exit $i"
	fi
}

echo "# tampered copies"
for spec in "ima-ng 0.05 0.2" "ima 0.05 0.2" "$no_ima_mix 0.05 0.2"; do
	read -r t v p <<<"$spec"
	label=${t/#mixed:*/mixed}
	d=$tmp/t-$label
	"$gen" -n 2000 -t "$t" -V "$v" -p "$p" -s 11 -B sha1,sha256 -d "$d"
	load_offsets "$d/offsets"
	for c in "${tamper_cases[@]}"; do
		read -r case want <<<"$c"
		tamper_case "$label" "$d" "$t" "$case" "$want"
	done
done

# --- what only imalog reads -------------------------------------------------------------

# evmctl 1.4 reads neither big-endian logs nor per-bank files with longer header digests.
echo "# imalog only (evmctl cannot read these)"
for spec in "be sha1" "le sha256" "be sha384" "le sha512"; do
	read -r order bank <<<"$spec"
	d=$tmp/o-$order-$bank
	"$gen" -n 2000 -t mixed -e "$order" -b "$bank" -V 0.05 -p 0.2 -s 13 -d "$d"
	log=$d/binary_runtime_measurements
	[ "$bank" = sha1 ] || log=${log}_$bank
	i=$(run_imalog "$log" --byte-order "$order" --pcrs "$d/expected")
	if [ "$i" = 0 ]; then
		pass "imalog $order $bank mixed: accepts"
	else
		fail "imalog $order $bank mixed: exit $i on a clean log"
	fi
	load_offsets "$d/offsets"
	k=$(find_record 1000 10 0)
	cp "$log" "$tmp/o"
	flip_bit "$tmp/o" $((R_TDATA[k] + 12)) 0
	i=$(run_imalog "$tmp/o" --byte-order "$order" --log-bank "$bank" --pcrs "$d/expected")
	if [ "$i" = 1 ]; then
		pass "imalog $order $bank mixed template-data-bit: rejects"
	else
		fail "imalog $order $bank mixed template-data-bit: exit $i, expected 1"
	fi
done

# A log that runs ahead of the PCRs (the kernel appends before it extends) is accepted by both.
"$gen" -n 300 -s 21 -B sha1,sha256 -d "$tmp/ahead"
"$gen" -n 301 -s 21 -B sha1,sha256 -o "$tmp/ahead.log"
e=$(run_evmctl "$tmp/ahead.log" "$tmp/ahead/evmctl-pcrs-sha1" "$tmp/ahead/evmctl-pcrs-sha256")
i=$(run_imalog "$tmp/ahead.log" --pcrs "sha1,$tmp/ahead/evmctl-pcrs-sha1" \
	--pcrs "sha256,$tmp/ahead/evmctl-pcrs-sha256")
if [ "$e" = 0 ] && [ "$i" = 0 ]; then
	pass "log one record ahead of the PCRs: both accept"
else
	fail "log one record ahead of the PCRs: imalog exit $i, evmctl exit $e, expected 0 and 0"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
