/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Engine backend: an incremental parser for the streams of JSON objects Docker
 * sends (GET /events, POST /images/create progress). Chunks are fed to one json_tokener
 * as they arrive, so an object split across reads is completed by the next read and
 * several objects in one read are all delivered. One object may take at most
 * max_object bytes (the tokener's buffer is bounded through that); a syntax error skips
 * to the next newline.
 */
#include <limits.h>
#include <string.h>

#include "docker.h"

int docker_jsonstream_init(struct docker_jsonstream *s, size_t max_object,
			   int (*on_object)(void *userdata, json_object *obj), void *userdata)
{
	memset(s, 0, sizeof(*s));
	s->tok = json_tokener_new();
	if (!s->tok)
		return -1;
	s->max_object = max_object;
	s->on_object = on_object;
	s->userdata = userdata;
	return 0;
}

void docker_jsonstream_release(struct docker_jsonstream *s)
{
	if (s->tok)
		json_tokener_free(s->tok);
	s->tok = NULL;
}

void docker_jsonstream_reset(struct docker_jsonstream *s)
{
	json_tokener_reset(s->tok);
	s->pending = 0;
	s->skip_line = false;
}

int docker_jsonstream_feed(struct docker_jsonstream *s, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t chunk = len - off, used;
		enum json_tokener_error jerr;
		json_object *obj;
		int rc;

		if (s->skip_line) {
			const char *nl = memchr(data + off, '\n', chunk);

			if (!nl)
				return 0;
			off = (size_t)(nl - data) + 1;
			docker_jsonstream_reset(s);
			continue;
		}
		if (chunk > INT_MAX)
			chunk = INT_MAX;
		obj = json_tokener_parse_ex(s->tok, data + off, (int)chunk);
		jerr = json_tokener_get_error(s->tok);
		used = json_tokener_get_parse_end(s->tok);
		if (obj) {
			off += used ? used : chunk;
			json_tokener_reset(s->tok);
			s->pending = 0;
			rc = s->on_object(s->userdata, obj);
			json_object_put(obj);
			if (rc)
				return rc;
			continue;
		}
		if (jerr == json_tokener_continue) {
			s->pending += chunk;
			if (s->pending > s->max_object)
				return -1;
			off += chunk;
			continue;
		}
		/* syntax error: drop the rest of this line */
		json_tokener_reset(s->tok);
		s->pending = 0;
		s->skip_line = true;
		off += used > 0 ? used - 1 : 0;
	}
	return 0;
}
