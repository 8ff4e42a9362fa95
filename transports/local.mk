# Transports: one folder each.
include $(srcdir)/transports/mqtt/local.mk
include $(srcdir)/transports/amqp/local.mk
