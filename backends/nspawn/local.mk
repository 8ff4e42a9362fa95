# systemd-nspawn backend (backends/nspawn): the nspawn.so module. sd-bus (libsystemd)
# talks to systemd and systemd-machined; libarchive copies local images (directory trees
# and tar archives) into the machines' root file systems.
EXTRA_DIST += backends/nspawn/README.md

if BUILD_NSPAWN
pkglib_LTLIBRARIES += backends/nspawn/nspawn.la
backends_nspawn_nspawn_la_SOURCES = \
	backends/nspawn/nspawn.h \
	backends/nspawn/nspawn.c \
	backends/nspawn/nspawn_record.c \
	backends/nspawn/nspawn_rootfs.c \
	backends/nspawn/nspawn_unit.c \
	backends/nspawn/nspawn_ops.c \
	backends/nspawn/nspawn_info.c \
	backends/nspawn/nspawn_events.c
backends_nspawn_nspawn_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(NSPAWN_DEPS_CFLAGS)
backends_nspawn_nspawn_la_LDFLAGS = $(BERTH_MODULE_FLAGS)
backends_nspawn_nspawn_la_LIBADD = $(JSONC_LIBS) $(NSPAWN_DEPS_LIBS)
endif
