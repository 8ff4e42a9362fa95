# testhost: loads one module .so and records its callbacks (module integration tests).
check_LTLIBRARIES += tests/harness/libtesthost.la
tests_harness_libtesthost_la_SOURCES = tests/harness/testhost.c tests/harness/testhost.h
tests_harness_libtesthost_la_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
tests_harness_libtesthost_la_LIBADD = core/libberthcore.la
