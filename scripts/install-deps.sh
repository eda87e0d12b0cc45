#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what imalog needs on Debian 12. Idempotent: installs only what is missing.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --kernel   also what the QEMU kernel tests need
set -euo pipefail

pkgs=(build-essential meson ninja-build pkg-config libssl-dev libjson-c-dev
      clang llvm libclang-rt-14-dev valgrind ima-evm-utils python3 time
      libtss2-dev tpm2-tools swtpm libfuse3-dev fuse3 openssl)
kernel_pkgs=(linux-source-6.12 qemu-system-x86 busybox-static kexec-tools
             cpio bc bison flex libelf-dev xz-utils ccache kmod)

[ "${1:-}" = --kernel ] && pkgs+=("${kernel_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
