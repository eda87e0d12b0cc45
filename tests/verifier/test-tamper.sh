#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tamper suite (tamper.py): every change to a store must be rejected naming the right index.
# Environment: IMALOG, MKSTORE, IMALOG_GEN, TESTDATA (set by meson; defaults: build/).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 "$here/tamper.py" "${IMALOG:-$top/build/src/tool/imalog}" \
	"${MKSTORE:-$top/build/tests/verifier/mkstore}" \
	"${IMALOG_GEN:-$top/build/tests/gen/imalog-gen}" "${TESTDATA:-$top/tests/golden/data}" \
	"$tmp/work"
