/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jsonutil: JSON helpers shared by the backends whose runtime speaks JSON over REST
 * (Docker Engine API, Podman's libpod API), on json-c.
 *
 *  - NULL-safe member access (jsonutil_get, jsonutil_string);
 *  - RFC 3339 times -> ns since the epoch (both runtimes write Go's time.Time);
 *  - an incremental parser for the streams of JSON objects both send (events, pull
 *    progress): chunks are fed to one json_tokener as they arrive, so an object split
 *    across reads is completed by the next read and several objects in one read are all
 *    delivered. One object may take at most max_object bytes; a syntax error skips to
 *    the next newline.
 */
#ifndef BERTH_JSONUTIL_H
#define BERTH_JSONUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* The member `key` of object o; NULL when o is not an object or has no such member. */
json_object *jsonutil_get(json_object *o, const char *key);
/* The member `key` when it is a string (borrowed), else NULL. */
const char *jsonutil_string(json_object *o, const char *key);

/* RFC 3339 (with optional fraction and offset) -> ns since the epoch; Go's zero time
 * "0001-01-01T00:00:00Z" and unparsable text -> 0. */
int64_t jsonutil_parse_time(const char *s);

struct jsonutil_stream {
	json_tokener *tok;
	size_t pending;      /* bytes fed into the unfinished object */
	size_t max_object;
	bool skip_line;      /* after a syntax error: drop input up to the next newline */
	int (*on_object)(void *userdata, json_object *obj); /* non-zero stops the stream */
	void *userdata;
};
int jsonutil_stream_init(struct jsonutil_stream *s, size_t max_object,
			 int (*on_object)(void *userdata, json_object *obj), void *userdata);
void jsonutil_stream_release(struct jsonutil_stream *s);
void jsonutil_stream_reset(struct jsonutil_stream *s);
/* Returns 0, or -1 when an object exceeds max_object, or on_object's non-zero value. */
int jsonutil_stream_feed(struct jsonutil_stream *s, const char *data, size_t len);

#endif
