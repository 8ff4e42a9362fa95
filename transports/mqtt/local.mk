# MQTT transport (transports/mqtt): mqtt.so, Hono-style MQTT 3.1.1/5 over libmosquitto.
if BUILD_MQTT
pkglib_LTLIBRARIES += transports/mqtt/mqtt.la
transports_mqtt_mqtt_la_SOURCES = \
	transports/mqtt/mqtt.c \
	transports/mqtt/mqtt.h \
	transports/mqtt/mqtt_settings.c \
	transports/mqtt/mqtt_conn.c \
	transports/mqtt/mqtt_inbound.c \
	transports/mqtt/mqtt_identity.c \
	transports/mqtt/mqtt_identity_msg.c \
	transports/mqtt/mqtt_topics.c \
	transports/mqtt/mqtt_topics.h \
	transports/mqtt/mqtt_url.c
transports_mqtt_mqtt_la_CFLAGS = $(AM_CFLAGS) $(MQTT_DEPS_CFLAGS) $(JSONC_CFLAGS)
transports_mqtt_mqtt_la_LDFLAGS = $(AM_LDFLAGS) $(BERTH_MODULE_FLAGS)
transports_mqtt_mqtt_la_LIBADD = $(MQTT_DEPS_LIBS) $(JSONC_LIBS)

# Topic, URL and identity-message rules: pure functions, no broker needed.
if HAVE_CUNIT
check_PROGRAMS += transports/mqtt/test_mqtt_topics
TESTS += transports/mqtt/test_mqtt_topics
transports_mqtt_test_mqtt_topics_SOURCES = \
	transports/mqtt/test_mqtt_topics.c \
	transports/mqtt/mqtt_topics.c \
	transports/mqtt/mqtt_url.c \
	transports/mqtt/mqtt_identity_msg.c
transports_mqtt_test_mqtt_topics_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/tests/unit $(CUNIT_CFLAGS) $(MQTT_DEPS_CFLAGS) $(JSONC_CFLAGS)
transports_mqtt_test_mqtt_topics_LDADD = $(CUNIT_LIBS) $(JSONC_LIBS)
endif
endif
EXTRA_DIST += transports/mqtt/README.md
