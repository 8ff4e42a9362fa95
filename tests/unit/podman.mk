# unit tests: the Podman backend's pure code (error mapping, versions, names, request
# bodies, inspect parsing, the limits table), without a podman
if BUILD_PODMAN
check_PROGRAMS += tests/unit/test_podman
TESTS += tests/unit/test_podman
tests_unit_test_podman_SOURCES = tests/unit/test_podman.c tests/unit/unit_main.h \
	backends/podman/podman_api.c backends/podman/podman_spec.c \
	backends/podman/podman_info.c backends/podman/podman_limits.c \
	backends/podman/podman_events.c
tests_unit_test_podman_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/backends/common \
	-I$(top_srcdir)/backends/podman
tests_unit_test_podman_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_podman_LDADD = backends/common/librestevents.la backends/common/libunixhttp.la backends/common/libjsonutil.la \
	$(CUNIT_LIBS) $(JSONC_LIBS) -lpthread
endif
