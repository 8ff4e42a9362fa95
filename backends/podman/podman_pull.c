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
#include "restpull.h"

struct pull {
	struct restpull r;
	bool done;   /* the final {"id": ...} arrived */
	char *error; /* first error reported in the stream; malloc()ed */
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
			pl->r.nomem = true;
	}
	return 0;
}

int podman_pull(struct podman *p, const char *image, berth_error *err)
{
	struct pull pl = { .done = false };
	struct unixhttp_request req = {
		.method = "POST",
		/* no overall limit (an image may be large); fail when progress stops */
		.low_speed_time_s = p->timeout_s > 60 ? p->timeout_s : 60,
	};
	struct unixhttp_response resp;
	char *ref = NULL, *target = NULL;
	berth_error e;
	int ret = -1;

	if (restpull_init(&pl.r, on_object, &pl) < 0)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	ref = unixhttp_escape(image);
	if (!ref || asprintf(&target, "/images/pull?reference=%s&quiet=true", ref) < 0) {
		target = NULL;
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	req.target = target;
	restpull_attach(&pl.r, &req);
	podman_log(p, BERTH_LOG_INFO, "pulling %s", image);
	berth_error_clear(&e);
	if (podman_call_stream(p, &req, &resp, &e) < 0) {
		if (pl.r.stream_failed)
			berth_error_set(err, BERTH_E_RUNTIME,
					"pull %s: Podman sent a progress message larger than %u "
					"bytes", image, RESTPULL_MAX_OBJECT);
		else if (pl.r.nomem)
			berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		else
			berth_error_set(err, e.code, "pull %s: %s", image, e.message);
		unixhttp_response_release(&resp);
		goto out;
	}
	unixhttp_response_release(&resp);
	if (pl.r.nomem) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	} else if (pl.r.status != 200) {
		struct unixhttp_response eresp = restpull_error_answer(&pl.r);

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
	restpull_release(&pl.r);
	return ret;
}
