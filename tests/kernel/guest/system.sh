# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: the whole system (scripts/run.sh): imalogd saves, and on the patched kernel deletes,
#   while a workload makes measurements; then a quote over PCR 10 with the host's nonce, and the
#   store, the kernel's list and the quote go to the host, which verifies them.
# cmdline: ima_policy=tcb ima_hash=sha256
# guest-bin: tpm2
# guest-lib: libtss2-tcti-device.so.0
# timeout: 900
#
# Parameters on the kernel command line (scripts/run.sh sets them): ktest.nonce=HEX (required),
# ktest.records=N (workload records, default 3000), ktest.delete=N (imalogd's delete_records,
# default 500).

D=/tmp/system
STORE=$D/store
OUT=$KTEST_EXPORT/system
mkdir -p "$D" "$OUT" /root/load

nonce='' records=3000 delete=500
for arg in $(cat /proc/cmdline); do
	case $arg in
	ktest.nonce=*) nonce=${arg#*=} ;;
	ktest.records=*) records=${arg#*=} ;;
	ktest.delete=*) delete=${arg#*=} ;;
	esac
done

kb()
{
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# fact KEY VALUE: one "key value" line for the host's report.
fact()
{
	echo "$1 $2" >>"$OUT/facts"
}

fact kernel "$(uname -r)"
fact start_seconds "$(cut -d' ' -f1 /proc/uptime)"
fact sunreclaim_kb_before "$(kb SUnreclaim)"
fact records_before "$(cat "$ima/runtime_measurements_count")"

start_daemon()
{
	cat >"$D/imalogd.conf" <<EOF
store = $STORE
delete_records = $delete
save_records = $((delete / 2))
save_seconds = 1
poll_seconds = 1
banks = $(series_banks)
EOF
	imalogd --config "$D/imalogd.conf" >"$D/imalogd.log" 2>&1 &
	echo $! >"$D/imalogd.pid"
	# Started once its first status names it.
	for _ in $(seq 600); do
		tr -d ' \n' <"$STORE/status.json" 2>/dev/null |
			grep -q "\"pid\":$(cat "$D/imalogd.pid")," && return 0
		usleep 100000
	done
	cat "$D/imalogd.log"
	return 1
}

# RECORDS new files, each read (one measurement each) and removed.
workload()
{
	i=0
	while [ $i -lt "$records" ]; do
		i=$((i + 1))
		echo "system load $i" >"/root/load/f$i"
		read -r _ <"/root/load/f$i"
		rm "/root/load/f$i"
	done
	fact workload_records "$i"
}

# A quote of PCR 10 in every bank, with the host's nonce, by imalogd's attestation key, which
# also signed the quotes its chunks carry (docs/format.md 4.7), so that the host trusts one key
# for both; by a new attestation key under the endorsement key if imalogd made none (ECC: key
# generation in the software TPM takes milliseconds).
quote()
{
	[ -n "$nonce" ] || { echo "no ktest.nonce on the kernel command line"; return 1; }
	export TPM2TOOLS_TCTI=device:/dev/tpmrm0
	sel=$(series_banks | sed 's/,/:10+/g; s/$/:10/')
	cd "$D" || return 1
	if tpm2 readpublic -c 0x81010010 -o "$OUT/ak.pub" >/dev/null 2>&1; then
		ak=0x81010010
		fact quote_key "imalogd's (0x81010010)"
	else
		tpm2 createek -c ek.ctx -G ecc -u ek.pub >/dev/null &&
			tpm2 createak -C ek.ctx -c ak.ctx -G ecc -g sha256 -s ecdsa -u "$OUT/ak.pub" \
				>/dev/null || return 1
		ak=ak.ctx
		fact quote_key "a new one under the endorsement key"
	fi
	tpm2 quote -c "$ak" -l "$sel" -q "$nonce" -g sha256 -m "$OUT/quote.msg" \
		-s "$OUT/quote.sig" -o "$OUT/quote.pcrs" >"$D/quote.out" || return 1
	cd /root || return 1
	fact quote_selection "$sel"
}

# After the quote: the daemon stops, then the kernel's list (with the absolute index of its
# first record) and the store are copied. A record measured after the quote is allowed: the
# verifier accepts a log that runs ahead of the quoted state.
collect()
{
	kill -TERM "$(cat "$D/imalogd.pid")"
	wait "$(cat "$D/imalogd.pid")" || true
	deleted=0
	[ ! -e "$ima/runtime_measurements_deleted" ] ||
		deleted=$(cat "$ima/runtime_measurements_deleted")
	cat "$ima/binary_runtime_measurements" >"$OUT/kernel-list"
	fact kernel_deleted "$deleted"
	fact kernel_records "$(cat "$ima/runtime_measurements_count")"
	cp -r "$STORE" "$OUT/store"
	rm -f "$OUT/store/lock" "$OUT/store/daemon.pid"
	cp "$D/imalogd.log" "$OUT/"
	fact sunreclaim_kb_after "$(kb SUnreclaim)"
	fact end_seconds "$(cut -d' ' -f1 /proc/uptime)"
}

ktest_check start-imalogd start_daemon
ktest_check workload workload
ktest_check quote quote
ktest_check collect collect
