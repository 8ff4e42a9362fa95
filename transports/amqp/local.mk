# AMQP 1.0 transport (transports/amqp): amqp.so, qpid-proton's proactor.
# pkg-config libqpid-proton gives -lqpid-proton, which contains the proactor (0.30..0.37).
if BUILD_AMQP
pkglib_LTLIBRARIES += transports/amqp/amqp.la
transports_amqp_amqp_la_SOURCES = \
	transports/amqp/amqp.h \
	transports/amqp/module.c \
	transports/amqp/settings.c \
	transports/amqp/message.c \
	transports/amqp/connection.c
transports_amqp_amqp_la_CFLAGS = $(AM_CFLAGS) $(AMQP_DEPS_CFLAGS) $(JSONC_CFLAGS)
transports_amqp_amqp_la_LDFLAGS = $(BERTH_MODULE_FLAGS)
transports_amqp_amqp_la_LIBADD = $(AMQP_DEPS_LIBS) $(JSONC_LIBS)
endif
