# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Shared by the kernel test scripts: paths, messages, scenario metadata. Sourced, not run.

kt_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$kt_dir/../.." && pwd)
# shellcheck disable=SC2034 # used by the scripts that source this file
cache=${IMALOG_KTEST_CACHE:-$top/.cache}

die()
{
	echo "${0##*/}: $*" >&2
	exit 2
}

note()
{
	echo "${0##*/}: $*" >&2
}

# The scenario set of a scenario is its name up to the first '-': stock-tcb is in set "stock".
scenario_set()
{
	echo "${1%%-*}"
}

# A scenario is a name in scenarios/, or the path of a script elsewhere (its name is then the
# file name without .sh).
scenario_file()
{
	case $1 in
	*/*) echo "$1" ;;
	*) echo "$kt_dir/scenarios/$1.sh" ;;
	esac
}

scenario_name()
{
	basename "$1" .sh
}

# Header fields of a scenario script: lines "# key: value" before the first non-comment line.
scenario_field()
{
	sed -n -e '/^[^#]/q' -e "s/^# $2: *//p" "$(scenario_file "$1")" | tr '\n' ' ' | sed 's/ *$//'
}

# All scenario names, sorted; with a set name, only that set's.
list_scenarios()
{
	local f name
	for f in "$kt_dir"/scenarios/*.sh; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .sh)
		[ -z "${1:-}" ] || [ "$(scenario_set "$name")" = "$1" ] || continue
		echo "$name"
	done
}

# extract_export RAW DIR: unpack what the guest sent over ttyS1 (see guest/init).
extract_export()
{
	local raw=$1 dir=$2 sum
	sum=$(tr -d '\r' <"$raw" | sed -n 's/^ktest-export-begin //p')
	[ -n "$sum" ] || {
		echo "no export in $raw"
		return 1
	}
	tr -d '\r' <"$raw" | sed -n '/^ktest-export-begin /,/^ktest-export-end$/p' |
		sed '1d;$d' | base64 -d >"$dir.tgz"
	[ "$(sha256sum <"$dir.tgz" | cut -d' ' -f1)" = "$sum" ] || {
		echo "export checksum mismatch: $raw"
		return 1
	}
	mkdir -p "$dir"
	tar -C "$dir" -xzf "$dir.tgz"
}
