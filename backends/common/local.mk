# backends/common: helpers shared by backends (HTTP/1.1 over a unix socket, http-parser;
# JSON helpers on json-c; the event thread, the common settings and the list walk of the
# REST backends). noinst libtool convenience libraries, PIC, linked into the modules that
# use them (librestevents needs libunixhttp and libjsonutil next to it, librestbackend
# libjsonutil).
if BUILD_UNIXHTTP
noinst_LTLIBRARIES += backends/common/libunixhttp.la backends/common/libjsonutil.la \
	backends/common/librestevents.la backends/common/librestbackend.la
backends_common_libunixhttp_la_SOURCES = backends/common/unixhttp.c backends/common/unixhttp.h
backends_common_libunixhttp_la_CFLAGS = $(AM_CFLAGS)
backends_common_libunixhttp_la_LIBADD = $(HTTP_PARSER_LIBS)
backends_common_libjsonutil_la_SOURCES = backends/common/jsonutil.c backends/common/jsonutil.h
backends_common_libjsonutil_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
backends_common_libjsonutil_la_LIBADD = $(JSONC_LIBS)
backends_common_librestevents_la_SOURCES = backends/common/restevents.c \
	backends/common/restevents.h
backends_common_librestevents_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
# what the REST backends do alike: their common settings, the list operation, the
# collection of a pull's answer
backends_common_librestbackend_la_SOURCES = backends/common/restsettings.c \
	backends/common/restsettings.h backends/common/restlist.c backends/common/restlist.h \
	backends/common/restpull.c backends/common/restpull.h
backends_common_librestbackend_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
endif
