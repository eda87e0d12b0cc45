#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Quoted cuts (docs/format.md 4.7) on the stand-in with a software TPM (swtpm, socket mode) whose
# PCRs the test extends with the stand-in's records, each bank with its own hash of the template
# data, as the kernel does (and, like the kernel, after the record is in the list): the attestation
# key made once and stored as keys/<name>.pub, equal to what tpm2_readpublic reads; every chunk
# ending where a quote cut, and records after the cut left in the kernel for the next cycle
# (the TPM lagging the list); each stored quote verifying against the records up to its chunk's
# end; a PCR extended by something else: chunks saved without a quote and the reason in the
# status; quote = yes refused without a TPM and with a key that cannot quote.
#   quoted.sh IMALOG IMALOGD STANDIN
# Prints PASS:/FAIL: lines and "N passed, N failed"; exit 77 without FUSE, swtpm or tpm2-tools.
set -euo pipefail

imalog=$1 imalogd=$2 standin=$3
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh"
standin_required
for tool in swtpm tpm2_startup tpm2_pcrextend tpm2_readpublic tpm2_createprimary \
	tpm2_evictcontrol python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool is not installed"
		exit 77
	fi
done

tmp=$(mktemp -d)
cleanup() {
	swtpm_stop
	standin_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM	# through the EXIT trap: swtpm must not outlive a timeout
# shellcheck source=tests/swtpm.sh
. "$here/../swtpm.sh"

export IMALOG_BOOT_ID=5a9ed000-0000-4000-8000-0000000000a7
AK=0x81010010

# extend_tpm [N]: extend the TPM with the stand-in's records it has not seen, or only up to
# record N (a TPM lagging the list, as the kernel's does between append and extend).
extended=0
extend_tpm() {
	local upto
	swtpm_extend_args "$imalog" "$state/truth" >"$tmp/extend.txt"
	upto=${1:-$(wc -l <"$tmp/extend.txt")}
	if [ "$upto" -gt "$extended" ]; then
		sed -n "$((extended + 1)),${upto}p" "$tmp/extend.txt" | xargs -n 50 tpm2_pcrextend
	fi
	extended=$upto
}

# once [OPTION...]: one imalogd cycle that saves and deletes what it can; its messages in
# $tmp/once.err.
once() {
	"$imalogd" --config "$tmp/imalogd.conf" --store "$store" --securityfs "$ima" --once "$@" \
		2>"$tmp/once.err"
}

status_value() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
		"$store/status.json" "$1"
}

# quote_fields MANIFEST: the quote of a manifest in files $tmp/q.attest, q.sig, q.nonce, q.key.
quote_fields() {
	python3 - "$1" "$tmp/q" <<'PY'
import json, sys
q = json.load(open(sys.argv[1])).get("quote")
if not q:
    sys.exit("%s has no quote" % sys.argv[1])
open(sys.argv[2] + ".attest", "wb").write(bytes.fromhex(q["attest"]))
open(sys.argv[2] + ".sig", "wb").write(bytes.fromhex(q["signature"]))
open(sys.argv[2] + ".nonce", "w").write(q["nonce"])
open(sys.argv[2] + ".key", "w").write(q["key"])
PY
}

# chunk_ends: "first count quoted" for each chunk of the log, in order.
chunk_ends() {
	local m
	for m in "$logdir"/*.manifest; do
		python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))
print(m["first"], m["count"], "quoted" if "quote" in m else "unquoted")' "$m"
	done
}

# every_quote_verifies: the records of the chunks up to each quoted chunk's end give its quote's
# PCR values; the signature verifies with the stored key.
every_quote_verifies() {
	local m c=()
	for m in "$logdir"/*.manifest; do
		c+=("${m%.manifest}.chunk")
		grep -q '"quote"' "$m" || continue
		quote_fields "$m" || return 1
		cat "${c[@]}" >"$tmp/upto.log"
		"$imalog" verify --quote "$tmp/q.attest" --quote-sig "$tmp/q.sig" \
			--ak-pub "$store/keys/$(cat "$tmp/q.key").pub" --nonce "$(cat "$tmp/q.nonce")" \
			"$tmp/upto.log" || {
			echo "the quote of ${m##*/} does not verify"
			return 1
		}
	done
}

# The key's file is the TPM2B_PUBLIC tpm2_readpublic reads, under the name it reads.
key_is_the_tpms() {
	local name
	tpm2_readpublic -c "$AK" -o "$tmp/ak.pub" -n "$tmp/ak.name" >/dev/null
	name=$(od -An -v -tx1 "$tmp/ak.name" | tr -d ' \n')
	[ "$(ls "$store/keys")" = "$name.pub" ] && cmp "$store/keys/$name.pub" "$tmp/ak.pub"
}

swtpm_start "$tmp" || exit 1
cat >"$tmp/imalogd.conf" <<EOF
quote = yes
tpm_tcti = $TPM2TOOLS_TCTI
delete_records = 1
save_records = 1
EOF

# ---- without a usable TPM, quote = yes refuses to start ----
standin_start refused
sed -i "s|^tpm_tcti = .*|tpm_tcti = swtpm:host=127.0.0.1,port=1|" "$tmp/imalogd.conf"
rc=0
"$imalogd" --config "$tmp/imalogd.conf" --store "$store" --securityfs "$ima" --once \
	2>"$tmp/r.err" || rc=$?
if [ $rc = 1 ] && grep -F "opening the TPM (tpm_tcti = swtpm:host=127.0.0.1,port=1)" "$tmp/r.err" \
	>/dev/null && grep -F "quote = yes: not starting" "$tmp/r.err" >/dev/null; then
	pass "quote = yes without a TPM: exit 1, naming the TCTI"
else
	fail "quote = yes without a TPM: exit $rc" "$tmp/r.err"
fi
sed -i "s|^tpm_tcti = .*|tpm_tcti = $TPM2TOOLS_TCTI|" "$tmp/imalogd.conf"

# A key that cannot quote (a storage key) at the handle: refused, and the TPM keeps it.
tpm2_createprimary -C o -G ecc -c "$tmp/storage.ctx" >/dev/null
tpm2_evictcontrol -C o -c "$tmp/storage.ctx" 0x81010020 >/dev/null
tpm2_flushcontext -t
echo "ak_handle = 0x81010020" >>"$tmp/imalogd.conf"
rc=0
once || rc=$?
if [ $rc = 1 ] && grep -F "the key at 0x81010020 is not a restricted" "$tmp/once.err" >/dev/null &&
	[ ! -e "$store/keys" ]; then
	pass "a key that is not a restricted signing key is refused"
else
	fail "a key that is not a restricted signing key: exit $rc" "$tmp/once.err"
fi
sed -i '/^ak_handle/d' "$tmp/imalogd.conf"
standin_stop

# ---- quoted cuts ----
standin_start quoted
logdir=$store/logs/$IMALOG_BOOT_ID
ctl append 40 >/dev/null
extend_tpm
n=$extended	# with the stand-in's boot_aggregate
check "first cycle: the key is made and persisted, a quoted chunk of every record" once
check "keys/<name>.pub is the TPM2B_PUBLIC tpm2_readpublic reads, named by its name" \
	key_is_the_tpms
if [ "$(chunk_ends)" = "0 $n quoted" ] && [ "$(kernel_deleted)" = "$n" ]; then
	pass "$n records: one quoted chunk, deleted up to its end"
else
	fail "$n records: chunks $(chunk_ends | tr '\n' ';'), deleted $(kernel_deleted)" \
		"$tmp/once.err"
fi

# The TPM lags the list: the cut falls where it quoted, the rest waits in the kernel.
ctl append 30 >/dev/null
extend_tpm $((n + 15))
check "a TPM behind the list: the cycle succeeds" once
if [ "$(chunk_ends | tail -n 1)" = "$n 15 quoted" ] && [ "$(kernel_deleted)" = $((n + 15)) ]; then
	pass "the cut is the quoted state (record $((n + 15))): the 15 after it stay in the kernel"
else
	fail "the cut: chunks $(chunk_ends | tr '\n' ';'), deleted $(kernel_deleted)" \
		"$tmp/once.err"
fi
extend_tpm
check "the next cycle saves the rest" once
if [ "$(chunk_ends | tail -n 1)" = "$((n + 15)) 15 quoted" ] &&
	[ "$(kernel_deleted)" = $((n + 30)) ]; then
	pass "the rest: one more quoted chunk"
else
	fail "the rest: chunks $(chunk_ends | tr '\n' ';')" "$tmp/once.err"
fi
# The daemon, with records measured (appended, then extended) between its cycles: stopped
# meanwhile, as the test's extension takes far longer than the kernel's.
daemon_start "$tmp/daemon.log" --config "$tmp/imalogd.conf" --poll-seconds 1
for round in 1 2 3 4 5; do
	kill -STOP "$daemon_pid"
	ctl append $((round * 7)) >/dev/null
	extend_tpm
	kill -CONT "$daemon_pid"
	nap 1.5
done
all_deleted() {
	[ "$(kernel_deleted)" = "$extended" ]
}
wait_until 30 all_deleted || fail "the daemon deleted $(kernel_deleted) of $extended records" \
	"$tmp/daemon.log"
check "the daemon stops cleanly" daemon_stop
if ! chunk_ends | grep -v " quoted$" >/dev/null; then
	pass "every chunk carries a quote ($(chunk_ends | wc -l) chunks)"
else
	fail "chunks without a quote: $(chunk_ends | tr '\n' ';')" "$tmp/daemon.log"
fi
check "every stored quote verifies against the records up to its chunk's end" \
	every_quote_verifies
check "the store and the kernel's list are every record, once" same_as_truth
check "imalog verify --store passes" store_verifies
if [ "$(status_value quoted_chunks)" -ge 1 ] && [ "$(status_value unquoted_chunks)" = 0 ]; then
	pass "status: quoted chunks counted, none unquoted"
else
	fail "status: $(cat "$store/status.json")"
fi

# ---- delete = staged: a cut inside the staged list (staged by another, as a crash between A
# and D leaves it); the staged records after the cut are saved without a quote before D ----
echo "delete = staged" >>"$tmp/imalogd.conf"
n=$extended
ctl append 30 >/dev/null
printf 'A\n' >"$ima/${B}_staged"
extend_tpm $((n + 10))
check "staged: the cycle succeeds" once
if [ "$(chunk_ends | tail -n 2 | tr '\n' ';')" = "$n 10 quoted;$((n + 10)) 20 unquoted;" ] &&
	[ "$(kernel_deleted)" = $((n + 30)) ] &&
	grep -F "staged records after the quoted cut" "$store/status.json" >/dev/null; then
	pass "staged: a quoted chunk to the cut, the staged rest unquoted, all deleted with D"
else
	fail "staged: chunks $(chunk_ends | tail -n 2 | tr '\n' ';'), deleted $(kernel_deleted)" \
		"$tmp/once.err" "$store/status.json"
fi
extend_tpm
ctl append 5 >/dev/null
extend_tpm
check "staged, the TPM in step again: the cycle succeeds" once
if [ "$(chunk_ends | tail -n 1)" = "$((n + 30)) 5 quoted" ]; then
	pass "staged, the TPM in step again: a quoted chunk"
else
	fail "staged, in step: chunks $(chunk_ends | tail -n 1)" "$tmp/once.err"
fi
check "imalog verify --store passes after the staged cuts" store_verifies
sed -i '/^delete = staged/d' "$tmp/imalogd.conf"

# ---- something else extends PCR 10: saved all the same, without a quote, and why ----
tpm2_pcrextend "10:sha1=$(printf '%040d' 1),sha256=$(printf '%064d' 1)"
ctl append 5 >/dev/null
extend_tpm
check "a PCR out of step: the cycle still succeeds" once
if [ "$(chunk_ends | tail -n 1 | cut -d' ' -f2-)" = "5 unquoted" ] &&
	[ "$(status_value unquoted_chunks)" = 1 ] &&
	"$imalog" status --store "$store" | grep -F "1 without a quote" >/dev/null &&
	grep -F "none of the 5 unsaved records gives the quoted PCR values" "$store/status.json" \
		>/dev/null && grep -F "saved 1 chunks without a quote" "$tmp/once.err" >/dev/null; then
	pass "no record gives the quote: saved unquoted, the reason in the status and the log"
else
	fail "a PCR out of step: chunks $(chunk_ends | tail -n 1)" "$store/status.json" \
		"$tmp/once.err"
fi
check "the store and the kernel's list are still every record, once" same_as_truth
standin_stop

finish
