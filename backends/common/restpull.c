/* SPDX-License-Identifier: Apache-2.0 */
/* restpull: collecting the answer to an image pull (see restpull.h). */
#include <stdlib.h>
#include <string.h>

#include "restpull.h"

static void on_headers(void *userdata, long status)
{
	struct restpull *p = userdata;

	p->status = status;
}

static bool on_data(void *userdata, const char *data, size_t len)
{
	struct restpull *p = userdata;

	if (p->status == 200) {
		if (jsonutil_stream_feed(&p->js, data, len) < 0) {
			p->stream_failed = true;
			return false;
		}
		return true;
	}
	/* an error answer: keep (a bounded part of) it for its message */
	if (p->body_len + len > RESTPULL_MAX_ERROR_BODY)
		len = RESTPULL_MAX_ERROR_BODY - p->body_len;
	if (len) {
		char *b = realloc(p->body, p->body_len + len + 1);

		if (!b) {
			p->nomem = true;
			return false;
		}
		memcpy(b + p->body_len, data, len);
		p->body_len += len;
		b[p->body_len] = '\0';
		p->body = b;
	}
	return true;
}

int restpull_init(struct restpull *p, int (*on_object)(void *userdata, json_object *obj),
		  void *userdata)
{
	memset(p, 0, sizeof(*p));
	return jsonutil_stream_init(&p->js, RESTPULL_MAX_OBJECT, on_object, userdata);
}

void restpull_attach(struct restpull *p, struct unixhttp_request *req)
{
	req->on_headers = on_headers;
	req->on_data = on_data;
	req->userdata = p;
}

struct unixhttp_response restpull_error_answer(const struct restpull *p)
{
	struct unixhttp_response r = { .status = p->status, .body = p->body,
				       .body_len = p->body_len };

	return r;
}

void restpull_release(struct restpull *p)
{
	free(p->body);
	p->body = NULL;
	jsonutil_stream_release(&p->js);
}
