# Integration tests against real peers.

# The harness the module-level tests test_<backend>_backend share (compiled into each, so
# that each keeps its own CPPFLAGS): reporting, processes, peers, the module under test.
ITEST_SOURCES = tests/integration/itest.c tests/integration/itest.h
ITEST_JSON_SOURCES = tests/integration/itest_json.c tests/integration/itest_json.h

include $(srcdir)/tests/integration/mqtt.mk
include $(srcdir)/tests/integration/docker.mk
include $(srcdir)/tests/integration/containerd.mk
include $(srcdir)/tests/integration/nspawn.mk
include $(srcdir)/tests/integration/podman.mk
include $(srcdir)/tests/integration/amqp.mk
include $(srcdir)/tests/integration/ctl.mk
include $(srcdir)/tests/integration/e2e.mk
