# SPDX-License-Identifier: GPL-2.0-or-later
# scenario: series-daemon on a kernel booted with ima_flush_htable: imalogd (delete = auto)
#   finds the option and deletes with A and D, which frees the records and their hash-table
#   digests, so slab memory stays flat under the workload (growth below a tenth of the same
#   burst's without the daemon); kill -9 rounds, some between A and D, each checked as in
#   series-daemon; the whole log replays to the TPM in every bank (and evmctl accepts it).
# cmdline: ima_policy=tcb ima_hash=sha256 ima_flush_htable
# timeout: 900
# uses: series-daemon

# shellcheck source=tests/kernel/scenarios/series-daemon.sh
. /ktest/scenarios/series-daemon.sh
