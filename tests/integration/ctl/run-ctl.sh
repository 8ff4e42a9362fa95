#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# run-ctl.sh BUILD_DIR: berthctl against a real berthd.
#
# Starts BUILD_DIR/core/berthd with the docker backend (BUILD_DIR/modules) against the
# private dockerd of lib/dockerd.sh ($BERTH_TEST_DOCKER_SOCK, image $BERTH_TEST_IMAGE)
# and NO cloud transport (berthd must start, and be ready, with none), its control
# socket in a private directory. Then drives one container through berthctl and checks
# each step against the Docker API directly (curl --unix-socket):
#   create --start, list, show, stop --signal SIGINT --timeout 5 --force, update --memory,
#   rename, start, remove --force;
# and the exit codes: 1 with the 404 for an unknown container, 2 for usage errors, 3
# when berthd refuses the peer or is not running, 4 on --timeout; raw envelopes (one-way
# 202, garbage 400); berthctl under valgrind when it is installed.
#
# The integration runner (run.sh) sources the dockerd peer's env file first; run alone,
# this script uses $BERTH_TEST_DOCKERD_RUN/dockerd.env (default $BERTH_TEST_RUN, i.e.
# /tmp/berth-test) and starts the shared dockerd when it is not running (and leaves it
# running). Everything it creates (berthd, its state, its containers) is removed on exit,
# also on failure. Exit status 0 when every check passed, 77 (skipped) without curl/jq.
set -u

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
RUN=${BERTH_TEST_DOCKERD_RUN:-${BERTH_TEST_RUN:-/tmp/berth-test}}
BERTHD=$BUILD/core/berthd
CTL=$BUILD/core/berthctl

for f in "$BERTHD" "$CTL"; do
	[ -e "$f" ] || { echo "run-ctl.sh: $f is missing: build first (make)" >&2; exit 2; }
done
[ -e "$BUILD/modules/docker.so" ] ||
	{ echo "run-ctl.sh: skipped: the docker backend is not built" >&2; exit 77; }
for tool in curl jq; do
	command -v $tool >/dev/null || { echo "run-ctl.sh: skipped: $tool is required" >&2; exit 77; }
done

docker_ping() {
	[ -n "${BERTH_TEST_DOCKER_SOCK:-}" ] &&
		curl -s -m 5 --unix-socket "$BERTH_TEST_DOCKER_SOCK" -o /dev/null http://localhost/_ping
}
if ! docker_ping; then
	[ -f "$RUN/dockerd.env" ] && . "$RUN/dockerd.env"
	if ! docker_ping; then
		BERTH_TEST_RUN=$RUN sh "$LIB/dockerd.sh" start || exit 1
		. "$RUN/dockerd.env"
	fi
fi

WORK=$(mktemp -d /tmp/berth-ctl.XXXXXX) || exit 1
SOCK=$WORK/run/berthd.sock
LOG=$WORK/berthd.log
NAME=ctl-test-$$
BERTHD_PID=
NATIVE=
failures=0
checks=0

cleanup() {
	if [ -n "$BERTHD_PID" ] && kill -0 "$BERTHD_PID" 2>/dev/null; then
		kill "$BERTHD_PID"
		wait "$BERTHD_PID" 2>/dev/null
	fi
	# this test's containers only, by the berth.name of the ones it made
	for id in $(curl -s --unix-socket "$BERTH_TEST_DOCKER_SOCK" \
			"http://localhost/containers/json?all=1" 2>/dev/null |
		    jq -r --arg p "ctl-test-$$" \
			'.[] | select(.Names[0] | ltrimstr("/") | startswith($p)) | .Id' 2>/dev/null); do
		curl -s --unix-socket "$BERTH_TEST_DOCKER_SOCK" -X DELETE \
			"http://localhost/containers/$id?force=true" >/dev/null
	done
	if [ "$failures" -ne 0 ] && [ -f "$LOG" ]; then
		echo "---- last lines of $LOG ----"
		tail -n 40 "$LOG"
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { checks=$((checks + 1)); echo "ok   $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $*"; }
# check DESCRIPTION TEST-COMMAND...
check() {
	what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

# ctl ARGS...: runs berthctl; stdout in $OUT, stderr in $ERR, exit code in $RC
ctl() {
	"$CTL" --socket "$SOCK" "$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}
expect_rc() { # expect_rc CODE DESCRIPTION
	if [ "$RC" -eq "$1" ]; then
		ok "$2 (exit $RC)"
	else
		fail "$2: exit $RC, expected $1; stdout: $OUT; stderr: $ERR"
	fi
}

# inspect FILTER: jq FILTER over docker's inspect of our container
inspect() {
	curl -s --unix-socket "$BERTH_TEST_DOCKER_SOCK" "http://localhost/containers/$NATIVE/json" |
		jq -r "$1"
}
inspect_status() {
	curl -s -o /dev/null -w '%{http_code}' --unix-socket "$BERTH_TEST_DOCKER_SOCK" \
		"http://localhost/containers/$NATIVE/json"
}

# ---- berthd, without any cloud transport ----
mkdir -p "$WORK/state"
cat >"$WORK/berth.conf" <<EOF
agent: {
  thing_id = "test.ctl:device";
  state_dir = "$WORK/state";
  module_dir = "$BUILD/modules";
  run_dir = "$WORK/run";
  log_target = "stderr";
  log_level = "debug";
};
backends: ( { module = "docker"; socket = "$BERTH_TEST_DOCKER_SOCK"; } );
EOF
"$BERTHD" -c "$WORK/berth.conf" >"$LOG" 2>&1 &
BERTHD_PID=$!
i=0
while [ ! -S "$SOCK" ] && [ $i -lt 100 ] && kill -0 "$BERTHD_PID" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -S "$SOCK" ]; then
	fail "berthd did not create $SOCK"
	exit 1
fi
ok "berthd started with no transport; control socket created"
check "socket mode 0660" [ "$(stat -c %a "$SOCK")" = 660 ]
check "run dir created 0755" [ "$(stat -c %a "$WORK/run")" = 755 ]
i=0
while ! grep -q "ready:" "$LOG" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "berthd is ready without any transport" grep -q "ready: modules loaded" "$LOG"

ctl status
expect_rc 0 "status"
check "status names the thing and the docker backend" \
	sh -c 'echo "$1" | grep -q "test.ctl:device" && echo "$1" | grep -q "docker (docker), default: reachable"' _ "$OUT"
ctl --json status
check "status --json: no transports, version" \
	sh -c '[ "$(echo "$1" | jq -c .transports)" = "[]" ] && echo "$1" | jq -e .version >/dev/null' _ "$OUT"

# ---- create --start ----
ctl create "$BERTH_TEST_IMAGE" --name "$NAME" --start --env FOO=bar --restart on-failure:2 \
	--memory 100m -- sleep 3600
expect_rc 0 "create --start"
ID=$OUT
check "create prints the new container's id" \
	sh -c 'echo "$1" | grep -Eq "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"' _ "$ID"

ctl list
expect_rc 0 "list"
check "list: header, then our container RUNNING" sh -c '
	echo "$1" | head -1 | grep -Eq "^ID +NAME +BACKEND +STATE +IMAGE$" &&
	echo "$1" | grep -Eq "^$2 +$3 +docker +RUNNING +$4$"' _ "$OUT" "$ID" "$NAME" "$BERTH_TEST_IMAGE"
ctl ps --json
check "ps --json lists it" sh -c 'echo "$1" | jq -e --arg id "$2" "map(select(.id == \$id and .state == \"RUNNING\")) | length == 1" >/dev/null' _ "$OUT" "$ID"

ctl --json show "$NAME"
expect_rc 0 "show --json NAME"
NATIVE=$(echo "$OUT" | jq -r .nativeId)
check "show --json: the stored record" sh -c 'echo "$1" | jq -e --arg id "$2" ".id == \$id and .backend == \"docker\" and .state.status == \"RUNNING\"" >/dev/null' _ "$OUT" "$ID"
ctl show "$ID"
check "show ID (human)" sh -c 'echo "$1" | grep -q "^State: *RUNNING, pid" && echo "$1" | grep -q "^Name: *$2"' _ "$OUT" "$NAME"
ctl show "$(echo "$ID" | cut -c1-8)"
expect_rc 0 "show by an id prefix"

check "docker: running" [ "$(inspect .State.Running)" = true ]
check "docker: name, label berth.id" [ "$(inspect '.Name + " " + .Config.Labels["berth.id"]')" = "/$NAME $ID" ]
check "docker: env FOO=bar" sh -c '[ "$1" = true ]' _ "$(inspect '.Config.Env | index("FOO=bar") != null')"
check "docker: cmd sleep 3600" [ "$(inspect '.Config.Cmd | join(" ")')" = "sleep 3600" ]
check "docker: memory 100m" [ "$(inspect .HostConfig.Memory)" = 104857600 ]
check "docker: restart on-failure:2" \
	[ "$(inspect '.HostConfig.RestartPolicy | .Name + ":" + (.MaximumRetryCount|tostring)')" = "on-failure:2" ]

# ---- stop --signal SIGINT --timeout 5 --force: sleep as PID 1 ignores SIGINT ----
start=$(date +%s)
ctl stop "$NAME" --signal SIGINT --timeout 5 --force
took=$(($(date +%s) - start))
expect_rc 0 "stop --signal SIGINT --timeout 5 --force"
check "stop waited the 5 s before killing (took ${took} s)" \
	sh -c '[ "$1" -ge 4 ] && [ "$1" -le 20 ]' _ "$took"
check "stop printed ok" [ "$OUT" = ok ]
check "docker: not running after stop" [ "$(inspect .State.Running)" = false ]
check "docker: killed (exit code 137)" [ "$(inspect .State.ExitCode)" = 137 ]
ctl --json show "$ID"
check "record: STOPPED" [ "$(echo "$OUT" | jq -r .state.status)" = STOPPED ]

# ---- update --memory 64m ----
ctl update "$ID" --memory 64m
expect_rc 0 "update --memory 64m"
check "docker: memory 64m" [ "$(inspect .HostConfig.Memory)" = 67108864 ]
ctl --json show "$ID"
check "record: config.resources.memory 64m" [ "$(echo "$OUT" | jq -r .config.resources.memory)" = 64m ]

# ---- rename ----
ctl rename "$NAME" "$NAME-2"
expect_rc 0 "rename"
check "docker: renamed" [ "$(inspect .Name)" = "/$NAME-2" ]
ctl --json show "$NAME-2"
check "show by the new name" [ "$(echo "$OUT" | jq -r .id)" = "$ID" ]
ctl show "$NAME"
expect_rc 1 "show by the old name"

# ---- remove of a running container: 409 without force, gone with it ----
ctl start "$NAME-2"
expect_rc 0 "start"
check "docker: running again" [ "$(inspect .State.Running)" = true ]
ctl remove "$NAME-2"
expect_rc 1 "remove a running container without --force"
check "its error is the 409" sh -c 'echo "$1" | grep -q "^error 409: "' _ "$ERR"
ctl --json remove "$NAME-2" --force
expect_rc 0 "remove --force"
check "remove --json prints the Ditto response (204, outbox path)" sh -c 'echo "$1" | jq -e --arg p "/features/Container:$2/outbox/messages/remove" ".status == 204 and .path == \$p" >/dev/null' _ "$OUT" "$ID"
check "docker: container gone" [ "$(inspect_status)" = 404 ]
ctl list
check "list: gone" sh -c '! echo "$1" | grep -q "$2"' _ "$OUT" "$ID"

# ---- errors and exit codes ----
ctl stop no-such-container
expect_rc 1 "stop an unknown container"
check "its error is berthd's 404" sh -c 'echo "$1" | grep -q "^error 404: container no-such-container is not found"' _ "$ERR"
ctl show no-such-container
expect_rc 1 "show an unknown container"
check "show's error is a 404" sh -c 'echo "$1" | grep -q "^error 404: "' _ "$ERR"
ctl frobnicate
expect_rc 2 "unknown command"
ctl update "$ID"
expect_rc 2 "update without options"
ctl create "$BERTH_TEST_IMAGE" --restart sometimes
expect_rc 2 "create --restart sometimes"
ctl create "$BERTH_TEST_IMAGE" --name "$NAME-bad" --memory 2m
expect_rc 1 "create with a memory limit berthd refuses"
check "its error is a 400" sh -c 'echo "$1" | grep -q "^error 400: "' _ "$ERR"
ctl raw '{"topic":"test.ctl/device/things/live/messages/start","headers":{"correlation-id":"c1","response-required":false},"path":"/features/Container:nope/inbox/messages/start"}'
expect_rc 0 "raw one-way envelope"
check "raw one-way is queued (202)" [ "$OUT" = queued ]
ctl raw 'this is not JSON'
expect_rc 1 "raw garbage"
check "raw garbage: the decoder's 400" sh -c 'echo "$1" | grep -q "^error 400: "' _ "$ERR"
ctl --json raw '{"topic":"test.ctl/device/things/live/messages/pause","headers":{"correlation-id":"c2"},"path":"/features/Container:nope/inbox/messages/pause",}'
expect_rc 1 "raw envelope (trailing comma) for an unknown container"
check "raw --json: the Ditto error response" sh -c 'echo "$1" | jq -e ".status == 404 and .headers[\"correlation-id\"] == \"c2\"" >/dev/null' _ "$OUT"

# --timeout: a stop that takes 4 s, berthctl waits 1 s
ctl create "$BERTH_TEST_IMAGE" --name "$NAME-slow" --start -- sleep 3600
expect_rc 0 "create a second container"
SLOW=$OUT
ctl --timeout 1 stop "$SLOW" --signal SIGINT --timeout 4 --force
expect_rc 4 "no answer within --timeout 1"
sleep 5
ctl --json show "$SLOW"
check "the stop went on without berthctl" [ "$(echo "$OUT" | jq -r .state.status)" = STOPPED ]
check "berthd dropped the late answer" grep -q "is dropped: the client has gone" "$LOG"
ctl rm -f "$SLOW"
expect_rc 0 "rm -f the second container"

# a peer that is neither root nor berthd's user
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 0711 "$WORK" # mktemp's 0700 would refuse the peer before the socket does
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" --socket "$SOCK" list \
		>/dev/null 2>"$WORK/err"
	RC=$? OUT= ERR=$(cat "$WORK/err")
	expect_rc 3 "uid 65534, socket mode 0660: cannot connect"
	chmod 0666 "$SOCK"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" --socket "$SOCK" list \
		>/dev/null 2>"$WORK/err"
	RC=$? OUT= ERR=$(cat "$WORK/err")
	expect_rc 3 "uid 65534 on an open socket: refused by SO_PEERCRED"
	check "the refusal is explained" sh -c 'echo "$1" | grep -q "berthd refused the connection: permission denied"' _ "$ERR"
	check "the refusal is logged" grep -q "refused a connection from uid 65534" "$LOG"
	chmod 0660 "$SOCK"
else
	echo "skip peer credential checks (need root and setpriv)"
fi

# berthctl under valgrind (BERTH_TEST_NO_VALGRIND=1 skips it, e.g. for a sanitizer build)
if [ -z "${BERTH_TEST_NO_VALGRIND:-}" ] && command -v valgrind >/dev/null; then
	for args in "list" "status" "create $BERTH_TEST_IMAGE --name $NAME-vg --env A=1 -- true" \
		    "--json show $NAME-vg" "show $NAME-vg" "rm -f $NAME-vg" "stop no-such-container"; do
		# shellcheck disable=SC2086
		valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
			--error-exitcode=99 "$CTL" --socket "$SOCK" $args >/dev/null 2>"$WORK/vg"
		RC=$?
		if [ "$RC" -eq 99 ]; then
			fail "valgrind berthctl $args: $(cat "$WORK/vg")"
		else
			ok "valgrind berthctl $args: clean (exit $RC)"
		fi
	done
else
	echo "skip valgrind (not installed, or BERTH_TEST_NO_VALGRIND)"
fi

# ---- berthd stops: the socket goes, berthctl cannot reach it ----
kill "$BERTHD_PID"
wait "$BERTHD_PID"
rc=$?
BERTHD_PID=
check "berthd exits 0 on SIGTERM (exit $rc)" [ "$rc" -eq 0 ]
check "the socket is removed" [ ! -e "$SOCK" ]
ctl list
expect_rc 3 "berthd not running"
check "berthctl says it cannot reach berthd" sh -c 'echo "$1" | grep -q "cannot reach berthd"' _ "$ERR"

echo "run-ctl.sh: $((checks - failures))/$checks checks passed"
[ "$failures" -eq 0 ]
