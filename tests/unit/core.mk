# unit tests: core (Ditto codec, router, operations, queue, restart manager, monitor,
# store, twin) with a fake backend and a fake transport that exist only for tests.
# Included under `if HAVE_CUNIT`.

core_test_cflags = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(JSONC_CFLAGS) $(LIBCONFIG_CFLAGS)
core_test_ldadd = core/libberthcore.la $(CUNIT_LIBS) $(JSONC_LIBS)

# Pure functions: no daemon, no modules.
check_PROGRAMS += tests/unit/test_ditto tests/unit/test_router tests/unit/test_parse \
	tests/unit/test_queue
TESTS += tests/unit/test_ditto tests/unit/test_router tests/unit/test_parse \
	tests/unit/test_queue

tests_unit_test_ditto_SOURCES = tests/unit/test_ditto.c
tests_unit_test_ditto_CFLAGS = $(core_test_cflags)
tests_unit_test_ditto_LDADD = $(core_test_ldadd)

tests_unit_test_router_SOURCES = tests/unit/test_router.c
tests_unit_test_router_CFLAGS = $(core_test_cflags)
tests_unit_test_router_LDADD = $(core_test_ldadd)

tests_unit_test_parse_SOURCES = tests/unit/test_parse.c
tests_unit_test_parse_CFLAGS = $(core_test_cflags)
tests_unit_test_parse_LDADD = $(core_test_ldadd)

tests_unit_test_queue_SOURCES = tests/unit/test_queue.c
tests_unit_test_queue_CFLAGS = $(core_test_cflags)
tests_unit_test_queue_LDADD = $(core_test_ldadd)

# The fakes: real berth modules, built by `make check` only and never installed. The
# harness copies them from .libs/ into a private module directory (mode 0755) and berthd
# loads them there with the core's loader. Besides the entry points each exports one
# berth_module_fake_*_control() function (same prefix, so the usual export regex).
core_fake_modules = tests/unit/fake/fake_backend.la tests/unit/fake/fake_minimal.la \
	tests/unit/fake/fake_transport.la
check_LTLIBRARIES += $(core_fake_modules)
core_fake_ldflags = -module -avoid-version -shared -rpath /nowhere \
	-export-symbols-regex '^berth_module_'

tests_unit_fake_fake_backend_la_SOURCES = tests/unit/fake/fake_backend.c tests/unit/fake/fake.h
tests_unit_fake_fake_backend_la_LDFLAGS = $(AM_LDFLAGS) $(core_fake_ldflags)
# The same runtime without the optional ops (driver fake_minimal).
tests_unit_fake_fake_minimal_la_SOURCES = tests/unit/fake/fake_backend.c tests/unit/fake/fake.h
tests_unit_fake_fake_minimal_la_CFLAGS = $(AM_CFLAGS) -DFAKE_MINIMAL
tests_unit_fake_fake_minimal_la_LDFLAGS = $(AM_LDFLAGS) $(core_fake_ldflags)
tests_unit_fake_fake_transport_la_SOURCES = tests/unit/fake/fake_transport.c tests/unit/fake/fake.h
tests_unit_fake_fake_transport_la_LDFLAGS = $(AM_LDFLAGS) $(core_fake_ldflags)

# End to end in one process: berthd's daemon_run() on a thread, the fakes loaded by it.
core_e2e_tests = \
	tests/unit/test_ops \
	tests/unit/test_command \
	tests/unit/test_restart \
	tests/unit/test_monitor \
	tests/unit/test_store
check_PROGRAMS += $(core_e2e_tests)
TESTS += $(core_e2e_tests)

core_e2e_cflags = $(core_test_cflags) \
	-DTEST_FAKE_DIR=\"$(abs_top_builddir)/tests/unit/fake/.libs\"
core_e2e_sources = tests/unit/harness.c tests/unit/harness.h tests/unit/fake/fake.h

tests_unit_test_ops_SOURCES = tests/unit/test_ops.c $(core_e2e_sources)
tests_unit_test_ops_CFLAGS = $(core_e2e_cflags)
tests_unit_test_ops_LDADD = $(core_test_ldadd)
EXTRA_tests_unit_test_ops_DEPENDENCIES = $(core_fake_modules)

tests_unit_test_command_SOURCES = tests/unit/test_command.c $(core_e2e_sources)
tests_unit_test_command_CFLAGS = $(core_e2e_cflags)
tests_unit_test_command_LDADD = $(core_test_ldadd)
EXTRA_tests_unit_test_command_DEPENDENCIES = $(core_fake_modules)

tests_unit_test_restart_SOURCES = tests/unit/test_restart.c $(core_e2e_sources)
tests_unit_test_restart_CFLAGS = $(core_e2e_cflags)
tests_unit_test_restart_LDADD = $(core_test_ldadd)
EXTRA_tests_unit_test_restart_DEPENDENCIES = $(core_fake_modules)

tests_unit_test_monitor_SOURCES = tests/unit/test_monitor.c $(core_e2e_sources)
tests_unit_test_monitor_CFLAGS = $(core_e2e_cflags)
tests_unit_test_monitor_LDADD = $(core_test_ldadd)
EXTRA_tests_unit_test_monitor_DEPENDENCIES = $(core_fake_modules)

tests_unit_test_store_SOURCES = tests/unit/test_store.c $(core_e2e_sources)
tests_unit_test_store_CFLAGS = $(core_e2e_cflags)
tests_unit_test_store_LDADD = $(core_test_ldadd)
EXTRA_tests_unit_test_store_DEPENDENCIES = $(core_fake_modules)
