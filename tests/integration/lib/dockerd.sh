#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# dockerd.sh start|stop|restart|status: a PRIVATE dockerd for the integration tests
# (contract: tests/integration/README.md).
#
# CI packages (Debian): docker.io containerd runc iptables busybox-static jq curl
#
# Everything lives under $BERTH_TEST_RUN/dockerd (default /tmp/berth-test/dockerd):
#   docker.sock   the API socket (-H unix://...)
#   data/         --data-root (overlay2 when the kernel has overlay, else vfs)
#   exec/         --exec-root (the supervised containerd, netns, plugins)
#   dockerd.pid   --pidfile
#   dockerd.log   the daemon's output
#   daemon.json   an empty --config-file, so /etc/docker/daemon.json cannot interfere
# and $BERTH_TEST_RUN/dockerd.env exports BERTH_TEST_DOCKER_SOCK and BERTH_TEST_IMAGE
# (localhost/busybox:latest, loaded by busybox-image.sh).
#
# Networking: the default bridge (docker0) with --iptables=false --ip-forward=false, so
# the host's firewall and forwarding are left alone (--bridge=none breaks renaming a
# stopped-and-restarted container on 20.10). `stop` removes docker0 and any Docker
# chains/rules a daemon may have left, and only those, when no other dockerd is running.
#
# The docker CLI on PATH may be newer than the daemon and refuse its API version: this
# script talks to the socket with curl only.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
RUN=${BERTH_TEST_RUN:-/tmp/berth-test}
D=$RUN/dockerd
SOCK=$D/docker.sock
PIDFILE=$D/dockerd.pid
LOG=$D/dockerd.log
ENVF=$RUN/dockerd.env
IMAGE=localhost/busybox:latest
READY_TIMEOUT=${BERTH_TEST_DOCKERD_TIMEOUT:-60}

fail() {
	echo "dockerd.sh: $*" >&2
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
	# the pid file may be stale and the number reused
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 1
	echo "$pid"
}

answers() {
	[ -S "$SOCK" ] && curl -s -m 2 --unix-socket "$SOCK" -o /dev/null http://localhost/_ping
}

storage_driver() {
	if [ -f "$D/storage-driver" ]; then
		cat "$D/storage-driver"
	elif grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null; then
		echo overlay2
	else
		echo vfs
	fi
}

# Starts dockerd with storage driver $1; returns 0 once it answers, 1 if it exited,
# 2 on timeout.
launch() {
	mkdir -p "$D/data" "$D/exec"
	[ -f "$D/daemon.json" ] || echo '{}' >"$D/daemon.json"
	echo "---- $(date '+%F %T') starting dockerd ($1) ----" >>"$LOG"
	dockerd \
		--config-file "$D/daemon.json" \
		-H "unix://$SOCK" \
		--data-root "$D/data" \
		--exec-root "$D/exec" \
		--pidfile "$PIDFILE" \
		--storage-driver "$1" \
		--iptables=false --ip-forward=false --ip-masq=false \
		--containerd-namespace berth-test \
		--containerd-plugins-namespace berth-test-plugins \
		>>"$LOG" 2>&1 </dev/null &
	pid=$!
	i=0
	while [ $i -lt $((READY_TIMEOUT * 10)) ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			return 1
		fi
		answers && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 2
}

write_env() {
	cat >"$ENVF.tmp" <<EOF
export BERTH_TEST_DOCKER_SOCK=$SOCK
export BERTH_TEST_IMAGE=$IMAGE
EOF
	mv "$ENVF.tmp" "$ENVF"
}

start() {
	mkdir -p "$D"
	if pid_of >/dev/null && answers; then
		sh "$HERE/busybox-image.sh" "$SOCK" "$IMAGE" || fail "could not load $IMAGE"
		write_env
		return 0
	fi
	command -v dockerd >/dev/null || fail "dockerd not found (apt-get install docker.io)"
	command -v curl >/dev/null || fail "curl not found"
	command -v jq >/dev/null || fail "jq not found"
	# A dockerd of ours that no longer answers, or leftovers of a crashed one.
	cleanup_daemon
	drv=$(storage_driver)
	launch "$drv"
	rc=$?
	if [ $rc -eq 1 ] && [ "$drv" = overlay2 ] && [ ! -f "$D/storage-driver" ]; then
		echo "dockerd.sh: overlay2 failed, falling back to vfs" >&2
		cleanup_daemon
		drv=vfs
		launch vfs
		rc=$?
	fi
	[ $rc -eq 0 ] || { cleanup_daemon; fail "dockerd did not come up (storage driver $drv)"; }
	echo "$drv" >"$D/storage-driver"
	sh "$HERE/busybox-image.sh" "$SOCK" "$IMAGE" || fail "could not load $IMAGE"
	write_env
}

# Removes Docker's own iptables chains and the rules jumping to them (never anything
# else), for a daemon that was started with iptables enabled by someone else.
cleanup_iptables() {
	command -v iptables >/dev/null || return 0
	for t in filter nat; do
		iptables -t $t -S 2>/dev/null | grep -E '^-A .*(-j|--jump) DOCKER' |
			while read -r line; do
				# shellcheck disable=SC2086
				iptables -t $t $(echo "$line" | sed 's/^-A /-D /') 2>/dev/null
			done
		iptables -t $t -S 2>/dev/null | grep -E '^-A .*docker0' |
			while read -r line; do
				# shellcheck disable=SC2086
				iptables -t $t $(echo "$line" | sed 's/^-A /-D /') 2>/dev/null
			done
		for c in DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER \
			DOCKER-INGRESS; do
			iptables -t $t -F $c 2>/dev/null
		done
		for c in DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER \
			DOCKER-INGRESS; do
			iptables -t $t -X $c 2>/dev/null
		done
	done
	return 0
}

other_dockerd_running() {
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = dockerd ] && return 0
	done
	return 1
}

# Unmounts what the daemon left under $D (overlay layers, netns files, shm), deepest
# first, and removes the socket and pid file. Keeps data/ (restart keeps the data).
cleanup_daemon() {
	if [ -d "$D" ]; then
		awk -v d="$D/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
			while read -r m; do
				umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
			done
	fi
	rm -f "$SOCK" "$PIDFILE"
	if ! other_dockerd_running; then
		ip link del docker0 2>/dev/null
		cleanup_iptables
	fi
	return 0
}

stop() {
	pid=$(pid_of) || { cleanup_daemon; rm -f "$ENVF"; return 0; }
	kill -TERM "$pid" 2>/dev/null
	# dockerd gives containers their stop timeouts (shutdown-timeout 15 s) first
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 400 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "dockerd.sh: dockerd $pid did not stop in 40 s, killing it" >&2
		kill -KILL "$pid" 2>/dev/null
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	fi
	# its supervised containerd, if it outlived it
	cpid=$(cat "$D/exec/containerd/containerd.pid" 2>/dev/null)
	if [ -n "$cpid" ] && [ "$(cat "/proc/$cpid/comm" 2>/dev/null)" = containerd ]; then
		kill -TERM "$cpid" 2>/dev/null
		i=0
		while kill -0 "$cpid" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$cpid" 2>/dev/null
	fi
	cleanup_daemon
	rm -f "$ENVF"
	return 0
}

status() {
	if pid=$(pid_of) && answers; then
		echo "dockerd running (pid $pid, socket $SOCK)"
		return 0
	fi
	echo "dockerd not running"
	return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
restart)
	stop
	start
	;;
status) status ;;
*)
	echo "usage: $0 start|stop|restart|status" >&2
	exit 2
	;;
esac
