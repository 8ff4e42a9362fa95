/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT transport module: the driver table, the module's entry points and the driver
 * operations (open, start, send_reply, send_event, stop, close). Wire rules are in
 * mqtt_topics.c, the connection in mqtt_conn.c, commands in mqtt_inbound.c and identity
 * learning in mqtt_identity.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt.h"

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

static const berth_host *the_host;

void mqtt_log(const struct mqtt *m, int level, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	m->host->log(level, MQTT_LOG_DOMAIN, "%s", text);
}

static void mqtt_free(struct mqtt *m)
{
	if (!m)
		return;
	if (!mqtt_conn_shutdown(m))
		return; /* its thread still runs: leave the instance to it (shutdown only) */
	mqtt_config_clear(&m->cfg);
	free(m->thing_id);
	free(m->tenant);
	free(m->cmd_filter);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static int mqtt_open(const berth_host *host, const berth_settings *settings,
		     berth_transport_handle *handle, void **instance, berth_error *err)
{
	pthread_condattr_t attr;
	struct mqtt *m;

	m = calloc(1, sizeof(*m));
	if (!m)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	m->host = host;
	m->handle = handle;
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (mqtt_config_read(host, settings, &m->cfg, err) < 0)
		goto fail;
	if ((m->cfg.thing_id && !(m->thing_id = strdup(m->cfg.thing_id))) ||
	    (m->cfg.tenant && !(m->tenant = strdup(m->cfg.tenant)))) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto fail;
	}
	if (mqtt_conn_setup(m, err) < 0)
		goto fail;
	mqtt_log(m, BERTH_LOG_DEBUG, "%s://%s:%d client %s, MQTT %s, %s session%s",
		 m->cfg.url.tls ? "mqtts" : "mqtt", m->cfg.url.host, m->cfg.url.port,
		 m->cfg.client_id, m->cfg.protocol == MQTT_PROTOCOL_V5 ? "5" : "3.1.1",
		 m->cfg.clean_session ? "clean" : "persistent",
		 m->cfg.thing_id ? "" : ", identity learned from edge/thing/response");
	*instance = m;
	return 0;
fail:
	mqtt_free(m);
	return -1;
}

static uint64_t mqtt_capabilities(void *instance)
{
	struct mqtt *m = instance;

	return m->cfg.thing_id ? 0 : BERTH_TCAP_IDENTITY;
}

static int mqtt_start(void *instance, berth_error *err)
{
	return mqtt_conn_start(instance, err);
}

static int mqtt_send_reply(void *instance, const berth_reply *reply, berth_error *err)
{
	struct mqtt *m = instance;
	mosquitto_property *props = NULL;
	const char *why, *content_type = NULL;
	char *topic;
	int rc;

	if (!reply || !BERTH_HAS_FIELD(reply, berth_reply, payload_len))
		return berth_error_set(err, BERTH_E_INVALID, "reply: struct too small");
	if (!reply->reply_to)
		return berth_error_set(err, BERTH_E_INVALID, "the command has no reply address");
	topic = mqtt_reply_topic_new(reply->reply_to, reply->status, reply->subject, &why);
	if (!topic)
		return berth_error_set(err, strcmp(why, "out of memory") == 0 ? BERTH_E_NOMEM
									 : BERTH_E_INVALID,
				       "cannot reply to \"%s\": %s", reply->reply_to, why);
	if (BERTH_HAS_FIELD(reply, berth_reply, content_type))
		content_type = reply->content_type;
	if (m->cfg.protocol == MQTT_PROTOCOL_V5) {
		if (content_type)
			mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, content_type);
		if (reply->correlation_id && strlen(reply->correlation_id) <= UINT16_MAX)
			mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA,
						      reply->correlation_id,
						      (uint16_t)strlen(reply->correlation_id));
	}
	rc = mqtt_publish(m, topic, reply->payload, reply->payload ? reply->payload_len : 0,
			  m->cfg.qos, props, err);
	if (rc == 0)
		mqtt_log(m, BERTH_LOG_DEBUG, "reply %s (%zu bytes)", topic, reply->payload_len);
	mosquitto_property_free_all(&props);
	free(topic);
	return rc;
}

static int mqtt_send_event(void *instance, const berth_outbound_event *ev, berth_error *err)
{
	struct mqtt *m = instance;
	mosquitto_property *props = NULL;
	const char *why, *content_type = NULL;
	char *topic, *thing = NULL;
	int rc;

	if (!ev || !BERTH_HAS_FIELD(ev, berth_outbound_event, payload_len))
		return berth_error_set(err, BERTH_E_INVALID, "event: struct too small");
	if (!ev->thing_id) {
		pthread_mutex_lock(&m->lock);
		thing = m->thing_id ? strdup(m->thing_id) : NULL;
		pthread_mutex_unlock(&m->lock);
		if (!thing)
			return berth_error_set(err, BERTH_E_UNAVAILABLE,
					       "the thing id is not known yet (waiting for %s)",
					       MQTT_TOPIC_IDENTITY_RESPONSE);
	}
	topic = mqtt_event_topic_new(ev->tenant, thing ? thing : ev->thing_id, &why);
	free(thing);
	if (!topic)
		return berth_error_set(err, BERTH_E_INVALID, "cannot publish the event: %s", why);
	if (BERTH_HAS_FIELD(ev, berth_outbound_event, content_type))
		content_type = ev->content_type;
	if (m->cfg.protocol == MQTT_PROTOCOL_V5 && content_type)
		mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, content_type);
	/* Hono takes events with QoS 1 only */
	rc = mqtt_publish(m, topic, ev->payload, ev->payload ? ev->payload_len : 0, 1, props, err);
	if (rc == 0)
		mqtt_log(m, BERTH_LOG_DEBUG, "event %s (%zu bytes)", topic, ev->payload_len);
	mosquitto_property_free_all(&props);
	free(topic);
	return rc;
}

/*
 * No more transport_inbound() after this returns. A persistent session keeps its
 * command subscription in the broker, so that commands sent while berthd is down are
 * queued for its next start (unsubscribing would tell the broker to drop them); commands
 * that still arrive before close() are dropped with a warning. A clean session
 * unsubscribes.
 */
static void mqtt_stop(void *instance)
{
	struct mqtt *m = instance;
	char *filter = NULL;
	int rc;

	pthread_mutex_lock(&m->lock);
	m->stopped = true;
	if (m->cfg.clean_session && m->cmd_filter)
		filter = strdup(m->cmd_filter);
	pthread_mutex_unlock(&m->lock);
	if (filter) {
		rc = mosquitto_unsubscribe(m->mosq, NULL, filter);
		mqtt_log(m, BERTH_LOG_DEBUG, "unsubscribe %s: %s", filter, mosquitto_strerror(rc));
		free(filter);
	}
	mqtt_log(m, BERTH_LOG_INFO, "stopped taking commands");
}

static void mqtt_close(void *instance)
{
	mqtt_free(instance);
}

static const berth_transport_driver mqtt_driver = {
	.size = sizeof(berth_transport_driver),
	.name = "mqtt",
	.description = "Hono-style MQTT 3.1.1/5 (local broker or Hono MQTT adapter)",
	.options = mqtt_options,
	.open = mqtt_open,
	.capabilities = mqtt_capabilities,
	.start = mqtt_start,
	.send_reply = mqtt_send_reply,
	.send_event = mqtt_send_event,
	.stop = mqtt_stop,
	.close = mqtt_close,
};

BERTH_MODULE_EXPORT int berth_module_init(const berth_host *host, berth_module *self,
					  berth_error *err)
{
	int rc;

	rc = mosquitto_lib_init();
	if (rc != MOSQ_ERR_SUCCESS)
		return berth_error_set(err, BERTH_E_RUNTIME, "mosquitto_lib_init: %s",
				       mosquitto_strerror(rc));
	the_host = host;
	if (host->register_transport(self, &mqtt_driver, err) < 0) {
		mosquitto_lib_cleanup();
		return -1;
	}
	return 0;
}

BERTH_MODULE_EXPORT void berth_module_cleanup(void)
{
	if (the_host) {
		mosquitto_lib_cleanup();
		the_host = NULL;
	}
}
