#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Check imalog-gen before anything relies on it.
#   1. The oracle (replay.py) reproduces the published PCR values of the real logs and accepts
#      the encoding of every field in them.
#   2. For every template, both byte orders and several header-digest banks, the oracle's
#      replay of a generated log equals the values the generator wrote, and its fields are
#      encoded like the real logs' fields.
#   3. The four formats of expected values say the same thing.
#   4. evmctl accepts every generated log it can read (little-endian, sha1 header digests).
#   5. The output depends on the seed and only on it.
# Environment: IMALOG_GEN (default: build/tests/gen/imalog-gen), EVMCTL (default: evmctl).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
gen=${IMALOG_GEN:-$top/build/tests/gen/imalog-gen}
evmctl=${EVMCTL:-evmctl}
replay=$here/replay.py
data=$top/tests/golden/data
exp=$top/tests/golden/expected
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
check() {
	local what=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		pass "$what"
	else
		fail "$what"
		sed 's/^/    /' "$tmp/out" | head -20
	fi
}

# The replayed PCRs of a log must equal a "PCR ALG HEX" file, line for line.
replay_equals() {
	local expected=$1
	shift
	diff <(python3 "$replay" --check-fields "$@") <(grep -v '^#' "$expected" | sort)
}

upper() {
	tr '[:lower:]' '[:upper:]' <<<"$1"
}

# Every value of DIR/expected also in the evmctl files, the tpm2_pcrread YAML and sysfs tree.
formats_agree() {
	local dir=$1 pcr alg hex tpm
	while read -r pcr alg hex; do
		tpm=$alg
		[ "$alg" = sm3 ] && tpm=sm3_256
		grep -qx "PCR-$(printf %02d "$pcr"): $hex" "$dir/evmctl-pcrs-$alg" ||
			{ echo "evmctl file lacks $pcr $alg"; return 1; }
		[ "$(cat "$dir/tpm0/pcr-$tpm/$pcr")" = "$(upper "$hex")" ] ||
			{ echo "sysfs differs at $pcr $alg"; return 1; }
		awk -v bank="  $tpm:" -v line="$(printf '    %-2d: 0x%s' "$pcr" "$(upper "$hex")")" '
			/^  [^ ]/ { in_bank = ($0 == bank) }
			in_bank && $0 == line { found = 1 }
			END { exit !found }' "$dir/pcrread.yaml" ||
			{ echo "YAML lacks $pcr $alg"; return 1; }
	done < <(grep -v '^#' "$dir/expected")
	# 24 PCRs in each evmctl file: evmctl reads them by position
	[ "$(wc -l <"$dir/evmctl-pcrs-sha1")" -eq 24 ]
}

evmctl_accepts() {
	"$evmctl" ima_measurement --ignore-violations --pcrs "sha1,$1/evmctl-pcrs-sha1" \
		--pcrs "sha256,$1/evmctl-pcrs-sha256" "$1/binary_runtime_measurements"
}

echo "# the oracle against the real logs"
check "replay.py: embrave (922 ima-ng, sha1 header)" replay_equals "$exp/embrave.pcrs" \
	--banks sha1,sha256 "$data/embrave-binary_runtime_measurements"
check "replay.py: kraemr (3524 ima-ng, sha256 header)" replay_equals "$exp/kraemr.pcrs" \
	--banks sha1,sha256 --log-bank sha256 "$data/kraemr-binary_runtime_measurements_sha256"
check "replay.py: ibmtss (17 records, custom formats, ima, a violation)" replay_equals \
	"$exp/ibmtss.pcrs" --banks sha1,sha256 "$data/ibmtss-imatest.log"
for t in ima-ng ima ima-sig invalidated; do
	b64=tpm2tss-sml-$t-sha1.b64
	case $t in
	ima-sig) b64=tpm2tss-sml-ima-sig-sha256.b64 ;;
	invalidated) b64=tpm2tss-sml-ima-sig-sha256-invalidated.b64 ;;
	esac
	base64 -d "$data/$b64" >"$tmp/$t.bin"
	check "replay.py: tpm2-tss $t" replay_equals "$exp/tpm2tss-$t.pcrs" --banks sha1,sha256 \
		--allow-partial "$tmp/$t.bin"
done
printf 'sha256:\0%33s' "" | tr ' ' x >"$tmp/field"
if python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import replay
replay.check_digest_ng(open(sys.argv[2], "rb").read(), 0)' "$here" "$tmp/field" 2>/dev/null; then
	fail "replay.py: a sha256 digest field one byte too long is rejected"
else
	pass "replay.py: a sha256 digest field one byte too long is rejected"
fi

echo "# generated logs against the oracle"
banks=sha1,sha256,sha384,sha512
templates=(ima ima-ng ima-sig ima-ngv2 ima-sigv2 ima-buf ima-modsig evm-sig 'd-ng|n-ng|sig'
	'n-ng|d-ng' 'd|n' 'd-ngv2|n-ng|iuid|igid|imode|xattrnames|xattrlengths|xattrvalues' mixed)
# each template little-endian with sha1 header digests, and big-endian with another bank
i=0
for t in "${templates[@]}"; do
	for variant in "le sha1" "be sha256" "le sha512"; do
		read -r order bank <<<"$variant"
		i=$((i + 1))
		# the third variant only for every third template, to keep the run short
		[ "$bank" != sha512 ] || [ $((i % 9)) -eq 0 ] || continue
		d=$tmp/g$i
		"$gen" -n 300 -t "$t" -e "$order" -b "$bank" -V 0.05 -p 0.2 -s "$i" -d "$d"
		log=$d/binary_runtime_measurements
		[ "$bank" = sha1 ] || log=${log}_$bank
		check "gen $t $order $bank: replay equals the generator's values" replay_equals \
			"$d/expected" --byte-order "$order" --log-bank "$bank" --banks "$banks" "$log"
		[ "$t" != mixed ] || check "gen $t $order $bank: the four formats agree" \
			formats_agree "$d"
	done
done
for f in sha1 sha384 sm3 md5; do
	d=$tmp/f-$f
	t=mixed:ima-ng,ima-sig,ima-ngv2,ima-buf,ima-modsig,evm-sig
	"$gen" -n 300 -t "$t" -f "$f" -V 0.05 -d "$d"
	check "gen file digests in $f: replay equals" replay_equals "$d/expected" --banks "$banks" \
		"$d/binary_runtime_measurements"
done
"$gen" -n 5 -B sha1,sha256,sm3 -b sm3 -d "$tmp/sm3"
check "gen sm3 bank and header: replay equals" replay_equals "$tmp/sm3/expected" --log-bank sm3 \
	--banks sha1,sha256,sm3 "$tmp/sm3/binary_runtime_measurements_sm3"
check "gen sm3 bank: the four formats agree" formats_agree "$tmp/sm3"
if "$gen" -n 5 -t ima -f md5 -o /dev/null 2>/dev/null; then
	fail "gen refuses the ima template with md5 digests (no reader can parse them)"
else
	pass "gen refuses the ima template with md5 digests (no reader can parse them)"
fi

# the checks above can fail: a changed value is noticed by each of them
"$gen" -n 20 -V 0.1 -d "$tmp/neg"
sed -i '$ s/0$/X/; $ s/[1-9a-f]$/0/; $ s/X$/1/' "$tmp/neg/expected"
if replay_equals "$tmp/neg/expected" --banks "$banks" "$tmp/neg/binary_runtime_measurements" \
	>/dev/null; then
	fail "a changed expected value makes replay_equals fail"
else
	pass "a changed expected value makes replay_equals fail"
fi
if formats_agree "$tmp/neg" >/dev/null; then
	fail "a changed expected value makes formats_agree fail"
else
	pass "a changed expected value makes formats_agree fail"
fi

names_in_range() {
	python3 - "$1" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
off, names = 0, []
while off < len(data):
    off += 24
    n = struct.unpack_from("<I", data, off)[0]
    off += 4 + n
    t = struct.unpack_from("<I", data, off)[0]
    fields = data[off + 4:off + 4 + t]
    off += 4 + t
    k = struct.unpack_from("<I", fields, 0)[0]
    nl = struct.unpack_from("<I", fields, 4 + k)[0]
    names.append(fields[8 + k:8 + k + nl - 1].decode())
assert names[0] == "boot_aggregate", names[0]
bad = [x for x in names[1:] if not (10 <= len(x) <= 80 and x.startswith("/"))]
assert not bad, bad[:3]
EOF
}
"$gen" -n 2000 -s 9 -o "$tmp/names.log"
check "gen: boot_aggregate first, then paths of 10..80 characters" names_in_range "$tmp/names.log"

echo "# evmctl on generated logs"
if ! command -v "$evmctl" >/dev/null; then
	fail "evmctl is not installed (Debian: ima-evm-utils)"
else
	i=0
	# evmctl 1.4 refuses logs that mix "ima" with other templates, so mixed leaves it out.
	for t in "${templates[@]::${#templates[@]}-1}" \
		'mixed:ima-ng,ima-sig,ima-ngv2,ima-sigv2,ima-buf,ima-modsig,evm-sig,n-ng|d-ng'; do
		for n in 1 300; do
			i=$((i + 1))
			d=$tmp/e$i
			"$gen" -n "$n" -t "$t" -V 0.02 -p 0.1 -s "$i" -B sha1,sha256 -d "$d"
			check "evmctl accepts gen $t, $n records" evmctl_accepts "$d"
		done
	done
fi

echo "# determinism"
"$gen" -n 500 -t mixed -V 0.1 -p 0.1 -s 42 -o "$tmp/a.log" --expected "$tmp/a.exp"
"$gen" -n 500 -t mixed -V 0.1 -p 0.1 -s 42 -o - --expected "$tmp/b.exp" >"$tmp/b.log"
"$gen" -n 500 -t mixed -V 0.1 -p 0.1 -s 43 -o "$tmp/c.log"
check "gen: same seed, same log and values (file and stdout)" \
	cmp "$tmp/a.log" "$tmp/b.log"
check "gen: same seed, same expected values" cmp "$tmp/a.exp" "$tmp/b.exp"
if cmp -s "$tmp/a.log" "$tmp/c.log"; then
	fail "gen: another seed gives another log"
else
	pass "gen: another seed gives another log"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
