# AMQP 1.0 transport (transports/amqp).
