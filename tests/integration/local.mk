# Integration tests against real peers.
include $(srcdir)/tests/integration/mqtt.mk
include $(srcdir)/tests/integration/docker.mk
include $(srcdir)/tests/integration/containerd.mk
include $(srcdir)/tests/integration/nspawn.mk
include $(srcdir)/tests/integration/podman.mk
include $(srcdir)/tests/integration/amqp.mk
include $(srcdir)/tests/integration/ctl.mk
include $(srcdir)/tests/integration/e2e.mk
