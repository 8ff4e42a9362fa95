# unit tests: config (core/config.c), loader and registry (core/loader.c, core/registry.c)
# Included under `if HAVE_CUNIT`; the test data ships through tests/data/local.mk.

check_PROGRAMS += tests/unit/test_config tests/unit/test_loader
TESTS += tests/unit/test_config tests/unit/test_loader

tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(LIBCONFIG_CFLAGS) \
	-DTEST_DATA_DIR=\"$(abs_top_srcdir)/tests/data\"
tests_unit_test_config_LDADD = core/libberthcore.la $(CUNIT_LIBS) $(LIBCONFIG_LIBS)

# Test modules: libtool modules that are built by `make check` and never installed.
# The test copies them from .libs/ into a private directory whose modes it controls.
test_loader_modules = \
	tests/unit/modules/good_backend.la \
	tests/unit/modules/good_transport.la \
	tests/unit/modules/bad_missing_init.la \
	tests/unit/modules/bad_missing_version.la \
	tests/unit/modules/bad_version.la \
	tests/unit/modules/bad_init_fails.la \
	tests/unit/modules/bad_driver_table.la \
	tests/unit/modules/bad_driver_size.la \
	tests/unit/modules/bad_undefined.la \
	tests/unit/modules/dup_name.la
check_LTLIBRARIES += $(test_loader_modules)
test_loader_module_ldflags = -module -avoid-version -shared -rpath /nowhere \
	-export-symbols-regex '^berth_module_'

tests_unit_modules_good_backend_la_SOURCES = tests/unit/modules/good_backend.c tests/unit/modules/stub_ops.h
tests_unit_modules_good_backend_la_LDFLAGS = $(AM_LDFLAGS) $(test_loader_module_ldflags)
tests_unit_modules_good_transport_la_SOURCES = tests/unit/modules/good_transport.c tests/unit/modules/stub_ops.h
tests_unit_modules_good_transport_la_LDFLAGS = $(AM_LDFLAGS) $(test_loader_module_ldflags)
tests_unit_modules_bad_missing_init_la_SOURCES = tests/unit/modules/bad_missing_init.c
tests_unit_modules_bad_missing_init_la_LDFLAGS = $(AM_LDFLAGS) $(test_loader_module_ldflags)
tests_unit_modules_bad_missing_version_la_SOURCES = tests/unit/modules/bad_missing_version.c tests/unit/modules/stub_ops.h
tests_unit_modules_bad_missing_version_la_LDFLAGS = $(AM_LDFLAGS) $(test_loader_module_ldflags)
tests_unit_modules_bad_version_la_SOURCES = tests/unit/modules/bad_version.c tests/unit/modules/stub_ops.h
tests_unit_modules_bad_version_la_LDFLAGS = $(AM_LDFLAGS) $(test_loader_module_ldflags)
tests_unit_modules_bad_init_fails_la_SOURCES = tests/unit/modules/bad_init_fails.c tests/unit/modules/stub_ops.h
tests_unit_modules_bad_init_fails_la_LDFLAGS = $(AM_LDFLAGS) $(test_loader_module_ldflags)
tests_unit_modules_bad_driver_table_la_SOURCES = tests/unit/modules/bad_driver_table.c tests/unit/modules/stub_ops.h
tests_unit_modules_bad_driver_table_la_LDFLAGS = $(AM_LDFLAGS) $(test_loader_module_ldflags)
tests_unit_modules_bad_driver_size_la_SOURCES = tests/unit/modules/bad_driver_size.c tests/unit/modules/stub_ops.h
tests_unit_modules_bad_driver_size_la_LDFLAGS = $(AM_LDFLAGS) $(test_loader_module_ldflags)
# Links although berth_test_no_such_function is defined nowhere: dlopen(RTLD_NOW) fails.
tests_unit_modules_bad_undefined_la_SOURCES = tests/unit/modules/bad_undefined.c
tests_unit_modules_bad_undefined_la_LDFLAGS = $(AM_LDFLAGS) $(test_loader_module_ldflags)
tests_unit_modules_dup_name_la_SOURCES = tests/unit/modules/dup_name.c tests/unit/modules/stub_ops.h
tests_unit_modules_dup_name_la_LDFLAGS = $(AM_LDFLAGS) $(test_loader_module_ldflags)

tests_unit_test_loader_SOURCES = tests/unit/test_loader.c
tests_unit_test_loader_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(LIBCONFIG_CFLAGS) \
	-DTEST_MODULES_DIR=\"$(abs_top_builddir)/tests/unit/modules/.libs\"
tests_unit_test_loader_LDADD = core/libberthcore.la $(CUNIT_LIBS)
# So that `make tests/unit/test_loader` alone also builds what it loads.
EXTRA_tests_unit_test_loader_DEPENDENCIES = $(test_loader_modules)
