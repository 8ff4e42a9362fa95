#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# build-deb.sh OUTDIR [TARBALL]: builds berth's Debian binary packages.
#
# The packaging lives in packaging/debian/; dpkg-buildpackage wants ./debian at the top
# of the source. So this script builds from what a release is, the `make dist` tarball:
# it unpacks the tarball into a temporary directory, puts packaging/debian/ there as
# debian/, links the tarball as berth_VERSION.orig.tar.gz and runs
# `dpkg-buildpackage -us -uc -b`. The .deb, .buildinfo and .changes files land in
# OUTDIR; the temporary directory is removed. The source tree is never written to.
#
# TARBALL: a berth-VERSION.tar.gz; without it the script makes one: configure in a
# temporary build directory and `make dist` (a checkout without ./configure is first
# copied and autoreconf'ed in a temporary directory).
#
# The package build runs the unit tests (`make check`, no daemons needed);
# DEB_BUILD_OPTIONS=nocheck skips them. DEB_BUILD_OPTIONS defaults to parallel=2.
#
# CI packages (Debian 12): build-essential dpkg-dev debhelper fakeroot autoconf automake
#   libtool pkg-config libjson-c-dev libconfig-dev libsystemd-dev libhttp-parser-dev
#   libmosquitto-dev libqpid-proton11-dev libcunit1-dev libnghttp2-dev libprotobuf-c-dev
#   protobuf-c-compiler libgcrypt20-dev
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

for tool in dpkg-buildpackage dh fakeroot; do
	command -v "$tool" >/dev/null || {
		echo "build-deb.sh: $tool is missing (apt-get install dpkg-dev debhelper fakeroot)" >&2
		exit 1
	}
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-deb.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

log() { echo "build-deb.sh: $*"; }

# ---- the tarball ----------------------------------------------------------------------
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
[ -f "$TARBALL" ] || { echo "build-deb.sh: no tarball $TARBALL" >&2; exit 1; }
base=$(basename "$TARBALL" .tar.gz)       # berth-0.1.0
version=${base#berth-}
log "building from $(basename "$TARBALL") (version $version)"

mkdir "$TMP/pkg"
tar -C "$TMP/pkg" -xzf "$TARBALL"
tree=$TMP/pkg/$base
[ -d "$tree/packaging/debian" ] || {
	echo "build-deb.sh: $base has no packaging/debian (is it in EXTRA_DIST?)" >&2
	exit 1
}
cp -a "$tree/packaging/debian" "$tree/debian"
ln -s "$TARBALL" "$TMP/pkg/berth_$version.orig.tar.gz"

# debian/changelog names the package version; its upstream part must be the tarball's.
deb_version=$(cd "$tree" && dpkg-parsechangelog -SVersion)
if [ "${deb_version%-*}" != "$version" ]; then
	echo "build-deb.sh: debian/changelog says $deb_version but the tarball is $version:" \
	     "add a changelog entry (dch -v $version-1)" >&2
	exit 1
fi

# ---- build -----------------------------------------------------------------------------
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=2}
log "dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS); log: $OUT/build-deb.log"
if ! (cd "$tree" && dpkg-buildpackage -us -uc -b) >"$OUT/build-deb.log" 2>&1; then
	echo "build-deb.sh: dpkg-buildpackage failed; last lines of $OUT/build-deb.log:" >&2
	tail -n 40 "$OUT/build-deb.log" >&2
	exit 1
fi

shopt -s nullglob
files=("$TMP"/pkg/*.deb "$TMP"/pkg/*.buildinfo "$TMP"/pkg/*.changes)
[ ${#files[@]} -gt 0 ] || { echo "build-deb.sh: no packages were built" >&2; exit 1; }
cp -f "${files[@]}" "$OUT/"
for f in "$TMP"/pkg/*.deb; do
	printf '  %-48s %8s bytes\n' "$(basename "$f")" "$(stat -c %s "$f")"
done
log "packages are in $OUT"
