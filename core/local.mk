# core: berthd, its convenience library (also linked by the unit tests) and the SDK.

noinst_LTLIBRARIES += core/libberthcore.la
core_libberthcore_la_SOURCES = \
	core/log.c core/log.h \
	core/values.c core/values.h \
	core/config.c core/config.h \
	core/registry.c core/registry.h \
	core/loader.c core/loader.h
core_libberthcore_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(LIBCONFIG_CFLAGS) $(SYSTEMD_CFLAGS)
core_libberthcore_la_LIBADD = $(JSONC_LIBS) $(LIBCONFIG_LIBS) $(SYSTEMD_LIBS)

sbin_PROGRAMS += core/berthd
core_berthd_SOURCES = core/main.c
core_berthd_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(LIBCONFIG_CFLAGS) $(SYSTEMD_CFLAGS)
core_berthd_LDADD = core/libberthcore.la

# The module SDK, installed for out-of-tree modules (pkg-config berth-module).
berthincludedir = $(includedir)/berth
berthinclude_HEADERS = \
	core/include/berth/berth.h \
	core/include/berth/error.h \
	core/include/berth/module.h \
	core/include/berth/backend.h \
	core/include/berth/transport.h
pkgconfig_DATA = core/berth-module.pc
DISTCLEANFILES += core/berth-module.pc
EXTRA_DIST += core/berth-module.pc.in
