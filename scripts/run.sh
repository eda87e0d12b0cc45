#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The main job: set up, build, and check a real IMA log end to end with the imalog command.
#   scripts/run.sh [LOG EXPECTED]
# Default: the measurement list of a Raspberry Pi running Linux 5.15 (922 ima-ng records) and
# the PCR 10 values its TPM held, shipped in tests/golden/.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
log=${1:-tests/golden/data/embrave-binary_runtime_measurements}
expected=${2:-tests/golden/expected/embrave.pcrs}

scripts/install-deps.sh
[ -d build ] || meson setup build
ninja -C build > /dev/null
imalog=build/src/tool/imalog

echo "== the first records, as the kernel prints them"
"$imalog" show --count 3 "$log"
echo "== PCR values the log produces"
"$imalog" replay "$log"
echo "== verification against the expected values ($expected)"
"$imalog" verify --pcrs "$expected" "$log"
