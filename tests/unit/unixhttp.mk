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

# unit tests: JSON helpers of the REST backends (backends/common/jsonutil.c)
if BUILD_UNIXHTTP
check_PROGRAMS += tests/unit/test_jsonutil
TESTS += tests/unit/test_jsonutil
tests_unit_test_jsonutil_SOURCES = tests/unit/test_jsonutil.c tests/unit/unit_main.h
tests_unit_test_jsonutil_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/backends/common
tests_unit_test_jsonutil_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_jsonutil_LDADD = backends/common/libjsonutil.la $(CUNIT_LIBS) $(JSONC_LIBS)
endif
