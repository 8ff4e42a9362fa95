#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# check-man.sh PAGE...: every manual page must format without a single warning, both
# with groff's own checks (-ww) and as man-db renders it (man --warnings).
# CI packages (Debian): groff-base man-db
set -u
rc=0
for page in "$@"; do
	bad=0
	out=$(LC_ALL=C.UTF-8 groff -man -ww -z "$page" 2>&1)
	if [ -n "$out" ]; then
		printf '%s: groff -man -ww -z:\n%s\n' "$page" "$out" >&2
		bad=1
	fi
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	if [ -n "$out" ]; then
		printf '%s: man --warnings -l:\n%s\n' "$page" "$out" >&2
		bad=1
	fi
	if [ $bad = 0 ]; then echo "$page: ok"; else rc=1; fi
done
exit $rc
