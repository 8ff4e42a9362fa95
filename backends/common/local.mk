# backends/common: helpers shared by backends (HTTP/1.1 over a unix socket, http-parser).
# A noinst libtool convenience library, PIC, linked into the modules that use it.
if BUILD_UNIXHTTP
noinst_LTLIBRARIES += backends/common/libunixhttp.la
backends_common_libunixhttp_la_SOURCES = backends/common/unixhttp.c backends/common/unixhttp.h
backends_common_libunixhttp_la_CFLAGS = $(AM_CFLAGS)
backends_common_libunixhttp_la_LIBADD = $(HTTP_PARSER_LIBS)
endif
