#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# verify --store against real swtpm quotes (tests/quote/data: PCR 10 extended with the first 900
# records of the embrave log): the quoted state lies in the kernel's list or inside the chunks,
# with records after it; a wrong nonce, another key's quote, a selection without PCR 10 and
# edited PCR values are rejected.
# Environment: IMALOG, MKSTORE (set by meson; defaults: build/).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
imalog=${IMALOG:-$top/build/src/tool/imalog}
mkstore=${MKSTORE:-$top/build/tests/verifier/mkstore}
q=$top/tests/quote/data
log=$top/tests/golden/data/embrave-binary_runtime_measurements
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
# expect RC WHAT ARGS...: verify the store with ARGS; the exit code must be RC.
expect() {
	local want=$1 what=$2 rc=0
	shift 2
	"$imalog" verify --no-kernel --json "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" = "$want" ]; then
		echo "PASS: $what"
		passed=$((passed + 1))
	else
		echo "FAIL: $what: exit $rc, expected $want"
		cat "$tmp/out" "$tmp/err"
		failed=$((failed + 1))
	fi
}
quote() { echo --quote "$q/$1.msg" --quote-sig "$q/$1.sig" --nonce "$(cat "$q/$1.nonce")"; }

for n in 8 10; do
	"$mkstore" "$log" "$tmp/s$n" --chunk 100 --chunks $n --tail "$tmp/tail$n" >/dev/null
done
for key in rsa ecc; do
	# shellcheck disable=SC2046
	expect 0 "$key quote, quoted state in the kernel's list" --store "$tmp/s8" \
		--piece "$tmp/tail8" $(quote $key) --ak-pub "$q/$key.pub" --quote-pcrs "$q/$key.pcrs"
	grep -q '"matched_records":900,"records_after":22' "$tmp/out" ||
		{ echo "FAIL: 900 records matched, 22 after"; failed=$((failed + 1)); }
	# shellcheck disable=SC2046
	expect 0 "$key quote, quoted state at a chunk boundary, a chunk after it" \
		--store "$tmp/s10" --piece "$tmp/tail10" $(quote $key) --ak-pub "$q/$key.pub" \
		--quote-pcrs "$q/$key.pcrs"
done
# shellcheck disable=SC2046
expect 1 "a wrong nonce" --store "$tmp/s8" --piece "$tmp/tail8" $(quote rsa) --nonce 00112233 \
	--ak-pub "$q/rsa.pub" --quote-pcrs "$q/rsa.pcrs"
# shellcheck disable=SC2046
expect 1 "a quote signed by another key" --store "$tmp/s8" --piece "$tmp/tail8" $(quote other) \
	--ak-pub "$q/rsa.pub" --quote-pcrs "$q/rsa.pcrs"
# shellcheck disable=SC2046
expect 1 "a selection without PCR 10" --store "$tmp/s8" --piece "$tmp/tail8" $(quote nopcr10) \
	--ak-pub "$q/rsa.pub" --quote-pcrs "$q/nopcr10.pcrs"
cp "$q/rsa.pcrs" "$tmp/edited.pcrs"
# The first value's first byte: selection (132) + list count (4) + digest count (4) + size (2).
printf '\x5a' | dd of="$tmp/edited.pcrs" bs=1 seek=142 conv=notrunc status=none
# shellcheck disable=SC2046
expect 1 "PCR values edited after the quote" --store "$tmp/s8" --piece "$tmp/tail8" \
	$(quote rsa) --ak-pub "$q/rsa.pub" --quote-pcrs "$tmp/edited.pcrs"
# shellcheck disable=SC2046
expect 1 "a store that does not reach the quoted state" --store "$tmp/s8" $(quote rsa) \
	--ak-pub "$q/rsa.pub" --quote-pcrs "$q/rsa.pcrs"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
