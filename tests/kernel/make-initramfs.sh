#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the test initramfs (gzip'ed cpio): static busybox, guest/init, guest/lib.sh, the named
# scenario scripts, the imalog binary (and imalogd, when given) with the shared libraries ldd
# lists, the programs and libraries the scenarios name in "# guest-bin:" and "# guest-lib:"
# headers, and /boot/bzImage when a scenario says "# guest-kernel: yes". A SCENARIO is a name in
# scenarios/ or the path of a scenario script.
#
#   make-initramfs.sh -o OUT --imalog PATH [--imalogd PATH] [--kernel BZIMAGE] SCENARIO...
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=
imalog=
imalogd=
kernel=
scenarios=()
while [ $# -gt 0 ]; do
	case $1 in
	-o | --imalog | --imalogd | --kernel)
		[ $# -ge 2 ] || die "$1 needs an argument"
		case $1 in
		-o) out=$2 ;;
		--imalog) imalog=$2 ;;
		--imalogd) imalogd=$2 ;;
		--kernel) kernel=$2 ;;
		esac
		shift
		;;
	-h | --help)
		sed -n '3,/^[^#]/s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	-*) die "unknown option $1" ;;
	*) scenarios+=("$1") ;;
	esac
	shift
done
[ -n "$out" ] || die "-o OUT is required"
[ -n "$imalog" ] || die "--imalog PATH is required"
[ -x "$imalog" ] || die "imalog binary $imalog is not executable"
[ -z "$imalogd" ] || [ -x "$imalogd" ] || die "imalogd binary $imalogd is not executable"
[ ${#scenarios[@]} -gt 0 ] || die "no scenario given"

busybox=$(command -v busybox) || die "busybox not found (busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamic: install busybox-static"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

# install_program SRC DEST: the program and the shared libraries ldd lists for it. The libraries
# go to /usr/lib/ktest under the names the program asks for (init puts that directory in
# LD_LIBRARY_PATH: a build tree's RUNPATH such as $ORIGIN/../lib means nothing in the guest);
# the dynamic loader goes to the absolute path written in the program.
install_program()
{
	local src=$1 dest=$2 name arrow path rest
	mkdir -p "$root$(dirname "$dest")" "$root/usr/lib/ktest"
	cp -L "$src" "$root$dest"
	ldd "$src" >/dev/null 2>&1 || return 0
	while read -r name arrow path rest; do
		case $name in
		linux-vdso.so.* | linux-gate.so.*) ;;
		/*)
			mkdir -p "$root$(dirname "$name")"
			cp -L "$name" "$root$name"
			;;
		*)
			if [ "$arrow" != "=>" ] || [ "${path#/}" = "$path" ]; then
				die "$src: ldd cannot resolve $name"
			fi
			cp -L "$path" "$root/usr/lib/ktest/$name"
			;;
		esac
	done < <(ldd "$src")
}

mkdir -p "$root"/{bin,dev,proc,sys,tmp,root,boot,ktest/scenarios,usr/bin}
ln -s bin "$root/sbin"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$kt_dir/guest/init" "$root/init"
install -m 0644 "$kt_dir/guest/lib.sh" "$root/ktest/lib.sh"
install_program "$imalog" /usr/bin/imalog
[ -z "$imalogd" ] || install_program "$imalogd" /usr/bin/imalogd

want_kernel=0
for s in "${scenarios[@]}"; do
	f=$(scenario_file "$s")
	[ -r "$f" ] || die "no scenario $s ($f)"
	install -m 0644 "$f" "$root/ktest/scenarios/$(scenario_name "$s").sh"
	# Scenarios this one sources (a variant that runs another under other boot options).
	for u in $(scenario_field "$s" uses); do
		[ -r "$(scenario_file "$u")" ] || die "scenario $s uses $u, which does not exist"
		install -m 0644 "$(scenario_file "$u")" "$root/ktest/scenarios/$u.sh"
	done
	for prog in $(scenario_field "$s" guest-bin); do
		path=$(command -v "$prog") || die "scenario $s needs $prog, which is not installed"
		install_program "$path" "/usr/bin/${prog##*/}"
	done
	# Libraries loaded with dlopen(), which ldd does not list (a TPM TCTI module).
	for lib in $(scenario_field "$s" guest-lib); do
		# awk reads to the end: ldconfig must not die of SIGPIPE (pipefail would fail this)
		path=$(ldconfig -p | awk -v l="$lib" '$1 == l && p == "" { p = $NF } END { print p }')
		[ -n "$path" ] || die "scenario $s needs the library $lib, which is not installed"
		install_program "$path" "/usr/lib/ktest/$lib"
	done
	[ "$(scenario_field "$s" guest-kernel)" != yes ] || want_kernel=1
done
if [ $want_kernel = 1 ]; then
	[ -n "$kernel" ] || die "a scenario wants the kernel image: pass --kernel"
	cp "$kernel" "$root/boot/bzImage"
fi

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner 0:0 --quiet) | gzip -6 >"$out.tmp"
mv "$out.tmp" "$out"
