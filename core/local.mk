# core: berthd, its convenience library (also linked by the unit tests) and the SDK.

noinst_LTLIBRARIES += core/libberthcore.la
core_libberthcore_la_SOURCES = \
	core/log.c core/log.h \
	core/values.c core/values.h \
	core/config.c core/config.h \
	core/registry.c core/registry.h \
	core/loader.c core/loader.h \
	core/identity.c core/identity.h \
	core/ditto.c core/ditto.h \
	core/router.c core/router.h \
	core/container.c core/container.h \
	core/store.c core/store.h \
	core/queue.c core/queue.h \
	core/spec.c core/spec.h \
	core/state.c core/state.h \
	core/twin.c core/twin.h \
	core/ops.c core/ops.h core/ops_parse.c core/ops_create.c core/ops_lifecycle.c \
	core/ops_stop.c core/ops_update.c \
	core/restart.c core/restart.h \
	core/monitor.c core/monitor.h \
	core/command.c core/command.h \
	core/backends.c core/backends.h \
	core/transports.c core/transports.h \
	core/host.c core/host.h \
	core/daemon.c core/daemon.h
core_libberthcore_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(LIBCONFIG_CFLAGS) $(SYSTEMD_CFLAGS)
core_libberthcore_la_LIBADD = $(JSONC_LIBS) $(LIBCONFIG_LIBS) $(SYSTEMD_LIBS) -lm

# The control socket (berthctl's server side), built into the core.
core_libberthcore_la_SOURCES += core/control.c core/control.h

sbin_PROGRAMS += core/berthd
core_berthd_SOURCES = core/main.c
core_berthd_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(LIBCONFIG_CFLAGS) $(SYSTEMD_CFLAGS)
core_berthd_LDADD = core/libberthcore.la

# berthctl: the local CLI; it talks to core/control.c and links no core code.
bin_PROGRAMS += core/berthctl
core_berthctl_SOURCES = core/berthctl.c core/ctl_args.c core/ctl_args.h
core_berthctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
core_berthctl_LDADD = $(JSONC_LIBS)

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
