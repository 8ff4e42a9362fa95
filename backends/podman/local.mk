# Podman backend (backends/podman): the podman.so module (libpod REST API).
if BUILD_PODMAN
pkglib_LTLIBRARIES += backends/podman/podman.la
backends_podman_podman_la_SOURCES = \
	backends/podman/podman.h \
	backends/podman/podman.c \
	backends/podman/podman_api.c \
	backends/podman/podman_ops.c \
	backends/podman/podman_pull.c \
	backends/podman/podman_spec.c \
	backends/podman/podman_info.c \
	backends/podman/podman_limits.c \
	backends/podman/podman_events.c
backends_podman_podman_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/backends/common
backends_podman_podman_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
backends_podman_podman_la_LDFLAGS = $(BERTH_MODULE_FLAGS)
backends_podman_podman_la_LIBADD = backends/common/librestbackend.la \
	backends/common/librestevents.la backends/common/libunixhttp.la \
	backends/common/libjsonutil.la $(JSONC_LIBS)
endif
EXTRA_DIST += backends/podman/README.md
