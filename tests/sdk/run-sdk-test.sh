#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# run-sdk-test.sh BUILD_DIR
# run-sdk-test.sh --debs DIR
# The module SDK works for a vendor who has only the installed berth.
#
#  1. `make -C BUILD_DIR install DESTDIR=$tmp/root`: berthd, the modules, the SDK; or
#     with --debs, `dpkg -x` of the packages berth, berth-dev and the module packages
#     found in DIR (what packaging/build-deb.sh made) into $tmp/root.
#  2. Builds tests/sdk/example (a copy, with its plain Makefile) with pkg-config pointed
#     ONLY at the installed SDK (PKG_CONFIG_LIBDIR + PKG_CONFIG_SYSROOT_DIR), and proves
#     it: the compiler's own list of included headers (cc -H) must show every <berth/...>
#     header coming from $tmp/root, none from the source or build tree.
#  3. Installs example.so into the installed module directory (pkg-config's moduledir).
#  4. Runs the INSTALLED berthd with only the example backend, checks the configuration
#     (--check-config), starts it and sends one create and one start, checking both
#     answers, then stop and remove, and a clean SIGTERM shutdown.
#     Commands go through the installed berthctl and berthd's control socket when the
#     build has berthctl; otherwise through the mqtt transport and a private mosquitto
#     (tests/integration/lib/mosquitto.sh, port $BERTH_TEST_MQTT_PORT).
#     BERTH_SDK_TEST_VIA=control|mqtt forces one.
#
# Exit status 0 passed, 1 failed, 77 skipped (a tool is missing). Everything lives in
# a temporary directory that is removed, also on failure (BERTH_SDK_TEST_KEEP=1 keeps it).
#
# CI packages (Debian): build-essential pkg-config; for the mqtt path also mosquitto
#   mosquitto-clients
set -uo pipefail

usage() { echo "usage: $0 BUILD_DIR | --debs DIR" >&2; exit 2; }
DEBS=
BUILD=
case $# in
1) BUILD=$(cd "$1" && pwd) || exit 2 ;;
2) [ "$1" = --debs ] || usage; DEBS=$(cd "$2" && pwd) || exit 2 ;;
*) usage ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)

skip() { echo "run-sdk-test.sh: SKIP: $*"; exit 77; }
for tool in make cc pkg-config; do
	command -v "$tool" >/dev/null || skip "$tool is not installed"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-sdk.XXXXXX")
ROOT=$TMP/root
BERTHD_PID=
STARTED_MOSQUITTO=
FAILED=0

log() { echo "run-sdk-test.sh: $*"; }
fail() {
	echo "run-sdk-test.sh: FAIL: $*" >&2
	if [ -f "$TMP/berthd.log" ]; then
		echo "---- last lines of berthd's log ----" >&2
		tail -n 30 "$TMP/berthd.log" >&2
	fi
	FAILED=1
	exit 1
}
cleanup() {
	if [ -n "$BERTHD_PID" ] && kill -0 "$BERTHD_PID" 2>/dev/null; then
		kill -TERM "$BERTHD_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$BERTHD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$BERTHD_PID" 2>/dev/null
	fi
	if [ -n "$STARTED_MOSQUITTO" ]; then
		bash "$SRC/tests/integration/lib/mosquitto.sh" stop >/dev/null 2>&1
	fi
	if [ "${BERTH_SDK_TEST_KEEP:-0}" = 1 ] || { [ "$FAILED" = 1 ] && [ "${BERTH_SDK_TEST_KEEP:-0}" = failed ]; }; then
		log "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- 1. install ------------------------------------------------------------------------
if [ -n "$DEBS" ]; then
	command -v dpkg >/dev/null || skip "dpkg is not installed"
	for p in berth berth-dev berth-transport-mqtt berth-backend-docker berth-transport-amqp; do
		deb=$(ls "$DEBS/${p}_"*.deb 2>/dev/null | head -n 1)
		[ -n "$deb" ] || fail "no ${p}_*.deb in $DEBS"
		log "dpkg -x $(basename "$deb")"
		dpkg -x "$deb" "$ROOT" || fail "dpkg -x $deb"
	done
else
	log "make install DESTDIR=$ROOT"
	make -C "$BUILD" install DESTDIR="$ROOT" >"$TMP/install.log" 2>&1 ||
		{ tail -n 20 "$TMP/install.log" >&2; fail "make install failed"; }
fi
BERTHD=$(find "$ROOT" -path '*/sbin/berthd' -type f | head -n 1)
BERTHCTL=$(find "$ROOT" -path '*/bin/berthctl' -type f | head -n 1)
PCFILE=$(find "$ROOT" -name berth-module.pc -type f | head -n 1)
[ -x "$BERTHD" ] || fail "no installed berthd under $ROOT"
[ -f "$PCFILE" ] || fail "no installed berth-module.pc under $ROOT"

# ---- 2. build the example against the installed SDK only ------------------------------
export PKG_CONFIG_LIBDIR=$(dirname "$PCFILE") # replaces the default search path
export PKG_CONFIG_SYSROOT_DIR=$ROOT
unset PKG_CONFIG_PATH
CFLAGS_SDK=$(pkg-config --cflags berth-module) || fail "pkg-config cannot find berth-module"
MODULEDIR=$(pkg-config --variable=moduledir berth-module)
log "pkg-config --cflags berth-module: $CFLAGS_SDK"
for flag in $CFLAGS_SDK; do
	case $flag in
	-I"$ROOT"/*) ;;
	-I*) fail "$flag does not point into the installed SDK ($ROOT)" ;;
	esac
done
case $MODULEDIR in "$ROOT"/*) ;; *) fail "moduledir $MODULEDIR is not under $ROOT" ;; esac

mkdir "$TMP/example"
cp "$HERE/example/example.c" "$HERE/example/Makefile" "$TMP/example/"
make -C "$TMP/example" CFLAGS="-O2 -g -Werror" >"$TMP/example-build.log" 2>&1 ||
	{ cat "$TMP/example-build.log" >&2; fail "the example does not build against the installed SDK"; }
grep -E -- "-I($SRC${BUILD:+|$BUILD})" "$TMP/example-build.log" &&
	fail "the example's build used an include path into the source or build tree"
# Proof by the compiler itself: where did every <berth/...> header come from?
(cd "$TMP/example" && cc -std=gnu11 $CFLAGS_SDK -H -fsyntax-only example.c) 2>"$TMP/headers.txt" ||
	fail "cc -H failed"
berth_headers=$(grep -E '^\.+ .*/berth/[a-z]+\.h$' "$TMP/headers.txt" | sed 's/^\.* //' | sort -u)
[ -n "$berth_headers" ] || fail "cc -H lists no <berth/...> header"
echo "$berth_headers" | grep -v "^$ROOT/" && fail "headers above were not taken from the installed SDK"
log "built example.so; its <berth/...> headers: $(echo "$berth_headers" | sed "s|$ROOT||" | tr '\n' ' ')"
nm -D --defined-only "$TMP/example/example.so" | awk '$2 == "T" { print $3 }' | sort >"$TMP/exports"
[ "$(tr '\n' ' ' <"$TMP/exports")" = "berth_module_cleanup berth_module_init berth_module_version " ] ||
	fail "example.so exports $(tr '\n' ' ' <"$TMP/exports") (expected only the three entry points)"

# ---- 3. install it where the installed berthd looks --------------------------------------
install -m 0644 "$TMP/example/example.so" "$MODULEDIR/example.so" || fail "cannot install example.so"

# ---- 4. run the installed berthd ------------------------------------------------------------
VIA=${BERTH_SDK_TEST_VIA:-}
if [ -z "$VIA" ]; then
	if [ -x "$BERTHCTL" ]; then VIA=control; else VIA=mqtt; fi
fi
THING=edge:sdk
mkdir -m 0700 "$TMP/state" "$TMP/run"
{
	echo "agent: {"
	echo "  thing_id = \"$THING\"; tenant = \"t1\";"
	echo "  state_dir = \"$TMP/state\"; run_dir = \"$TMP/run\"; module_dir = \"$MODULEDIR\";"
	[ "$VIA" = control ] && echo "  control_socket = \"$TMP/run/berthd.sock\";"
	echo "  log_level = \"debug\"; log_target = \"stderr\";"
	echo "};"
} >"$TMP/berth.conf"

case $VIA in
control)
	[ -x "$BERTHCTL" ] || fail "BERTH_SDK_TEST_VIA=control but the build installed no berthctl"
	echo 'transports: ( );' >>"$TMP/berth.conf"
	;;
mqtt)
	command -v mosquitto_pub >/dev/null && command -v mosquitto_sub >/dev/null ||
		skip "mosquitto-clients are not installed (and the build has no berthctl)"
	MOSQ=$SRC/tests/integration/lib/mosquitto.sh
	if ! bash "$MOSQ" status >/dev/null 2>&1; then
		bash "$MOSQ" start >"$TMP/mosquitto.log" 2>&1 ||
			{ cat "$TMP/mosquitto.log" >&2; fail "cannot start the private mosquitto"; }
		STARTED_MOSQUITTO=1
	fi
	. "${BERTH_TEST_RUN:-/tmp/berth-test}/mosquitto.env"
	echo "transports: ( { module = \"mqtt\"; url = \"tcp://127.0.0.1:$BERTH_TEST_MQTT_PORT\";" \
	     "client_id = \"berth-sdk-$$\"; clean_session = true; } );" >>"$TMP/berth.conf"
	;;
*) fail "BERTH_SDK_TEST_VIA must be control or mqtt, not $VIA" ;;
esac
echo 'backends: ( { module = "example"; max_containers = 8; } );' >>"$TMP/berth.conf"

"$BERTHD" --check-config -c "$TMP/berth.conf" >"$TMP/check.log" 2>&1 ||
	{ cat "$TMP/check.log" >&2; fail "berthd --check-config refused the example configuration"; }
grep -q "configuration OK (1 backend" "$TMP/check.log" || fail "unexpected --check-config output"
log "installed berthd accepts the example backend: $(grep "configuration OK" "$TMP/check.log")"

"$BERTHD" -c "$TMP/berth.conf" >"$TMP/berthd.log" 2>&1 &
BERTHD_PID=$!
log "started $BERTHD (pid $BERTHD_PID), commands via $VIA"

ctl() { "$BERTHCTL" --socket "$TMP/run/berthd.sock" --timeout 20 "$@"; }

if [ "$VIA" = control ]; then
	for _ in $(seq 100); do
		ctl status >"$TMP/status.txt" 2>&1 && break
		kill -0 "$BERTHD_PID" 2>/dev/null || fail "berthd exited at start"
		sleep 0.1
	done
	ctl status >"$TMP/status.txt" 2>&1 || { cat "$TMP/status.txt" >&2; fail "berthctl status"; }
	grep -q "example" "$TMP/status.txt" || { cat "$TMP/status.txt" >&2; fail "status does not list the example backend"; }

	id=$(ctl create example/image:1 --name sdk-demo 2>"$TMP/err.txt") ||
		{ cat "$TMP/err.txt" >&2; fail "create answered an error"; }
	[[ $id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
		fail "create did not answer a container id: '$id'"
	log "create -> 200 $id"
	out=$(ctl start "$id" 2>&1) || fail "start answered an error: $out"
	log "start -> $out"
	ctl --json show sdk-demo >"$TMP/show.json" 2>&1 || fail "show sdk-demo"
	grep -q '"RUNNING"' "$TMP/show.json" || { cat "$TMP/show.json" >&2; fail "sdk-demo is not RUNNING after start"; }
	grep -q '"nativeId": *"ex0' "$TMP/show.json" || grep -q '"ex0' "$TMP/show.json" ||
		{ cat "$TMP/show.json" >&2; fail "the record does not carry the example backend's native id"; }
	ctl start sdk-demo >"$TMP/out.txt" 2>&1
	rc=$?
	out=$(cat "$TMP/out.txt")
	[ $rc -eq 1 ] && grep -q "409" "$TMP/out.txt" ||
		fail "a second start did not fail with 409 (exit $rc): $out"
	log "start again -> exit 1, $out"
	out=$(ctl stop sdk-demo 2>&1) || fail "stop answered an error: $out"
	out=$(ctl remove sdk-demo 2>&1) || fail "remove answered an error: $out"
	[ -z "$(ctl list | tail -n +2)" ] || fail "the container is still listed after remove"
	log "stop, remove -> ok"
else
	M=(-h 127.0.0.1 -p "$BERTH_TEST_MQTT_PORT" -q 1)
	envelope() { # op feature value correlation-id
		printf '{"topic":"edge/sdk/things/live/messages/%s","headers":{"correlation-id":"%s","response-required":true,"content-type":"application/json"},"path":"/features/%s/inbox/messages/%s","value":%s}' \
			"$1" "$4" "$2" "$1" "$3"
	}
	# mqtt_command(reqid op feature value) -> "topic payload" of the answer
	mqtt_command() {
		mosquitto_sub "${M[@]}" -t "command//$THING/res/$1/#" -C 1 -W 20 -v >"$TMP/res-$1" &
		local sub=$!
		sleep 0.5
		mosquitto_pub "${M[@]}" -t "command//$THING/req/$1/$2" -m "$(envelope "$2" "$3" "$4" "sdk-$1")" ||
			fail "mosquitto_pub $2"
		wait "$sub" || fail "no answer to $2 within 20 s"
		cat "$TMP/res-$1"
	}
	for _ in $(seq 100); do
		grep -q "ready: modules loaded, transports connected" "$TMP/berthd.log" && break
		kill -0 "$BERTHD_PID" 2>/dev/null || fail "berthd exited at start"
		sleep 0.1
	done
	grep -q "ready: modules loaded" "$TMP/berthd.log" || fail "berthd did not connect to the broker"
	ans=$(mqtt_command c1 create ContainerFactory '{"imageRef":"example/image:1","start":false}')
	echo "$ans" | grep -q "^command//$THING/res/c1/200 " || fail "create: $ans"
	id=$(echo "$ans" | sed -n 's/.*"value":"\([0-9a-f-]*\)".*/\1/p')
	[ -n "$id" ] || fail "create did not answer a container id: $ans"
	log "create -> 200 $id"
	ans=$(mqtt_command c2 start "Container:$id" '{}')
	echo "$ans" | grep -q "^command//$THING/res/c2/204 " || fail "start: $ans"
	log "start -> 204"
	ans=$(mqtt_command c3 start "Container:$id" '{}')
	echo "$ans" | grep -q "^command//$THING/res/c3/409 " || fail "second start: $ans"
	log "start again -> 409"
	ans=$(mqtt_command c4 remove "Container:$id" 'true')
	echo "$ans" | grep -q "^command//$THING/res/c4/204 " || fail "remove: $ans"
	log "remove (force) -> 204"
fi

kill -TERM "$BERTHD_PID"
wait "$BERTHD_PID"
rc=$?
BERTHD_PID=
[ $rc -eq 0 ] || fail "berthd exited $rc after SIGTERM"
grep -q "notice: stopped" "$TMP/berthd.log" || fail "berthd did not log a clean stop"
grep -qi "asan\|runtime error" "$TMP/berthd.log" && fail "sanitizer reports in berthd's log"
log "PASS: example backend built against the installed SDK, loaded and driven by the installed berthd ($VIA)"
exit 0
