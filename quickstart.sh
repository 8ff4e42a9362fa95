#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# quickstart.sh: from a fresh Debian 12 (or Ubuntu 22.04+) machine to a running berthd.
#
#   sudo ./quickstart.sh
#
# 1. installs the build dependencies, mosquitto and (when no Docker engine answers on
#    /run/docker.sock) docker.io;
# 2. builds berth and installs it (binaries under /usr/local, configuration in
#    /etc/berth, state in /var/lib/berth);
# 3. makes sure a broker listens on localhost:1883 and a Docker engine on
#    /run/docker.sock (starting them with systemd when it runs, by hand otherwise);
# 4. imports a small busybox image as localhost/busybox:latest (works offline);
# 5. runs berthd in the foreground with the shipped configuration /etc/berth/berth.conf
#    (thing edge:device, MQTT on localhost:1883, Docker on /run/docker.sock). Ctrl-C stops it.
#
# Set BERTH_QUICKSTART_NO_RUN=1 to stop after step 4.
set -eu

SRC=$(cd "$(dirname "$0")" && pwd)
LOG=/var/log/berth-quickstart
APT="apt-get -y -o DPkg::Lock::Timeout=600 install --no-install-recommends"

say() { printf '\n==> %s\n' "$*"; }
die() { echo "quickstart: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root (sudo ./quickstart.sh)"
mkdir -p "$LOG"

docker_answers() {
	curl -s -m 2 --unix-socket /run/docker.sock -o /dev/null http://localhost/_ping
}

broker_answers() {
	mosquitto_pub -h 127.0.0.1 -p 1883 -t berth/quickstart -n -q 0 >/dev/null 2>&1
}

systemd_runs() {
	[ -d /run/systemd/system ]
}

say "installing packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
$APT build-essential autoconf automake libtool pkg-config \
	libjson-c-dev libconfig-dev libsystemd-dev libcunit1-dev libhttp-parser-dev \
	libmosquitto-dev libqpid-proton11-dev \
	mosquitto mosquitto-clients busybox-static jq curl ca-certificates
if ! docker_answers && ! command -v dockerd >/dev/null 2>&1; then
	$APT docker.io containerd runc iptables
fi

say "building and installing berth"
cd "$SRC"
autoreconf -fi > "$LOG/autoreconf.log" 2>&1 || die "autoreconf failed: see $LOG/autoreconf.log"
mkdir -p build/quickstart
cd build/quickstart
"$SRC/configure" --prefix=/usr/local --sysconfdir=/etc --localstatedir=/var \
	--runstatedir=/run > "$LOG/configure.log" 2>&1 || die "configure failed: see $LOG/configure.log"
make -j"$(nproc)" > "$LOG/make.log" 2>&1 || die "make failed: see $LOG/make.log"
make install > "$LOG/install.log" 2>&1 || die "make install failed: see $LOG/install.log"
ldconfig

say "starting the MQTT broker"
if broker_answers; then
	echo "a broker already listens on localhost:1883"
elif systemd_runs; then
	systemctl enable --now mosquitto
else
	# mosquitto 2 without a configuration file: localhost only, anonymous allowed.
	mosquitto -d
fi
for _ in $(seq 50); do broker_answers && break; sleep 0.1; done
broker_answers || die "no MQTT broker on localhost:1883"

say "starting the Docker engine"
if docker_answers; then
	echo "Docker answers on /run/docker.sock"
elif systemd_runs; then
	systemctl enable --now docker
else
	nohup dockerd > "$LOG/dockerd.log" 2>&1 &
fi
for _ in $(seq 300); do docker_answers && break; sleep 0.1; done
docker_answers || die "no Docker engine on /run/docker.sock (see $LOG/dockerd.log)"

say "importing localhost/busybox:latest"
BERTH_TEST_RUN=/var/lib/berth-quickstart "$SRC/tests/integration/lib/busybox-image.sh" \
	/run/docker.sock > "$LOG/image.log" 2>&1 ||
	die "could not import the busybox image: see $LOG/image.log"

[ "${BERTH_QUICKSTART_NO_RUN:-0}" = 1 ] && exit 0

say "running berthd (Ctrl-C stops it); try the mosquitto_pub lines in README.md"
/usr/local/sbin/berthd --check-config --config /etc/berth/berth.conf
exec /usr/local/sbin/berthd --config /etc/berth/berth.conf
