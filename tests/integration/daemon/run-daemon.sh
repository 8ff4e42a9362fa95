#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# run-daemon.sh BUILD_DIR: berthd's sd_notify protocol and command line (notify_test.py).
exec /usr/bin/python3 "$(dirname "$0")/notify_test.py" "$1"
