/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Engine backend: pulling a missing image, POST /images/create?fromImage=&tag=.
 *
 * Docker answers 200 as soon as the pull starts and reports progress, and failures, as
 * a stream of JSON objects: {"status": ...} lines, and {"errorDetail": {"message": ...},
 * "error": ...} when it fails. Failures detected before the stream starts (a malformed
 * reference, an unreachable registry on some versions) come as an ordinary error answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "restpull.h"

struct pull {
	struct restpull r;
	char *error; /* first error reported in the stream; malloc()ed */
};

static int on_object(void *userdata, json_object *obj)
{
	struct pull *p = userdata;
	const char *msg;

	if (p->error)
		return 0;
	msg = jsonutil_string(jsonutil_get(obj, "errorDetail"), "message");
	if (!msg)
		msg = jsonutil_string(obj, "error");
	if (msg) {
		p->error = strdup(msg);
		if (!p->error)
			p->r.nomem = true;
	}
	return 0;
}

int docker_pull(struct docker *d, const char *image, berth_error *err)
{
	struct docker_ref ref;
	struct pull p = { .error = NULL };
	struct unixhttp_request req = {
		.method = "POST",
		/* no overall limit (an image may be large); fail when progress stops */
		.low_speed_time_s = d->timeout_s > 60 ? d->timeout_s : 60,
	};
	struct unixhttp_response resp;
	char *repo = NULL, *tag = NULL, *target = NULL;
	berth_error e;
	int ret = -1;

	if (docker_ref_parse(image, &ref) < 0)
		return berth_error_set(err, BERTH_E_INVALID, "\"%s\" is not an image reference",
				       image);
	if (restpull_init(&p.r, on_object, &p) < 0) {
		docker_ref_release(&ref);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	repo = unixhttp_escape(ref.repo);
	tag = unixhttp_escape(ref.tag);
	if (!repo || !tag ||
	    asprintf(&target, "/images/create?fromImage=%s&tag=%s", repo, tag) < 0) {
		target = NULL;
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	req.target = target;
	restpull_attach(&p.r, &req);
	docker_log(d, BERTH_LOG_INFO, "pulling %s", ref.full);
	if (docker_call_stream(d, &req, &resp, &e) < 0) {
		if (p.r.stream_failed)
			berth_error_set(err, BERTH_E_RUNTIME,
					"pull %s: Docker sent a progress message larger than %u "
					"bytes", ref.full, RESTPULL_MAX_OBJECT);
		else if (p.r.nomem)
			berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		else
			berth_error_set(err, e.code, "pull %s: %s", ref.full, e.message);
		unixhttp_response_release(&resp);
		goto out;
	}
	unixhttp_response_release(&resp);
	if (p.r.nomem) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	} else if (p.r.status != 200) {
		struct unixhttp_response eresp = restpull_error_answer(&p.r);
		char *msg = docker_error_message(&eresp);

		docker_http_error(&eresp, "pull", &e);
		berth_error_set(err, e.code, "pull %s: %s", ref.full,
				msg ? msg : "Docker answered with an error");
		free(msg);
	} else if (p.error) {
		berth_error_set(err, BERTH_E_RUNTIME, "pull %s: %s", ref.full, p.error);
	} else {
		docker_log(d, BERTH_LOG_INFO, "pulled %s", ref.full);
		ret = 0;
	}
out:
	free(target);
	free(repo);
	free(tag);
	free(p.error);
	restpull_release(&p.r);
	docker_ref_release(&ref);
	return ret;
}
