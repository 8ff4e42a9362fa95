/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT transport: learning the agent's identity the Kanto way (PROTOCOL.md 1.2) when no
 * thing_id is configured: on every (re)connect subscribe edge/thing/response and publish
 * edge/thing/request; a response {"deviceId","tenantId"[,"policyId"]} gives thing id
 * deviceId + ":edge:containers" and the tenant. A response with other ids moves the
 * command subscription; the same ids again change nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "mqtt.h"

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

void mqtt_identity_on_connect(struct mqtt *m)
{
	berth_error err;
	int rc;

	rc = mosquitto_subscribe(m->mosq, NULL, MQTT_TOPIC_IDENTITY_RESPONSE, 1);
	if (rc != MOSQ_ERR_SUCCESS) {
		mqtt_log(m, BERTH_LOG_WARNING, "subscribe %s: %s", MQTT_TOPIC_IDENTITY_RESPONSE,
			 mosquitto_strerror(rc));
		return;
	}
	if (mqtt_publish(m, MQTT_TOPIC_IDENTITY_REQUEST, "{}", 2, 1, NULL, &err) < 0)
		mqtt_log(m, BERTH_LOG_WARNING, "publish %s: %s", MQTT_TOPIC_IDENTITY_REQUEST,
			 err.message);
	else
		mqtt_log(m, BERTH_LOG_DEBUG, "asked for the identity on %s",
			 MQTT_TOPIC_IDENTITY_REQUEST);
}

void mqtt_identity_on_response(struct mqtt *m, const void *payload, size_t len)
{
	struct mqtt_identity_msg msg;
	char why[128], *thing, *old_thing = NULL, *old_tenant = NULL;
	bool stopped, changed;

	if (mqtt_identity_parse(payload, len, &msg, why, sizeof(why)) < 0) {
		mqtt_log(m, BERTH_LOG_WARNING, "ignored a malformed %s: %s",
			 MQTT_TOPIC_IDENTITY_RESPONSE, why);
		return;
	}
	thing = mqtt_identity_thing_id_new(msg.device_id);
	if (!thing) {
		mqtt_log(m, BERTH_LOG_ERR, "out of memory learning the identity");
		goto out;
	}
	pthread_mutex_lock(&m->lock);
	changed = !same(m->thing_id, thing) || !same(m->tenant, msg.tenant_id);
	if (changed) {
		old_thing = m->thing_id;
		old_tenant = m->tenant;
		m->thing_id = thing;
		m->tenant = msg.tenant_id;
		thing = NULL;
		msg.tenant_id = NULL;
	}
	stopped = m->stopped;
	pthread_mutex_unlock(&m->lock);
	if (!changed) {
		mqtt_log(m, BERTH_LOG_DEBUG, "%s: identity unchanged", MQTT_TOPIC_IDENTITY_RESPONSE);
		goto out;
	}
	if (old_thing)
		mqtt_log(m, BERTH_LOG_NOTICE, "identity changed: thing %s -> %s, tenant %s -> %s",
			 old_thing, m->thing_id, old_tenant ? old_tenant : "-",
			 m->tenant ? m->tenant : "-");
	else
		mqtt_log(m, BERTH_LOG_NOTICE, "identity learned: thing %s, tenant %s", m->thing_id,
			 m->tenant ? m->tenant : "-");
	/* only this thread changes the identity: reading it unlocked here is safe */
	if (stopped)
		mqtt_report_online(m);
	else
		mqtt_subscribe_commands(m, m->thing_id);
out:
	free(thing);
	free(old_thing);
	free(old_tenant);
	mqtt_identity_msg_clear(&msg);
}
