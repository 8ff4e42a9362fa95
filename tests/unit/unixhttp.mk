# unit tests: HTTP over a unix socket (backends/common/unixhttp.c), against a scripted
# server thread
if BUILD_UNIXHTTP
check_PROGRAMS += tests/unit/test_unixhttp
TESTS += tests/unit/test_unixhttp
tests_unit_test_unixhttp_SOURCES = tests/unit/test_unixhttp.c tests/unit/unit_main.h
tests_unit_test_unixhttp_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/backends/common
tests_unit_test_unixhttp_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_unixhttp_LDADD = backends/common/libunixhttp.la $(CUNIT_LIBS)
endif
