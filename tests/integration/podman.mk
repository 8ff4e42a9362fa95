# Podman backend integration test: a check program, not in TESTS. tests/integration/run.sh
# runs it as ./tests/integration/test_podman_backend ./modules/podman.so; it starts the
# private podman service of lib/podman.sh itself when none runs (and stops it after).
if BUILD_PODMAN
check_PROGRAMS += tests/integration/test_podman_backend
tests_integration_test_podman_backend_SOURCES = tests/integration/test_podman_backend.c \
	$(ITEST_SOURCES) $(ITEST_JSON_SOURCES)
tests_integration_test_podman_backend_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/tests/harness -DBERTH_TOP_SRCDIR=\"$(abs_top_srcdir)\"
tests_integration_test_podman_backend_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_integration_test_podman_backend_LDADD = tests/harness/libtesthost.la $(JSONC_LIBS)
endif
EXTRA_DIST += tests/integration/lib/podman.sh
