#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# run-all.sh: berth's whole test suite, in one command (CI runs exactly this).
#
#   sudo tests/run-all.sh [STAGE...]
#
# Stages, in order (all by default):
#   build        autoreconf, configure, make                       (BUILD/plain)
#   unit         make check: CUnit unit tests, module unit tests
#   distcheck    make distcheck: the release tarball builds and passes its tests
#   asan         the unit tests again under AddressSanitizer + UBSan (BUILD/asan)
#   fuzz         libFuzzer targets, a few seconds each              (BUILD/fuzz, clang)
#   integration  real dockerd, mosquitto, AMQP peer, RabbitMQ, containerd, a private systemd
#                (nspawn; the tests start and stop it): tests/integration/run.sh
#   packages     .deb build + lintian + install + smoke test, .rpm build
#   bench        the benchmarks in their short mode (figures, never a failure on a number)
#
# Build trees go to $BERTH_BUILD_DIR (default: <source>/build). Needs root (a private
# dockerd) and the packages .ci/run installs. Exits non-zero if any stage failed; every
# stage runs even after a failure, so that one run shows everything.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BERTH_BUILD_DIR:-$SRC/build}
FUZZ_SECONDS=${BERTH_FUZZ_SECONDS:-10}
STAGES=${*:-build unit distcheck asan fuzz integration packages bench}
LOGS=$BUILD/logs
mkdir -p "$LOGS"

summary=""
failed=0

now() { date +%s; }

# run NAME COMMAND...: runs a stage, logs to $LOGS/NAME.log, records ok/FAILED.
run() {
	name=$1
	shift
	start=$(now)
	printf '==> %s\n' "$name"
	if "$@" > "$LOGS/$name.log" 2>&1; then
		result=ok
	else
		result=FAILED
		failed=1
		echo "---- last 40 lines of $LOGS/$name.log ----"
		tail -n 40 "$LOGS/$name.log"
	fi
	secs=$(( $(now) - start ))
	printf '    %s (%ss)\n' "$result" "$secs"
	summary="$summary$(printf '%-12s %-7s %5ss' "$name" "$result" "$secs")
"
}

configure_in() {
	dir=$1
	shift
	mkdir -p "$dir" && cd "$dir" && "$SRC/configure" "$@"
}

stage_build() {
	(cd "$SRC" && autoreconf -fi) &&
	(configure_in "$BUILD/plain" && make -j2)
}

stage_unit() {
	cd "$BUILD/plain" && make -j2 check
}

stage_distcheck() {
	cd "$BUILD/plain" && make -j2 distcheck
}

stage_asan() {
	(configure_in "$BUILD/asan" --enable-sanitizers && make -j2 &&
	 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 make -j2 check)
}

stage_fuzz() {
	(configure_in "$BUILD/fuzz" CC=clang --enable-fuzzing && make -j2 fuzz-targets &&
	 "$SRC/tests/fuzz/run.sh" "$BUILD/fuzz" "$FUZZ_SECONDS")
}

stage_integration() {
	"$SRC/tests/integration/run.sh" "$BUILD/plain"
}

# The packages are driven on the tests' dockerd (started here when it is not running, and
# then stopped again), so that the container part of test-packages.sh always runs.
stage_packages() {
	dockerd_sh="$SRC/tests/integration/lib/dockerd.sh"
	run_dir=${BERTH_TEST_DOCKERD_RUN:-${BERTH_TEST_RUN:-/tmp/berth-test}}
	started=
	if ! BERTH_TEST_RUN=$run_dir sh "$dockerd_sh" status >/dev/null 2>&1; then
		BERTH_TEST_RUN=$run_dir sh "$dockerd_sh" start || return 1
		started=1
	fi
	(. "$run_dir/dockerd.env" && BERTH_PKGTEST_REQUIRE_CONTAINER=1 \
		"$SRC/packaging/test-packages.sh" "$BUILD/packages")
	rc=$?
	[ -z "$started" ] || BERTH_TEST_RUN=$run_dir sh "$dockerd_sh" stop || rc=1
	return $rc
}

stage_bench() {
	"$SRC/tests/bench/run.sh" --short "$BUILD/plain"
}

for stage in $STAGES; do
	case $stage in
	build | unit | distcheck | asan | fuzz | integration | packages | bench)
		run "$stage" "stage_$stage"
		;;
	*)
		echo "run-all.sh: unknown stage '$stage'" >&2
		exit 2
		;;
	esac
done

echo
echo "berth test suite ($(date -u '+%Y-%m-%d %H:%M UTC'), logs in $LOGS):"
printf '%s' "$summary"
[ $failed -eq 0 ] && echo "all stages passed" || echo "SOME STAGES FAILED"
exit $failed
