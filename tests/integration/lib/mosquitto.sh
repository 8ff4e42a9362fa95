#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# mosquitto.sh start|stop|restart|status: a PRIVATE mosquitto for the integration tests
# (contract: tests/integration/README.md).
#
# CI packages (Debian): mosquitto mosquitto-clients libmosquitto-dev python3-paho-mqtt openssl
#
# Everything lives under $BERTH_TEST_RUN/mosquitto (default /tmp/berth-test/mosquitto):
#   mosquitto.conf  generated on every start
#   passwd          password file: $BERTH_TEST_MQTT_USER / $BERTH_TEST_MQTT_PASSWORD
#   certs/          lib/certs.sh output (CA, server certs, client cert)
#   data/           persistence (sessions and queued QoS 1 messages survive `restart`)
#   mosquitto.pid   mosquitto.log
# Listeners, all on 127.0.0.1:
#   $BERTH_TEST_MQTT_PORT       (18830) plain, anonymous
#   $BERTH_TEST_MQTTS_PORT      (18883) TLS (certs/server.crt: localhost + 127.0.0.1),
#                                       password file, no anonymous
#   $BERTH_TEST_MQTTS_NOIP_PORT (18884) as 18883 but with certs/server-noip.crt (SAN
#                                       localhost only), for hostname-verification tests
# and $BERTH_TEST_RUN/mosquitto.env exports those ports, BERTH_TEST_MQTT_USER,
# BERTH_TEST_MQTT_PASSWORD and BERTH_TEST_CERTS.
#
# Tuning for the benchmarks (tests/bench/run.sh), read when the configuration is written:
#   BERTH_TEST_MOSQUITTO_LOG_TYPES  log_type values, space-separated (default "all"; every
#                                   packet is logged then, which costs the broker)
#   BERTH_TEST_MOSQUITTO_NODELAY    set_tcp_nodelay (default false, mosquitto's default)
#
# Runs as root (`user root`), so that nothing needs to be readable by user mosquitto.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
RUN=${BERTH_TEST_RUN:-/tmp/berth-test}
D=$RUN/mosquitto
CERTS=$D/certs
PIDFILE=$D/mosquitto.pid
LOG=$D/mosquitto.log
CONF=$D/mosquitto.conf
ENVF=$RUN/mosquitto.env
PORT=${BERTH_TEST_MQTT_PORT:-18830}
TLS_PORT=${BERTH_TEST_MQTTS_PORT:-18883}
NOIP_PORT=${BERTH_TEST_MQTTS_NOIP_PORT:-18884}
USER_NAME=device-1@tenant
PASSWORD=secret
READY_TIMEOUT=${BERTH_TEST_MOSQUITTO_TIMEOUT:-10}
LOG_TYPES=${BERTH_TEST_MOSQUITTO_LOG_TYPES:-all}
NODELAY=${BERTH_TEST_MOSQUITTO_NODELAY:-false}

fail() {
	echo "mosquitto.sh: $*" >&2
	if [ -f "$LOG" ]; then
		echo "---- last lines of $LOG ----" >&2
		tail -n 30 "$LOG" >&2
	fi
	exit 1
}

pid_of() {
	local pid
	[ -f "$PIDFILE" ] || return 1
	pid=$(cat "$PIDFILE" 2>/dev/null)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = mosquitto ] || return 1
	echo "$pid"
}

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

answers() {
	port_open "$PORT" && port_open "$TLS_PORT" && port_open "$NOIP_PORT"
}

write_env() {
	cat >"$ENVF" <<ENV
export BERTH_TEST_MQTT_PORT=$PORT
export BERTH_TEST_MQTTS_PORT=$TLS_PORT
export BERTH_TEST_MQTTS_NOIP_PORT=$NOIP_PORT
export BERTH_TEST_MQTT_USER=$USER_NAME
export BERTH_TEST_MQTT_PASSWORD=$PASSWORD
export BERTH_TEST_CERTS=$CERTS
ENV
}

write_conf() {
	mkdir -p "$D/data"
	sh "$HERE/certs.sh" "$CERTS" || fail "cannot create certificates in $CERTS"
	rm -f "$D/passwd"
	(umask 077 && : >"$D/passwd")
	mosquitto_passwd -b "$D/passwd" "$USER_NAME" "$PASSWORD" || fail "mosquitto_passwd failed"
	cat >"$CONF" <<CONF
user root
per_listener_settings true
persistence true
persistence_location $D/data/
autosave_interval 60
pid_file $PIDFILE
log_dest file $LOG
$(for t in $LOG_TYPES; do echo "log_type $t"; done)
connection_messages true
set_tcp_nodelay $NODELAY

listener $PORT 127.0.0.1
allow_anonymous true

listener $TLS_PORT 127.0.0.1
allow_anonymous false
password_file $D/passwd
cafile $CERTS/ca.crt
certfile $CERTS/server.crt
keyfile $CERTS/server.key
require_certificate false

listener $NOIP_PORT 127.0.0.1
allow_anonymous false
password_file $D/passwd
cafile $CERTS/ca.crt
certfile $CERTS/server-noip.crt
keyfile $CERTS/server-noip.key
require_certificate false
CONF
}

do_start() {
	local pid i
	mkdir -p "$D"
	if pid=$(pid_of) && answers; then
		write_env
		return 0
	fi
	[ -n "${pid:-}" ] && do_stop
	for p in "$PORT" "$TLS_PORT" "$NOIP_PORT"; do
		port_open "$p" && fail "port 127.0.0.1:$p is taken by another process"
	done
	write_conf
	rm -f "$PIDFILE"
	echo "---- $(date '+%F %T') starting mosquitto ----" >>"$LOG"
	mosquitto -c "$CONF" -d || fail "mosquitto did not start"
	for ((i = 0; i < READY_TIMEOUT * 20; i++)); do
		if pid_of >/dev/null && answers; then
			write_env
			return 0
		fi
		sleep 0.05
	done
	fail "mosquitto did not answer on 127.0.0.1:$PORT/$TLS_PORT/$NOIP_PORT within ${READY_TIMEOUT}s"
}

do_stop() {
	local pid i
	pid=$(pid_of) || { rm -f "$PIDFILE"; return 0; }
	kill -TERM "$pid"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		sleep 0.1
	fi
	rm -f "$PIDFILE"
}

case "${1:-}" in
start) do_start ;;
stop) do_stop ;;
restart) do_stop && do_start ;;
status)
	if pid=$(pid_of) && answers; then
		echo "mosquitto running, pid $pid"
	else
		echo "mosquitto not running"
		exit 1
	fi
	;;
*)
	echo "usage: $0 start|stop|restart|status" >&2
	exit 2
	;;
esac
