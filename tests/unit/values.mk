# unit tests: values (core/values.c)
check_PROGRAMS += tests/unit/test_values
TESTS += tests/unit/test_values
tests_unit_test_values_SOURCES = tests/unit/test_values.c tests/unit/unit_main.h
tests_unit_test_values_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_values_LDADD = core/libberthcore.la $(CUNIT_LIBS)
