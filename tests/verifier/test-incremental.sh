#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The verifier's state file: a second run replays only new records; a new process resumes from
# the file; another log (a reboot) and a state the evidence contradicts start from boot; a bad
# new chunk still fails. Checkpoints: a signed state another verifier starts from when it
# trusts the signer's key, and rejects when signed by another key or edited.
# Environment: IMALOG, MKSTORE, IMALOG_GEN (set by meson; defaults: build/).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
imalog=${IMALOG:-$top/build/src/tool/imalog}
mkstore=${MKSTORE:-$top/build/tests/verifier/mkstore}
gen=${IMALOG_GEN:-$top/build/tests/gen/imalog-gen}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
check() {
	local what=$1
	shift
	if "$@"; then
		echo "PASS: $what"
		passed=$((passed + 1))
	else
		echo "FAIL: $what"
		failed=$((failed + 1))
	fi
}

# Field $2 of the JSON object in file $1.
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$1" "$2"; }
# verify OUT [ARGS...]: the JSON report in $tmp/OUT.json, the exit code in $tmp/OUT.rc.
verify() {
	local out=$1
	shift
	local rc=0
	local pcrs=${PCRS:-$tmp/pcrs}
	if [ "${*: -1}" = "$tmp/pcrs-half" ]; then
		pcrs=$tmp/pcrs-half
		set -- "${@:1:$#-2}"
	fi
	"$imalog" verify --no-kernel --pcrs "$pcrs" --json "$@" >"$tmp/$out.json" \
		2>"$tmp/$out.err" || rc=$?
	echo "$rc" >"$tmp/$out.rc"
}
is() { [ "$(field "$tmp/$1.json" "$2")" = "$3" ]; }
rc_is() { [ "$(cat "$tmp/$1.rc")" = "$2" ]; }

"$gen" -n 2100 -t mixed -V 0.01 -s 3 -o "$tmp/log"
"$mkstore" "$tmp/log" "$tmp/full" --chunk 200 --chunks 10 --aggregates --tail "$tmp/tail" \
	--pcrs "$tmp/pcrs" >/dev/null
logdir=$tmp/full/logs/test-boot
# The same machine earlier, when 5 chunks were saved and the kernel held the rest.
"$mkstore" "$tmp/log" "$tmp/half" --chunk 200 --chunks 5 --aggregates --tail "$tmp/kernel-half" \
	--pcrs "$tmp/pcrs-half" >/dev/null

verify first --store "$tmp/half" --piece "$tmp/kernel-half@1000" --state "$tmp/state" \
	--pcrs "$tmp/pcrs-half"
check "first run verifies from boot" rc_is first 0
check "first run did not resume" is first resumed False
check "first run replayed every record" is first from 0
check "the state file names chunk boundary 1000" \
	[ "$(field "$tmp/state" next)" = 1000 ]

verify second --store "$tmp/full" --piece "$tmp/tail" --state "$tmp/state"
check "second run verifies" rc_is second 0
total=$(field "$tmp/second.json" next)
check "second run resumed at record 1000" is second from 1000
check "second run replayed only records 1000.." is second records $((total - 1000))

verify third --store "$tmp/full" --piece "$tmp/tail" --state "$tmp/state"
check "a new process resumes from the file at record 2000" is third from 2000
check "third run replayed only the kernel's records" is third records $((total - 2000))

# The state keeps the boot_aggregate record that the next runs' aggregates must repeat.
boot_of_log=$("$imalog" show --count 1 "$tmp/log" | cut -d' ' -f4)
check "the state keeps the boot_aggregate record 0: $boot_of_log" \
	python3 -c 'import json, sys
b = json.load(open(sys.argv[1]))["boot_aggregate"]
sys.exit(b != {"index": 0, "pcr": 10, "digest": sys.argv[2]})' "$tmp/state" "$boot_of_log"
# A state without it (or whose boot_aggregate record was unreadable): an aggregate after it
# cannot be checked from the state alone, so the run verifies from boot.
python3 - "$tmp/state" "$tmp/state-noboot" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
del s['boot_aggregate']
json.dump(s, open(sys.argv[2], 'w'))
PY
verify noboot --store "$tmp/full" --piece "$tmp/tail" --state "$tmp/state-noboot"
check "a state without the boot_aggregate: verifies" rc_is noboot 0
check "  from boot" is noboot from 0
check "  and says why" grep -q "no boot_aggregate record precedes" "$tmp/noboot.json"

# Another deleter cut at record 920, inside a chunk the saved state vouches for; its aggregate
# comes at record 1000, after the state's boundary. The state keeps no state at 920: the run
# re-reads from boot and checks the aggregate there.
"$mkstore" "$tmp/log" "$tmp/cuts-half" --chunk 200 --chunks 5 --aggregates --cut-every 130 \
	--cut-lag 80 --tail "$tmp/cuts-kernel-half" --pcrs "$tmp/cuts-pcrs-half" >/dev/null
"$mkstore" "$tmp/log" "$tmp/cuts" --chunk 200 --chunks 10 --aggregates --cut-every 130 \
	--cut-lag 80 --tail "$tmp/cuts-tail" --pcrs "$tmp/cuts-pcrs" >/dev/null
check "mkstore put the aggregate of cut 920 at record 1000" \
	python3 -c 'import json, sys
sys.exit(json.load(open(sys.argv[1]))["aggregates"][0] != {"index": 1000, "deleted": 920})' \
	"$tmp/cuts/logs/test-boot/00000000000000001000.manifest"
PCRS=$tmp/cuts-pcrs-half verify cuts-first --store "$tmp/cuts-half" \
	--piece "$tmp/cuts-kernel-half@1000" --state "$tmp/cuts-state"
check "cuts inside chunks and the tail: the first run verifies" rc_is cuts-first 0
PCRS=$tmp/cuts-pcrs verify cuts-next --store "$tmp/cuts" --piece "$tmp/cuts-tail" \
	--state "$tmp/cuts-state"
check "a cut before the saved state: verifies" rc_is cuts-next 0
check "  from boot" is cuts-next from 0
check "  and says why" grep -q "needs records older than the saved state at record 1000" \
	"$tmp/cuts-next.json"

# A reboot: the newest log is another one.
"$mkstore" "$tmp/log" "$tmp/reboot" --chunk 200 --chunks 10 --aggregates --log-id other-boot \
	>/dev/null
verify reboot --store "$tmp/reboot" --piece "$tmp/tail" --state "$tmp/state"
check "another log (a reboot) verifies from boot" is reboot from 0
check "  and says why" grep -q "a reboot" "$tmp/reboot.json"

# The saved state contradicted by the evidence: a PCR value changed in the file.
verify again --store "$tmp/full" --piece "$tmp/tail" --state "$tmp/state"
check "the reboot left a state for the other log: this one starts over" is again from 0
python3 - "$tmp/state" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
v = s['state']['10']['sha256']
s['state']['10']['sha256'] = ('1' if v[0] == '0' else '0') + v[1:]
s['next'] = 1000
s['chunks'] = s['chunks'][:5]
json.dump(s, open(sys.argv[1], 'w'))
PY
verify contra --store "$tmp/full" --piece "$tmp/tail" --state "$tmp/state"
check "a contradicted state: still verifies" rc_is contra 0
check "  by re-reading from boot" is contra from 0
check "  and says why" grep -q "contradicts the saved state" "$tmp/contra.json"

echo garbage >"$tmp/state"
verify garbage --store "$tmp/full" --piece "$tmp/tail" --state "$tmp/state"
check "an unreadable state file: verifies from boot" is garbage from 0

# A bad new chunk after the saved state still fails, naming it.
cp "$logdir/00000000000000001400.chunk" "$tmp/chunk-1400"
verify base --store "$tmp/half" --piece "$tmp/kernel-half@1000" --state "$tmp/state" \
	--pcrs "$tmp/pcrs-half"
printf '\x01' | dd of="$logdir/00000000000000001400.chunk" bs=1 seek=100 conv=notrunc status=none
verify bad --store "$tmp/full" --piece "$tmp/tail" --state "$tmp/state"
check "a changed new chunk fails" rc_is bad 1
check "  naming it" grep -q 00000000000000001400.chunk "$tmp/bad.json"

# Checkpoints: verifier A signs its result; verifier B, trusting A's key, starts there.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/a.key" 2>/dev/null
openssl pkey -in "$tmp/a.key" -pubout -out "$tmp/a.pub"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/b.key" 2>/dev/null
openssl pkey -in "$tmp/b.key" -pubout -out "$tmp/b.pub"
verify signer --store "$tmp/half" --piece "$tmp/kernel-half@1000" --checkpoint "$tmp/cp" \
	--checkpoint-key "$tmp/a.key" --pcrs "$tmp/pcrs-half"
check "verifier A writes a signed checkpoint" [ -s "$tmp/cp" ] && [ -s "$tmp/cp.sig" ]
cp "$tmp/chunk-1400" "$logdir/00000000000000001400.chunk"
verify trusted --store "$tmp/full" --piece "$tmp/tail" --from-checkpoint "$tmp/cp" \
	--trust-key "$tmp/a.pub"
check "verifier B, trusting A, starts at record 1000" is trusted from 1000
check "  from the checkpoint" is trusted from_checkpoint True
check "  and verifies" rc_is trusted 0
verify untrusted --store "$tmp/full" --piece "$tmp/tail" --from-checkpoint "$tmp/cp" \
	--trust-key "$tmp/b.pub"
check "a checkpoint signed by a key not trusted fails" rc_is untrusted 1
sed -i 's/"next":1000/"next":1200/' "$tmp/cp"
verify edited --store "$tmp/full" --piece "$tmp/tail" --from-checkpoint "$tmp/cp" \
	--trust-key "$tmp/a.pub"
check "an edited checkpoint fails" rc_is edited 1
check "  naming the checkpoint" grep -q "signature does not verify" "$tmp/edited.err"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
