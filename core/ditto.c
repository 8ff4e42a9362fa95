/* SPDX-License-Identifier: Apache-2.0 */
/* Ditto protocol envelopes: decode commands, encode responses and twin commands. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ditto.h"

int ditto_error_set(struct ditto_error *e, int status, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	e->description[0] = '\0';
	return -1;
}

int ditto_error_from_berth(struct ditto_error *e, const berth_error *err)
{
	static const int status_of[] = {
		[BERTH_OK] = 500, /* an error without a code is still an error */
		[BERTH_E_INVALID] = 400,
		[BERTH_E_NOT_FOUND] = 404,
		[BERTH_E_CONFLICT] = 409,
		[BERTH_E_UNSUPPORTED] = 501,
		[BERTH_E_UNAVAILABLE] = 503,
		[BERTH_E_RUNTIME] = 500,
		[BERTH_E_TIMEOUT] = 500,
		[BERTH_E_NOMEM] = 500,
		[BERTH_E_BUSY] = 429,
		[BERTH_E_INTERNAL] = 500,
		[BERTH_E_SHUTDOWN] = 503,
	};
	int status = 500;

	if (err->code >= 0 && (size_t)err->code < sizeof(status_of) / sizeof(status_of[0]))
		status = status_of[err->code];
	return ditto_error_set(e, status, "%s",
			       err->message[0] ? err->message : berth_code_name(err->code));
}

const char *ditto_error_code(int status)
{
	switch (status) {
	case 400: return "messages:parameter.invalid";
	case 404: return "messages:subject.notfound";
	case 409: return "messages:execution.conflict";
	case 413: return "messages:payload.toolarge";
	case 429: return "messages:too.many.requests";
	case 501: return "messages:operation.unsupported";
	case 503: return "messages:runtime.unavailable";
	default: return "messages:execution.failed";
	}
}

json_object *ditto_object_get_ci(json_object *obj, const char *key)
{
	if (!obj || !json_object_is_type(obj, json_type_object))
		return NULL;
	json_object_object_foreach(obj, k, v) {
		if (strcasecmp(k, key) == 0)
			return v;
	}
	return NULL;
}

/* "application/json", "application/vnd.eclipse.ditto+json", with parameters. */
static bool is_json_content_type(const char *ct)
{
	size_t n = strcspn(ct, ";");

	while (n > 0 && isspace((unsigned char)ct[n - 1]))
		n--;
	if (n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0)
		return true;
	return n > strlen("application/") + strlen("+json") &&
	       strncasecmp(ct, "application/", strlen("application/")) == 0 &&
	       strncasecmp(ct + n - strlen("+json"), "+json", strlen("+json")) == 0;
}

static int decode_headers(json_object *headers, struct ditto_envelope *env,
			  struct ditto_error *err)
{
	json_object *v;

	v = ditto_object_get_ci(headers, "correlation-id");
	if (v) {
		if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
			return ditto_error_set(err, 400,
					       "invalid header correlation-id: expected a non-empty string");
		env->correlation_id = json_object_get_string(v);
	}
	v = ditto_object_get_ci(headers, "response-required");
	if (v) {
		const char *s = json_object_get_string(v);

		if (json_object_is_type(v, json_type_boolean))
			env->response_required = json_object_get_boolean(v);
		else if (json_object_is_type(v, json_type_string) && strcmp(s, "true") == 0)
			env->response_required = true;
		else if (json_object_is_type(v, json_type_string) && strcmp(s, "false") == 0)
			env->response_required = false;
		else
			return ditto_error_set(err, 400,
					       "invalid header response-required: expected true or false");
	}
	v = ditto_object_get_ci(headers, "content-type");
	if (v) {
		if (!json_object_is_type(v, json_type_string))
			return ditto_error_set(err, 400,
					       "invalid header content-type: expected a string");
		env->content_type = json_object_get_string(v);
	}
	if (!env->correlation_id)
		return ditto_error_set(err, 400, "the correlation-id header is missing");
	if (env->content_type && env->has_value && !is_json_content_type(env->content_type))
		return ditto_error_set(err, 400,
				       "unsupported content-type '%.64s': the value must be application/json",
				       env->content_type);
	return 0;
}

/* Only blanks may follow the JSON text. */
static bool only_whitespace(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)p[i]))
			return false;
	return true;
}

int ditto_decode(const char *payload, size_t len, const struct ditto_limits *limits,
		 struct ditto_envelope *env, struct ditto_error *err)
{
	json_tokener *tok;
	json_object *root, *v;
	enum json_tokener_error jerr;
	size_t end;

	memset(env, 0, sizeof(*env));
	env->response_required = true;

	if (len == 0 || only_whitespace(payload, len))
		return ditto_error_set(err, 400, "the message is empty: expected a Ditto envelope");
	if (len > limits->max_payload)
		return ditto_error_set(err, 400,
				       "the message is %zu bytes, more than the limit of %zu bytes",
				       len, limits->max_payload);

	/* json-c counts the top level as one of its depth: allow max_depth levels of nesting. */
	tok = json_tokener_new_ex(limits->max_depth + 1);
	if (!tok)
		return ditto_error_set(err, 500, "out of memory");
	root = json_tokener_parse_ex(tok, payload, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root || jerr != json_tokener_success) {
		json_object_put(root);
		if (jerr == json_tokener_success) /* the JSON text null */
			return ditto_error_set(err, 400, "the message is not a Ditto envelope (a JSON object)");
		if (jerr == json_tokener_error_depth)
			return ditto_error_set(err, 400,
					       "the message nests JSON deeper than %d levels",
					       limits->max_depth);
		if (jerr == json_tokener_continue)
			return ditto_error_set(err, 400, "the message is not valid JSON: it ends too early");
		return ditto_error_set(err, 400, "the message is not valid JSON: %s at offset %zu",
				       json_tokener_error_desc(jerr), end);
	}
	env->root = root;
	if (!only_whitespace(payload + end, len - end))
		return ditto_error_set(err, 400,
				       "the message is not valid JSON: unexpected data at offset %zu", end);
	if (!json_object_is_type(root, json_type_object))
		return ditto_error_set(err, 400, "the message is not a Ditto envelope (a JSON object)");

	/* Read what an error response can use before judging anything. */
	v = json_object_object_get(root, "topic");
	if (v && json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0)
		env->topic = json_object_get_string(v);
	v = json_object_object_get(root, "path");
	if (v && json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0)
		env->path = json_object_get_string(v);
	env->has_value = json_object_object_get_ex(root, "value", &env->value);

	v = json_object_object_get(root, "headers");
	if (v && !json_object_is_type(v, json_type_object)) {
		/* Keep going for topic/path messages, but this is fatal. */
		return ditto_error_set(err, 400, "invalid envelope: headers must be a JSON object");
	}
	if (decode_headers(v, env, err) < 0)
		return -1;
	if (!env->topic)
		return ditto_error_set(err, 400, "invalid envelope: topic is missing or not a non-empty string");
	if (!env->path)
		return ditto_error_set(err, 400, "invalid envelope: path is missing or not a non-empty string");
	return 0;
}

void ditto_envelope_release(struct ditto_envelope *env)
{
	json_object_put(env->root);
	memset(env, 0, sizeof(*env));
}

/* Serialises and hands over the text (caller frees). Consumes `obj`. */
static char *to_text(json_object *obj)
{
	char *text = NULL;

	if (obj) {
		const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
								      JSON_C_TO_STRING_NOSLASHESCAPE);
		text = s ? strdup(s) : NULL;
		json_object_put(obj);
	}
	return text;
}

static json_object *envelope_new(const char *topic, const char *path, json_object *headers)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "topic", json_object_new_string(topic));
	json_object_object_add(o, "headers", headers);
	json_object_object_add(o, "path", json_object_new_string(path));
	return o;
}

char *ditto_encode_response(const char *topic, const char *path, const char *correlation_id,
			    int status, json_object *value)
{
	json_object *headers = json_object_new_object();
	json_object *o;

	if (correlation_id)
		json_object_object_add(headers, "correlation-id",
				       json_object_new_string(correlation_id));
	if (value)
		json_object_object_add(headers, "content-type",
				       json_object_new_string("application/json"));
	o = envelope_new(topic, path, headers);
	if (o && value)
		json_object_object_add(o, "value", json_object_get(value));
	if (o)
		json_object_object_add(o, "status", json_object_new_int(status));
	return to_text(o);
}

char *ditto_encode_error(const char *topic, const char *path, const char *correlation_id,
			 const struct ditto_error *err)
{
	json_object *value = json_object_new_object();
	char *text;

	json_object_object_add(value, "status", json_object_new_int(err->status));
	json_object_object_add(value, "error", json_object_new_string(ditto_error_code(err->status)));
	json_object_object_add(value, "message", json_object_new_string(err->message));
	if (err->description[0])
		json_object_object_add(value, "description",
				       json_object_new_string(err->description));
	text = ditto_encode_response(topic, path, correlation_id, err->status, value);
	json_object_put(value);
	return text;
}

int ditto_thing_to_topic_prefix(const char *thing_id, char *buf, size_t len)
{
	const char *colon = thing_id ? strchr(thing_id, ':') : NULL;
	int n;

	if (!colon || colon == thing_id || !colon[1])
		return -1;
	n = snprintf(buf, len, "%.*s/%s", (int)(colon - thing_id), thing_id, colon + 1);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

char *ditto_encode_twin_command(const char *thing_id, const char *action, const char *path,
				json_object *value)
{
	char prefix[512], topic[600];
	json_object *headers, *o;

	if (ditto_thing_to_topic_prefix(thing_id, prefix, sizeof(prefix)) < 0)
		return NULL;
	if (snprintf(topic, sizeof(topic), "%s/things/twin/commands/%s", prefix, action) >=
	    (int)sizeof(topic))
		return NULL;
	headers = json_object_new_object();
	json_object_object_add(headers, "response-required", json_object_new_boolean(0));
	if (value)
		json_object_object_add(headers, "content-type",
				       json_object_new_string("application/json"));
	o = envelope_new(topic, path, headers);
	if (o && value)
		json_object_object_add(o, "value", json_object_get(value));
	return to_text(o);
}
