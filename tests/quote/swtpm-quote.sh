#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Real quotes over a real log. A software TPM (swtpm) gets PCR 10 extended with the first records
# of LOG, bank by bank, as the kernel extends it (each bank with its own hash of the template
# data, a violation as all 0xff); tpm2-tools make the EK, the AKs and the quotes; imalog verify
# must accept the real quotes and reject every forgery with exit 1.
#   swtpm-quote.sh IMALOG LOG [--save DIR]
# --save DIR keeps the quotes the unit tests use (tests/quote/data). Prints PASS:/FAIL: lines and
# ends with "N passed, N failed". Exit 77 (skipped) without swtpm or tpm2-tools.
set -euo pipefail

imalog=$(realpath "$1") log=$(realpath "$2")
save=
if [ "${3:-}" = --save ]; then
	mkdir -p "$4"
	save=$(realpath "$4")
fi
quoted=900	# records in the TPM; the log runs ahead of the quote by the rest

for tool in swtpm tpm2_startup tpm2_pcrextend tpm2_createek tpm2_createak tpm2_quote python3; do
	if ! command -v "$tool" > /dev/null; then
		echo "SKIP: $tool is not installed"
		exit 77
	fi
done

# shellcheck source=swtpm-lib.sh
. "$(dirname "$0")/swtpm-lib.sh"
cd "$tmp"

# expect NAME RC PATTERN COMMAND...: COMMAND exits RC and its output matches PATTERN.
expect() {
	local name=$1 want=$2 pattern=$3 rc=0
	shift 3
	"$@" > out 2>&1 || rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, expected $want"
		sed 's/^/    /' out
	elif [ -n "$pattern" ] && ! grep -q -- "$pattern" out; then
		fail "$name: output lacks '$pattern'"
		sed 's/^/    /' out
	else
		pass "$name"
	fi
}

new_nonce() {
	od -An -N20 -tx1 /dev/urandom | tr -d ' \n'
}

# quote NAME AK SELECTION [OPTION...]: NAME.msg, .sig, .pcrs and .nonce, with a fresh nonce.
quote() {
	local name=$1 ak=$2 selection=$3 nonce
	shift 3
	nonce=$(new_nonce)
	echo "$nonce" > "$name.nonce"
	tpm tpm2_quote -c "$ak.ctx" -l "$selection" -q "$nonce" -m "$name.msg" -s "$name.sig" \
		-o "$name.pcrs" "$@"
}

# verify NAME AK [OPTION...]: imalog verify of quote NAME with key AK (a TPM2B_PUBLIC).
verify() {
	local name=$1 ak=$2
	shift 2
	"$imalog" verify --quote "$name.msg" --quote-sig "$name.sig" --ak-pub "$ak" \
		--nonce "$(cat "$name.nonce")" "$@"
}

"$imalog" show --format binary --count "$quoted" "$log" > quoted.log
swtpm_start "$tmp"
swtpm_extend_args "$imalog" "$log" --count "$quoted" > extend.txt
[ "$(wc -l < extend.txt)" -eq "$quoted" ] || {
	echo "FAIL: the log has fewer than $quoted records"
	exit 1
}
xargs -n 100 tpm2_pcrextend < extend.txt

tpm tpm2_createek -c ek.ctx -G ecc -u ek.pub
# name:type:scheme; "other" is a second RSA AK of the same TPM.
for ak in rsa:rsa:rsassa ecc:ecc:ecdsa pss:rsa:rsapss other:rsa:rsassa; do
	IFS=: read -r name type scheme <<< "$ak"
	tpm tpm2_createak -C ek.ctx -c "$name.ctx" -G "$type" -g sha256 -s "$scheme" \
		-u "$name.pub" -n "$name.name" -r "$name.priv"
	tpm tpm2_readpublic -c "$name.ctx" -f pem -o "$name.pem"
done

# ---- real quotes verify ----
total=$("$imalog" show --format json "$log" | wc -l)
for ak in rsa ecc pss; do
	if [ $ak = pss ]; then
		quote "q-$ak" "$ak" sha1:10+sha256:10 --scheme rsapss
	else
		quote "q-$ak" "$ak" sha1:10+sha256:10
	fi
	expect "$ak: a real quote verifies, the log $((total - quoted)) records ahead of it" \
		0 "verified $quoted of $total records" \
		verify "q-$ak" "$ak.pub" --quote-pcrs "q-$ak.pcrs" "$log"
	expect "$ak: the same with the key as PEM" 0 "verified $quoted of" \
		verify "q-$ak" "$ak.pem" --quote-pcrs "q-$ak.pcrs" "$log"
	expect "$ak: the log alone gives the quoted values" 0 "the whole log gives the quoted" \
		verify "q-$ak" "$ak.pub" quoted.log
done
expect "a log that runs ahead does not give the quoted values by itself" 1 "run ahead" \
	verify q-rsa rsa.pub "$log"
expect "--json carries the quote" 0 '"quote":{"scheme":"rsassa","hash":"sha256"' \
	verify q-rsa rsa.pub --quote-pcrs q-rsa.pcrs --json "$log"

# ---- forgeries are rejected ----
cp q-rsa.nonce good.nonce
new_nonce > q-rsa.nonce
expect "a wrong nonce" 1 "not the nonce" verify q-rsa rsa.pub --quote-pcrs q-rsa.pcrs "$log"
cp good.nonce q-rsa.nonce

quote q-other other sha1:10+sha256:10
expect "a quote signed by another RSA AK" 1 "does not verify" \
	verify q-other rsa.pub --quote-pcrs q-other.pcrs "$log"
expect "an ECDSA quote checked with an RSA AK" 1 "the key is not an EC key" \
	verify q-ecc rsa.pub --quote-pcrs q-ecc.pcrs "$log"

quote q-nopcr10 rsa sha1:0,1,2+sha256:0,1,2
expect "a selection without PCR 10" 1 "does not select PCR 10" \
	verify q-nopcr10 rsa.pub --quote-pcrs q-nopcr10.pcrs "$log"
expect "a selection without PCR 10, values from the log" 1 "does not select PCR 10" \
	verify q-nopcr10 rsa.pub quoted.log
quote q-sha1 rsa sha1:10+sha256:11
expect "PCR 10 in one bank only" 1 "does not select PCR 10 of sha256" \
	verify q-sha1 rsa.pub --quote-pcrs q-sha1.pcrs "$log"

cp q-rsa.pcrs edited.pcrs
# The first value's first byte: selection (132) + list count (4) + digest count (4) + size (2).
printf '\x5a' | dd of=edited.pcrs bs=1 seek=142 conv=notrunc 2> /dev/null
expect "PCR values edited after the quote" 1 "do not give the quote's pcrDigest" \
	verify q-rsa rsa.pub --quote-pcrs edited.pcrs "$log"
expect "the PCR values of another selection" 1 "another PCR selection" \
	verify q-rsa rsa.pub --quote-pcrs q-nopcr10.pcrs "$log"

# The log changed: one record dropped.
{
	"$imalog" show --format binary --count 5 quoted.log
	"$imalog" show --format binary --from 6 quoted.log
} > dropped.log
expect "a log with a record dropped" 1 "no prefix" \
	verify q-rsa rsa.pub --quote-pcrs q-rsa.pcrs dropped.log
expect "a log with a record dropped, values from the log" 1 "do not give the quoted" \
	verify q-rsa rsa.pub dropped.log

# A later quote's values with this quote: PCR 10 moved on since.
tpm2_pcrextend "10:sha1=$(printf '%040d' 1),sha256=$(printf '%064d' 1)"
quote q-later rsa sha1:10+sha256:10
expect "the PCR values of a later quote" 1 "do not give the quote's pcrDigest" \
	verify q-rsa rsa.pub --quote-pcrs q-later.pcrs "$log"
expect "a later quote does not verify the log" 1 "no prefix" \
	verify q-later rsa.pub --quote-pcrs q-later.pcrs "$log"

# A forged quote signed by a key the TPM will sign anything with: not an attestation key.
tpm tpm2_createprimary -C o -c primary.ctx -G ecc
tpm tpm2_create -C primary.ctx -G ecc256:ecdsa-sha256 -u unrestricted.pub \
	-r unrestricted.priv -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign'
tpm tpm2_load -C primary.ctx -u unrestricted.pub -r unrestricted.priv -c unrestricted.ctx
cp q-rsa.msg forged.msg
cp q-rsa.nonce forged.nonce
tpm tpm2_sign -c unrestricted.ctx -g sha256 -s ecdsa -o forged.sig forged.msg
expect "a quote signed by an unrestricted key" 1 "not a restricted signing key" \
	verify forged unrestricted.pub --quote-pcrs q-rsa.pcrs "$log"

# One bit flipped in a byte of the attestation or the signature: never exit 0, and exit 1 unless
# the byte is in the signature's sigAlg, hash or a size field, where a flip may make the file
# unreadable (exit 2) rather than wrong. Every type and size field and every 3rd byte besides,
# which keeps the ASan build's run short; the unit tests flip every byte of saved quotes.
flips() {
	python3 - "$imalog" "$1" "$2" "$3" << 'PY'
import subprocess, sys
imalog, name, ak, kind = sys.argv[1:5]
nonce = open(name + ".nonce").read().strip()
data = open(name + "." + kind, "rb").read()
fields = set()
if kind == "sig":
    fields = {0, 1, 2, 3, 4, 5}
    if data[0:2] == b"\x00\x18":  # TPM_ALG_ECDSA: r, then the size of s
        r_size = int.from_bytes(data[4:6], "big")
        fields |= {6 + r_size, 7 + r_size}
bad = tried = 0
for i in range(len(data)):
    if i not in fields and i % 3:
        continue
    flipped = bytearray(data)
    flipped[i] ^= 1 << (i % 8)
    files = {"msg": name + ".msg", "sig": name + ".sig"}
    files[kind] = "flipped"
    open("flipped", "wb").write(flipped)
    rc = subprocess.run([imalog, "verify", "--quote", files["msg"], "--quote-sig", files["sig"],
                         "--ak-pub", ak, "--nonce", nonce, "--quote-pcrs", name + ".pcrs",
                         "quoted.log"], capture_output=True).returncode
    tried += 1
    if rc == 0 or (rc != 1 and i not in fields):
        print("    %s byte %d: exit %d" % (kind, i, rc))
        bad += 1
print(tried)
sys.exit(1 if bad else 0)
PY
}
for ak in rsa ecc; do
	for kind in msg sig; do
		what=$([ $kind = msg ] && echo attestation || echo signature)
		if n=$(flips "q-$ak" "$ak.pub" "$kind"); then
			pass "$ak: $n bit flips in the $what, each rejected"
		else
			fail "$ak: a bit flip in the $what was not rejected as it should"
			echo "$n"
		fi
	done
done
head -c 100 q-rsa.msg > f.msg
cp q-rsa.sig f.sig
cp q-rsa.nonce f.nonce
expect "a truncated attestation" 1 "does not verify" verify f rsa.pub --quote-pcrs q-rsa.pcrs "$log"

if [ -n "$save" ]; then
	for ak in rsa ecc pss; do
		for ext in msg sig pcrs nonce; do
			cp "q-$ak.$ext" "$save/$ak.$ext"
		done
		cp "$ak.pub" "$ak.pem" "$save/"
	done
	for ext in msg sig pcrs nonce; do
		cp "q-nopcr10.$ext" "$save/nopcr10.$ext"
	done
	for ext in msg sig nonce; do
		cp "q-other.$ext" "$save/other.$ext"
	done
	cp unrestricted.pub "$save/"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
