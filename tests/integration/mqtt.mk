# MQTT transport integration test: test_mqtt_transport PATH/TO/mqtt.so, against the real
# mosquitto of lib/mosquitto.sh (started by the test when not running). Built by
# `make check`, run by tests/integration/run.sh (not in TESTS: it needs a broker).
if BUILD_MQTT
check_PROGRAMS += tests/integration/test_mqtt_transport
tests_integration_test_mqtt_transport_SOURCES = tests/integration/test_mqtt_transport.c
tests_integration_test_mqtt_transport_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/harness \
	-DBERTH_TEST_LIBDIR=\"$(abs_top_srcdir)/tests/integration/lib\"
tests_integration_test_mqtt_transport_CFLAGS = $(AM_CFLAGS) $(MQTT_DEPS_CFLAGS)
tests_integration_test_mqtt_transport_LDADD = tests/harness/libtesthost.la $(MQTT_DEPS_LIBS)
endif
EXTRA_DIST += tests/integration/lib/mosquitto.sh tests/integration/lib/certs.sh
