#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# rabbitmq.sh start|stop|restart|status: a PRIVATE RabbitMQ (Debian 12: 3.10) with the
# AMQP 1.0 plugin, for the AMQP transport tests (contract: tests/integration/README.md).
#
# CI packages (Debian): rabbitmq-server (pulls erlang), openssl
#   apt-get -y -o DPkg::Lock::Timeout=600 install --no-install-recommends rabbitmq-server
#
# Runs as the current user, without systemd and without /var/lib/rabbitmq. Everything
# lives under $BERTH_TEST_RUN/rabbitmq (default /tmp/berth-test/rabbitmq):
#   rabbitmq.conf enabled_plugins   generated on every start
#   home/       HOME of the node (Erlang cookie)
#   mnesia/     the node's data (queues survive `restart`)
#   log/ stdout.log rabbit.pid
#   certs/      lib/certs.sh output
# Listeners on 127.0.0.1: $BERTH_TEST_RABBITMQ_PORT (5674) AMQP 0-9-1 and 1.0, and
# $BERTH_TEST_RABBITMQ_TLS_PORT (5675) the same over TLS (certs/server.crt). User
# guest/guest (allowed from loopback); connections without SASL also act as guest.
# Erlang distribution stays on loopback: epmd on $BERTH_TEST_RABBITMQ_EPMD_PORT (14369),
# node port 25674, node name berth-test@localhost. Start takes about 10 s.
# $BERTH_TEST_RUN/rabbitmq.env exports BERTH_TEST_RABBITMQ_PORT,
# BERTH_TEST_RABBITMQ_TLS_PORT, BERTH_TEST_RABBITMQ_USER, BERTH_TEST_RABBITMQ_PASSWORD,
# BERTH_TEST_RABBITMQ_CERTS.
#
# AMQP 1.0 addresses of the 3.10 plugin: see tests/integration/amqp/README.md.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
RUN=${BERTH_TEST_RUN:-/tmp/berth-test}
D=$RUN/rabbitmq
CERTS=$D/certs
ENVF=$RUN/rabbitmq.env
PORT=${BERTH_TEST_RABBITMQ_PORT:-5674}
TLS_PORT=${BERTH_TEST_RABBITMQ_TLS_PORT:-5675}
EPMD_PORT=${BERTH_TEST_RABBITMQ_EPMD_PORT:-14369}
DIST_PORT=25674
NODE=berth-test@localhost
READY_TIMEOUT=${BERTH_TEST_RABBITMQ_TIMEOUT:-60}
SBIN=/usr/lib/rabbitmq/bin

fail() {
	echo "rabbitmq.sh: $*" >&2
	for f in "$D/stdout.log" "$D"/log/*.log; do
		[ -f "$f" ] || continue
		echo "---- last lines of $f ----" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}

node_env() {
	export HOME="$D/home" RABBITMQ_NODENAME=$NODE RABBITMQ_CONFIG_FILE="$D/rabbitmq.conf" \
		RABBITMQ_ENABLED_PLUGINS_FILE="$D/enabled_plugins" RABBITMQ_MNESIA_BASE="$D/mnesia" \
		RABBITMQ_LOG_BASE="$D/log" RABBITMQ_PID_FILE="$D/rabbit.pid" \
		RABBITMQ_DIST_PORT=$DIST_PORT ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$EPMD_PORT \
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
		RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

ctl() {
	(node_env && exec "$SBIN/rabbitmqctl" -q -n $NODE "$@")
}

pid_of() {
	pid=$(cat "$D/rabbit.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	echo "$pid"
}

port_open() {
	/usr/bin/python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null
}

answers() {
	port_open "$PORT" && port_open "$TLS_PORT"
}

write_env() {
	cat >"$ENVF" <<ENV
export BERTH_TEST_RABBITMQ_PORT=$PORT
export BERTH_TEST_RABBITMQ_TLS_PORT=$TLS_PORT
export BERTH_TEST_RABBITMQ_USER=guest
export BERTH_TEST_RABBITMQ_PASSWORD=guest
export BERTH_TEST_RABBITMQ_CERTS=$CERTS
ENV
}

write_conf() {
	mkdir -p "$D/home" "$D/log"
	sh "$HERE/certs.sh" "$CERTS" || fail "cannot create certificates in $CERTS"
	echo '[rabbitmq_amqp1_0].' >"$D/enabled_plugins"
	cat >"$D/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$PORT
listeners.ssl.1 = 127.0.0.1:$TLS_PORT
ssl_options.cacertfile = $CERTS/ca.crt
ssl_options.certfile = $CERTS/server.crt
ssl_options.keyfile = $CERTS/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
loopback_users = none
amqp1_0.default_user = guest
amqp1_0.default_vhost = /
management.tcp.port = 0
log.file.level = info
log.console = false
CONF
}

# One attempt; returns non-zero (with the reason on stderr) when the node did not come up.
try_start() {
	write_conf
	(node_env && exec setsid "$SBIN/rabbitmq-server" >"$D/stdout.log" 2>&1 </dev/null) &
	i=0
	while ! { pid_of >/dev/null && answers; }; do
		i=$((i + 1))
		if [ $i -gt $((READY_TIMEOUT * 5)) ]; then
			echo "rabbitmq.sh: no answer on $PORT/$TLS_PORT within ${READY_TIMEOUT}s" >&2
			return 1
		fi
		sleep 0.2
	done
	ctl await_startup >/dev/null 2>&1 || { echo "rabbitmq.sh: await_startup failed" >&2; return 1; }
}

do_start() {
	if pid_of >/dev/null && answers; then
		write_env
		return 0
	fi
	[ -x "$SBIN/rabbitmq-server" ] || fail "rabbitmq-server is not installed (apt-get install rabbitmq-server)"
	if ! try_start; then
		echo "rabbitmq.sh: first start failed, cleaning up and trying again" >&2
		do_stop
		try_start || fail "RabbitMQ did not start"
	fi
	write_env
}

do_stop() {
	pid=$(pid_of) || pid=
	if [ -n "$pid" ]; then
		ctl stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i + 1))
			if [ $i -gt 150 ]; then
				kill -9 "$pid" 2>/dev/null
				break
			fi
			sleep 0.2
		done
	fi
	# the epmd our node started, on our private port only
	ERL_EPMD_ADDRESS=127.0.0.1 epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1
	rm -f "$D/rabbit.pid" "$ENVF"
}

case "${1:-}" in
start) do_start ;;
stop) do_stop ;;
restart) do_stop; do_start ;;
status)
	if pid_of >/dev/null && answers; then
		echo "running (pid $(pid_of), ports $PORT $TLS_PORT)"
	else
		echo "stopped"
		exit 1
	fi
	;;
*) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
