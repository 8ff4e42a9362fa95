# Runtime backends: one folder each.
include $(srcdir)/backends/common/local.mk
include $(srcdir)/backends/docker/local.mk
include $(srcdir)/backends/containerd/local.mk
include $(srcdir)/backends/nspawn/local.mk
include $(srcdir)/backends/podman/local.mk
