# backends/common: helpers shared by backends (HTTP over a unix socket with libcurl).
# A noinst libtool convenience library, PIC, linked into the modules that use it.
if BUILD_DOCKER
noinst_LTLIBRARIES += backends/common/libunixhttp.la
backends_common_libunixhttp_la_SOURCES = backends/common/unixhttp.c backends/common/unixhttp.h
backends_common_libunixhttp_la_CFLAGS = $(AM_CFLAGS) $(DOCKER_DEPS_CFLAGS)
backends_common_libunixhttp_la_LIBADD = $(DOCKER_DEPS_LIBS)
endif
