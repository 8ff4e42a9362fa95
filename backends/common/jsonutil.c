/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jsonutil: JSON helpers shared by the REST backends (see jsonutil.h).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonutil.h"

json_object *jsonutil_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *jsonutil_string(json_object *o, const char *key)
{
	json_object *v = jsonutil_get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v)
							       : NULL;
}

static int digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

int64_t jsonutil_parse_time(const char *s)
{
	struct tm tm = { 0 };
	int64_t ns = 0, secs;
	int y, mo, d, h, mi, sec, off = 0;
	time_t t;

	if (!s)
		return 0;
	if ((y = digits(&s, 4)) < 0 || *s++ != '-' || (mo = digits(&s, 2)) < 0 || *s++ != '-' ||
	    (d = digits(&s, 2)) < 0 || (*s != 'T' && *s != 't' && *s != ' '))
		return 0;
	s++;
	if ((h = digits(&s, 2)) < 0 || *s++ != ':' || (mi = digits(&s, 2)) < 0 || *s++ != ':' ||
	    (sec = digits(&s, 2)) < 0)
		return 0;
	if (*s == '.') {
		int n = 0;

		for (s++; *s >= '0' && *s <= '9'; s++, n++)
			if (n < 9)
				ns = ns * 10 + (*s - '0');
		for (; n < 9; n++)
			ns *= 10;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1, oh, om;

		if ((oh = digits(&s, 2)) < 0 || *s++ != ':' || (om = digits(&s, 2)) < 0)
			return 0;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return 0;
	}
	if (*s || y <= 1970 - 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return 0; /* includes Go's zero time 0001-01-01T00:00:00Z */
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return 0;
	secs = (int64_t)t - off;
	if (secs < 0 || secs > INT64_MAX / 1000000000 - 1)
		return 0;
	return secs * 1000000000 + ns;
}

int jsonutil_stream_init(struct jsonutil_stream *s, size_t max_object,
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

void jsonutil_stream_release(struct jsonutil_stream *s)
{
	if (s->tok)
		json_tokener_free(s->tok);
	s->tok = NULL;
}

void jsonutil_stream_reset(struct jsonutil_stream *s)
{
	json_tokener_reset(s->tok);
	s->pending = 0;
	s->skip_line = false;
}

int jsonutil_stream_feed(struct jsonutil_stream *s, const char *data, size_t len)
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
			jsonutil_stream_reset(s);
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
