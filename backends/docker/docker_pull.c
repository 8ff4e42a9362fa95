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

#define PULL_MAX_OBJECT (1u << 20)
#define PULL_MAX_ERROR_BODY (64u << 10)

struct pull {
	struct jsonutil_stream js;
	long status;
	bool stream_failed; /* an object exceeded PULL_MAX_OBJECT */
	char *error;        /* first error reported in the stream; malloc()ed */
	char *body;         /* an error answer's body (status != 200); malloc()ed */
	size_t body_len;
	bool nomem;
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
			p->nomem = true;
	}
	return 0;
}

static void on_headers(void *userdata, long status)
{
	struct pull *p = userdata;

	p->status = status;
}

static bool on_data(void *userdata, const char *data, size_t len)
{
	struct pull *p = userdata;

	if (p->status == 200) {
		if (jsonutil_stream_feed(&p->js, data, len) < 0) {
			p->stream_failed = true;
			return false;
		}
		return true;
	}
	/* an error answer: keep (a bounded part of) it for its message */
	if (p->body_len + len > PULL_MAX_ERROR_BODY)
		len = PULL_MAX_ERROR_BODY - p->body_len;
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

int docker_pull(struct docker *d, const char *image, berth_error *err)
{
	struct docker_ref ref;
	struct pull p = { 0 };
	struct unixhttp_request req = {
		.method = "POST",
		.on_data = on_data,
		.on_headers = on_headers,
		.userdata = &p,
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
	if (jsonutil_stream_init(&p.js, PULL_MAX_OBJECT, on_object, &p) < 0) {
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
	docker_log(d, BERTH_LOG_INFO, "pulling %s", ref.full);
	if (docker_call_stream(d, &req, &resp, &e) < 0) {
		if (p.stream_failed)
			berth_error_set(err, BERTH_E_RUNTIME,
					"pull %s: Docker sent a progress message larger than %u "
					"bytes", ref.full, PULL_MAX_OBJECT);
		else if (p.nomem)
			berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		else
			berth_error_set(err, e.code, "pull %s: %s", ref.full, e.message);
		unixhttp_response_release(&resp);
		goto out;
	}
	unixhttp_response_release(&resp);
	if (p.nomem) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	} else if (p.status != 200) {
		struct unixhttp_response eresp = { .status = p.status, .body = p.body,
						   .body_len = p.body_len };
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
	free(p.body);
	jsonutil_stream_release(&p.js);
	docker_ref_release(&ref);
	return ret;
}
