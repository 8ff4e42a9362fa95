# Integration tests against real peers.
include $(srcdir)/tests/integration/mqtt.mk
