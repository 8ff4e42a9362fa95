#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# run.sh BUILD_DIR [FILTER...]: runs every integration test of the tree against real peers
# and prints a summary (per test: ok / FAILED / skipped, with its duration). Exit status 0
# when nothing failed, 1 when a test failed (or no test matched), 2 on a usage or peer
# error. Contract and conventions: tests/integration/README.md ("The runner").
#
# Tests, in this order:
#   1. programs BUILD_DIR/tests/integration/test_<module>_<what> (make check builds them),
#      run as `test_<module>_<what> BUILD_DIR/modules/<module>.so`; exit 77 = skipped
#   2. scripts tests/integration/<dir>/run-*.sh, run as `run-*.sh BUILD_DIR`; 77 = skipped
#   3. the end-to-end suite, one test per module tests/integration/e2e/test_*.py
#      (/usr/bin/python3 -m unittest: berthd driven through MQTT or AMQP 1.0, checked in
#      Docker; test_amqp_rabbitmq starts lib/rabbitmq.sh itself when it is not running)
# A FILTER selects the tests whose name contains it (names as printed in the summary, e.g.
# `docker_backend`, `sdk/run-sdk`, `e2e/`, `e2e/test_errors`); a filter
# `e2e/test_<mod>.<Class>[.<test>]` runs just that part of an e2e module.
#
# Peers: lib/dockerd.sh and lib/mosquitto.sh (env files under $BERTH_TEST_RUN). A peer that
# is already running when the runner starts is used and left running (it is somebody
# else's); the peers the runner started are stopped at the end, also on failure or
# interrupt.
#
# Environment:
#   BERTH_TEST_RUN          peer state and env files (default /tmp/berth-test)
#   BERTH_TEST_DOCKERD_RUN  where the dockerd peer lives (default $BERTH_TEST_RUN): only one
#                           dockerd can run on a machine (docker0), so a private
#                           BERTH_TEST_RUN can still share the machine's test dockerd
#   BERTH_TEST_MQTT_PORT    plain mosquitto port (default 18830; also read by mosquitto.sh)
#   BERTH_TEST_TIMEOUT      seconds one test may take before it is killed (default 600)
#   BERTH_TEST_LOGS         where each test's output goes (default $BERTH_TEST_RUN/logs)
#   BERTH_TEST_VERBOSE=1    also stream each test's output to the terminal
#   BERTH_TEST_NO_SKIP=1    a skip is a failure (CI, where every peer is installed: a test
#                           that skipped proved nothing); .ci/run sets it
set -u

usage() {
	sed -n '3,5p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[ $# -ge 1 ] || usage
case "$1" in -h | --help) usage ;; esac
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "run.sh: no build directory $1" >&2; exit 2; }
shift
FILTERS=("$@")

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/lib
export BERTH_TEST_RUN=${BERTH_TEST_RUN:-/tmp/berth-test}
export BERTH_TEST_DOCKERD_RUN=${BERTH_TEST_DOCKERD_RUN:-$BERTH_TEST_RUN}
export BERTH_BUILD_DIR=$BUILD
export PYTHONDONTWRITEBYTECODE=1
TIMEOUT=${BERTH_TEST_TIMEOUT:-600}
LOGS=${BERTH_TEST_LOGS:-$BERTH_TEST_RUN/logs}
PYTHON=/usr/bin/python3 # Debian's python3-paho-mqtt / python3-qpid-proton live there
mkdir -p "$BERTH_TEST_RUN" "$LOGS" || exit 2

# ---- peers -----------------------------------------------------------------------------

STARTED_PEERS=()

dockerd_sh() {
	BERTH_TEST_RUN=$BERTH_TEST_DOCKERD_RUN sh "$LIB/dockerd.sh" "$@"
}

# mosquitto.sh is a bash script (`for ((...))`, /dev/tcp) although the peer contract
# calls the scripts as `sh lib/<peer>.sh`: under dash it fails with "Bad for loop
# variable". Run it with bash until its owner makes it POSIX.
mosquitto_sh() {
	bash "$LIB/mosquitto.sh" "$@"
}

stop_peers() {
	local p
	for p in "${STARTED_PEERS[@]}"; do
		echo "run.sh: stopping $p"
		"${p}_sh" stop >/dev/null || echo "run.sh: $p did not stop cleanly" >&2
	done
	STARTED_PEERS=()
}

CURRENT= # pid of the running test's timeout(1)
interrupted() {
	trap '' INT TERM HUP
	echo "run.sh: interrupted" >&2
	if [ -n "$CURRENT" ]; then
		kill -TERM "$CURRENT" 2>/dev/null # timeout passes it on to the test
		wait "$CURRENT" 2>/dev/null
	fi
	exit 130
}
trap stop_peers EXIT
trap interrupted INT TERM HUP

start_peer() {
	local p=$1
	if "${p}_sh" status >/dev/null 2>&1; then
		echo "run.sh: $p already running: using it, leaving it running"
		"${p}_sh" start >/dev/null || return 1 # idempotent: rewrites the env file
	else
		echo "run.sh: starting $p"
		STARTED_PEERS+=("$p")
		"${p}_sh" start || return 1
	fi
}

# Tests that restart dockerd themselves (test_docker_backend) run the peer script with
# their environment's BERTH_TEST_RUN: point them at the shared dockerd's.
if [ "$BERTH_TEST_DOCKERD_RUN" != "$BERTH_TEST_RUN" ] && [ -z "${BERTH_TEST_DOCKERD_SH:-}" ]; then
	export BERTH_TEST_DOCKERD_SH=$BERTH_TEST_RUN/dockerd-peer.sh
	{
		echo '#!/bin/sh'
		echo "# written by run.sh: lib/dockerd.sh for the dockerd in $BERTH_TEST_DOCKERD_RUN"
		echo "BERTH_TEST_RUN='$BERTH_TEST_DOCKERD_RUN' exec sh '$LIB/dockerd.sh' \"\$@\""
	} >"$BERTH_TEST_DOCKERD_SH"
fi
start_peer dockerd || { echo "run.sh: dockerd peer failed" >&2; exit 2; }
start_peer mosquitto || { echo "run.sh: mosquitto peer failed" >&2; exit 2; }
# shellcheck disable=SC1091
. "$BERTH_TEST_DOCKERD_RUN/dockerd.env" && . "$BERTH_TEST_RUN/mosquitto.env" ||
	{ echo "run.sh: peer env files missing" >&2; exit 2; }

# ---- tests -------------------------------------------------------------------------------

NAMES=()
RESULTS=()
TIMES=()

# selected NAME: does a filter select it? (no filter: everything)
selected() {
	local f
	[ ${#FILTERS[@]} -eq 0 ] && return 0
	for f in "${FILTERS[@]}"; do
		case "$1" in *"$f"*) return 0 ;; esac
		case "$f" in "$1".*) return 0 ;; esac # e2e/test_x.Class.test
	done
	return 1
}

now_ms() {
	date +%s%3N
}

# run_test NAME COMMAND...: runs one test with its output in $LOGS/<name>.log
run_test() {
	local name=$1 log rc t0 t1 result
	shift
	log=$LOGS/$(echo "$name" | tr '/' '_').log
	echo "==== $name: $*"
	t0=$(now_ms)
	# In the background and waited for, so that an interrupt is handled at once (timeout
	# runs the test in a process group of its own, which a Ctrl-C does not reach).
	if [ "${BERTH_TEST_VERBOSE:-0}" = 1 ]; then
		timeout -k 10 "$TIMEOUT" "$@" </dev/null > >(tee "$log") 2>&1 &
	else
		timeout -k 10 "$TIMEOUT" "$@" </dev/null >"$log" 2>&1 &
	fi
	CURRENT=$!
	wait "$CURRENT"
	rc=$?
	CURRENT=
	t1=$(now_ms)
	case $rc in
	0) result=ok ;;
	77) result=skipped ;;
	124 | 137) result=FAILED; echo "run.sh: $name timed out after $TIMEOUT s" >>"$log" ;;
	*) result=FAILED ;;
	esac
	# unittest -v marks each skipped test or class "skipped 'why'"
	if [ "${BERTH_TEST_NO_SKIP:-0}" = 1 ] &&
		{ [ "$result" = skipped ] || { [ "$result" = ok ] && grep -q "skipped '" "$log"; }; }; then
		result=FAILED
		echo "run.sh: $name skipped (exit $rc), and BERTH_TEST_NO_SKIP=1 allows no skip:" >>"$log"
		grep "skipped '" "$log" | head -n 5 >>"$log"
	fi
	if [ "$result" = FAILED ] && [ "${BERTH_TEST_VERBOSE:-0}" != 1 ]; then
		echo "---- last lines of $log (exit $rc) ----"
		tail -n 40 "$log"
		echo "----"
	fi
	grep -ho '# measured: .*' "$log" | sed 's/^#/   /' # figures a test wants in the output
	grep -ho 'expected failures=[0-9]*' "$log" | sed 's/^/    known bugs (unittest.expectedFailure): /'
	printf '==== %s: %s (%d.%01d s)\n' "$name" "$result" $(((t1 - t0) / 1000)) \
		$((((t1 - t0) % 1000) / 100))
	NAMES+=("$name")
	RESULTS+=("$result")
	TIMES+=("$((t1 - t0))")
}

skip_test() {
	local result=skipped
	[ "${BERTH_TEST_NO_SKIP:-0}" = 1 ] && result=FAILED
	echo "==== $1: $result (skipped: $2)"
	NAMES+=("$1")
	RESULTS+=("$result")
	TIMES+=(0)
}

# 1. module-level programs
for prog in "$BUILD"/tests/integration/test_*; do
	[ -f "$prog" ] && [ -x "$prog" ] || continue
	base=$(basename "$prog")
	case "$base" in *.*) continue ;; esac # objects, logs, trs
	name=$base
	selected "$name" || continue
	module=${base#test_}
	module=${module%%_*}
	so=$BUILD/modules/$module.so
	if [ ! -f "$so" ]; then
		skip_test "$name" "no $so"
		continue
	fi
	run_test "$name" "$prog" "$so"
done

# 2. scripts of other test folders
for script in "$HERE"/*/run-*.sh; do
	[ -f "$script" ] || continue
	name=$(basename "$(dirname "$script")")/$(basename "$script" .sh)
	selected "$name" || continue
	if [ -x "$script" ]; then
		run_test "$name" "$script" "$BUILD"
	else
		run_test "$name" sh "$script" "$BUILD"
	fi
done

# 3. the end-to-end suite
if [ ! -x "$PYTHON" ] || ! "$PYTHON" -c 'import paho.mqtt.client' 2>/dev/null; then
	skip_test "e2e" "$PYTHON with paho-mqtt (python3-paho-mqtt) is missing"
else
	for mod in "$HERE"/e2e/test_*.py; do
		[ -f "$mod" ] || continue
		m=$(basename "$mod" .py)
		name=e2e/$m
		selected "$name" || continue
		args=()
		for f in "${FILTERS[@]}"; do
			case "$f" in "$name".*) args+=("$m.${f#"$name".}") ;; esac
		done
		[ ${#args[@]} -eq 0 ] && args=("$m")
		run_test "$name" env -C "$HERE/e2e" "$PYTHON" -m unittest -v "${args[@]}"
	done
fi

# ---- summary -------------------------------------------------------------------------------

echo
echo "==== summary (logs in $LOGS)"
failed=0
total=0
for i in "${!NAMES[@]}"; do
	printf '  %-34s %-8s %6d.%01d s\n' "${NAMES[$i]}" "${RESULTS[$i]}" \
		$((TIMES[i] / 1000)) $(((TIMES[i] % 1000) / 100))
	[ "${RESULTS[$i]}" = FAILED ] && failed=$((failed + 1))
	total=$((total + 1))
done
if [ $total -eq 0 ]; then
	echo "run.sh: no test matched ${FILTERS[*]}" >&2
	exit 1
fi
echo "  $total tests, $failed failed"
[ $failed -eq 0 ]
