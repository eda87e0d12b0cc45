# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: kernel series with imalogd: a workload makes thousands of measurements while the
#   daemon saves and deletes with a small threshold; kill -9 of the daemon at random points, each
#   followed by checks that the store plus the kernel's list is the whole log (no record lost or
#   duplicated) and verifies; after many deletions the whole log replays to the TPM in every bank
#   (and, on the host, evmctl accepts it); kernel memory with and without the daemon.
# cmdline: ima_policy=tcb ima_hash=sha256
# timeout: 900

D=/tmp/daemon
STORE=$D/store
mkdir -p "$D" /root/load
KILLS=${KILLS:-25}	# kill -9 rounds, at least
MAX_KILLS=60		# more rounds while fewer than 20 deletions fell among them (a slow guest)
BURST=1500		# records per memory phase
# Booted with ima_flush_htable (series-daemon-flush sources this file): imalogd's delete = auto
# must find it and delete with A and D, which frees the records completely.
FLUSH=no
case " $(cat /proc/cmdline) " in *" ima_flush_htable "*) FLUSH=yes ;; esac

daemon_config() { imalogd_config "$@"; }

start_daemon()
{
	imalogd --config "$D/imalogd.conf" >>"$D/imalogd.log" 2>&1 &
	echo $! >"$D/imalogd.pid"
}

wait_daemon() { imalogd_wait; }

# stop_daemon SIGNAL: send SIGNAL and wait for the daemon to exit.
stop_daemon()
{
	kill "-$1" "$(cat "$D/imalogd.pid")" 2>/dev/null || true
	wait "$(cat "$D/imalogd.pid")" 2>/dev/null || true
}

# kb KEY: a /proc/meminfo figure in kB.
kb()
{
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

current() { cat "$ima/runtime_measurements_count"; }
deleted() { cat "$ima/runtime_measurements_deleted"; }

# One new record: a file with new contents, read (measured) and removed, so that neither its
# inode nor IMA's per-inode state stays behind; only the measurement record does. Counted in
# $D/made, which is the workload's own count of the records it caused.
one_record()
{
	wl_i=$(($(cat "$D/made") + 1))
	echo "load $wl_i" >"/root/load/f$wl_i"
	read -r _ <"/root/load/f$wl_i"
	rm "/root/load/f$wl_i"
	echo "$wl_i" >"$D/made"
}
echo 0 >"$D/made"

# burst N: N records, now.
burst()
{
	b_n=$1
	while [ "$b_n" -gt 0 ]; do
		one_record
		b_n=$((b_n - 1))
	done
}

# The background workload: records until $D/stop exists; holds still while $D/pause exists
# (and says so with $D/paused).
workload()
{
	while [ ! -e "$D/stop" ]; do
		if [ -e "$D/pause" ]; then
			: >"$D/paused"
			usleep 20000
			continue
		fi
		rm -f "$D/paused"
		one_record
	done
}

start_workload()
{
	rm -f "$D/stop" "$D/pause" "$D/paused"
	workload &
	echo $! >"$D/workload.pid"
}

pause_workload()
{
	: >"$D/pause"
	while [ ! -e "$D/paused" ]; do usleep 20000; done
}

resume_workload()
{
	rm -f "$D/pause"
}

stop_workload()
{
	: >"$D/stop"
	wait "$(cat "$D/workload.pid")"
	echo "the workload made $(cat "$D/made") records"
}

# ---- kernel memory: the same burst without and with the daemon ----

# mem_phase NAME: SUnreclaim (and Slab) and the kernel's list before and after a burst of BURST
# records.
mem_phase()
{
	m_before=$(kb SUnreclaim) m_slab=$(kb Slab) m_total=$(($(deleted) + $(current)))
	burst "$BURST"
	[ "$1" = without ] || imalog snapshot --store "$STORE" || return 1
	m_after=$(kb SUnreclaim) m_records=$(($(deleted) + $(current) - m_total))
	echo "$1 $m_before $m_after $m_records $(current) $(wc -c <"$ima/binary_runtime_measurements")" \
		"$m_slab $(kb Slab)" >"$D/mem-$1"
	echo "$1 the daemon: SUnreclaim $m_before -> $m_after kB, Slab $m_slab -> $(kb Slab) kB" \
		"over $m_records records; the kernel holds $(current) records"
}

mem_without()
{
	mem_phase without
}

# The daemon deletes down to its threshold first, then the same burst runs.
mem_with()
{
	daemon_config 200 100
	start_daemon
	wait_daemon || return 1
	imalog snapshot --store "$STORE" || return 1
	mem_phase with
	stop_daemon TERM
	if [ "$FLUSH" = yes ]; then
		# auto found ima_flush_htable on the command line: A and D from the start.
		grep -q "(deleting with A and D on the _staged file)" "$D/imalogd.log" &&
			! grep -q "refused N" "$D/imalogd.log"
	fi
}

# The kernel's list stays within the daemon's threshold (records and bytes), and slab memory
# grows less per record with the daemon than without. With N it still grows: N frees each
# record's template data, but the record, its per-bank digests and its queue entry stay in the
# hash table that detects duplicate measurements. With ima_flush_htable the daemon deletes with
# A and D, which frees them too: slab memory must then stay flat, growing by less than a tenth
# of what the same burst adds without the daemon (see docs/performance.md).
mem_bounds()
{
	read -r _ wo_before wo_after wo_records _ wo_bytes wo_slab0 wo_slab1 <"$D/mem-without"
	read -r _ wi_before wi_after wi_records wi_current wi_bytes wi_slab0 wi_slab1 <"$D/mem-with"
	wo_grow=$((wo_after - wo_before)) wi_grow=$((wi_after - wi_before))
	wo_per=$((wo_grow * 1024 / wo_records))
	wi_per=$((wi_grow * 1024 / wi_records))
	echo "SUnreclaim per record: $wo_per bytes without the daemon, $wi_per bytes with it"
	echo "SUnreclaim growth: $wo_grow kB without the daemon, $wi_grow kB with it"
	echo "Slab growth: $((wo_slab1 - wo_slab0)) kB without, $((wi_slab1 - wi_slab0)) kB with"
	echo "the kernel's list at the end: $wi_current records, $wi_bytes bytes"
	echo "memory: without $wo_grow kB/$wo_records records," \
		"with $wi_grow kB/$wi_records records" >"$D/memory.txt"
	ktest_export "$D/mem-without" "$D/mem-with"
	echo "the kernel's list without the daemon: $wo_bytes bytes"
	[ "$wo_per" -gt 0 ] && [ "$wi_per" -lt "$wo_per" ] && [ "$wi_current" -le 200 ] &&
		[ $((wi_bytes * 10)) -lt "$wo_bytes" ] || return 1
	[ "$FLUSH" = no ] || [ $((wi_grow * 10)) -lt "$wo_grow" ]
}

# ---- kill -9 at random points ----


# check_round K: with the daemon dead and the workload paused, the store and the kernel's list
# are the whole log: as many records as the kernel counted since boot, the previous round's log
# as a prefix, the kernel's list at the absolute index of its deleted count, every record the
# workload made exactly once, replaying to the TPM in every bank; and the store passes
# imalog verify --store.
check_round()
{
	c_full=$D/full.$1
	imalog log --store "$STORE" --from 0 >"$c_full" || return 1
	c_n=$(series_records "$c_full")
	c_del=$(deleted) c_cur=$(current)
	# A kill between A and D leaves records staged: they come before the current list.
	cat "$ima/binary_runtime_measurements_staged" "$ima/binary_runtime_measurements" >"$D/kernel"
	c_stg=$(series_records "$ima/binary_runtime_measurements_staged")
	[ "$c_stg" = 0 ] || echo "$1" >>"$D/staged-after-kill"
	echo "round $1: $c_n records in store + kernel; the kernel deleted $c_del and holds" \
		"$c_stg staged and $c_cur current"
	[ "$c_n" = $((c_del + c_stg + c_cur)) ] || { echo "count mismatch"; return 1; }
	c_prev=$(wc -c <"$D/prev")
	head -c "$c_prev" "$c_full" | cmp - "$D/prev" || { echo "the log changed"; return 1; }
	imalog log --store "$STORE" --from "$c_del" >"$D/tail" || return 1
	cmp "$D/tail" "$D/kernel" ||
		{ echo "log --from $c_del is not the kernel's lists"; return 1; }
	imalog show --format ascii "$c_full" |
		awk '$5 ~ "^/root/load/f" { print $5 }' | sort >"$D/names"
	c_made=$(cat "$D/made")
	echo "workload records: $(wc -l <"$D/names") in the log, $(sort -u "$D/names" | wc -l)" \
		"distinct, $c_made made"
	[ "$(wc -l <"$D/names")" = "$c_made" ] && [ "$(sort -u "$D/names" | wc -l)" = "$c_made" ] ||
		return 1
	imalog verify --pcrs "$tpm" "$c_full" || return 1
	imalog verify --store "$STORE" || return 1
	echo "$c_del" >>"$D/deleted-after-kill"
	mv "$c_full" "$D/prev"
}

# aggregates FILE: the number of snapshot_aggregate records (one per deletion) in a log.
aggregates()
{
	imalog show --format ascii "$1" | grep -c ' snapshot_aggregate '
}

kill_rounds()
{
	imalog log --store "$STORE" --from 0 >"$D/prev" || return 1
	aggregates "$D/prev" >"$D/aggregates-before-kills"
	daemon_config 40 20
	start_workload
	k=1
	while [ "$k" -le "$KILLS" ] || { [ "$k" -le "$MAX_KILLS" ] &&
		[ $(($(aggregates "$D/prev") - $(cat "$D/aggregates-before-kills"))) -lt 20 ]; }; do
		start_daemon
		# 0.2 to 3.2 s: start-up, reading and checking the store, saves, deletions.
		usleep $((200000 + $(od -An -N2 -tu2 /dev/urandom) % 3000 * 1000))
		stop_daemon KILL
		pause_workload
		ktest_check "$(printf 'kill-%02d' "$k")" check_round "$k"
		resume_workload
		k=$((k + 1))
	done
	echo $((k - 1)) >"$D/kills-done"
	stop_workload
}

# The kills fell among at least 20 deletions, and at least half of the intervals between two
# kills had one.
kills_across_deletions()
{
	k_agg=$(($(aggregates "$D/prev") - $(cat "$D/aggregates-before-kills")))
	k_int=$(awk 'NR > 1 && $1 > prev { n++ } { prev = $1 } END { print n + 0 }' \
		"$D/deleted-after-kill")
	k_stg=0
	[ ! -e "$D/staged-after-kill" ] || k_stg=$(wc -l <"$D/staged-after-kill")
	k_n=$(cat "$D/kills-done")
	echo "kills: $k_n; deletions meanwhile: $k_agg; intervals with a deletion: $k_int;" \
		"kills that left records staged (between A and D): $k_stg" | tee "$D/kills.txt"
	[ "$k_agg" -ge 20 ] && [ $((k_int * 2)) -ge $((k_n - 1)) ]
}

# With ima_flush_htable: the state a kill between A and D leaves, made on purpose (random kills
# seldom land in that short window in the guest). The records staged count in the checks, and
# the next daemon saves what it lacks, deletes them with D and carries on.
staged_empty()
{
	[ "$(series_records "$ima/binary_runtime_measurements_staged")" = 0 ]
}

staged_left()
{
	series_write "$ima/binary_runtime_measurements_staged" 'A\n' || return 1
	burst 20
	! staged_empty || { echo "nothing staged"; return 1; }
	check_round staged-1 || return 1
	s_del=$(deleted)
	start_daemon
	for _ in $(seq 300); do
		staged_empty 2>/dev/null && [ "$(deleted)" -gt "$s_del" ] && break
		usleep 100000
	done
	stop_daemon KILL
	staged_empty || { echo "the daemon left the records staged"; return 1; }
	check_round staged-2
}

# ---- the whole log after many deletions ----

# Deletions: one snapshot_aggregate per deletion; the daemon's chunks and status.
many_deletions()
{
	imalog log --store "$STORE" --from 0 >"$D/full" || return 1
	n_agg=$(imalog show --format ascii "$D/full" | grep -c ' snapshot_aggregate ')
	echo "deleted records: $(deleted); snapshot_aggregate records (one per deletion): $n_agg"
	echo "store: $(find "$STORE/logs" -name '*.chunk' | wc -l) chunks"
	imalog status --store "$STORE"
	echo "deletions: $n_agg, deleted records: $(deleted)" >"$D/deletions.txt"
	[ "$n_agg" -ge 20 ]
}

# imalog log --from 0 replays to the TPM's PCRs in every bank the TPM has.
every_bank()
{
	series_verify_every_bank "$D/full"
}

# For evmctl on the host: the whole log and the TPM's PCRs in evmctl's format (one file per
# bank), the PCRs read before and after the log with the same result.
export_for_evmctl()
{
	e=$KTEST_EXPORT/evmctl
	mkdir -p "$e"
	for _ in 1 2 3; do
		for b in "$tpm"/pcr-*; do
			for n in $(seq 0 23); do
				printf 'PCR-%02d: %s\n' "$n" "$(tr A-F a-f <"$b/$n")"
			done >"$e/pcrs-${b##*/pcr-}"
		done
		imalog log --store "$STORE" --from 0 >"$e/full-log" || return 1
		for b in "$tpm"/pcr-*; do
			printf 'PCR-10: %s\n' "$(tr A-F a-f <"$b/10")"
		done >"$D/pcr10-after"
		grep -h '^PCR-10: ' "$e"/pcrs-* | cmp - "$D/pcr10-after" && return 0
	done
	echo "the PCRs kept changing"
	return 1
}

ktest_check memory-without-daemon mem_without
ktest_check memory-with-daemon mem_with
ktest_check memory-list-bounded mem_bounds
kill_rounds
ktest_check kills-across-deletions kills_across_deletions
[ "$FLUSH" = no ] || ktest_check staged-left-by-a-kill staged_left
ktest_check many-deletions many_deletions
ktest_check whole-log-every-bank every_bank
ktest_check export-for-evmctl export_for_evmctl
ktest_export "$D/memory.txt" "$D/deletions.txt" "$D/kills.txt" "$D/deleted-after-kill" \
	"$D/imalogd.log"
