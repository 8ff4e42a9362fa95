#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# run-sdk.sh BUILD_DIR: the integration runner's entry for the SDK test (tests/sdk).
exec "$(dirname "$0")/../../sdk/run-sdk-test.sh" "$@"
