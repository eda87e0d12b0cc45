#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What a packager relies on:
#   1. `meson install` (into a DESTDIR) puts the library, header, pkg-config file, binaries,
#      man pages, systemd unit and default configuration where they belong, for the prefix
#      /usr (a distribution package) and /usr/local (a local build).
#   2. A program built against the installed files alone, through pkg-config, links and
#      replays a real log to its known PCR value.
#   3. `meson dist` makes a tarball that configures, builds and passes its tests: the fast
#      suites (unit, golden, fuzz corpora, generator) by default, every suite but the daemon's
#      with --full-dist (the main run covers all of them on the work tree).
# Prints "PASS: name" / "FAIL: name" lines and exits 1 if any failed.
#   tests/package/check-package.sh [--no-dist | --full-dist]
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
dist=1 suites=(--suite unit --suite golden --suite fuzz --suite gen)
case ${1:-} in
--no-dist) dist=0 ;;
--full-dist) suites=(--no-suite daemon) ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

pass() { echo "PASS: package/$1"; }
fail() {
	echo "FAIL: package/$1"
	shift
	printf '    %s\n' "$@"
	fails=$((fails + 1))
}

# install_check PREFIX UNITDIR CONFDIR: configure, build and install under PREFIX, then look
# for every file a package must ship.
install_check() {
	local prefix=$1 unitdir=$2 confdir=$3 b=$tmp/build${1//\//-} d=$tmp/dest${1//\//-}
	local libdir missing=() name=install${1//\//-}

	if ! meson setup "$b" "$top" --prefix="$prefix" >"$tmp/setup.log" 2>&1 ||
	   ! ninja -C "$b" >"$tmp/ninja.log" 2>&1 ||
	   ! DESTDIR=$d meson install -C "$b" >"$tmp/install.log" 2>&1; then
		fail "$name" "meson setup/build/install failed:" \
			"$(tail -5 "$tmp/setup.log" "$tmp/ninja.log" "$tmp/install.log")"
		return 1
	fi
	libdir=$prefix/$(meson introspect "$b" --buildoptions |
		python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "libdir"][0])')
	for f in "$prefix/bin/imalog" "$prefix/sbin/imalogd" "$prefix/include/imalog.h" \
		"$libdir/libimalog.so" "$libdir/libimalog.so.0" "$libdir/pkgconfig/imalog.pc" \
		"$prefix/share/man/man1/imalog.1" "$prefix/share/man/man8/imalogd.8" \
		"$unitdir/imalogd.service" "$unitdir/imalog-kexec-save.service" \
		"$confdir/imalog/imalogd.conf"; do
		[ -e "$d$f" ] || missing+=("$f")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		fail "$name" "missing after install: ${missing[*]}"
		return 1
	fi
	if ! grep -qx "ExecStart=$prefix/sbin/imalogd" "$d$unitdir/imalogd.service"; then
		fail "$name" "the unit does not start $prefix/sbin/imalogd"
		return 1
	fi
	if ! grep -qx "ExecStop=$prefix/bin/imalog snapshot" "$d$unitdir/imalog-kexec-save.service"
	then
		fail "$name" "the kexec save unit does not run $prefix/bin/imalog snapshot"
		return 1
	fi
	if ! strings "$d$prefix/sbin/imalogd" | grep -x "$confdir/imalog/imalogd.conf" >/dev/null; then
		fail "$name" "imalogd does not default to $confdir/imalog/imalogd.conf"
		return 1
	fi
	pass "$name"
	echo "$d $libdir" >"$tmp/last"
}

# Build tests/package/consumer.c against an installed tree, through its pkg-config file.
consumer_check() {
	local d libdir flags expected got

	read -r d libdir <"$tmp/last"
	if ! flags=$(PKG_CONFIG_PATH=$d$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$d \
		pkg-config --cflags --libs imalog) ||
	   ! cc -Wall -Werror -o "$tmp/consumer" "$top/tests/package/consumer.c" $flags \
		>"$tmp/cc.log" 2>&1; then
		fail consumer "building against the installed files failed: $flags" \
			"$(cat "$tmp/cc.log")"
		return
	fi
	expected=$(grep '^10 sha256 ' "$top/tests/golden/expected/embrave.pcrs")
	got=$(LD_LIBRARY_PATH=$d$libdir "$tmp/consumer" \
		<"$top/tests/golden/data/embrave-binary_runtime_measurements" | grep '^10 sha256 ')
	if [ "$got" = "$expected" ]; then
		pass consumer
	else
		fail consumer "PCR 10 from the installed library: '$got', expected '$expected'"
	fi
}

dist_check() {
	local b=$tmp/build-dist tarball src

	if ! meson setup "$b" "$top" >"$tmp/dist-setup.log" 2>&1 ||
	   ! meson dist -C "$b" --no-tests --allow-dirty --formats xztar >"$tmp/dist.log" 2>&1; then
		fail dist "meson dist failed:" "$(tail -5 "$tmp/dist.log")"
		return
	fi
	tarball=$(ls "$b"/meson-dist/*.tar.xz)
	mkdir -p "$tmp/unpacked"
	tar -C "$tmp/unpacked" -xf "$tarball"
	src=$(ls -d "$tmp"/unpacked/*/)
	if ! meson setup "$tmp/build-from-dist" "$src" >"$tmp/d-setup.log" 2>&1 ||
	   ! ninja -C "$tmp/build-from-dist" >"$tmp/d-ninja.log" 2>&1; then
		fail dist "the tarball $(basename "$tarball") does not build:" \
			"$(tail -5 "$tmp/d-setup.log" "$tmp/d-ninja.log")"
		return
	fi
	if meson test -C "$tmp/build-from-dist" "${suites[@]}" >"$tmp/d-test.log" 2>&1; then
		pass "dist ($(basename "$tarball"): $(awk '/^Ok:/ {print $2}' "$tmp/d-test.log") tests passed)"
	else
		fail dist "the tarball's tests failed:" "$(grep -E 'FAIL|TIMEOUT' "$tmp/d-test.log")"
	fi
}

install_check /usr/local /usr/local/lib/systemd/system /usr/local/etc && consumer_check
install_check /usr "$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null ||
	echo /usr/lib/systemd/system)" /etc && consumer_check
[ $dist -eq 0 ] || dist_check
[ $fails -eq 0 ]
