#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# podman.sh start|stop|restart|down|status|env: a PRIVATE podman API service for the
# integration tests (contract: tests/integration/README.md).
#
# CI packages (Debian): podman runc conmon containernetworking-plugins
#   golang-github-containers-common busybox-static jq curl
#
# Everything lives under $BERTH_TEST_RUN/podman (default /tmp/berth-test/podman):
#   containers.conf    its own engine settings (CONTAINERS_CONF): runc (crun 1.8 refuses
#                      this kind of host's hybrid cgroup layout), the cgroupfs manager (no
#                      systemd), events_logger "file" (no journald), tmp_dir under here,
#                      ulimits within the host's hard limits, no network by default
#   storage.conf       its own store (CONTAINERS_STORAGE_CONF): root/ and runroot/
#   podman.sock        the libpod API socket of `podman system service --time=0`
#   podman.pid         the service's pid; podman.log its output
# and $BERTH_TEST_RUN/podman.env exports
#   BERTH_TEST_PODMAN_SOCK, BERTH_TEST_PODMAN_IMAGE (localhost/busybox:latest, loaded from
#   lib/busybox-image.sh's archive), CONTAINERS_CONF and CONTAINERS_STORAGE_CONF (so that
#   the podman CLI of a test sees the same store as the service).
#
# `down` stops only the service: containers keep running under conmon, as with podman's
# own service restarts; `restart` is down + start. `stop` removes every container of the
# store, stops the service, unmounts what is left under the directory.
set -u

RUN=${BERTH_TEST_RUN:-/tmp/berth-test}
D=$RUN/podman
SOCK=$D/podman.sock
PIDFILE=$D/podman.pid
LOG=$D/podman.log
ENVF=$RUN/podman.env
IMAGE=localhost/busybox:latest
READY_TIMEOUT=${BERTH_TEST_PODMAN_TIMEOUT:-30}
HERE=$(cd "$(dirname "$0")" && pwd)

export CONTAINERS_CONF=$D/containers.conf
export CONTAINERS_STORAGE_CONF=$D/storage.conf

fail() {
	echo "podman.sh: $*" >&2
	if [ -f "$LOG" ]; then
		echo "---- last lines of $LOG ----" >&2
		tail -n 30 "$LOG" >&2
	fi
	exit 1
}

pid_of() {
	[ -f "$PIDFILE" ] || return 1
	pid=$(cat "$PIDFILE" 2>/dev/null)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = podman ] || return 1
	echo "$pid"
}

answers() {
	[ -S "$SOCK" ] && curl -sf -m 2 --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1
}

write_config() {
	mkdir -p "$D/root" "$D/runroot" "$D/tmp" "$D/volumes"
	nofile=$(ulimit -Hn)
	[ "$nofile" = unlimited ] && nofile=1048576
	cat >"$D/containers.conf.tmp" <<EOF
# written by tests/integration/lib/podman.sh
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$D/tmp"
volume_path = "$D/volumes"
EOF
	mv "$D/containers.conf.tmp" "$D/containers.conf"
	cat >"$D/storage.conf.tmp" <<EOF
# written by tests/integration/lib/podman.sh
[storage]
driver = "overlay"
graphroot = "$D/root"
runroot = "$D/runroot"
EOF
	mv "$D/storage.conf.tmp" "$D/storage.conf"
}

load_image() {
	BERTH_TEST_RUN=$RUN sh "$HERE/busybox-image.sh" "$SOCK" "$IMAGE" ||
		fail "could not load $IMAGE"
}

write_env() {
	cat >"$ENVF.tmp" <<EOF
export BERTH_TEST_PODMAN_SOCK=$SOCK
export BERTH_TEST_PODMAN_IMAGE=$IMAGE
export CONTAINERS_CONF=$CONTAINERS_CONF
export CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF
EOF
	mv "$ENVF.tmp" "$ENVF"
}

start() {
	mkdir -p "$D"
	if pid_of >/dev/null && answers; then
		load_image
		write_env
		return 0
	fi
	command -v podman >/dev/null || fail "podman not found (apt-get install podman)"
	command -v runc >/dev/null || fail "runc not found (apt-get install runc)"
	command -v curl >/dev/null || fail "curl not found"
	rm -f "$SOCK" "$PIDFILE"
	write_config
	echo "---- $(date '+%F %T') starting podman system service ----" >>"$LOG"
	# in $D: conmon 2.1 leaves an empty `oom` marker file in the service's working
	# directory when the memory cgroup kills a container
	(cd "$D" && exec podman system service --time=0 "unix://$SOCK") >>"$LOG" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$PIDFILE"
	i=0
	while [ $i -lt $((READY_TIMEOUT * 10)) ]; do
		kill -0 "$pid" 2>/dev/null || fail "podman system service exited at start-up"
		answers && break
		sleep 0.1
		i=$((i + 1))
	done
	answers || { kill -KILL "$pid" 2>/dev/null; fail "podman did not answer in ${READY_TIMEOUT} s"; }
	load_image
	write_env
}

# The service only: containers live on under their conmon.
down() {
	pid=$(pid_of) || { rm -f "$SOCK" "$PIDFILE"; return 0; }
	kill -TERM "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	fi
	rm -f "$SOCK" "$PIDFILE"
	return 0
}

stop() {
	if [ -f "$D/containers.conf" ] && command -v podman >/dev/null; then
		podman rm -a -f -t 0 >/dev/null 2>&1
	fi
	down
	awk -v d="$D/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
	rm -f "$ENVF"
	return 0
}

status() {
	if pid=$(pid_of) && answers; then
		echo "podman service running (pid $pid, socket $SOCK)"
		return 0
	fi
	echo "podman service not running"
	return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
down) down ;;
restart)
	down
	start
	;;
status) status ;;
env) [ -f "$ENVF" ] && cat "$ENVF" ;;
*)
	echo "usage: $0 start|stop|restart|down|status|env" >&2
	exit 2
	;;
esac
