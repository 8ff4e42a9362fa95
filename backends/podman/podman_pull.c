/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Podman backend: pulling a missing image, POST /libpod/images/pull?reference=.
 *
 * Podman answers 200 as soon as the pull starts and reports progress, and failures, as
 * a stream of JSON objects: {"stream": ...} lines, {"error": ...} when it fails, and
 * {"id": ..., "images": [...]} when it is done. Failures detected before the stream
 * starts (a malformed reference) come as an ordinary error answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podman.h"

#define PULL_MAX_OBJECT (1u << 20)
#define PULL_MAX_ERROR_BODY (64u << 10)

struct pull {
	struct jsonutil_stream js;
	long status;
	bool stream_failed; /* an object exceeded PULL_MAX_OBJECT */
	bool done;          /* the final {"id": ...} arrived */
	char *error;        /* first error reported in the stream; malloc()ed */
	char *body;         /* an error answer's body (status != 200); malloc()ed */
	size_t body_len;
	bool nomem;
};

static int on_object(void *userdata, json_object *obj)
{
	struct pull *pl = userdata;
	const char *msg = jsonutil_string(obj, "error");

	if (jsonutil_string(obj, "id"))
		pl->done = true;
	if (msg && *msg && !pl->error) {
		pl->error = strdup(msg);
		if (!pl->error)
			pl->nomem = true;
	}
	return 0;
}

static void on_headers(void *userdata, long status)
{
	struct pull *pl = userdata;

	pl->status = status;
}

static bool on_data(void *userdata, const char *data, size_t len)
{
	struct pull *pl = userdata;

	if (pl->status == 200) {
		if (jsonutil_stream_feed(&pl->js, data, len) < 0) {
			pl->stream_failed = true;
			return false;
		}
		return true;
	}
	if (pl->body_len + len > PULL_MAX_ERROR_BODY)
		len = PULL_MAX_ERROR_BODY - pl->body_len;
	if (len) {
		char *b = realloc(pl->body, pl->body_len + len + 1);

		if (!b) {
			pl->nomem = true;
			return false;
		}
		memcpy(b + pl->body_len, data, len);
		pl->body_len += len;
		b[pl->body_len] = '\0';
		pl->body = b;
	}
	return true;
}

int podman_pull(struct podman *p, const char *image, berth_error *err)
{
	struct pull pl = { 0 };
	struct unixhttp_request req = {
		.method = "POST",
		.on_data = on_data,
		.on_headers = on_headers,
		.userdata = &pl,
		/* no overall limit (an image may be large); fail when progress stops */
		.low_speed_time_s = p->timeout_s > 60 ? p->timeout_s : 60,
	};
	struct unixhttp_response resp;
	char *ref = NULL, *target = NULL;
	berth_error e;
	int ret = -1;

	if (jsonutil_stream_init(&pl.js, PULL_MAX_OBJECT, on_object, &pl) < 0)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	ref = unixhttp_escape(image);
	if (!ref || asprintf(&target, "/images/pull?reference=%s&quiet=true", ref) < 0) {
		target = NULL;
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	req.target = target;
	podman_log(p, BERTH_LOG_INFO, "pulling %s", image);
	berth_error_clear(&e);
	if (podman_call_stream(p, &req, &resp, &e) < 0) {
		if (pl.stream_failed)
			berth_error_set(err, BERTH_E_RUNTIME,
					"pull %s: Podman sent a progress message larger than %u "
					"bytes", image, PULL_MAX_OBJECT);
		else if (pl.nomem)
			berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		else
			berth_error_set(err, e.code, "pull %s: %s", image, e.message);
		unixhttp_response_release(&resp);
		goto out;
	}
	unixhttp_response_release(&resp);
	if (pl.nomem) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	} else if (pl.status != 200) {
		struct unixhttp_response eresp = { .status = pl.status, .body = pl.body,
						   .body_len = pl.body_len };

		podman_http_error(&eresp, "pull", &e);
		berth_error_set(err, e.code, "pull %s: %s", image, e.message);
	} else if (pl.error) {
		berth_error_set(err, BERTH_E_RUNTIME, "pull %s: %s", image, pl.error);
	} else if (!pl.done) {
		berth_error_set(err, BERTH_E_RUNTIME, "pull %s: Podman ended the pull without "
				"naming the image", image);
	} else {
		podman_log(p, BERTH_LOG_INFO, "pulled %s", image);
		ret = 0;
	}
out:
	free(target);
	free(ref);
	free(pl.error);
	free(pl.body);
	jsonutil_stream_release(&pl.js);
	return ret;
}
