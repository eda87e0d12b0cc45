# SPDX-License-Identifier: GPL-2.0-or-later
# What the quote and verifier tests that run a software TPM (tests/swtpm.sh) share, sourced. It
# makes a directory $tmp that the EXIT trap removes, with swtpm stopped first (swtpm must not
# outlive the test, nor a timeout), and counts pass/fail lines in $passed and $failed. tpm
# COMMAND... runs a tpm2-tools command quietly and flushes the transient objects it left loaded.
# shellcheck source=../swtpm.sh
. "$(dirname "${BASH_SOURCE[0]}")/../swtpm.sh"
tmp=$(mktemp -d)
cleanup() {
	swtpm_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM # through the EXIT trap

passed=0 failed=0
pass() {
	echo "PASS: $*"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}

# Without a resource manager every transient object stays loaded: flush after each command.
tpm() {
	"$@" > /dev/null
	tpm2_flushcontext -t
}
