# Docker Engine backend (backends/docker): the docker.so module.
if BUILD_DOCKER
pkglib_LTLIBRARIES += backends/docker/docker.la
backends_docker_docker_la_SOURCES = \
	backends/docker/docker.h \
	backends/docker/docker.c \
	backends/docker/docker_api.c \
	backends/docker/docker_ops.c \
	backends/docker/docker_spec.c \
	backends/docker/docker_info.c \
	backends/docker/docker_names.c \
	backends/docker/docker_pull.c \
	backends/docker/docker_events.c
backends_docker_docker_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/backends/common
backends_docker_docker_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
backends_docker_docker_la_LDFLAGS = $(BERTH_MODULE_FLAGS)
backends_docker_docker_la_LIBADD = backends/common/librestbackend.la \
	backends/common/librestevents.la \
	backends/common/libunixhttp.la backends/common/libjsonutil.la $(JSONC_LIBS)
endif
EXTRA_DIST += backends/docker/README.md
