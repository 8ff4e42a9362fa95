#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# build-rpm.sh OUTDIR [TARBALL]: builds berth's RPMs with `rpmbuild -ta` from the
# `make dist` tarball (which carries packaging/rpm/berth.spec with the right version):
# berth, berth-transport-mqtt, berth-transport-amqp, berth-backend-docker,
# berth-backend-containerd, berth-backend-podman, berth-backend-nspawn, berth-devel.
# The .rpm files land in OUTDIR; rpmbuild's tree is a temporary directory.
#
# TARBALL: a berth-VERSION.tar.gz; without it the script configures a temporary build
# directory and runs `make dist` (autoreconf'ing a copy of a checkout without ./configure).
#
# On an RPM distribution the spec's BuildRequires are checked as usual. Anywhere else
# (Debian: `apt-get install rpm`) rpm's database knows none of the installed libraries,
# so BuildRequires cannot be satisfied: then the script passes --nodeps and builds with
# the system's -dev packages, and without debuginfo subpackages (no find-debuginfo
# setup). BERTH_RPM_NODEPS=1/0 forces the choice. BERTH_RPM_NOCHECK=1 (or
# DEB_BUILD_OPTIONS=nocheck) builds with --without check (no unit tests).
#
# CI packages (Debian 12): rpm plus the build dependencies of build-deb.sh
set -euo pipefail

usage() {
	echo "usage: $0 OUTDIR [berth-VERSION.tar.gz]" >&2
	exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
TARBALL=${2:-}
[ -z "$TARBALL" ] || TARBALL=$(cd "$(dirname "$TARBALL")" && pwd)/$(basename "$TARBALL")

command -v rpmbuild >/dev/null || {
	echo "build-rpm.sh: rpmbuild is missing (apt-get install rpm / dnf install rpm-build)" >&2
	exit 1
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-rpm.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
log() { echo "build-rpm.sh: $*"; }

if [ -z "$TARBALL" ]; then
	src=$SRC
	if [ ! -x "$SRC/configure" ]; then
		log "no ./configure in $SRC: autoreconf in a copy"
		mkdir "$TMP/src"
		(cd "$SRC" && tar --exclude=.git -cf - .) | (cd "$TMP/src" && tar -xf -)
		(cd "$TMP/src" && autoreconf -fi >/dev/null)
		src=$TMP/src
	fi
	mkdir "$TMP/dist"
	log "make dist (configure in $TMP/dist)"
	(cd "$TMP/dist" && "$src/configure" -q >/dev/null && make -s dist >/dev/null)
	TARBALL=$(ls "$TMP"/dist/berth-*.tar.gz)
fi
[ -f "$TARBALL" ] || { echo "build-rpm.sh: no tarball $TARBALL" >&2; exit 1; }

# rpm's database is empty on a dpkg-based system: --nodeps there.
nodeps=${BERTH_RPM_NODEPS:-}
if [ -z "$nodeps" ]; then
	if command -v dpkg >/dev/null && ! rpm -q glibc >/dev/null 2>&1; then
		nodeps=1
	else
		nodeps=0
	fi
fi
args=(-ta "$TARBALL" --define "_topdir $TMP/rpmbuild")
# The unit tests run in %check; DEB_BUILD_OPTIONS=nocheck (as for build-deb.sh) or
# BERTH_RPM_NOCHECK=1 skips them.
case " ${DEB_BUILD_OPTIONS:-} " in *" nocheck "*) BERTH_RPM_NOCHECK=1 ;; esac
[ "${BERTH_RPM_NOCHECK:-0}" = 1 ] && args+=(--without check)
if [ "$nodeps" = 1 ]; then
	log "rpm's database does not know this system's libraries: --nodeps, no debuginfo"
	args+=(--nodeps --define "debug_package %{nil}")
fi

log "rpmbuild ${args[*]}; log: $OUT/build-rpm.log"
if ! rpmbuild "${args[@]}" >"$OUT/build-rpm.log" 2>&1; then
	echo "build-rpm.sh: rpmbuild failed; last lines of $OUT/build-rpm.log:" >&2
	tail -n 40 "$OUT/build-rpm.log" >&2
	exit 1
fi

shopt -s nullglob
rpms=("$TMP"/rpmbuild/RPMS/*/*.rpm)
[ ${#rpms[@]} -gt 0 ] || { echo "build-rpm.sh: no RPMs were built" >&2; exit 1; }
cp -f "${rpms[@]}" "$OUT/"
for f in "${rpms[@]}"; do
	printf '  %-56s %8s bytes\n' "$(basename "$f")" "$(stat -c %s "$f")"
done
log "RPMs are in $OUT"
