# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series with imalogd and quote = yes on the guest's TPM (docs/format.md 4.7):
#   while a workload measures, every chunk ends where a quote cut, each stored quote verifies
#   against the records up to its chunk's end with the key the daemon stored, deletions fall
#   exactly at chunk ends, and the whole log is complete and replays to the TPM in every bank.
#   imalog verify --store --ak counts every quoted chunk's end as proven by the TPM, and rejects
#   the store, naming the chunk, when a chunk's quote is replaced by the quote of another state,
#   or by a quote of a second attestation key of the same TPM (made with tpm2-tools: the AK is a
#   primary of a fixed template, so a second imalogd would make the same key).
# cmdline: ima_policy=tcb ima_hash=sha256
# timeout: 600
# guest-bin: tpm2
# guest-lib: libtss2-tcti-device.so.0

D=/tmp/daemon
STORE=$D/store
mkdir -p "$D" /root/load
ROUNDS=12		# bursts of records while the daemon runs
BURST=60

cat >"$D/imalogd.conf" <<EOF
store = $STORE
quote = yes
delete_records = 40
save_records = 20
save_seconds = 1
poll_seconds = 1
banks = $(series_banks)
EOF

current() { cat "$ima/runtime_measurements_count"; }
deleted() { cat "$ima/runtime_measurements_deleted"; }

n_made=0
burst()
{
	b_n=$1
	while [ "$b_n" -gt 0 ]; do
		n_made=$((n_made + 1))
		echo "load $n_made" >"/root/load/f$n_made"
		read -r _ <"/root/load/f$n_made"
		rm "/root/load/f$n_made"
		b_n=$((b_n - 1))
	done
}

logdir() { echo "$STORE"/logs/*; }

# json_hex FILE KEY: the hex string value of KEY in a manifest.
json_hex()
{
	sed -n "s/.*\"$2\": *\"\\([0-9a-f]*\\)\".*/\\1/p" "$1"
}

run_daemon()
{
	imalogd --config "$D/imalogd.conf" >"$D/imalogd.log" 2>&1 &
	echo $! >"$D/imalogd.pid"
	for _ in $(seq 600); do
		[ -s "$STORE/status.json" ] && break
		usleep 100000
	done
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		burst "$BURST"
		usleep 700000
		r=$((r + 1))
	done
	imalog snapshot --store "$STORE" || true
	kill -TERM "$(cat "$D/imalogd.pid")"
	wait "$(cat "$D/imalogd.pid")"
	cat "$D/imalogd.log"
	imalog status --store "$STORE"
	grep -q "quoting every chunk's end with the key " "$D/imalogd.log"
}

# keys/<name>.pub: the one key the daemon named.
key_stored()
{
	k_name=$(sed -n "s/.*quoting every chunk's end with the key \\([0-9a-f]*\\) at .*/\\1/p" \
		"$D/imalogd.log")
	echo "key: $k_name; keys/: $(ls "$STORE/keys")"
	[ -n "$k_name" ] && [ "$(ls "$STORE/keys")" = "$k_name.pub" ] && [ -s "$STORE/keys/$k_name.pub" ]
}

# Every chunk carries a quote, but those the daemon said it saved without one (and why).
chunks_quoted()
{
	c_q=0 c_u=0
	for m in "$(logdir)"/*.manifest; do
		if grep -q '"quote"' "$m"; then c_q=$((c_q + 1)); else c_u=$((c_u + 1)); fi
	done
	c_said=$(sed -n 's/^imalogd: saved \([0-9]*\) chunks without a quote: .*/\1/p' \
		"$D/imalogd.log" | awk '{ n += $1 } END { print n + 0 }')
	echo "chunks: $c_q quoted, $c_u unquoted, $c_said said to be unquoted"
	grep 'without a quote' "$D/imalogd.log" || true
	echo "quoted $c_q, unquoted $c_u ($c_said explained)" >"$D/quoted.txt"
	[ "$c_q" -ge 5 ] && [ "$c_u" = "$c_said" ]
}

# Each quote verifies, with the stored key and its nonce, against the chunks up to its own.
quotes_verify()
{
	: >"$D/upto"
	v_n=0
	for m in "$(logdir)"/*.manifest; do
		cat "${m%.manifest}.chunk" >>"$D/upto"
		grep -q '"quote"' "$m" || continue
		json_hex "$m" attest | xxd -r -p >"$D/q.attest"
		json_hex "$m" signature | xxd -r -p >"$D/q.sig"
		imalog verify --quote "$D/q.attest" --quote-sig "$D/q.sig" \
			--ak-pub "$STORE/keys/$(json_hex "$m" key).pub" --nonce "$(json_hex "$m" nonce)" \
			"$D/upto" >"$D/v.out" 2>&1 || { echo "${m##*/}:"; cat "$D/v.out"; return 1; }
		v_n=$((v_n + 1))
	done
	echo "$v_n quotes verified"
}

# Every deletion left the kernel starting at a chunk's end.
deletions_at_cuts()
{
	for m in "$(logdir)"/*.manifest; do
		f=${m##*/}
		f=${f%.manifest}
		echo $((10#$f + $(sed -n 's/.*"count": *\([0-9]*\).*/\1/p' "$m")))
	done >"$D/ends"
	sed -n 's/.*it now starts at record \([0-9]*\)$/\1/p' "$D/imalogd.log" >"$D/starts"
	echo "deletions: $(wc -l <"$D/starts"); chunk ends: $(wc -l <"$D/ends")"
	[ "$(wc -l <"$D/starts")" -ge 3 ] || return 1
	while read -r s; do
		grep -qx "$s" "$D/ends" || { echo "a deletion to $s is not at a chunk's end"; return 1; }
	done <"$D/starts"
}

# The store and the kernel's list: every record, once; replays to the TPM in every bank.
whole_log()
{
	imalog log --store "$STORE" --from 0 >"$D/full" || return 1
	w_n=$(series_records "$D/full")
	echo "$w_n records in store + kernel; deleted $(deleted), current $(current)"
	[ "$w_n" = $(($(deleted) + $(current))) ] || return 1
	imalog show --format ascii "$D/full" |
		awk '$5 ~ "^/root/load/f" { print $5 }' | sort >"$D/names"
	[ "$(wc -l <"$D/names")" = "$n_made" ] && [ "$(sort -u "$D/names" | wc -l)" = "$n_made" ] ||
		{ echo "workload records: $(wc -l <"$D/names") in the log, $n_made made"; return 1; }
	imalog verify --json --pcrs "$tpm" "$D/full" >"$D/verify.json" || return 1
	for alg in $(series_banks | tr , ' '); do
		grep -q "\"$alg\"" "$D/verify.json" || { echo "bank $alg not verified"; return 1; }
	done
	imalog verify --store "$STORE"
}

# verify --store with the daemon's key trusted: every quoted chunk's end proven by the TPM.
store_proven()
{
	imalog verify --store "$STORE" --ak "$STORE/keys/$k_name.pub" >"$D/proven.out" 2>&1 ||
		{ cat "$D/proven.out"; return 1; }
	cat "$D/proven.out"
	grep -q "^chunk ends proven: $c_q by the TPM," "$D/proven.out"
}

# quoted_manifests STORE: the manifests that carry a quote, in order.
quoted_manifests()
{
	for m in "$1"/logs/*/*.manifest; do
		if grep -q '"quote"' "$m"; then echo "$m"; fi
	done
}

# swap_quote TO FROM: the quote of manifest FROM written into manifest TO.
swap_quote()
{
	for f in key attest signature nonce; do
		sed -i "s/\"$f\": *\"$(json_hex "$1" "$f")\"/\"$f\": \"$(json_hex "$2" "$f")\"/" "$1"
	done
}

# rejected COPY MANIFEST: verify --store fails, naming the chunk of MANIFEST.
rejected()
{
	r_chunk=${2##*/}
	r_chunk=${r_chunk%.manifest}.chunk
	if imalog verify --store "$1" --ak "$STORE/keys/$k_name.pub" >"$D/rejected.out" 2>&1; then
		cat "$D/rejected.out"
		echo "verify --store accepted the store"
		return 1
	fi
	cat "$D/rejected.out"
	grep -q "$r_chunk" "$D/rejected.out"
}

# A chunk with the quote of the next quoted chunk: a true quote, of another state.
other_state_rejected()
{
	rm -rf "$D/t1"
	cp -a "$STORE" "$D/t1"
	set -- $(quoted_manifests "$D/t1")
	[ $# -ge 3 ] || return 1
	swap_quote "$2" "$3"
	rejected "$D/t1" "$2"
}

# A chunk with a quote by a second key of this TPM (RSA, of the same attributes), its public
# part in keys/ under its name: signed by the TPM, but not by the key the verifier trusts (and
# of the TPM's present state: no key can quote a state that has passed).
other_key_rejected()
{
	export TPM2TOOLS_TCTI=device:/dev/tpmrm0
	tpm2 createprimary -C e -G rsa2048:rsassa-sha256:null \
		-a 'restricted|sign|fixedtpm|fixedparent|sensitivedataorigin|userwithauth' \
		-c "$D/ak2.ctx" >/dev/null &&
		tpm2 readpublic -c "$D/ak2.ctx" -o "$D/ak2.pub" -n "$D/ak2.name" >/dev/null &&
		tpm2 quote -c "$D/ak2.ctx" -l "$(series_banks | sed 's/,/:10+/g; s/$/:10/')" \
			-q 00112233445566778899aabbccddeeff -g sha256 -m "$D/ak2.attest" \
			-s "$D/ak2.sig" >/dev/null || return 1
	o_name=$(xxd -p "$D/ak2.name" | tr -d '\n')
	rm -rf "$D/t2"
	cp -a "$STORE" "$D/t2"
	cp "$D/ak2.pub" "$D/t2/keys/$o_name.pub"
	set -- $(quoted_manifests "$D/t2")
	o_to=$2
	for f in key:"$o_name" attest:"$(xxd -p "$D/ak2.attest" | tr -d '\n')" \
		signature:"$(xxd -p "$D/ak2.sig" | tr -d '\n')" nonce:00112233445566778899aabbccddeeff; do
		sed -i "s/\"${f%%:*}\": *\"$(json_hex "$o_to" "${f%%:*}")\"/\"${f%%:*}\": \"${f#*:}\"/" "$o_to"
	done
	echo "chunk ${o_to##*/}: quote by key $o_name"
	# Its state is the TPM's now, not the chunk's end: the verifier may name either failure.
	rejected "$D/t2" "$o_to" && grep -q "key $o_name" "$D/rejected.out"
}

ktest_check daemon-quotes run_daemon
ktest_check key-stored key_stored
ktest_check chunks-quoted chunks_quoted
ktest_check quotes-verify quotes_verify
ktest_check deletions-at-cuts deletions_at_cuts
ktest_check whole-log-every-bank whole_log
ktest_check store-proven-by-tpm store_proven
ktest_check other-state-rejected other_state_rejected
ktest_check other-key-rejected other_key_rejected
ktest_export "$D/imalogd.log" "$D/quoted.txt"
