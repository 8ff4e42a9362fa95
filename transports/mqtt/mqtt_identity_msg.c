/* SPDX-License-Identifier: Apache-2.0 */
/* MQTT transport: the edge/thing/response message and the thing id it implies (pure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mqtt.h"

#define THING_SUFFIX ":edge:containers"

/* Copies the string member `key` into *out; -1 when it is absent or not a string. */
static int member_string(struct json_object *obj, const char *key, bool required, char **out,
			 char *why, size_t why_len)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null)) {
		if (!required)
			return 0;
		snprintf(why, why_len, "\"%s\" is missing", key);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(why, why_len, "\"%s\" is not a string", key);
		return -1;
	}
	*out = strdup(json_object_get_string(v));
	if (!*out) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	return 0;
}

static bool only_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

int mqtt_identity_parse(const char *payload, size_t len, struct mqtt_identity_msg *out,
			char *why, size_t why_len)
{
	struct json_tokener *tok;
	struct json_object *obj;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > 65536) {
		snprintf(why, why_len, "payload of %zu bytes", len);
		return -1;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	obj = json_tokener_parse_ex(tok, payload, (int)len);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
	    !only_space(payload + json_tokener_get_parse_end(tok),
			len - json_tokener_get_parse_end(tok))) {
		snprintf(why, why_len, "not a JSON document");
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(why, why_len, "not a JSON object");
		goto out;
	}
	if (member_string(obj, "deviceId", true, &out->device_id, why, why_len) < 0 ||
	    member_string(obj, "tenantId", true, &out->tenant_id, why, why_len) < 0 ||
	    member_string(obj, "policyId", false, &out->policy_id, why, why_len) < 0)
		goto out;
	if (!mqtt_topic_level_valid(out->device_id, false)) {
		snprintf(why, why_len, "\"deviceId\" is empty or has '/', '+' or '#'");
		goto out;
	}
	if (!mqtt_topic_level_valid(out->tenant_id, true)) {
		snprintf(why, why_len, "\"tenantId\" has '/', '+' or '#'");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		mqtt_identity_msg_clear(out);
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

void mqtt_identity_msg_clear(struct mqtt_identity_msg *msg)
{
	free(msg->device_id);
	free(msg->tenant_id);
	free(msg->policy_id);
	memset(msg, 0, sizeof(*msg));
}

char *mqtt_identity_thing_id_new(const char *device_id)
{
	char *s;

	if (asprintf(&s, "%s" THING_SUFFIX, device_id) < 0)
		return NULL;
	return s;
}
