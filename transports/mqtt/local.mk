# MQTT transport (transports/mqtt).
