#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Golden tests on real logs (data/SOURCES.md says where each comes from).
#   golden.sh replay IMALOG LOG EXPECTED [OPTION...]   replay output equals EXPECTED; verify passes
#   golden.sh ascii  IMALOG BINARY ASCII               renders byte for byte, both directions
#   golden.sh json   IMALOG LOG COUNT                  COUNT JSON lines, one per record, well formed
#   golden.sh reject IMALOG LOG OFFSET [OPTION...]     exit 2, error names "byte offset OFFSET"
#   golden.sh tamper IMALOG LOG EXPECTED OFFSET RC     a flipped bit at OFFSET: verify exits RC
# A LOG ending in .b64 is decoded first.
set -euo pipefail

mode=$1 imalog=$2 log=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# IMALOG_WRAPPER runs the binary under a tool, e.g. valgrind.
run() {
	${IMALOG_WRAPPER:-} "$imalog" "$@"
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

if [[ $log == *.b64 ]]; then
	base64 -d "$log" > "$tmp/$(basename "$log" .b64)"
	log=$tmp/$(basename "$log" .b64)
fi

case $mode in
replay)
	expected=$1
	shift
	run replay "$@" "$log" > "$tmp/got" || fail "replay exited $?"
	diff -u "$expected" "$tmp/got" || fail "replay of $log differs from $expected"
	run verify "$@" --pcrs "$expected" "$log" || fail "verify of $log exited $?"
	;;
ascii)
	ascii=$1
	run show --format ascii "$log" > "$tmp/ascii" || fail "show exited $?"
	cmp "$tmp/ascii" "$ascii" || fail "ASCII rendering of $log differs from $ascii"
	run show --format binary "$ascii" > "$tmp/binary" || fail "show of ASCII exited $?"
	cmp "$tmp/binary" "$log" || fail "binary rebuilt from $ascii differs from $log"
	;;
json)
	count=$1
	run show --format json "$log" > "$tmp/json" || fail "show --format json exited $?"
	python3 - "$tmp/json" "$count" <<'PY' || fail "JSON lines of $log"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == int(sys.argv[2]), f"{len(lines)} lines, expected {sys.argv[2]}"
for i, line in enumerate(lines):
    r = json.loads(line)
    assert r["recnum"] == i and r["content_type"] == "ima_template", line
    assert r["digests"][0]["hashAlg"] and len(r["digests"][0]["digest"]) in (40, 64, 96, 128)
    assert r["fields"], line
    for f in r["fields"]:
        assert f["id"] and ("value" in f or "hex" in f or "digest" in f), f
PY
	;;
reject)
	offset=$1
	shift
	rc=0
	run replay "$@" "$log" > /dev/null 2> "$tmp/err" || rc=$?
	cat "$tmp/err"
	[ $rc -eq 2 ] || fail "expected exit 2, got $rc"
	grep -q "at byte offset $offset:" "$tmp/err" || fail "error does not name byte offset $offset"
	;;
tamper)
	expected=$1 offset=$2 want=$3
	cp "$log" "$tmp/log"
	byte=$(od -An -tu1 -j "$offset" -N1 "$tmp/log" | tr -d ' ')
	printf "$(printf '\\%03o' $((byte ^ 1)))" |
		dd of="$tmp/log" bs=1 seek="$offset" conv=notrunc status=none
	rc=0
	run verify --pcrs "$expected" "$tmp/log" 2> "$tmp/err" || rc=$?
	cat "$tmp/err"
	[ $rc -eq "$want" ] || fail "bit flipped at $offset: expected exit $want, got $rc"
	;;
*)
	fail "unknown mode $mode"
	;;
esac
echo "ok: $mode $(basename "$log")"
