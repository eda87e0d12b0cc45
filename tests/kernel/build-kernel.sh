#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the bzImage for the QEMU tests from Debian's linux-source-6.12: tinyconfig plus config
# fragments, with --patched also the series in $top/kernel/series. The build lives in
# $top/.cache/kernel/build-KEY, KEY hashing everything that goes into it; a finished build with
# the same key is reused. The tree of the last unpatched build is kept in .cache/kernel/tree,
# and a patched build starts from a copy of it. Progress goes to stderr; the only line on stdout
# is the bzImage path.
#
#   build-kernel.sh [--patched] [--set NAME]...
#
# --set NAME adds config/NAME.config (if present) after config/base.config.
# Environment: LINUX_SOURCE_TARBALL (default /usr/src/linux-source-6.12.tar.xz), CCACHE_DIR
# (default $top/.cache/ccache), KERNEL_BUILDS_KEPT (default 5), JOBS (default: nproc).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage()
{
	sed -n '3,/^[^#]/s/^# \{0,1\}//p' "$0"
}

patched=0
sets=()
while [ $# -gt 0 ]; do
	case $1 in
	--patched) patched=1 ;;
	--set)
		[ $# -ge 2 ] || die "--set needs a name"
		sets+=("$2")
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
	shift
done

tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
[ -r "$tarball" ] ||
	die "$tarball not found: install linux-source-6.12 (scripts/install-deps.sh --kernel)"
command -v ccache >/dev/null || die "ccache not found (scripts/install-deps.sh --kernel)"
jobs=${JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$cache/ccache}

fragments=("$kt_dir/config/base.config")
for s in ${sets[@]+"${sets[@]}"}; do
	[ ! -e "$kt_dir/config/$s.config" ] || fragments+=("$kt_dir/config/$s.config")
done

# The patch files named in kernel/series, in order ('#' comments and blank lines ignored).
patches=()
series=$top/kernel/series
if [ $patched = 1 ]; then
	if [ -e "$series" ]; then
		while read -r p; do
			p=${p%%#*}
			p=$(echo "$p" | tr -d '[:space:]')
			[ -n "$p" ] || continue
			[ -r "$top/kernel/$p" ] || die "kernel/series names $p, which does not exist"
			patches+=("$top/kernel/$p")
		done <"$series"
	else
		note "--patched: no kernel/series, building without patches"
	fi
fi

# Everything the build depends on, hashed into the cache key.
key_input()
{
	local f
	echo "tarball $(sha256sum <"$tarball" | cut -d' ' -f1)"
	echo "package $(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null || echo none)"
	echo "compiler $(gcc --version | head -n1)"
	# The steps of the build, not the whole script: comments and messages do not rebuild.
	echo "steps $(declare -f build check_config | sha256sum | cut -d' ' -f1)"
	for f in "${fragments[@]}"; do
		echo "fragment ${f##*/} $(sha256sum <"$f" | cut -d' ' -f1)"
	done
	for f in ${patches[@]+"${patches[@]}"}; do
		echo "patch ${f##*/} $(sha256sum <"$f" | cut -d' ' -f1)"
	done
}

# What an unpatched tree must share with a build to be its start: source, compiler, steps.
base_key()
{
	key_input | grep -E '^(tarball|package|compiler|steps) '
}

# Every option a fragment sets must be in the final .config: tinyconfig dependencies drop
# options silently (IMA vanishes without MULTIUSER). Later fragments override earlier ones.
check_config()
{
	local config=$1 f line opt bad=0
	declare -A want=()
	for f in "${fragments[@]}"; do
		while read -r line; do
			case $line in
			CONFIG_*=*) want[${line%%=*}]=$line ;;
			"# CONFIG_"*" is not set")
				opt=${line#\# }
				want[${opt%% *}]=$line
				;;
			esac
		done <"$f"
	done
	for opt in "${!want[@]}"; do
		line=${want[$opt]}
		case $line in
		"#"*) ! grep -q "^$opt=" "$config" && continue ;;
		*) grep -qxF "$line" "$config" && continue ;;
		esac
		echo "config check: wanted '$line', got '$(grep -E "^(# )?${opt}[= ]" "$config" || echo "$opt absent")'" >&2
		bad=1
	done
	return $bad
}

build()
{
	local work=$1 src
	rm -rf "$work"
	mkdir -p "$work"
	key_input >"$work/key-input"
	src=$work/linux
	if [ ${#patches[@]} -gt 0 ] && [ -e "$tree/done" ] && cmp -s "$tree/base-key" <(base_key); then
		# kbuild then recompiles only the files the patches and the config fragments
		# change: about a minute instead of 13 on two cores with a cold compiler cache.
		note "starting from the unpatched tree of an earlier build"
		cp -a --reflink=auto "$tree/linux" "$src"
	else
		note "unpacking $tarball"
		tar -C "$work" -xf "$tarball"
		local unpacked
		unpacked=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'linux-source-*' | head -n1)
		[ -n "$unpacked" ] || die "$tarball holds no linux-source-* directory"
		mv "$unpacked" "$src"
	fi
	for p in ${patches[@]+"${patches[@]}"}; do
		note "applying ${p##*/}"
		patch -d "$src" -p1 -F0 -N --batch -s <"$p" >&2 || die "patch ${p##*/} does not apply"
	done
	note "configuring: tinyconfig + ${fragments[*]##*/}"
	{
		make -C "$src" -s tinyconfig
		"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "${fragments[@]}"
		make -C "$src" -s olddefconfig
	} >"$work/config.log" 2>&1 || die "configuration failed, see $work/config.log"
	check_config "$src/.config" || die "config fragment options did not survive olddefconfig"
	note "building bzImage with $jobs jobs (log: $work/build.log)"
	# Each key builds in its own directory: ccache rewrites absolute paths below the tree to
	# relative ones so that compiles hit across directories.
	export CCACHE_BASEDIR=$src
	# Fixed build identity so that ccache hits and builds repeat exactly.
	if ! nice make -C "$src" -j"$jobs" CC="ccache gcc" KBUILD_BUILD_USER=imalog \
		KBUILD_BUILD_HOST=ktest KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 1970' \
		bzImage >"$work/build.log" 2>&1; then
		tail -n 30 "$work/build.log" >&2
		die "kernel build failed, see $work/build.log"
	fi
	cp "$src/arch/x86/boot/bzImage" "$work/bzImage"
	cp "$src/.config" "$work/config"
	cp "$src/System.map" "$src/vmlinux" "$work/"
	make -C "$src" -s kernelrelease >"$work/release"
	# Of the trees (1.8 GB each) only the last unpatched one is kept, as the start of patched
	# builds from the same source; of a build only the kernel, its config and symbols.
	if [ ${#patches[@]} -eq 0 ]; then
		rm -rf "$tree"
		mkdir -p "$tree"
		mv "$src" "$tree/linux"
		base_key >"$tree/base-key"
		touch "$tree/done"
	else
		rm -rf "$src"
	fi
	touch "$work/done"
}

# Keep the most recently used builds only.
prune()
{
	local kept=${KERNEL_BUILDS_KEPT:-5}
	find "$cache/kernel" -mindepth 1 -maxdepth 1 -type d -name 'build-*' -printf '%T@ %p\n' |
		sort -rn | tail -n +$((kept + 1)) | cut -d' ' -f2- | while read -r d; do
		note "removing old build $d"
		rm -rf "$d"
	done
}

mkdir -p "$cache/kernel"
exec 9>"$cache/kernel/lock"
flock 9
key=$(key_input | sha256sum | cut -c1-16)
work=$cache/kernel/build-$key
tree=$cache/kernel/tree
start=$SECONDS
if [ -e "$work/done" ] && [ -e "$work/bzImage" ]; then
	note "reusing $work"
else
	build "$work"
	note "built in $((SECONDS - start)) s"
fi
touch "$work"
prune
variant=stock
[ ${#patches[@]} -eq 0 ] || variant="patched (${#patches[@]} patches)"
note "kernel $(cat "$work/release"), $variant, from $(sed -n 's/^package //p' "$work/key-input")"
echo "$work/bzImage"
