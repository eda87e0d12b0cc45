#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Quoted cuts (format.md 4.7): a store whose chunks end where a software TPM quoted PCR 10,
# extended record by record as the kernel would, with an attestation key made as imalogd makes
# it. verify --store must check every stored quote: a trusted key's quote proves the chunk's end
# ("tpm"), one by a key only the store vouches for does not ("tpm-untrusted-key"); a quote of
# another state, by a key not trusted, with a bad signature or under a file of another name fails
# the run naming the chunk; chunks without a quote are proven by an aggregate or only by their
# manifest. On one thread and on two, from boot and resumed from a saved state.
# Environment: IMALOG, MKSTORE, IMALOG_GEN (set by meson; defaults: build/). Exit 77 (skipped)
# without swtpm or tpm2-tools.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
imalog=${IMALOG:-$top/build/src/tool/imalog}
mkstore=${MKSTORE:-$top/build/tests/verifier/mkstore}
gen=${IMALOG_GEN:-$top/build/tests/gen/imalog-gen}

for tool in swtpm tpm2_startup tpm2_pcrextend tpm2_pcrread tpm2_createprimary tpm2_readpublic \
	tpm2_quote tpm2_flushcontext python3; do
	if ! command -v "$tool" > /dev/null; then
		echo "SKIP: $tool is not installed"
		exit 77
	fi
done

# shellcheck source=../quote/swtpm-lib.sh
. "$top/tests/quote/swtpm-lib.sh"
cd "$tmp"

chunks=6 per=20
"$gen" -n 125 -V 0.02 -s 7 -o log
"$mkstore" log base --chunk $per --chunks $chunks --aggregates --tail tail --pcrs pcrs > /dev/null
logdir=logs/test-boot
chunk_name() { printf '%020d' $(($1 * per)); }

# ---- the TPM: two attestation keys, PCR 10 extended chunk by chunk, a quote at each end ----
swtpm_start "$tmp"
attrs='restricted|sign|fixedtpm|fixedparent|sensitivedataorigin|userwithauth'
# The AK of format.md 4.7 (a signing key has no symmetric algorithm: ":null"), and a second,
# different one (RSA) of the same TPM.
tpm tpm2_createprimary -C e -G ecc256:ecdsa-sha256:null -a "$attrs" -c ak.ctx
tpm tpm2_createprimary -C e -G rsa2048:rsassa-sha256:null -a "$attrs" -c ak2.ctx
for k in ak ak2; do
	tpm tpm2_readpublic -c $k.ctx -o $k.pub -n $k.name
	# tpm2_readpublic -n writes the name in binary; the manifest names the key in lowercase hex.
	od -An -v -tx1 $k.name | tr -d ' \n' > $k.hex
done
tpm tpm2_readpublic -c ak.ctx -f pem -o ak.pem

# quote NAME AK [SELECTION]: NAME.msg, .sig, .nonce: the state now, with 16 random bytes as the
# label.
quote() {
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$1.nonce"
	tpm tpm2_quote -c "$2.ctx" -l "${3:-sha1:10+sha256:10}" -q "$(cat "$1.nonce")" \
		-m "$1.msg" -s "$1.sig" -g sha256
}

# The stored records, then the kernel's: every chunk holds $per of them.
cat base/$logdir/*.chunk tail > whole.log
swtpm_extend_args "$imalog" whole.log > extend.txt
for ((k = 0; k < chunks; k++)); do
	sed -n "$((k * per + 1)),$(((k + 1) * per))p" extend.txt | xargs tpm2_pcrextend
	quote q$k ak
	if [ $k = 1 ]; then
		quote q1-sha256 ak sha256:10 # the same state, one bank only
	fi
	if [ $k = 2 ]; then
		quote q2-ak2 ak2 # the same state, by the second key
	fi
done
# The live quote: the TPM after the kernel's remaining records too.
sed -n "$((chunks * per + 1)),\$p" extend.txt | xargs tpm2_pcrextend
quote live ak
# The fixture itself: the TPM holds what the whole log gives.
got=$(tpm2_pcrread sha256:10 | tr -d ' \n' | sed 's/.*10:0x//' | tr 'A-F' 'a-f')
if [ "10 sha256 $got" != "$(grep '^10 sha256 ' pcrs)" ]; then
	echo "FAIL: the TPM's PCR 10 is $got, the log gives $(grep '^10 sha256 ' pcrs)"
	exit 1
fi
swtpm_stop

# new_store NAME [CHUNK:QUOTE:KEY[:flip]]...: a copy of the store with the key files in keys/,
# every chunk quoted by ak unless named: CHUNK's manifest then carries quote QUOTE by KEY (ak,
# ak2; QUOTE "none": no quote), with "flip" a byte of its signature changed. Nothing else in the
# manifests changes.
new_store() {
	local name=$1
	shift
	rm -rf "$name"
	cp -a base "$name"
	mkdir -p "$name/keys"
	for k in ak ak2; do
		cp $k.pub "$name/keys/$(cat $k.hex).pub"
	done
	python3 - "$name/$logdir" $chunks $per "$@" << 'PY'
import json, sys
logdir, chunks, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
spec = {k: ("q%d" % k, "ak", "") for k in range(chunks)}
for arg in sys.argv[4:]:
    k, q, key, flip = (arg.split(":") + [""])[:4]
    spec[int(k)] = (q, key, flip)
for k, (q, key, flip) in spec.items():
    path = "%s/%020d.manifest" % (logdir, k * per)
    m = json.load(open(path))
    m.pop("quote", None)
    if q != "none":
        sig = bytearray(open(q + ".sig", "rb").read())
        if flip:
            sig[20] ^= 0x01  # inside r of the ECDSA signature
        m["quote"] = {"key": open(key + ".hex").read().strip(),
                      "attest": open(q + ".msg", "rb").read().hex(),
                      "signature": sig.hex(),
                      "nonce": open(q + ".nonce").read().strip()}
    json.dump(m, open(path, "w"), indent=2)
PY
}

# verify NAME ARGS...: imalog verify --json; NAME.json, NAME.err, NAME.rc.
verify() {
	local name=$1 rc=0
	shift
	"$imalog" verify --no-kernel --json "$@" > "$name.json" 2> "$name.err" || rc=$?
	echo "$rc" > "$name.rc"
}
# proofs NAME: the proof of each chunk read, in order, separated by spaces.
proofs() {
	local p
	p=$(grep -o '"proof":"[a-z-]*"' "$1.json" | sed 's/.*:"//; s/"$//' | tr '\n' ' ' || true)
	echo "${p% }"
}
# expect NAME RC PROOFS|- [PATTERN]: exit code, proofs and a pattern of the error output.
expect() {
	local name=$1 rc=$2 want=$3 pattern=${4:-}
	if [ "$(cat "$name.rc")" != "$rc" ]; then
		fail "$name: exit $(cat "$name.rc"), expected $rc"
		sed 's/^/    /' "$name.err"
	elif [ "$want" != - ] && [ "$(proofs "$name")" != "$want" ]; then
		fail "$name: proofs '$(proofs "$name")', expected '$want'"
	elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$name.err"; then
		fail "$name: the error lacks '$pattern'"
		sed 's/^/    /' "$name.err"
	else
		pass "$name"
	fi
}
all_tpm="tpm tpm tpm tpm tpm tpm"
store=(--store all --piece tail --pcrs pcrs)

# (a) every chunk quoted by the trusted key, on one thread and on two; the key as a TPM2B_PUBLIC,
# as PEM, or as the live quote's key.
new_store all
for t in 1 2; do
	verify a$t "${store[@]}" --ak ak.pub --threads $t
	expect a$t 0 "$all_tpm"
done
verify a-pem "${store[@]}" --ak ak.pem
expect a-pem 0 "$all_tpm"
verify a-live --store all --piece tail --quote live.msg --quote-sig live.sig --ak-pub ak.pub \
	--nonce "$(cat live.nonce)"
expect a-live 0 "$all_tpm"
"$imalog" verify --no-kernel "${store[@]}" --ak ak.pub > a.txt 2>&1 || true
if grep -q "^chunk ends proven: 6 by the TPM, 0 by an aggregate, 0 by the manifest only$" a.txt
then
	pass "the text output counts the chunk ends proven"
else
	fail "the text output lacks the count of chunk ends proven"
	sed 's/^/    /' a.txt
fi

# (b) chunk 3 carries chunk 1's quote: a good signature, of another state.
new_store b 3:q1:ak
for t in 1 2; do
	verify b$t --store b --piece tail --pcrs pcrs --ak ak.pub --threads $t
	expect b$t 1 - "$(chunk_name 3).chunk: verification failed at record 79: records 60..79 do not give the state the TPM quoted"
done

# (c) chunk 2 quoted by the second key, which is not trusted; trusted, it proves the end.
new_store c 2:q2-ak2:ak2
verify c1 --store c --piece tail --pcrs pcrs --ak ak.pub
expect c1 1 - "$(chunk_name 2).chunk: verification failed at record 59: records 40..59: quoted by key $(cat ak2.hex), which is not a trusted key"
verify c2 --store c --piece tail --pcrs pcrs --ak ak.pub --ak ak2.pub
expect c2 0 "$all_tpm"

# (d) no trusted key: the quotes are checked with the store's keys, and prove nothing.
verify d "${store[@]}"
expect d 0 "tpm-untrusted-key tpm-untrusted-key tpm-untrusted-key tpm-untrusted-key tpm-untrusted-key tpm-untrusted-key"
verify d-bad --store b --piece tail --pcrs pcrs
expect d-bad 1 - "records 60..79 do not give the state the TPM quoted"

# (e) one byte of chunk 4's signature changed; and the key file of another name.
new_store e 4:q4:ak:flip
for t in 1 2; do
	verify e$t --store e --piece tail --pcrs pcrs --ak ak.pub --threads $t
	expect e$t 1 - "$(chunk_name 4).chunk: verification failed at record 99: records 80..99: the quote of their end by key $(cat ak.hex) does not verify"
done
rm -rf e-name
cp -a all e-name
cp ak2.pub "e-name/keys/$(cat ak.hex).pub"
verify e-name --store e-name --piece tail --pcrs pcrs --ak ak.pub
expect e-name 1 - "$(chunk_name 0).chunk: verification failed at record 19: records 0..19: quoted by key $(cat ak.hex), but e-name/keys/$(cat ak.hex).pub is the key named $(cat ak2.hex)"

rm -rf e-nokey
cp -a all e-nokey
rm "e-nokey/keys/$(cat ak.hex).pub"
verify e-nokey --store e-nokey --piece tail --pcrs pcrs --ak ak.pub
expect e-nokey 1 - "$(chunk_name 0).chunk: verification failed at record 19: records 0..19: quoted by key $(cat ak.hex), whose file e-nokey/keys/$(cat ak.hex).pub cannot be read"
# A trusted key that is not a key is unusable (2), as is --ak without a store.
verify e-ak "${store[@]}" --ak pcrs
expect e-ak 2 - "pcrs: attestation key: neither a PEM or DER public key nor a TPM2B_PUBLIC"
verify e-usage --piece tail@0 --pcrs pcrs --ak ak.pub
expect e-usage 2 - "--ak needs --store"

# (f) chunks 1, 3 and 5 without a quote: the aggregate after chunks 1 and 3 proves their ends;
# without the kernel's list, nothing but its manifest proves chunk 5's.
new_store f 1:none:ak 3:none:ak 5:none:ak
cat f/$logdir/*.chunk > stored.log
"$imalog" replay --banks sha1,sha256 stored.log > pcrs-store
verify f --store f --pcrs pcrs-store --ak ak.pub
expect f 0 "tpm aggregate tpm aggregate tpm manifest"
verify f-tail --store f --piece tail --pcrs pcrs --ak ak.pub
expect f-tail 0 "tpm aggregate tpm aggregate tpm aggregate"

# A quote of one bank of two verified proves only a part of the end; with that bank alone
# verified it proves it, and the other chunks' quotes need the other bank replayed as well.
new_store p 1:q1-sha256:ak
verify p1 --store p --piece tail --pcrs pcrs --ak ak.pub
expect p1 0 "tpm aggregate tpm tpm tpm tpm"
verify p2 --store p --piece tail --pcrs pcrs --banks sha256 --ak ak.pub
expect p2 0 "$all_tpm"

# Resumed from a saved state: only the chunks read are reported, and their quotes checked.
verify s1 "${store[@]}" --ak ak.pub --state vstate
expect s1 0 "$all_tpm"
verify s2 "${store[@]}" --ak ak.pub --state vstate
expect s2 0 ""
"$mkstore" log half --chunk $per --chunks 3 --aggregates --tail half-tail --pcrs pcrs-half \
	> /dev/null
mkdir -p half/keys
cp ak.pub "half/keys/$(cat ak.hex).pub"
cp all/$logdir/"$(chunk_name 0)".manifest all/$logdir/"$(chunk_name 1)".manifest \
	all/$logdir/"$(chunk_name 2)".manifest half/$logdir/
verify h1 --store half --piece half-tail@60 --pcrs pcrs-half --ak ak.pub --state vstate-half
expect h1 0 "tpm tpm tpm"
cp vstate-half vstate-half2
verify h2 "${store[@]}" --ak ak.pub --state vstate-half
expect h2 0 "tpm tpm tpm"
verify h3 --store b --piece tail --pcrs pcrs --ak ak.pub --state vstate-half2
expect h3 1 - "records 60..79 do not give the state the TPM quoted"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
