/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT transport: incoming messages. Commands (command//<device>/req/<reqId>/<subject>)
 * become berth_inbound for the core; edge/thing/response goes to identity learning;
 * everything else is logged and dropped.
 *
 * libmosquitto acknowledges a QoS 1 PUBLISH (PUBACK) before this callback runs, so a
 * command the core does not take cannot be handed back to the broker: the core answers
 * it instead (this transport has no BERTH_TCAP_REDELIVERY).
 */
#include <stdlib.h>
#include <string.h>

#include "mqtt.h"

/* An MQTT 5 string-ish property as a NUL-terminated copy, or NULL (absent, binary or
 * containing NUL). */
static char *binary_property_string(const mosquitto_property *props, int id)
{
	void *value = NULL;
	uint16_t len = 0;
	char *s;

	if (!mosquitto_property_read_binary(props, id, &value, &len, false))
		return NULL;
	if (!value || memchr(value, '\0', len) || mosquitto_validate_utf8(value, len) != 0) {
		free(value);
		return NULL;
	}
	s = malloc((size_t)len + 1);
	if (s) {
		memcpy(s, value, len);
		s[len] = '\0';
	}
	free(value);
	return s;
}

static char *string_property(const mosquitto_property *props, int id)
{
	char *value = NULL;

	if (!mosquitto_property_read_string(props, id, &value, false))
		return NULL;
	return value;
}

static void on_command(struct mqtt *m, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	struct mqtt_command_topic t;
	char *reply_to = NULL, *correlation = NULL, *content_type = NULL;
	bool stopped;
	int rc, disposition;

	rc = mqtt_topic_parse_command(msg->topic, &t);
	if (rc != 0) {
		mqtt_log(m, rc < 0 ? BERTH_LOG_WARNING : BERTH_LOG_DEBUG,
			 "dropped a message on %s: %s", msg->topic,
			 rc < 0 ? "out of memory" : "not a command topic");
		return;
	}
	if (mqtt_subject_ignored(t.subject)) {
		mqtt_log(m, BERTH_LOG_DEBUG, "ignored %s: subject \"%s\" is not a command",
			 msg->topic, t.subject);
		goto out;
	}
	pthread_mutex_lock(&m->lock);
	stopped = m->stopped;
	pthread_mutex_unlock(&m->lock);
	if (stopped) {
		mqtt_log(m, BERTH_LOG_WARNING,
			 "dropped command %s: the agent is shutting down (stop() was called)",
			 msg->topic);
		goto out;
	}
	reply_to = mqtt_reply_to_new(t.device, t.req_id);
	if (!reply_to) {
		mqtt_log(m, BERTH_LOG_WARNING, "dropped command %s: cannot make its reply address",
			 msg->topic);
		goto out;
	}
	if (props) {
		correlation = binary_property_string(props, MQTT_PROP_CORRELATION_DATA);
		content_type = string_property(props, MQTT_PROP_CONTENT_TYPE);
	}
	mqtt_log(m, BERTH_LOG_DEBUG, "command %s (%d bytes)", msg->topic, msg->payloadlen);
	disposition = m->host->transport_inbound(m->handle, &(berth_inbound){
		.size = sizeof(berth_inbound),
		.payload = msg->payload ? msg->payload : "",
		.payload_len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
		.reply_to = reply_to,
		.correlation_id = correlation,
		.subject = t.subject,
		.device_id = t.device,
		.content_type = content_type,
	});
	if (disposition != BERTH_DISPOSITION_ACCEPTED)
		mqtt_log(m, BERTH_LOG_WARNING,
			 "command %s was not taken (disposition %d); MQTT cannot redeliver it",
			 msg->topic, disposition);
out:
	free(reply_to);
	free(correlation);
	free(content_type);
	mqtt_command_topic_clear(&t);
}

void mqtt_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
		     const mosquitto_property *props)
{
	struct mqtt *m = obj;

	if (!msg || !msg->topic)
		return;
	if (strcmp(msg->topic, MQTT_TOPIC_IDENTITY_RESPONSE) == 0) {
		size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;

		if (!m->cfg.thing_id)
			mqtt_identity_on_response(m, msg->payload, len);
		return;
	}
	on_command(m, msg, props);
}
