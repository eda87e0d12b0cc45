#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The seed corpus of fuzz/fuzz-quote.c from the quotes in DATA (tests/quote/data), one file per
# target and input, laid out as fuzz-quote.c reads them.
#   make-seeds.sh DATA CORPUS
set -euo pipefail

data=$(realpath "$1")
mkdir -p "$2"
corpus=$(realpath "$2")

python3 - "$data" "$corpus" << 'PY'
import subprocess, sys
data, corpus = sys.argv[1:3]

def read(name):
    return open(f"{data}/{name}", "rb").read()

def sized(b, n):
    return len(b).to_bytes(n, "big") + b

def write(name, target, body):
    open(f"{corpus}/{name}", "wb").write(bytes([target]) + body)

def behind(q):
    nonce = bytes.fromhex(read(f"{q}.nonce").decode().strip())
    return sized(nonce, 1) + sized(read(f"{q}.msg"), 2) + read(f"{q}.pcrs")

der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER", "-in", f"{data}/ecc.pem"],
                     check=True, capture_output=True).stdout
for q in ("rsa", "ecc", "pss"):
    write(f"sig-{q}", 0, read(f"{q}.sig"))
    write(f"key-{q}-tpm", 1, read(f"{q}.pub"))
    write(f"key-{q}-pem", 1, read(f"{q}.pem"))
    write(f"pcrs-{q}", 2, read(f"{q}.pcrs"))
    write(f"attest-{q}", 3, behind(q))
    write(f"quote-{q}", 4, sized(read(f"{q}.pub"), 2) + sized(read(f"{q}.sig"), 2) + behind(q))
write("key-ecc-der", 1, der)
write("key-unrestricted", 1, read("unrestricted.pub"))
write("pcrs-nopcr10", 2, read("nopcr10.pcrs"))
write("attest-nopcr10", 3, behind("nopcr10"))
write("quote-nopcr10", 4, sized(read("rsa.pub"), 2) + sized(read("nopcr10.sig"), 2) +
      behind("nopcr10"))
PY
