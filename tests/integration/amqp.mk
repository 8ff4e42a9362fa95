# AMQP 1.0 transport integration tests (run by tests/integration/run.sh, not by `make check`):
#   test_amqp_transport PATH/amqp.so   against tests/integration/amqp/hono_peer.py
#   test_amqp_rabbitmq PATH/amqp.so    against RabbitMQ 3.10 + AMQP 1.0 (lib/rabbitmq.sh)
# CI packages (Debian): libqpid-proton11-dev python3-qpid-proton rabbitmq-server openssl
#                       libjson-c-dev valgrind (optional)
if BUILD_AMQP
check_PROGRAMS += tests/integration/test_amqp_transport tests/integration/test_amqp_rabbitmq
AMQP_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/harness -I$(top_srcdir)/tests/integration \
	-DBERTH_TEST_SRCDIR=\"$(abs_top_srcdir)\"
tests_integration_test_amqp_transport_SOURCES = tests/integration/test_amqp_transport.c \
	tests/integration/amqp/testlib.c tests/integration/amqp/testlib.h
tests_integration_test_amqp_transport_CPPFLAGS = $(AMQP_TEST_CPPFLAGS)
tests_integration_test_amqp_transport_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_integration_test_amqp_transport_LDADD = tests/harness/libtesthost.la $(JSONC_LIBS)
tests_integration_test_amqp_rabbitmq_SOURCES = tests/integration/test_amqp_rabbitmq.c \
	tests/integration/amqp/testlib.c tests/integration/amqp/testlib.h
tests_integration_test_amqp_rabbitmq_CPPFLAGS = $(AMQP_TEST_CPPFLAGS)
tests_integration_test_amqp_rabbitmq_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_integration_test_amqp_rabbitmq_LDADD = tests/harness/libtesthost.la $(JSONC_LIBS)
endif
EXTRA_DIST += tests/integration/amqp/hono_peer.py tests/integration/amqp/sasl_server.py \
	tests/integration/amqp/rabbit_client.py tests/integration/amqp/README.md \
	tests/integration/lib/rabbitmq.sh
