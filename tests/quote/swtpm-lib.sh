# SPDX-License-Identifier: GPL-2.0-or-later
# What the tests that run a software TPM share, sourced. It makes a directory $tmp that the EXIT
# trap removes, with swtpm stopped first (swtpm must not outlive the test, nor a timeout), and
# counts pass/fail lines in $passed and $failed. start_swtpm DIR starts swtpm with its state in
# DIR/state on a free pair of ports and points tpm2-tools at it (TPM2TOOLS_TCTI); stop_swtpm
# ends it. tpm COMMAND... runs a tpm2-tools command quietly and flushes the transient objects it
# left loaded. extend_args prints what to give tpm2_pcrextend to extend the PCRs as the kernel
# did for a log's records.
swtpm_pid=
tmp=$(mktemp -d)
cleanup() {
	stop_swtpm
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

# A free pair of ports (the swtpm TCTI wants the control port right after the server's).
free_port() {
	python3 - << 'PY'
import socket
for _ in range(100):
    with socket.socket() as a:
        a.bind(("127.0.0.1", 0))
        port = a.getsockname()[1]
        with socket.socket() as b:
            try:
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
    if port < 65535:
        print(port)
        break
PY
}

start_swtpm() {
	local dir=$1 port
	mkdir -p "$dir/state"
	for _ in 1 2 3 4 5; do
		port=$(free_port)
		swtpm socket --tpm2 --tpmstate dir="$dir/state" --flags not-need-init \
			--server type=tcp,port="$port",bindaddr=127.0.0.1 \
			--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 2> "$dir/swtpm.log" &
		swtpm_pid=$!
		export TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$port
		for _ in $(seq 50); do
			if tpm2_startup -c 2> /dev/null; then
				return 0
			fi
			kill -0 "$swtpm_pid" 2> /dev/null || break
			sleep 0.1
		done
		stop_swtpm
	done
	echo "cannot start swtpm:" >&2
	cat "$dir/swtpm.log" >&2
	exit 1
}

stop_swtpm() {
	if [ -n "$swtpm_pid" ]; then
		kill "$swtpm_pid" 2> /dev/null || true
		wait "$swtpm_pid" 2> /dev/null || true
	fi
	swtpm_pid=
}

# Without a resource manager every transient object stays loaded: flush after each command.
tpm() {
	"$@" > /dev/null
	tpm2_flushcontext -t
}

# extend_args IMALOG LOG [SHOW-OPTION...]: one "PCR:sha1=..,sha256=.." argument per record of LOG,
# the template data hashed per bank (a violation as all 0xff), computed here from what imalog
# shows, not from its replay.
extend_args() {
	local imalog=$1 log=$2
	shift 2
	"$imalog" show --format json "$@" "$log" | python3 -c '
import hashlib, json, sys
for line in sys.stdin:
    r = json.loads(line)
    data = bytes.fromhex(r["content"]["template_data"])
    if r["violation"]:
        d1, d2 = "ff" * 20, "ff" * 32
    else:
        d1, d2 = hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()
    print("%d:sha1=%s,sha256=%s" % (r["pcr"], d1, d2))'
}
