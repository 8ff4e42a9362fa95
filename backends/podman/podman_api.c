/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Podman backend: libpod requests and the mapping of podman's answers onto berth codes.
 *
 * Every request goes to /v4.0.0/libpod/...: Podman 4.x and 5.x serve the libpod API under
 * any v4+ prefix, so the prefix is fixed and the service's own version (GET
 * /libpod/version) only decides what we may ask (update needs 4.3).
 *
 * Errors are {"cause": ..., "message": ..., "response": status}. Podman 4.3 answers
 * state errors with 500 and cause "container state improper" ("is already paused",
 * "can only kill running containers", "cannot remove ... as it is running"), a name
 * clash with 500 "that name is already in use": both are conflicts for berth.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podman.h"

long podman_timeout_ms(const struct podman *p)
{
	return (long)p->timeout_s * 1000L;
}

int podman_parse_version(const char *s, int *major, int *minor)
{
	char *end;
	long a, b;

	if (!s || *s < '0' || *s > '9')
		return -1;
	a = strtol(s, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return -1;
	b = strtol(end + 1, &end, 10);
	if (a > 10000 || b > 10000)
		return -1;
	*major = (int)a;
	*minor = (int)b;
	return 0;
}

int podman_unreachable(const struct podman *p, const struct unixhttp_error *uerr,
		       berth_error *err)
{
	switch (uerr->failure) {
	case UNIXHTTP_E_NOMEM:
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	case UNIXHTTP_E_TIMEOUT:
		return berth_error_set(err, BERTH_E_TIMEOUT,
				       "Podman service at %s did not answer in time: %s",
				       p->socket, uerr->text);
	case UNIXHTTP_E_TOO_BIG:
		return berth_error_set(err, BERTH_E_RUNTIME, "Podman service at %s: %s",
				       p->socket, uerr->text);
	default:
		return berth_error_set(err, BERTH_E_UNAVAILABLE,
				       "Podman service at %s is unreachable: %s", p->socket,
				       uerr->text);
	}
}

int podman_error_code(long status, const char *cause, const char *message)
{
	static const char *const conflicts[] = {
		"container state improper", "already in use", "is running", "is not running",
		"is paused", "is already paused", "is not paused", "already exists",
	};

	switch (status) {
	case 304: /* not modified: already started / already stopped */
	case 409:
		return BERTH_E_CONFLICT;
	case 404:
		return BERTH_E_NOT_FOUND;
	case 400:
		return BERTH_E_INVALID;
	case 501:
		return BERTH_E_UNSUPPORTED;
	case 503:
		return BERTH_E_UNAVAILABLE;
	default:
		break;
	}
	if (status != 500)
		return BERTH_E_RUNTIME;
	if (cause && strcmp(cause, "no such container") == 0)
		return BERTH_E_NOT_FOUND;
	if (cause && strcmp(cause, "invalid argument") == 0)
		return BERTH_E_INVALID;
	for (size_t i = 0; i < sizeof(conflicts) / sizeof(conflicts[0]); i++)
		if ((cause && strstr(cause, conflicts[i])) ||
		    (message && strstr(message, conflicts[i])))
			return BERTH_E_CONFLICT;
	return BERTH_E_RUNTIME;
}

int podman_http_error(const struct unixhttp_response *resp, const char *what, berth_error *err)
{
	json_object *root = resp->body_len ? json_tokener_parse(resp->body) : NULL;
	const char *cause = jsonutil_string(root, "cause");
	const char *msg = jsonutil_string(root, "message");
	int code = podman_error_code(resp->status, cause, msg);

	if (resp->status == 304)
		berth_error_set(err, code, "%s: container already in that state", what);
	else if (msg && *msg)
		berth_error_set(err, code, "%s", msg);
	else
		berth_error_set(err, code, "%s: Podman answered HTTP %ld", what, resp->status);
	json_object_put(root);
	return -1;
}

/* The libpod API version in GET /libpod/version's Components ("Podman Engine"). */
static const char *api_version_of(json_object *root)
{
	json_object *comps = jsonutil_get(root, "Components");
	size_t n;

	if (!comps || !json_object_is_type(comps, json_type_array))
		return NULL;
	n = json_object_array_length(comps);
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(comps, i);
		const char *name = jsonutil_string(c, "Name");

		if (name && strcmp(name, "Podman Engine") == 0)
			return jsonutil_string(jsonutil_get(c, "Details"), "APIVersion");
	}
	return NULL;
}

int podman_probe(struct podman *p, long timeout_ms, berth_error *err)
{
	struct unixhttp_request req = {
		.method = "GET",
		.target = PODMAN_API_PREFIX "/version",
		.timeout_ms = timeout_ms,
		.max_response = 1u << 20,
	};
	struct unixhttp_response resp;
	struct unixhttp_error uerr;
	json_object *root = NULL;
	const char *version, *api;
	char *v = NULL, *a = NULL, *old = NULL;
	int major, minor, ret = -1;

	if (unixhttp_request(p->http, &req, &resp, &uerr) < 0) {
		podman_unreachable(p, &uerr, err);
		goto out;
	}
	root = json_tokener_parse(resp.body);
	version = jsonutil_string(root, "Version");
	if (resp.status != 200 || podman_parse_version(version, &major, &minor) < 0) {
		berth_error_set(err, BERTH_E_UNAVAILABLE,
				"Podman service at %s answered HTTP %ld to GET "
				PODMAN_API_PREFIX "/version without a version", p->socket,
				resp.status);
		goto out;
	}
	if (major < 4) {
		berth_error_set(err, BERTH_E_UNAVAILABLE,
				"Podman %s at %s is too old: this backend needs Podman 4.0 or "
				"newer", version, p->socket);
		goto out;
	}
	api = api_version_of(root);
	v = strdup(version);
	a = strdup(api ? api : version);
	if (!v || !a) {
		free(v);
		free(a);
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	pthread_mutex_lock(&p->lock);
	old = p->version;
	if (!old || strcmp(old, v) != 0)
		podman_log(p, BERTH_LOG_INFO, "Podman %s (libpod API %s) at %s%s", v, a,
			   p->socket,
			   major > PODMAN_UPDATE_MAJOR ||
					   (major == PODMAN_UPDATE_MAJOR &&
					    minor >= PODMAN_UPDATE_MINOR)
				   ? ""
				   : ": no live update before Podman 4.3");
	p->version = v;
	free(p->api_version);
	p->api_version = a;
	p->major = major;
	p->minor = minor;
	pthread_mutex_unlock(&p->lock);
	free(old);
	ret = 0;
out:
	json_object_put(root);
	unixhttp_response_release(&resp);
	return ret;
}

bool podman_has_update(struct podman *p)
{
	bool yes;

	pthread_mutex_lock(&p->lock);
	yes = p->major > PODMAN_UPDATE_MAJOR ||
	      (p->major == PODMAN_UPDATE_MAJOR && p->minor >= PODMAN_UPDATE_MINOR);
	pthread_mutex_unlock(&p->lock);
	return yes;
}

static int call_req(struct podman *p, struct unixhttp_request *req,
		    struct unixhttp_response *resp, berth_error *err)
{
	struct unixhttp_error uerr;
	const char *rel = req->target;
	char *target = NULL;
	int ret;

	memset(resp, 0, sizeof(*resp));
	if (asprintf(&target, PODMAN_API_PREFIX "%s", rel) < 0)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	req->target = target;
	ret = unixhttp_request(p->http, req, resp, &uerr);
	req->target = rel;
	if (ret < 0)
		podman_unreachable(p, &uerr, err);
	free(target);
	return ret;
}

int podman_callf(struct podman *p, const char *method, json_object *body, long timeout_ms,
		 struct unixhttp_response *resp, berth_error *err, const char *fmt, ...)
{
	struct unixhttp_request req = { .method = method, .timeout_ms = timeout_ms };
	char *target = NULL;
	va_list ap;
	int n, ret;

	memset(resp, 0, sizeof(*resp));
	va_start(ap, fmt);
	n = vasprintf(&target, fmt, ap);
	va_end(ap);
	if (n < 0)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	if (body) {
		size_t len = 0;

		req.body = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len);
		if (!req.body) {
			free(target);
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		}
		req.body_len = len;
	}
	req.target = target;
	ret = call_req(p, &req, resp, err);
	free(target);
	return ret;
}

int podman_call_stream(struct podman *p, struct unixhttp_request *req,
		       struct unixhttp_response *resp, berth_error *err)
{
	return call_req(p, req, resp, err);
}
