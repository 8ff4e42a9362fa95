/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ditto protocol envelopes: decoding commands (lenient JSON, bounded size and depth)
 * and encoding responses, error responses and twin commands, as DESIGN.md "Protocol
 * decisions" says.
 */
#ifndef BERTH_CORE_DITTO_H
#define BERTH_CORE_DITTO_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include <berth/error.h>

/* A Ditto error: status, error code and text, ready to be encoded. */
struct ditto_error {
	int status;              /* 400, 404, 409, 429, 500, 501, 503 */
	char message[BERTH_ERROR_MESSAGE_MAX];
	char description[256];   /* optional hint, "" when none */
};

/* Sets the error; returns -1. */
int ditto_error_set(struct ditto_error *e, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Maps a berth error (from a backend or a parser) onto a Ditto status. */
int ditto_error_from_berth(struct ditto_error *e, const berth_error *err);
/* The Ditto error code for a status: "messages:parameter.invalid" for 400, ... */
const char *ditto_error_code(int status);

/* A decoded command envelope. Strings point into `root`, which the envelope owns. */
struct ditto_envelope {
	json_object *root;
	const char *topic;          /* never NULL after a successful decode */
	const char *path;           /* never NULL after a successful decode */
	const char *correlation_id; /* NULL when the header is absent */
	const char *content_type;   /* NULL when absent */
	bool response_required;     /* header value; true when absent (Ditto's default) */
	json_object *value;         /* NULL when absent; JSON null stays a null object */
	bool has_value;
};

struct ditto_limits {
	size_t max_payload; /* bytes */
	int max_depth;      /* JSON nesting */
};

/*
 * Decodes `len` bytes. Accepts what Ditto and the Container API page send, including a
 * trailing comma in objects and arrays. Rejects (400): empty payload, over max_payload,
 * nesting deeper than max_depth, invalid JSON, trailing garbage, a non-object, missing
 * or non-string topic/path, headers that are not an object, a correlation-id that is
 * not a non-empty string, a response-required that is not a boolean (or "true"/"false"),
 * a content-type that is not JSON. Header names are case-insensitive (Ditto).
 * On failure, *env is still usable for the error response: fields that could be read
 * (topic, path, correlation_id, response_required) are set, root may be NULL.
 */
int ditto_decode(const char *payload, size_t len, const struct ditto_limits *limits,
		 struct ditto_envelope *env, struct ditto_error *err);
void ditto_envelope_release(struct ditto_envelope *env);

/*
 * Response to a command: the request's topic, `path` (the outbox path, or the request
 * path for envelope errors), correlation-id echoed, `status`, `value` (may be NULL).
 * Returns a malloc()ed NUL-terminated JSON text (caller frees), or NULL on no memory.
 * `value` is borrowed (not consumed).
 */
char *ditto_encode_response(const char *topic, const char *path, const char *correlation_id,
			    int status, json_object *value);
/* The same for an error: value = {status, error, message[, description]}. */
char *ditto_encode_error(const char *topic, const char *path, const char *correlation_id,
			 const struct ditto_error *err);

/*
 * Twin command published as an event: topic "<ns>/<name>/things/twin/commands/<action>"
 * (action "modify" or "delete"), headers {response-required: false[, content-type]},
 * `path`, `value` (borrowed; NULL for delete). NULL when thing_id has no ':'.
 */
char *ditto_encode_twin_command(const char *thing_id, const char *action, const char *path,
				json_object *value);

/* "ns:name" -> writes "ns/name" into buf; -1 when it does not fit or has no ':'. */
int ditto_thing_to_topic_prefix(const char *thing_id, char *buf, size_t len);

/* Case-insensitive member lookup (Ditto headers, Container API value keys). */
json_object *ditto_object_get_ci(json_object *obj, const char *key);

#endif
