# unit tests: berthctl's command line and envelopes (core/ctl_args.c, checked against the
# core's own decoder, router and value parsers) and the control socket (core/control.c).
# Included under `if HAVE_CUNIT`.

check_PROGRAMS += tests/unit/test_ctl tests/unit/test_control
TESTS += tests/unit/test_ctl tests/unit/test_control

tests_unit_test_ctl_SOURCES = tests/unit/test_ctl.c core/ctl_args.c core/ctl_args.h
tests_unit_test_ctl_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_ctl_LDADD = core/libberthcore.la $(CUNIT_LIBS) $(JSONC_LIBS)

tests_unit_test_control_SOURCES = tests/unit/test_control.c
tests_unit_test_control_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(JSONC_CFLAGS) $(LIBCONFIG_CFLAGS)
tests_unit_test_control_LDADD = core/libberthcore.la $(CUNIT_LIBS) $(JSONC_LIBS)
