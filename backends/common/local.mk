# backends/common: helpers shared by backends (HTTP/1.1 over a unix socket, http-parser;
# JSON helpers on json-c). noinst libtool convenience libraries, PIC, linked into the
# modules that use them.
if BUILD_UNIXHTTP
noinst_LTLIBRARIES += backends/common/libunixhttp.la backends/common/libjsonutil.la
backends_common_libunixhttp_la_SOURCES = backends/common/unixhttp.c backends/common/unixhttp.h
backends_common_libunixhttp_la_CFLAGS = $(AM_CFLAGS)
backends_common_libunixhttp_la_LIBADD = $(HTTP_PARSER_LIBS)
backends_common_libjsonutil_la_SOURCES = backends/common/jsonutil.c backends/common/jsonutil.h
backends_common_libjsonutil_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
backends_common_libjsonutil_la_LIBADD = $(JSONC_LIBS)
endif
