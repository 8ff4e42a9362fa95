#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# systemd.sh start|stop|status|env: a PRIVATE systemd (PID 1 of its own pid, mount, uts,
# ipc, net and cgroup namespaces) with its system bus and systemd-machined, for the nspawn
# backend's tests on a host whose PID 1 is not systemd (contract: tests/integration/README.md).
#
# CI packages (Debian): systemd systemd-container dbus busybox-static util-linux
#
# Everything lives under $BERTH_TEST_RUN/systemd (default /tmp/berth-test/systemd):
#   root/         its root: a tmpfs with the host's /usr bound read-only, a trimmed copy of
#                 the host's /etc (no enabled units, no fstab, no SysV scripts: it starts
#                 berth-peer.target = dbus and nothing else), private /dev, /tmp, /var
#   run/          a tmpfs mounted on the host and bound to the private systemd's /run, so
#                 that its system bus socket (run/dbus/system_bus_socket) is reachable
#                 from the host
#   pid           the pid of the unshare(1) whose child is the private PID 1
#   systemd.log   unshare's output
# The run directory itself is bound to the same path inside, so the nspawn backend's
# machines_dir, images_dir and state_dir under $BERTH_TEST_RUN mean the same files on
# both sides. The private systemd's cgroups are delegated host subtrees
# /sys/fs/cgroup/<controller>/<NAME> (NAME = berth-sd-<run dir's name>), so a unit's memory
# limit shows in /sys/fs/cgroup/memory/<NAME>/system.slice/<unit>/memory.limit_in_bytes.
#
# $BERTH_TEST_RUN/systemd.env exports
#   BERTH_TEST_SYSTEMD_BUS     the bus address (unix:path=.../run/dbus/system_bus_socket)
#   BERTH_TEST_SYSTEMD_CGROUP  /sys/fs/cgroup/memory/<NAME> (the private root's memory cgroup)
#   BERTH_TEST_SYSTEMD_PID1    the private PID 1's host pid
#   BERTH_TEST_NSPAWN_IMAGES   an images directory: busybox/ (a tree), busybox-tar.tar
#   BERTH_TEST_NSPAWN_IMAGE    busybox
#
# The host's /dev/null is never given to the private systemd (it chmods and chowns its
# console): its console is a node of its own on a private /dev.
set -u

RUN=${BERTH_TEST_RUN:-/tmp/berth-test}
D=$RUN/systemd
ROOT=$D/root
SHARED_RUN=$D/run
PIDFILE=$D/pid
LOG=$D/systemd.log
ENVF=$RUN/systemd.env
IMAGES=$RUN/nspawn-images
NAME=berth-sd-$(basename "$RUN" | tr -c 'A-Za-z0-9._\n-' '-')
CTRLS="cpu cpuacct cpuset memory devices freezer blkio pids"
READY_TIMEOUT=${BERTH_TEST_SYSTEMD_TIMEOUT:-30}
BUSYBOX=/bin/busybox
SOCK=$SHARED_RUN/dbus/system_bus_socket

fail() {
	echo "systemd.sh: $*" >&2
	[ -f "$LOG" ] && { echo "---- last lines of $LOG ----" >&2; tail -n 30 "$LOG" >&2; }
	exit 1
}

need() {
	for f in /lib/systemd/systemd /usr/bin/systemd-nspawn /lib/systemd/systemd-machined \
		/usr/bin/dbus-daemon /usr/bin/unshare /usr/bin/nsenter "$BUSYBOX"; do
		[ -x "$f" ] || { echo "systemd.sh: $f is missing (apt-get install systemd systemd-container dbus busybox-static)" >&2; exit 77; }
	done
	[ -d /sys/fs/cgroup/memory ] || { echo "systemd.sh: no cgroup v1 memory controller" >&2; exit 77; }
}

pid1() {
	[ -f "$PIDFILE" ] || return 1
	u=$(cat "$PIDFILE" 2>/dev/null)
	[ -n "$u" ] && kill -0 "$u" 2>/dev/null || return 1
	p=$(pgrep -P "$u" 2>/dev/null | head -n 1)
	[ -n "$p" ] || return 1
	echo "$p"
}

inside() {
	p=$(pid1) || return 1
	nsenter -t "$p" -a -r -w "$@"
}

# A busybox OS tree (systemd-nspawn wants /usr/lib/os-release) and the same as a tar.
build_images() {
	[ -f "$IMAGES/busybox-tar.tar" ] && [ -x "$IMAGES/busybox/bin/busybox" ] && return 0
	tmp=$IMAGES.tmp.$$
	rm -rf "$tmp"
	r=$tmp/busybox
	mkdir -p "$r/bin" "$r/sbin" "$r/usr/bin" "$r/usr/sbin" "$r/usr/lib" "$r/etc" "$r/proc" \
		"$r/sys" "$r/dev" "$r/tmp" "$r/root" "$r/run" "$r/var/tmp" || return 1
	chmod 1777 "$r/tmp" "$r/var/tmp"
	cp "$BUSYBOX" "$r/bin/busybox" || return 1
	for p in $("$BUSYBOX" --list-full); do
		[ "$p" = bin/busybox ] && continue
		mkdir -p "$r/$(dirname "$p")"
		ln -sf /bin/busybox "$r/$p"
	done
	[ -e "$r/bin/sh" ] || ln -sf /bin/busybox "$r/bin/sh"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
	printf 'NAME=busybox\nID=busybox\nPRETTY_NAME="busybox rootfs"\nVERSION_ID=1\n' >"$r/usr/lib/os-release"
	ln -sf ../usr/lib/os-release "$r/etc/os-release"
	: >"$r/etc/hostname"
	: >"$r/etc/hosts"
	: >"$r/etc/resolv.conf"
	tar --numeric-owner --owner=0 --group=0 -C "$r" -cf "$tmp/busybox-tar.tar" . || return 1
	rm -rf "$IMAGES"
	mv "$tmp" "$IMAGES"
}

# The private root: host /usr read-only, a copy of /etc that enables nothing.
build_root() {
	mkdir -p "$ROOT" || return 1
	mountpoint -q "$ROOT" && umount -R "$ROOT"
	mount -t tmpfs -o mode=755 tmpfs "$ROOT" || return 1
	mkdir -p "$ROOT/usr" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/run" "$ROOT/tmp" \
		"$ROOT/var/lib/machines" "$ROOT/var/log" "$ROOT/var/tmp" "$ROOT/root"
	for l in bin sbin lib lib32 lib64 libx32; do
		[ -L "/$l" ] && ln -s "$(readlink "/$l")" "$ROOT/$l"
	done
	cp -a /etc "$ROOT/etc" || return 1
	e=$ROOT/etc
	find "$e/systemd/system" -mindepth 1 -maxdepth 1 \( -name '*.wants' -o -name '*.requires' -o -type l \) \
		-exec rm -rf {} +
	rm -rf "$e/init.d" "$e"/rc?.d "$e/systemd/system-generators" "$e/systemd/system/"*.d
	: >"$e/fstab"
	echo "$NAME" >"$e/hostname"
	cat >"$e/systemd/system/berth-peer.target" <<-EOF
	[Unit]
	Description=berth test peer: the system bus and nothing else
	Requires=dbus.socket dbus.service
	After=dbus.service
	AllowIsolate=yes
	EOF
	# no serial or console logins, no udev (no devices to manage in here)
	for u in console-getty.service getty@.service serial-getty@.service systemd-udevd.service \
		systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-networkd.service \
		systemd-resolved.service systemd-timesyncd.service cron.service; do
		ln -sf /dev/null "$e/systemd/system/$u"
	done
	mount --bind /usr "$ROOT/usr" && mount -o remount,bind,ro "$ROOT/usr"
}

start() {
	need
	if p=$(pid1) && [ -S "$SOCK" ]; then
		write_env "$p"
		return 0
	fi
	stop >/dev/null 2>&1
	mkdir -p "$D" || fail "cannot create $D"
	build_images || fail "cannot build the busybox image under $IMAGES"
	mkdir -p "$SHARED_RUN" || fail "cannot create $SHARED_RUN"
	mountpoint -q "$SHARED_RUN" || mount -t tmpfs -o mode=755 tmpfs "$SHARED_RUN" ||
		fail "cannot mount a tmpfs on $SHARED_RUN"
	for c in $CTRLS systemd unified; do
		[ -d "/sys/fs/cgroup/$c" ] || continue
		mkdir -p "/sys/fs/cgroup/$c/$NAME" || fail "cannot create cgroup $c/$NAME"
	done
	cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$NAME/cpuset.cpus"
	cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$NAME/cpuset.mems"
	echo 1 >"/sys/fs/cgroup/memory/$NAME/memory.use_hierarchy" 2>/dev/null
	# shellcheck disable=SC2016 # expanded by the inner shell
	INNER='
	set -e
	mount --make-rprivate /
	build_root
	R=$ROOT
	mount --bind "$SHARED_RUN" "$R/run"
	mount -t proc proc "$R/proc"
	mount -t sysfs -o ro sysfs "$R/sys"
	mount -t tmpfs -o mode=755 tmpfs "$R/sys/fs/cgroup"
	for c in $CTRLS; do mkdir -p "$R/sys/fs/cgroup/$c"; mount -t cgroup -o $c cgroup "$R/sys/fs/cgroup/$c"; done
	mkdir -p "$R/sys/fs/cgroup/systemd"; mount -t cgroup -o none,name=systemd cgroup "$R/sys/fs/cgroup/systemd"
	mkdir -p "$R/sys/fs/cgroup/unified"; mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup/unified"
	mount -t tmpfs -o mode=755 tmpfs "$R/dev"
	for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
		dn=${n%%:*}; mm=${n#*:}; ma=${mm%%:*}; mi=${mm#*:}
		mknod -m 666 "$R/dev/$dn" c "$ma" "$mi"
	done
	mkdir -p "$R/dev/pts" "$R/dev/shm"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"
	ln -s pts/ptmx "$R/dev/ptmx"
	mknod -m 600 "$R/dev/console" c 1 3
	mount -t tmpfs tmpfs "$R/tmp"
	mount -t tmpfs tmpfs "$R/var/tmp"
	mkdir -p "$R$RUN"
	mount --bind "$RUN" "$R$RUN"
	exec chroot "$R" /usr/bin/env -i container=berth-test /lib/systemd/systemd --system \
		--unit=berth-peer.target --log-target=journal-or-kmsg
	'
	FUNCS=$(sed -n '/^build_root() {/,/^}/p' "$0")
	sh -c 'for c in '"$CTRLS"' systemd unified; do
			[ -d /sys/fs/cgroup/$c ] && echo $$ >/sys/fs/cgroup/$c/'"$NAME"'/cgroup.procs
		done
		exec unshare --cgroup --pid --mount --uts --ipc --net --fork sh -c "$0"' \
		"RUN='$RUN'; ROOT='$ROOT'; SHARED_RUN='$SHARED_RUN'; NAME='$NAME'; CTRLS='$CTRLS'
		$FUNCS
		$INNER" >"$LOG" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
	i=0
	st=
	while [ $i -lt $((READY_TIMEOUT * 10)) ]; do
		if p=$(pid1); then
			st=$(nsenter -t "$p" -a -r -w systemctl is-system-running 2>/dev/null)
			case $st in running | degraded) break ;; esac
		fi
		kill -0 "$(cat "$PIDFILE")" 2>/dev/null || fail "the private systemd ended"
		sleep 0.1
		i=$((i + 1))
	done
	case $st in running | degraded) ;; *) fail "the private systemd is not up after $READY_TIMEOUT s ($st)" ;; esac
	[ -S "$SOCK" ] || fail "no system bus socket at $SOCK"
	write_env "$p"
}

write_env() {
	cat >"$ENVF.tmp" <<-EOF
	export BERTH_TEST_SYSTEMD_BUS='unix:path=$SOCK'
	export BERTH_TEST_SYSTEMD_CGROUP='/sys/fs/cgroup/memory/$NAME'
	export BERTH_TEST_SYSTEMD_PID1='$1'
	export BERTH_TEST_NSPAWN_IMAGES='$IMAGES'
	export BERTH_TEST_NSPAWN_IMAGE='busybox'
	EOF
	mv "$ENVF.tmp" "$ENVF"
}

stop() {
	if p=$(pid1); then
		u=$(cat "$PIDFILE")
		kill -s RTMIN+4 "$p" 2>/dev/null # systemd: poweroff
		i=0
		while kill -0 "$u" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
		if kill -0 "$u" 2>/dev/null; then
			kill -KILL "$p" 2>/dev/null
			sleep 0.5
		fi
	fi
	rm -f "$PIDFILE" "$ENVF"
	mountpoint -q "$SHARED_RUN" 2>/dev/null && umount -l "$SHARED_RUN"
	for c in $CTRLS systemd unified; do
		[ -d "/sys/fs/cgroup/$c/$NAME" ] &&
			find "/sys/fs/cgroup/$c/$NAME" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	# the host's null device must come out as it went in (see the header)
	[ "$(stat -c '%a %U %G' /dev/null)" = "666 root root" ] ||
		echo "systemd.sh: WARNING: /dev/null is $(stat -c '%a %U %G' /dev/null)" >&2
	return 0
}

status() {
	p=$(pid1) || { echo "stopped"; return 1; }
	st=$(nsenter -t "$p" -a -r -w systemctl is-system-running 2>/dev/null)
	echo "running (pid 1 = host pid $p, $st)"
	[ -S "$SOCK" ]
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
env) [ -f "$ENVF" ] && cat "$ENVF" ;;
exec) shift; inside "$@" ;;
*) echo "usage: $0 start|stop|status|env|exec CMD..." >&2; exit 2 ;;
esac
