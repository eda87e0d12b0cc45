#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The QEMU kernel tests: build the kernel (cached) and an initramfs, boot each scenario with a
# fresh swtpm, collect the guest's checks from the console, and check the files the guest
# exported on the host as well. Prints one "PASS: NAME" or "FAIL: NAME" line per check and ends
# with "N passed, N failed". Exit status 0 if all passed, 1 if any failed, 2 on setup errors
# (which still print "FAIL: kernel-tests/setup" and the count).
#
#   run-tests.sh [--patched] [-v] [--list] [SCENARIO...]
#
# Without names: every stock-* scenario; with --patched, every scenario, on a kernel with the
# series in kernel/series applied. -v copies each console log to stderr. Logs of a run are kept
# in .cache/kernel-logs/ (the last 10 runs; .cache/kernel-logs/latest is the newest).
# Environment: IMALOG and IMALOGD (default build/src/tool/imalog and build/src/daemon/imalogd,
# built with meson and ninja when unset).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage()
{
	sed -n '3,/^[^#]/s/^# \{0,1\}//p' "$0"
}

patched=0 verbose=0 list=0
scenarios=()
while [ $# -gt 0 ]; do
	case $1 in
	--patched) patched=1 ;;
	-v | --verbose) verbose=1 ;;
	--list) list=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	-*) die "unknown option $1 (see --help)" ;;
	*) scenarios+=("$1") ;;
	esac
	shift
done

if [ $list = 1 ]; then
	for s in $(list_scenarios); do
		printf '%-24s %s\n' "$s" "$(scenario_field "$s" scenario)"
	done
	exit 0
fi
# A setup error still ends with a FAIL line and the count: callers count lines, not statuses.
setup_fail()
{
	echo "${0##*/}: $*" >&2
	echo "FAIL: kernel-tests/setup"
	echo "    $*"
	echo "0 passed, 1 failed"
	exit 2
}

if [ ${#scenarios[@]} -eq 0 ]; then
	if [ $patched = 1 ]; then
		mapfile -t scenarios < <(list_scenarios)
	else
		mapfile -t scenarios < <(list_scenarios stock)
	fi
fi
[ ${#scenarios[@]} -gt 0 ] || setup_fail "no scenarios in $kt_dir/scenarios"
for s in "${scenarios[@]}"; do
	[ -r "$(scenario_file "$s")" ] || setup_fail "no scenario $s (run-tests.sh --list)"
done

run_start=$SECONDS

# The imalog binary that goes into the guest and checks the exports on the host, and imalogd
# for the guest.
targets=()
[ -n "${IMALOG:-}" ] || targets+=(src/tool/imalog)
[ -n "${IMALOGD:-}" ] || targets+=(src/daemon/imalogd)
IMALOG=${IMALOG:-$top/build/src/tool/imalog}
IMALOGD=${IMALOGD:-$top/build/src/daemon/imalogd}
if [ ${#targets[@]} -gt 0 ]; then
	if [ ! -e "$top/build/build.ninja" ]; then
		meson setup "$top/build" "$top" >&2 || setup_fail "meson setup failed"
	fi
	ninja -C "$top/build" "${targets[@]}" >&2 || setup_fail "building ${targets[*]} failed"
fi
[ -x "$IMALOG" ] || setup_fail "imalog binary $IMALOG not found"
[ -x "$IMALOGD" ] || setup_fail "imalogd binary $IMALOGD not found"
IMALOG=$(realpath "$IMALOG")
IMALOGD=$(realpath "$IMALOGD")

sets=()
for s in "${scenarios[@]}"; do
	set_name=$(scenario_set "$s")
	[[ " ${sets[*]-} " == *" $set_name "* ]] || sets+=("$set_name")
done
build_args=()
[ $patched = 0 ] || build_args+=(--patched)
for s in "${sets[@]}"; do
	build_args+=(--set "$s")
done
bzimage=$("$kt_dir/build-kernel.sh" "${build_args[@]}") || setup_fail "kernel build failed"

logs=$cache/kernel-logs
logdir=$logs/$(date +%Y%m%d-%H%M%S)-$([ $patched = 1 ] && echo patched || echo stock)-$$
mkdir -p "$logdir"
ln -sfn "${logdir##*/}" "$logs/latest"
find "$logs" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' | sort -rn | tail -n +11 |
	cut -d' ' -f2- | while read -r d; do rm -rf "$d"; done

# Private copies of imalog and imalogd and of the libraries they find outside the system
# directories (their own library in a build tree): the guest and the host checks use the same
# binaries, and a rebuild of the tree while the tests run cannot pull a library from under them.
imalog_bin=$logdir/imalog/bin/imalog
imalogd_bin=$logdir/imalog/bin/imalogd
imalog_lib=$logdir/imalog/lib
mkdir -p "$logdir/imalog/bin" "$imalog_lib"
# copy_program SRC DEST: the program, and its libraries from outside the system into imalog_lib.
copy_program()
{
	local name arrow path rest
	cp -L "$1" "$2"
	while read -r name arrow path rest; do
		[ "$arrow" = "=>" ] || continue
		case $path in
		/lib/* | /lib64/* | /usr/lib/* | /usr/lib64/*) ;;
		/*) cp -L "$path" "$imalog_lib/$name" ;;
		*) setup_fail "$1: ldd cannot resolve $name" ;;
		esac
	done < <(ldd "$1" 2>/dev/null || true)
}
copy_program "$IMALOG" "$imalog_bin"
copy_program "$IMALOGD" "$imalogd_bin"

imalog()
{
	LD_LIBRARY_PATH=$imalog_lib "$imalog_bin" "$@"
}

LD_LIBRARY_PATH=$imalog_lib "$kt_dir/make-initramfs.sh" -o "$logdir/initrd.gz" \
	--imalog "$imalog_bin" --imalogd "$imalogd_bin" --kernel "$bzimage" "${scenarios[@]}" ||
	setup_fail "building the initramfs failed"

passed=0 failed=0

pass()
{
	echo "PASS: $1"
	passed=$((passed + 1))
}

# fail NAME [DETAIL...]: DETAIL lines are printed indented under the FAIL line.
fail()
{
	local name=$1 line
	shift
	echo "FAIL: $name"
	for line in "$@"; do
		echo "    $line"
	done
	failed=$((failed + 1))
}

# hcheck NAME WANT CMD [ARG]...: a host check; CMD must exit WANT. Output kept in host/NAME.out.
hcheck()
{
	local name=$1 want=$2 got=0 out
	shift 2
	out=$hostdir/${name//\//_}.out
	"$@" >"$out" 2>&1 || got=$?
	if [ "$got" = "$want" ]; then
		pass "$scenario/$name"
	else
		mapfile -t tail_lines < <(tail -n 10 "$out")
		fail "$scenario/$name" "exit status $got, expected $want: $*" "${tail_lines[@]/#/| }"
	fi
}

show_equals_ascii()
{
	imalog show --format ascii "$1" >"$hostdir/show.out"
	cmp "$hostdir/show.out" "$2"
}

json_field()
{
	python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

records_match()
{
	local snap=$1 records lines
	records=$(imalog replay --json "$snap/binary_runtime_measurements" | json_field records)
	lines=$(wc -l <"$snap/ascii_runtime_measurements")
	echo "imalog replay: $records records; ascii_runtime_measurements: $lines lines"
	[ "$records" = "$lines" ]
}

violations_expected()
{
	local snap=$1 want=$2 v
	v=$(imalog replay --json "$snap/binary_runtime_measurements" | json_field violations)
	echo "imalog replay: $v violations, expected: $want"
	case $want in
	yes) [ "$v" -gt 0 ] ;;
	no) [ "$v" -eq 0 ] ;;
	esac
}

pcrs_in_log()
{
	local have want
	have=$(cut -d' ' -f1 "$1/ascii_runtime_measurements" | sort -un | tr '\n' ' ')
	want=$(echo "$2" | tr ' ' '\n' | sort -un | tr '\n' ' ')
	echo "PCRs in the list: $have; expected: $want"
	[ "$have" = "$want" ]
}

# The boot_aggregate of a SHA-256 IMA on TPM 2.0 is SHA-256 over PCRs 0-9 of the sha256 bank
# (ima_calc_boot_aggregate): recomputed here from the exported PCRs, without imalog.
boot_aggregate()
{
	local snap=$1 hex=
	for n in 0 1 2 3 4 5 6 7 8 9; do
		hex+=$(awk -v n="$n" '$1 == n && $2 == "sha256" { print $3 }' "$snap/pcrs.txt")
	done
	local want got
	want=$(printf '%s' "$hex" | sed 's/../\\x&/g' | xargs -0 printf | sha256sum | cut -d' ' -f1)
	got=$(awk 'NR == 1 && $5 == "boot_aggregate" { print $4 }' "$snap/ascii_runtime_measurements")
	echo "boot_aggregate in the list: $got; SHA-256 of PCRs 0-9: sha256:$want"
	[ "$got" = "sha256:$want" ]
}

# tamper SNAP EXPECTED PCR ALG: with one expected value changed, verify must report a mismatch
# (exit 1).
tamper()
{
	local snap=$1 expected=$2 pcr=$3 alg=$4
	awk -v p="$pcr" -v a="$alg" '$1 == p && $2 == a {
		$3 = (substr($3, 1, 1) == "0" ? "1" : "0") substr($3, 2) } { print }' \
		"$expected" >"$hostdir/tampered-pcrs.txt"
	imalog verify --pcrs "$hostdir/tampered-pcrs.txt" "$snap/binary_runtime_measurements_sha256"
}

# Checks on one exported snapshot (see ktest_snapshot in guest/lib.sh), named host-SNAPSHOT/...
snapshot_checks()
{
	local snap=$1 sn=${1##*/} f a p alg
	local expect_pcrs expect_violations expected=$hostdir/expected-${1##*/}.txt
	expect_pcrs=$(scenario_field "$scenario" expect-pcrs)
	expect_violations=$(scenario_field "$scenario" expect-violations)
	# A plain "PCR ALG HEX" file claims every PCR it lists: only the PCRs IMA extends go in.
	awk -v want=" ${expect_pcrs:-10} " 'index(want, " " $1 " ")' "$snap/pcrs.txt" >"$expected"
	for f in "$snap"/binary_runtime_measurements*; do
		f=${f##*/}
		case $f in *_staged) continue ;; esac	# a staged list is a piece, not a log
		a=ascii${f#binary}
		hcheck "host-$sn/verify-$f" 0 imalog verify --pcrs "$expected" "$snap/$f"
		hcheck "host-$sn/show-$f" 0 show_equals_ascii "$snap/$f" "$snap/$a"
	done
	for f in "$snap"/ascii_runtime_measurements*; do
		f=${f##*/}
		case $f in *_staged) continue ;; esac
		hcheck "host-$sn/verify-$f" 0 imalog verify --pcrs "$snap/tpm0" "$snap/$f"
	done
	hcheck "host-$sn/records" 0 records_match "$snap"
	hcheck "host-$sn/boot-aggregate" 0 boot_aggregate "$snap"
	[ -z "$expect_pcrs" ] || hcheck "host-$sn/pcrs-in-list" 0 pcrs_in_log "$snap" "$expect_pcrs"
	[ -z "$expect_violations" ] ||
		hcheck "host-$sn/violations" 0 violations_expected "$snap" "$expect_violations"
	for p in $(cut -d' ' -f1 "$snap/ascii_runtime_measurements" | sort -un); do
		for alg in sha1 sha256; do
			hcheck "host-$sn/tamper-pcr$p-$alg" 1 tamper "$snap" "$expected" "$p" "$alg"
		done
	done
}

# evmctl_run DIR ALG [PCR]: evmctl ima_measurement on DIR/full-log with the PCR file of bank
# ALG (evmctl 1.4 reads sha1 and sha256 files, and accepts a log when any one bank given
# matches: one bank per run); with PCR, that one value changed first. evmctl exits 0 on some
# failures, so success also needs its match line.
evmctl_run()
{
	local dir=$1 alg=$2 pcr=${3:-} f=$1/pcrs-$2 out=$hostdir/evmctl-run.out
	if [ -n "$pcr" ]; then
		sed "s/^\(PCR-$pcr: \)0/\1X/; s/^\(PCR-$pcr: \)[1-9a-fA-F]/\10/;
			s/^\(PCR-$pcr: \)X/\11/" "$f" >"$hostdir/tampered-pcrs-$alg"
		f=$hostdir/tampered-pcrs-$alg
	fi
	echo "evmctl ima_measurement --ignore-violations --pcrs $alg,$f $dir/full-log"
	evmctl ima_measurement --ignore-violations --pcrs "$alg,$f" "$dir/full-log" >"$out" 2>&1 ||
		{
			cat "$out"
			return 1
		}
	cat "$out"
	grep -q '^Matched per TPM bank calculated digest' "$out"
}

# Checks on export/evmctl/ (full-log and the PCRs as evmctl files pcrs-ALG, one per bank): the
# whole log verifies with evmctl in the sha1 and sha256 banks, and no longer with the PCR 10
# value changed; imalog verify agrees in every bank.
evmctl_checks()
{
	local dir=$1 alg pcrs=()
	if ! command -v evmctl >/dev/null; then
		fail "$scenario/host-evmctl/evmctl" "evmctl not found (ima-evm-utils)"
		return
	fi
	for alg in sha1 sha256; do
		hcheck "host-evmctl/evmctl-$alg" 0 evmctl_run "$dir" "$alg"
		hcheck "host-evmctl/evmctl-$alg-tampered-pcr10" 1 evmctl_run "$dir" "$alg" 10
	done
	for f in "$dir"/pcrs-*; do
		pcrs+=(--pcrs "${f##*/pcrs-},$f")
	done
	hcheck host-evmctl/imalog-every-bank 0 imalog verify "${pcrs[@]}" "$dir/full-log"
}

run_scenario()
{
	local d=$logdir/$scenario status=0 start=$SECONDS console end p f counted_p counted_f
	mkdir -p "$d/host"
	hostdir=$d/host
	local timeout
	timeout=$(scenario_field "$scenario" timeout)
	"$kt_dir/run.sh" --kernel "$bzimage" --initrd "$logdir/initrd.gz" --scenario "$scenario" \
		--console "$d/console.log" --export "$d/export.raw" \
		--append "$(scenario_field "$scenario" cmdline)" --timeout "${timeout:-120}" || status=$?
	note "$scenario: QEMU exited $status after $((SECONDS - start)) s"
	[ $verbose = 0 ] || cat "$d/console.log" >&2
	console=$(tr -d '\r' <"$d/console.log")

	counted_p=0 counted_f=0
	while read -r result name; do
		case $result in
		PASS:)
			pass "$name"
			counted_p=$((counted_p + 1))
			;;
		FAIL:)
			fail "$name" "guest output: $d/console.log"
			counted_f=$((counted_f + 1))
			;;
		esac
	done < <(sed -n 's/^ktest: \(PASS:\|FAIL:\) /\1 /p' <<<"$console")

	end=$(sed -n "s/^ktest: END $scenario //p" <<<"$console")
	if [ -z "$end" ]; then
		mapfile -t tail_lines < <(tail -n 15 <<<"$console")
		fail "$scenario/boot" "no end marker from the guest (QEMU exit status $status)" \
			"console: $d/console.log" "${tail_lines[@]/#/| }"
		return
	fi
	pass "$scenario/boot"
	p=${end#passed=}
	p=${p%% *}
	f=${end##*failed=}
	if [ "$p" = "$counted_p" ] && [ "$f" = "$counted_f" ] && [ $((p + f)) -gt 0 ]; then
		pass "$scenario/console"
	else
		fail "$scenario/console" "guest counted $p passed, $f failed; console showed" \
			"$counted_p passed, $counted_f failed: $d/console.log"
	fi
	if grep -qE 'Kernel panic|BUG:|WARNING:|Oops|Call Trace' <<<"$console"; then
		fail "$scenario/kernel-log" "kernel problems in $d/console.log:" \
			"$(grep -m1 -E 'Kernel panic|BUG:|WARNING:|Oops|Call Trace' <<<"$console")"
	else
		pass "$scenario/kernel-log"
	fi

	if ! extract_export "$d/export.raw" "$d/export" >"$hostdir/export.out" 2>&1; then
		fail "$scenario/export" "$(cat "$hostdir/export.out")"
		return
	fi
	pass "$scenario/export"
	local snap
	for snap in "$d"/export/*/; do
		snap=${snap%/}
		[ -e "$snap/pcrs.txt" ] || continue
		snapshot_checks "$snap"
	done
	[ ! -e "$d/export/evmctl/full-log" ] || evmctl_checks "$d/export/evmctl"
}

for scenario in "${scenarios[@]}"; do
	run_scenario
done

note "kernel $bzimage, logs in $logdir, $((SECONDS - run_start)) s in all"
[ $failed = 0 ] || echo "logs: $logdir"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
