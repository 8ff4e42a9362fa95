#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# run.sh [--short] BUILD_DIR: berth's benchmarks, every figure beside its baseline in one
# run. Starts its peers (the test dockerd of tests/integration/lib/dockerd.sh, a private
# mosquitto of lib/mosquitto.sh) and berthd from BUILD_DIR, measures, prints the table and
# writes it as Markdown: tests/bench/results/latest.md (full mode) or
# BUILD_DIR/bench-short.md (--short, the CI mode). Stops what it started and removes every
# container it created (names berth-bench-*). What each figure means: tests/bench/README.md.
#
# Benchmarks are not tests: the exit status is 0 whatever the numbers; non-zero only when
# the run could not get to the end (a peer did not start, berthd crashed, answers missing).
#
# Environment:
#   BERTH_TEST_RUN          peer state (default /tmp/berth-test); the bench's own state,
#                           broker and berthd live in $BERTH_TEST_RUN/bench
#   BERTH_TEST_DOCKERD_RUN  where the dockerd peer lives (default $BERTH_TEST_RUN)
#   BERTH_BENCH_MQTT_PORT   the bench broker's plain port (default 18930; +1 and +2 are
#                           its TLS ports)
#   BERTH_BENCH_OUT         where the Markdown goes (default: see above)
set -u

usage() {
	echo "usage: $0 [--short] BUILD_DIR" >&2
	exit 2
}

MODE=full
case "${1:-}" in
--short) MODE=short; shift ;;
--full) shift ;;
-h | --help) usage ;;
esac
[ $# -eq 1 ] || usage
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "run.sh: no build directory $1" >&2; exit 2; }

SRC=$(cd "$(dirname "$0")/../.." && pwd)
LIB=$SRC/tests/integration/lib
HERE=$SRC/tests/bench
RUN=${BERTH_TEST_RUN:-/tmp/berth-test}
DRUN=${BERTH_TEST_DOCKERD_RUN:-$RUN}
B=$RUN/bench
PORT=${BERTH_BENCH_MQTT_PORT:-18930}
THING=bench:device
ECHO_THING=bench:echo
PREFIX=berth-bench-
PROGS=$BUILD/tests/bench
RES=$B/results.txt
LOG=$B/berthd.log

# ---- the two modes ---------------------------------------------------------------------
if [ $MODE = full ]; then
	CYCLES=40         # create/start/stop/remove cycles, each side
	ROUNDTRIPS=1000   # no-runtime round trips, each kind
	LOAD_S=10         # seconds per throughput run
	STOP_N=20; STOP_T=5
	READY_RUNS=10
	IDLE_S=70
	OUT=${BERTH_BENCH_OUT:-$SRC/tests/bench/results/latest.md}
else
	CYCLES=6
	ROUNDTRIPS=200
	LOAD_S=2
	STOP_N=5; STOP_T=2
	READY_RUNS=3
	IDLE_S=35
	OUT=${BERTH_BENCH_OUT:-$BUILD/bench-short.md}
fi
PUBLISHERS=4
RATE=5000
WINDOW=16

T_START=$(date +%s)
BERTHD_PID=
ECHO_PID=
STARTED_DOCKERD=
STARTED_MOSQUITTO=

say() { echo "bench: $*" >&2; }

fail() {
	say "FAILED: $*"
	if [ -n "${DOCKERD_PID:-}" ] &&
		{ [ "$(cat "$DRUN/dockerd/dockerd.pid" 2>/dev/null)" != "$DOCKERD_PID" ] ||
		  tail -c +"$((DOCKERD_LOG_SIZE + 1))" "$DRUN/dockerd/dockerd.log" 2>/dev/null |
			grep -q "Processing signal 'terminated'"; }; then
		say "the test dockerd was stopped or restarted during the run (somebody else's" \
			"test?): run again when the machine is quiet"
	fi
	if [ -n "$BERTHD_PID" ] && [ -f "$LOG" ]; then
		echo "---- last lines of $LOG ----" >&2
		tail -n 30 "$LOG" >&2
	fi
	exit 1
}

dockerd_sh() { BERTH_TEST_RUN=$DRUN sh "$LIB/dockerd.sh" "$@"; }

# The bench's own broker: no per-packet logging, TCP_NODELAY (see README.md).
mosquitto_sh() {
	BERTH_TEST_RUN=$B BERTH_TEST_MQTT_PORT=$PORT BERTH_TEST_MQTTS_PORT=$((PORT + 1)) \
		BERTH_TEST_MQTTS_NOIP_PORT=$((PORT + 2)) \
		BERTH_TEST_MOSQUITTO_LOG_TYPES="error warning notice" \
		BERTH_TEST_MOSQUITTO_NODELAY=true bash "$LIB/mosquitto.sh" "$@"
}

# Removes every container named $PREFIX* from the test dockerd (curl + jq, as dockerd.sh).
remove_bench_containers() {
	[ -S "${SOCK:-}" ] || return 0
	curl -s --unix-socket "$SOCK" \
		"http://localhost/containers/json?all=1&filters=%7B%22name%22%3A%5B%22$PREFIX%22%5D%7D" |
		jq -r --arg p "/$PREFIX" '.[] | select(any(.Names[]; startswith($p))) | .Id' 2>/dev/null |
		while read -r id; do
			curl -s --unix-socket "$SOCK" -o /dev/null -X DELETE \
				"http://localhost/containers/$id?v=1&force=1"
		done
}

stop_pid() { # PID: SIGTERM, wait up to 60 s, SIGKILL
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 600 ]; do
		# our child: reap it as soon as it exits
		if [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; then break; fi
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ] &&
		kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	stop_pid "$ECHO_PID"
	ECHO_PID=
	stop_pid "$BERTHD_PID"
	BERTHD_PID=
	remove_bench_containers
	[ -n "$STARTED_MOSQUITTO" ] && mosquitto_sh stop >/dev/null 2>&1
	STARTED_MOSQUITTO=
	[ -n "$STARTED_DOCKERD" ] && dockerd_sh stop >/dev/null 2>&1
	STARTED_DOCKERD=
	rm -rf "$B/state" "$B/run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

alive() { # berthd still running (not a zombie)?
	kill -0 "$BERTHD_PID" 2>/dev/null &&
		[ "$(awk '{print $3}' "/proc/$BERTHD_PID/stat" 2>/dev/null)" != Z ]
}

check_berthd() {
	alive || fail "berthd (pid $BERTHD_PID) is gone ($1)"
}

# step NAME COMMAND...: runs a benchmark program, its key=value lines go to $RES.
step() {
	name=$1
	shift
	say "$name"
	"$@" >>"$RES" || fail "$name did not run to the end"
	[ -z "$BERTHD_PID" ] || check_berthd "after $name"
}

put() { echo "$1=$2" >>"$RES"; }

kb_field() { # FILE FIELD -> kB value
	awk -v f="$2:" '$1 == f { print $2; exit }' "$1" 2>/dev/null
}

# footprint LABEL PID: RSS, PSS, private dirty (smaps_rollup) and threads of PID.
footprint() {
	put "fp.$1.rss_kb" "$(kb_field "/proc/$2/smaps_rollup" Rss)"
	put "fp.$1.pss_kb" "$(kb_field "/proc/$2/smaps_rollup" Pss)"
	put "fp.$1.dirty_kb" "$(kb_field "/proc/$2/smaps_rollup" Private_Dirty)"
	put "fp.$1.anon_kb" "$(kb_field "/proc/$2/smaps_rollup" Anonymous)"
	put "fp.$1.threads" "$(kb_field "/proc/$2/status" Threads)"
	put "fp.$1.heap_dirty_kb" "$(awk '/^[0-9a-f]+-[0-9a-f]+ / { h = ($6 == "[heap]") }
		h && /^Private_Dirty:/ { s += $2 } END { print s + 0 }' "/proc/$2/smaps" 2>/dev/null)"
}

# ---- preconditions ---------------------------------------------------------------------
BERTHD=$BUILD/core/berthd
[ -x "$BERTHD" ] || fail "no $BERTHD (build first: make)"
for m in mqtt docker; do
	[ -f "$BUILD/modules/$m.so" ] || fail "no $BUILD/modules/$m.so (build first: make)"
done
for p in bench_overhead bench_load bench_echo bench_stopall bench_ready; do
	if [ ! -x "$PROGS/$p" ]; then
		make -C "$BUILD" -s "tests/bench/$p" >&2 || fail "cannot build tests/bench/$p"
	fi
done

mkdir -p "$B"
rm -rf "$B/state" "$B/run"
mkdir -p "$B/state" "$B/run"
: >"$RES"
: >"$LOG"
say "$MODE mode; results in $RES, berthd log in $LOG"

# ---- peers -----------------------------------------------------------------------------
dockerd_sh status >/dev/null 2>&1 || STARTED_DOCKERD=1
dockerd_sh start >&2 || fail "dockerd did not start"
. "$DRUN/dockerd.env"
DOCKERD_PID=$(cat "$DRUN/dockerd/dockerd.pid")
DOCKERD_LOG_SIZE=$(stat -c %s "$DRUN/dockerd/dockerd.log" 2>/dev/null || echo 0)
SOCK=$BERTH_TEST_DOCKER_SOCK
IMAGE=$BERTH_TEST_IMAGE
mosquitto_sh status >/dev/null 2>&1 && mosquitto_sh stop >/dev/null 2>&1 # fresh config
mosquitto_sh start 2>&1 | grep -v 'should not be run as root' >&2
mosquitto_sh status >/dev/null 2>&1 || fail "mosquitto did not start"
STARTED_MOSQUITTO=1
remove_bench_containers # leftovers of an interrupted run

# ---- the machine -----------------------------------------------------------------------
version_json=$(curl -s --unix-socket "$SOCK" http://localhost/version)
info_json=$(curl -s --unix-socket "$SOCK" http://localhost/info)
put machine.date "$(date -u '+%Y-%m-%d %H:%M UTC')"
put machine.cores "$(nproc)"
put machine.cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
put machine.kernel "$(uname -r)"
put machine.mem_mb "$(awk '/^MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
put machine.load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
put docker.version "$(echo "$version_json" | jq -r .Version)"
put docker.api_max "$(echo "$version_json" | jq -r .ApiVersion)"
put docker.storage "$(echo "$info_json" | jq -r .Driver)"
put docker.cgroup "$(echo "$info_json" | jq -r '"v" + (.CgroupVersion // "?")')"
put mosquitto.version "$(mosquitto -h 2>/dev/null | awk '/^mosquitto version/ { print $3; exit }')"
put libcurl.version "$(pkg-config --modversion libcurl 2>/dev/null || curl-config --version)"
put libmosquitto.version "$(pkg-config --modversion libmosquitto 2>/dev/null)"
put berth.version "$(awk -F'"' '/^#define PACKAGE_VERSION/ { print $2 }' "$BUILD/config.h")"
put berth.commit "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)$(git -C "$SRC" diff --quiet HEAD -- core backends transports 2>/dev/null || echo '+local changes')"
put berth.cflags "$(sed -n 's/^CFLAGS = //p' "$BUILD/Makefile")"
put state_dir.fs "$(df -T "$B/state" | awk 'NR == 2 { print $2 }')"
put mode "$MODE"

# ---- berthd ----------------------------------------------------------------------------
CONF=$B/berth.conf
cat >"$CONF" <<EOF
# generated by tests/bench/run.sh
agent: {
	thing_id = "$THING";
	tenant = "bench";
	state_dir = "$B/state";
	run_dir = "$B/run";
	module_dir = "$BUILD/modules";
	log_level = "notice";
	log_target = "stderr";
};
transports: ( {
	module = "mqtt";
	url = "tcp://127.0.0.1:$PORT";
	client_id = "berth-bench-$$";
	clean_session = true;
} );
backends: ( { module = "docker"; socket = "$SOCK"; default = true; } );
EOF

# Start-up: exec -> READY=1 on our own NOTIFY_SOCKET, broker already up (each run stopped).
step "start-up time ($READY_RUNS runs)" "$PROGS/bench_ready" -S "$B/run/notify.sock" \
	-L "$LOG" -n "$READY_RUNS" -- "$BERTHD" -c "$CONF"

say "starting berthd"
"$BERTHD" -c "$CONF" >>"$LOG" 2>&1 </dev/null &
BERTHD_PID=$!
"$PROGS/bench_echo" -H 127.0.0.1 -p "$PORT" -t "$ECHO_THING" 2>>"$B/echo.log" &
ECHO_PID=$!
i=0
until [ "$(grep -c 'ready: modules loaded, transports connected' "$LOG")" -gt "$READY_RUNS" ]; do
	check_berthd "while starting"
	[ $i -lt 300 ] || fail "berthd did not get ready within 30 s"
	sleep 0.1
	i=$((i + 1))
done
sleep 2
footprint idle "$BERTHD_PID"
# berthd adopts every berth-labelled container of the shared dockerd (other test runs')
put records_at_idle "$(find "$B/state/containers" -name '*.json' 2>/dev/null | wc -l)"
MOSQ_PID=$(cat "$B/mosquitto/mosquitto.pid")
footprint mosquitto "$MOSQ_PID"
footprint dockerd "$DOCKERD_PID"

# ---- 1. overhead -----------------------------------------------------------------------
step "overhead: $ROUNDTRIPS no-runtime round trips of each kind, $CYCLES interleaved cycles" \
	"$PROGS/bench_overhead" -H 127.0.0.1 -p "$PORT" -t "$THING" -e "$ECHO_THING" \
	-s "$SOCK" -i "$IMAGE" -k "$CYCLES" -r "$ROUNDTRIPS" -n "$PREFIX"

# ---- 2. throughput ---------------------------------------------------------------------
MLOG=$B/mosquitto/mosquitto.log
load() { # LABEL THING OP RATE
	mlog_size=$(stat -c %s "$MLOG" 2>/dev/null || echo 0)
	step "throughput: $1" "$PROGS/bench_load" -H 127.0.0.1 -p "$PORT" -t "$2" -o "$3" \
		-i "$IMAGE" -n "$PREFIX" -P "$PUBLISHERS" -r "$4" -w "$WINDOW" -d "$LOAD_S" -l "$1"
	# Lost answers: the broker drops QoS 1 messages for a client whose queue is full
	# (max_queued_messages, 1000) and says so; name whom it dropped for.
	drops=$(tail -c +"$((mlog_size + 1))" "$MLOG" 2>/dev/null |
		sed -n 's/.*Outgoing messages are being dropped for client \(.*\)\./\1/p' |
		sed -e 's/^bench-load-sub.*/the load generator'"'"'s subscriber/' \
			-e 's/^berth-bench-.*/berthd/' -e 's/^bench-echo-.*/bench_echo/' | sort -u |
		paste -sd, -)
	[ -z "$drops" ] || put "$1.broker_dropped_for" "$drops"
}
load load.echo.paced "$ECHO_THING" echo "$RATE"
load load.notfound.paced "$THING" notfound "$RATE"
load load.rename.paced "$THING" rename "$RATE"
load load.echo.max "$ECHO_THING" echo 0
load load.notfound.max "$THING" notfound 0
load load.rename.max "$THING" rename 0
footprint after_load "$BERTHD_PID"

# ---- 3. concurrency --------------------------------------------------------------------
step "concurrency: $STOP_N containers ignoring SIGTERM, stopWithOptions timeout $STOP_T, force" \
	"$PROGS/bench_stopall" -H 127.0.0.1 -p "$PORT" -t "$THING" -s "$SOCK" -i "$IMAGE" \
	-N "$STOP_N" -T "$STOP_T" -b -n "$PREFIX"
footprint after_stop "$BERTHD_PID"

# ---- 4. footprint after idle -----------------------------------------------------------
say "idle for $IDLE_S s (workers retire after 30 s idle)"
sleep "$IDLE_S"
check_berthd "while idle"
footprint after_idle "$BERTHD_PID"
put idle_s "$IDLE_S"

stop_pid "$BERTHD_PID"
wait "$BERTHD_PID" 2>/dev/null
BERTHD_PID=

# sizes: as built and stripped
for f in core/berthd modules/mqtt.so modules/docker.so; do
	k=$(basename "$f" | tr . _)
	put "size.$k.built" "$(stat -c %s "$BUILD/$f")"
	strip -o "$B/stripped" "$BUILD/$f" 2>/dev/null && put "size.$k.stripped" "$(stat -c %s "$B/stripped")"
	rm -f "$B/stripped"
done
put machine.load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
put duration_s "$(($(date +%s) - T_START))"

# ---- report ----------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
awk -F= -v cmd="tests/bench/run.sh$([ $MODE = short ] && echo ' --short') BUILD_DIR" \
	-f "$HERE/report.awk" "$RES" >"$OUT.tmp" || fail "cannot write the report"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
say "written to $OUT (took $(($(date +%s) - T_START)) s)"
exit 0
