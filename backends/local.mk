# Runtime backends: one folder each.
include $(srcdir)/backends/docker/local.mk
