# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# A software TPM for the host tests (tests/quote, tests/verifier, tests/daemon/quoted.sh);
# sourced, not run. The caller ends it with swtpm_stop when it is done.

swtpm_pid=""

# swtpm_free_port: a free pair of ports (the swtpm TCTI wants the control port right after the
# server's).
swtpm_free_port() {
	python3 - <<'PY'
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

# swtpm_start DIR: a started TPM with empty state in DIR/state, its messages in DIR/swtpm.log;
# sets swtpm_pid and exports TPM2TOOLS_TCTI. Fails, showing the log, if none starts.
swtpm_start() {
	local dir=$1 port
	mkdir -p "$dir/state"
	for _ in 1 2 3 4 5; do
		port=$(swtpm_free_port)
		swtpm socket --tpm2 --tpmstate dir="$dir/state" --flags not-need-init \
			--server type=tcp,port="$port",bindaddr=127.0.0.1 \
			--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 2>"$dir/swtpm.log" &
		swtpm_pid=$!
		export TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$port
		for _ in $(seq 50); do
			if tpm2_startup -c 2>/dev/null; then
				return 0
			fi
			kill -0 "$swtpm_pid" 2>/dev/null || break
			sleep 0.1
		done
		swtpm_stop
	done
	echo "cannot start swtpm:" >&2
	cat "$dir/swtpm.log" >&2
	return 1
}

swtpm_stop() {
	if [ -n "$swtpm_pid" ]; then
		kill "$swtpm_pid" 2>/dev/null || true
		wait "$swtpm_pid" 2>/dev/null || true
	fi
	swtpm_pid=""
}

# swtpm_extend_args IMALOG LOG [SHOW OPTION...]: one "PCR:sha1=..,sha256=.." argument of
# tpm2_pcrextend per record, as the kernel extends: the template data hashed per bank (computed
# here from what imalog shows, not from its replay), a violation as all 0xff.
swtpm_extend_args() {
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
