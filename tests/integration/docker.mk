# Docker backend integration test: a check program, not in TESTS. tests/integration/run.sh
# runs it against the private dockerd of lib/dockerd.sh:
#   ./tests/integration/test_docker_backend ./modules/docker.so
if BUILD_DOCKER
if HAVE_CURL
check_PROGRAMS += tests/integration/test_docker_backend
tests_integration_test_docker_backend_SOURCES = tests/integration/test_docker_backend.c \
	$(ITEST_SOURCES) $(ITEST_JSON_SOURCES)
tests_integration_test_docker_backend_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/tests/harness -DBERTH_TOP_SRCDIR=\"$(abs_top_srcdir)\"
tests_integration_test_docker_backend_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
tests_integration_test_docker_backend_LDADD = tests/harness/libtesthost.la \
	$(CURL_LIBS) $(JSONC_LIBS)
endif
endif
EXTRA_DIST += \
	tests/integration/lib/dockerd.sh \
	tests/integration/lib/busybox-image.sh
