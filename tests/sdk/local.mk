# The module SDK test: tests/sdk/example is an out-of-tree backend with a plain Makefile,
# deliberately NOT built by automake; run-sdk-test.sh builds it against an installed SDK
# (tests/integration/sdk/run-sdk.sh is the integration runner's entry for it).
EXTRA_DIST += tests/sdk/example/example.c tests/sdk/example/Makefile
dist_noinst_SCRIPTS += tests/sdk/run-sdk-test.sh tests/integration/sdk/run-sdk.sh
