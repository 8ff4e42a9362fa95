# systemd-nspawn backend integration test: a check program, not in TESTS. tests/integration/run.sh
# runs it as ./tests/integration/test_nspawn_backend ./modules/nspawn.so; it starts the
# private systemd of lib/systemd.sh itself when none runs (and stops it after).
if BUILD_NSPAWN
check_PROGRAMS += tests/integration/test_nspawn_backend
tests_integration_test_nspawn_backend_SOURCES = tests/integration/test_nspawn_backend.c \
	$(ITEST_SOURCES)
tests_integration_test_nspawn_backend_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/tests/harness -DBERTH_TOP_SRCDIR=\"$(abs_top_srcdir)\"
tests_integration_test_nspawn_backend_LDADD = tests/harness/libtesthost.la
endif
EXTRA_DIST += tests/integration/lib/systemd.sh
