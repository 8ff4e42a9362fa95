# unit tests: the nspawn backend's names, error mapping, records and root file systems
# (no systemd needed; the module-level test against a real one is in tests/integration)
if BUILD_NSPAWN
check_PROGRAMS += tests/unit/test_nspawn
TESTS += tests/unit/test_nspawn
tests_unit_test_nspawn_SOURCES = tests/unit/test_nspawn.c tests/unit/unit_main.h \
	$(backends_nspawn_nspawn_la_SOURCES)
tests_unit_test_nspawn_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/backends/nspawn
tests_unit_test_nspawn_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(JSONC_CFLAGS) $(NSPAWN_DEPS_CFLAGS)
tests_unit_test_nspawn_LDADD = $(JSONC_LIBS) $(NSPAWN_DEPS_LIBS) $(CUNIT_LIBS)
endif
