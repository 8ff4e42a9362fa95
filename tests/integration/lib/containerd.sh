#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# containerd.sh start|stop|restart|down|status: a PRIVATE containerd for the integration
# tests (contract: tests/integration/README.md).
#
# CI packages (Debian): containerd runc busybox-static jq
#
# Everything lives under $BERTH_TEST_RUN/containerd (default /tmp/berth-test/containerd):
#   config.toml        its own configuration: root/, state/, the gRPC socket, the CRI
#                      plugin and the restart monitor disabled, opt/ for the opt plugin
#   containerd.sock    the gRPC socket (containerd.sock.ttrpc next to it)
#   containerd.pid     the daemon's pid; containerd.log its output
#   image/             the test images as OCI layouts (built once, from busybox-static)
# and $BERTH_TEST_RUN/containerd.env exports
#   BERTH_TEST_CONTAINERD_SOCK, BERTH_TEST_CONTAINERD_NS (berth-ctrd-<basename of the run
#   dir>, e.g. berth-ctrd-berth-test),
#   BERTH_TEST_CONTAINERD_IMAGE (localhost/busybox:latest, one layer),
#   BERTH_TEST_CONTAINERD_IMAGE_INDEX (localhost/busybox-index:latest: its target is an
#   OCI index with a linux/amd64 entry), BERTH_TEST_CONTAINERD_IMAGE_LAYERS
#   (localhost/busybox-layers:latest: two layers, the second adds /berth-layer2).
#
# `down` stops only the daemon and leaves its shims, tasks and data (containerd's own
# restart behaviour: tasks survive and are found again by the next start); `restart` is
# down + start. `stop` kills and deletes every task and container of the namespace,
# stops the daemon and the shims it started, unmounts what is left under the directory
# and removes the namespace's cgroups.
set -u

RUN=${BERTH_TEST_RUN:-/tmp/berth-test}
D=$RUN/containerd
SOCK=$D/containerd.sock
PIDFILE=$D/containerd.pid
LOG=$D/containerd.log
ENVF=$RUN/containerd.env
# the namespace names the run: cgroups (/<ns>/<id>) and runc's state
# (/run/containerd/runc/<ns>) are machine-wide, and two runs must not share them
NS=berth-ctrd-$(basename "$RUN" | tr -c 'A-Za-z0-9._\n-' '-')
IMAGE=localhost/busybox:latest
IMAGE_INDEX=localhost/busybox-index:latest
IMAGE_LAYERS=localhost/busybox-layers:latest
READY_TIMEOUT=${BERTH_TEST_CONTAINERD_TIMEOUT:-30}
BUSYBOX=/bin/busybox

fail() {
	echo "containerd.sh: $*" >&2
	if [ -f "$LOG" ]; then
		echo "---- last lines of $LOG ----" >&2
		tail -n 30 "$LOG" >&2
	fi
	exit 1
}

CTR() {
	ctr --address "$SOCK" --namespace "$NS" "$@"
}

pid_of() {
	[ -f "$PIDFILE" ] || return 1
	pid=$(cat "$PIDFILE" 2>/dev/null)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = containerd ] || return 1
	echo "$pid"
}

answers() {
	[ -S "$SOCK" ] && ctr --address "$SOCK" --connect-timeout 2s version >/dev/null 2>&1
}

write_config() {
	mkdir -p "$D/root" "$D/state" "$D/opt"
	cat >"$D/config.toml.tmp" <<EOF
# written by tests/integration/lib/containerd.sh
version = 2
root = "$D/root"
state = "$D/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.restart"]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$D/opt"
EOF
	mv "$D/config.toml.tmp" "$D/config.toml"
}

# ---- test images (OCI layouts, uncompressed layers) ------------------------------------

# blob FILE: moves FILE into the layout's blobs, prints "digest size"
blob() {
	sum=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	mv "$1" "$LAYOUT/blobs/sha256/$sum"
	echo "sha256:$sum $size"
}

# oci_image OUT.tar REF LAYER.tar...: an OCI layout tar whose index names REF
oci_image() {
	out=$1 ref=$2
	shift 2
	LAYOUT=$out.d
	rm -rf "$LAYOUT"
	mkdir -p "$LAYOUT/blobs/sha256"
	diffs='[]' layers='[]'
	for l in "$@"; do
		cp "$l" "$LAYOUT/layer.tmp"
		set -- $(blob "$LAYOUT/layer.tmp")
		diffs=$(echo "$diffs" | jq -c --arg d "$1" '. + [$d]')
		layers=$(echo "$layers" | jq -c --arg d "$1" --argjson s "$2" \
			'. + [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $d, size: $s}]')
	done
	jq -cn --argjson d "$diffs" '{
	  architecture: "amd64", os: "linux", created: "2024-01-01T00:00:00Z",
	  config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
	           Cmd: ["/bin/sh"], WorkingDir: "/"},
	  rootfs: {type: "layers", diff_ids: $d}}' | tr -d '\n' >"$LAYOUT/cfg.tmp"
	set -- $(blob "$LAYOUT/cfg.tmp")
	jq -cn --arg c "$1" --argjson cs "$2" --argjson l "$layers" '{
	  schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
	  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
	  layers: $l}' | tr -d '\n' >"$LAYOUT/man.tmp"
	set -- $(blob "$LAYOUT/man.tmp")
	jq -cn --arg m "$1" --argjson ms "$2" --arg ref "$ref" '{
	  schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
	  manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m,
	    size: $ms, platform: {architecture: "amd64", os: "linux"},
	    annotations: {"io.containerd.image.name": $ref,
	                  "org.opencontainers.image.ref.name": "latest"}}]}' >"$LAYOUT/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"
	tar -C "$LAYOUT" -cf "$out.tmp" oci-layout index.json blobs
	mv "$out.tmp" "$out"
	rm -rf "$LAYOUT"
}

build_images() {
	I=$D/image
	[ -s "$I/busybox.tar" ] && [ -s "$I/busybox-layers.tar" ] && return 0
	[ -x "$BUSYBOX" ] || fail "$BUSYBOX is missing (apt-get install busybox-static)"
	command -v jq >/dev/null || fail "jq is missing"
	rm -rf "$I"
	mkdir -p "$I"
	r=$I/rootfs
	mkdir -p "$r/bin" "$r/sbin" "$r/usr/bin" "$r/usr/sbin" "$r/usr/lib" "$r/etc" "$r/proc" \
		"$r/sys" "$r/dev" "$r/tmp" "$r/root" "$r/run" "$r/var/tmp"
	chmod 1777 "$r/tmp" "$r/var/tmp"
	cp "$BUSYBOX" "$r/bin/busybox"
	for p in $("$BUSYBOX" --list-full); do
		[ "$p" = bin/busybox ] && continue
		mkdir -p "$r/$(dirname "$p")"
		ln -sf /bin/busybox "$r/$p"
	done
	[ -e "$r/bin/sh" ] || ln -sf /bin/busybox "$r/bin/sh"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
		>"$r/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
	: >"$r/etc/hostname"
	: >"$r/etc/hosts"
	: >"$r/etc/resolv.conf"
	tar --numeric-owner --owner=0 --group=0 -C "$r" -cf "$I/layer1.tar" .
	mkdir -p "$I/l2"
	echo "second layer" >"$I/l2/berth-layer2"
	tar --numeric-owner --owner=0 --group=0 -C "$I/l2" -cf "$I/layer2.tar" .
	oci_image "$I/busybox.tar" "$IMAGE" "$I/layer1.tar"
	oci_image "$I/busybox-layers.tar" "$IMAGE_LAYERS" "$I/layer1.tar" "$I/layer2.tar"
	rm -rf "$r" "$I/l2" "$I/layer1.tar" "$I/layer2.tar"
}

import_images() {
	build_images
	CTR images ls -q 2>/dev/null | grep -qx "$IMAGE" ||
		CTR images import --snapshotter overlayfs "$D/image/busybox.tar" >/dev/null ||
		fail "ctr images import $IMAGE failed"
	CTR images ls -q 2>/dev/null | grep -qx "$IMAGE_INDEX" ||
		CTR images import --snapshotter overlayfs --index-name "$IMAGE_INDEX" \
			"$D/image/busybox.tar" >/dev/null ||
		fail "ctr images import $IMAGE_INDEX failed"
	CTR images ls -q 2>/dev/null | grep -qx "$IMAGE_LAYERS" ||
		CTR images import --snapshotter overlayfs "$D/image/busybox-layers.tar" >/dev/null ||
		fail "ctr images import $IMAGE_LAYERS failed"
}

write_env() {
	cat >"$ENVF.tmp" <<EOF
export BERTH_TEST_CONTAINERD_SOCK=$SOCK
export BERTH_TEST_CONTAINERD_NS=$NS
export BERTH_TEST_CONTAINERD_IMAGE=$IMAGE
export BERTH_TEST_CONTAINERD_IMAGE_INDEX=$IMAGE_INDEX
export BERTH_TEST_CONTAINERD_IMAGE_LAYERS=$IMAGE_LAYERS
EOF
	mv "$ENVF.tmp" "$ENVF"
}

start() {
	mkdir -p "$D"
	if pid_of >/dev/null && answers; then
		import_images
		write_env
		return 0
	fi
	command -v containerd >/dev/null || fail "containerd not found (apt-get install containerd)"
	command -v ctr >/dev/null || fail "ctr not found (apt-get install containerd)"
	command -v runc >/dev/null || fail "runc not found (apt-get install runc)"
	rm -f "$SOCK" "$SOCK.ttrpc" "$PIDFILE"
	write_config
	echo "---- $(date '+%F %T') starting containerd ----" >>"$LOG"
	containerd --config "$D/config.toml" >>"$LOG" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$PIDFILE"
	i=0
	while [ $i -lt $((READY_TIMEOUT * 10)) ]; do
		kill -0 "$pid" 2>/dev/null || fail "containerd exited at start-up"
		answers && break
		sleep 0.1
		i=$((i + 1))
	done
	answers || { kill -KILL "$pid" 2>/dev/null; fail "containerd did not answer in ${READY_TIMEOUT} s"; }
	import_images
	write_env
}

# The daemon only: shims and tasks live on.
down() {
	pid=$(pid_of) || { rm -f "$SOCK" "$SOCK.ttrpc" "$PIDFILE"; return 0; }
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
	rm -f "$SOCK" "$SOCK.ttrpc" "$PIDFILE"
	return 0
}

# pids of the shims this containerd started (their command line names our socket)
our_shims() {
	for p in /proc/[0-9]*; do
		case "$(cat "$p/comm" 2>/dev/null)" in containerd-shim*) ;; *) continue ;; esac
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "-address $SOCK " &&
			echo "${p#/proc/}"
	done
}

stop() {
	if pid_of >/dev/null && answers; then
		for t in $(CTR tasks ls -q 2>/dev/null); do
			CTR tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1
		done
		for t in $(CTR tasks ls -q 2>/dev/null); do
			CTR tasks delete -f "$t" >/dev/null 2>&1
		done
		for c in $(CTR containers ls -q 2>/dev/null); do
			CTR containers delete "$c" >/dev/null 2>&1
		done
	fi
	down
	for s in $(our_shims); do
		kill -KILL "$s" 2>/dev/null
	done
	# processes of tasks that outlived their shim: their cgroups are ours alone
	for cg in /sys/fs/cgroup/*/"$NS"/*; do
		[ -d "$cg" ] || continue
		for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	sleep 0.2
	awk -v d="$D/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
	for cg in /sys/fs/cgroup/*/"$NS"; do
		[ -d "$cg" ] || continue
		find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "/run/containerd/runc/$NS"
	rm -f "$ENVF"
	return 0
}

status() {
	if pid=$(pid_of) && answers; then
		echo "containerd running (pid $pid, socket $SOCK)"
		return 0
	fi
	echo "containerd not running"
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
*)
	echo "usage: $0 start|stop|restart|down|status" >&2
	exit 2
	;;
esac
