#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every fuzz target built in BUILDDIR/tests/fuzz (the fuzz_* programs that exist,
# whoever added them) for SECONDS each, seeded from tests/fuzz/corpus/<target>/, as many
# at once as there are cores (BERTH_FUZZ_JOBS overrides).
# New inputs go to BUILDDIR/tests/fuzz/corpus-work/<target>/, never into the source tree;
# a crash leaves BUILDDIR/tests/fuzz/<target>-crash-* and the output in <target>.fuzz-log.
# Exits non-zero if any target crashes, or if there is no target to run.
#
#   usage: run.sh BUILDDIR [SECONDS]     (configure --enable-fuzzing CC=clang; make)

usage() {
	echo "usage: $0 BUILDDIR [SECONDS]" >&2
	exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	usage
fi
builddir=$1
seconds=${2:-10}
case $seconds in
'' | *[!0-9]* | 0) usage ;;
esac
fuzzdir=$builddir/tests/fuzz
seeds=$(cd "$(dirname "$0")" && pwd)/corpus

jobs=${BERTH_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}

# fuzz_one NAME BIN: runs one target; prints PASS/FAIL; exit status 1 on a crash.
fuzz_one() {
	name=$1
	bin=$2
	work=$fuzzdir/corpus-work/$name
	log=$fuzzdir/$name.fuzz-log
	mkdir -p "$work" || return 1
	set -- "$work"
	[ -d "$seeds/$name" ] && set -- "$@" "$seeds/$name"
	if "$bin" -max_total_time="$seconds" -max_len=256 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$fuzzdir/$name-" "$@" >"$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "PASS: $name (${execs:-?} runs in ${seconds}s)"
	else
		echo "FAIL: $name (exit $?): see $log" >&2
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|artifact_prefix|Test unit written)' \
			"$log" >&2
		return 1
	fi
}

# Targets run $jobs at a time (one core each); each leaves its status in a file.
status=$(mktemp -d "${TMPDIR:-/tmp}/berth-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$status"' EXIT
ran=0
running=0
for bin in "$fuzzdir"/fuzz_*; do
	name=${bin##*/}
	# Programs only: not objects or logs (dotted), nor crash artifacts (not executable).
	case $name in *.*) continue ;; esac
	if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
		continue
	fi
	ran=$((ran + 1))
	(fuzz_one "$name" "$bin" || touch "$status/$name.failed") &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait
failed=0
[ -z "$(ls -A "$status")" ] || failed=1

if [ "$ran" -eq 0 ]; then
	echo "$0: no fuzz_* programs in $fuzzdir (configure --enable-fuzzing CC=clang, then make)" >&2
	exit 1
fi
exit $failed
