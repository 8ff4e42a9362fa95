#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# busybox-image.sh: builds a minimal busybox image (no registry needed) and loads it into
# the dockerd listening on SOCKET. Idempotent: the archive is built once into
# $BERTH_TEST_RUN/image, and loaded only when the daemon does not have REF yet.
#
# Usage: busybox-image.sh SOCKET [REF]      (REF default localhost/busybox:latest)
#
# The archive is in `docker save` format (manifest.json + one uncompressed layer) and is
# loaded with POST /images/load: unlike an imported rootfs (POST /images/create?fromSrc=-)
# it carries a config with PATH and Cmd. Docker 20.10 does not load a pure OCI layout.
# Needs: busybox-static, jq, curl, sha256sum, tar.
set -eu

SOCK=${1:?usage: busybox-image.sh SOCKET [REF]}
REF=${2:-localhost/busybox:latest}
RUN=${BERTH_TEST_RUN:-/tmp/berth-test}
OUT=$RUN/image
ARCHIVE=$OUT/busybox-docker-save.tar
BUSYBOX=/bin/busybox

die() {
	echo "busybox-image.sh: $*" >&2
	exit 1
}

dcurl() {
	curl -sS --unix-socket "$SOCK" "$@"
}

build() {
	[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing (apt-get install busybox-static)"
	command -v jq >/dev/null || die "jq is missing"
	tmp=$OUT.tmp.$$
	rm -rf "$tmp"
	r=$tmp/rootfs
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
	printf 'NAME=busybox\nID=busybox\nPRETTY_NAME="busybox rootfs"\nVERSION_ID=1\n' \
		>"$r/usr/lib/os-release"
	ln -sf ../usr/lib/os-release "$r/etc/os-release"
	: >"$r/etc/hostname"
	: >"$r/etc/hosts"
	: >"$r/etc/resolv.conf"

	s=$tmp/save
	mkdir -p "$s"
	tar --numeric-owner --owner=0 --group=0 -C "$r" -cf "$tmp/layer.tar" .
	layer=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
	mkdir -p "$s/$layer"
	mv "$tmp/layer.tar" "$s/$layer/layer.tar"
	echo 1.0 >"$s/$layer/VERSION"
	jq -cn --arg d "sha256:$layer" '{
	  architecture: "amd64", os: "linux", created: "2024-01-01T00:00:00Z",
	  config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
	           Cmd: ["/bin/sh"], WorkingDir: "/"},
	  rootfs: {type: "layers", diff_ids: [$d]},
	  history: [{created: "2024-01-01T00:00:00Z", created_by: "busybox-image.sh"}]}' \
		>"$tmp/config.json"
	cfg=$(sha256sum "$tmp/config.json" | cut -d' ' -f1)
	mv "$tmp/config.json" "$s/$cfg.json"
	jq -cn --arg c "$cfg.json" --arg l "$layer/layer.tar" --arg ref "$REF" \
		'[{Config: $c, RepoTags: [$ref], Layers: [$l]}]' >"$s/manifest.json"
	mkdir -p "$OUT"
	tar -C "$s" -cf "$ARCHIVE.tmp" .
	mv "$ARCHIVE.tmp" "$ARCHIVE"
	rm -rf "$tmp"
}

[ -S "$SOCK" ] || die "no docker socket at $SOCK"
api=$(dcurl http://localhost/version | jq -r .ApiVersion) || die "dockerd at $SOCK does not answer"
[ -n "$api" ] && [ "$api" != null ] || die "dockerd at $SOCK: no ApiVersion in /version"

code=$(dcurl -o /dev/null -w '%{http_code}' "http://localhost/v$api/images/$REF/json")
[ "$code" = 200 ] && exit 0

[ -s "$ARCHIVE" ] || build
out=$(dcurl -X POST -H 'Content-Type: application/x-tar' --data-binary "@$ARCHIVE" \
	"http://localhost/v$api/images/load?quiet=1") || die "POST /images/load failed"
code=$(dcurl -o /dev/null -w '%{http_code}' "http://localhost/v$api/images/$REF/json")
[ "$code" = 200 ] || die "image $REF not present after load: $out"
exit 0
