/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Engine backend: API version negotiation, versioned requests, and the mapping of
 * Docker's answers (HTTP status + {"message": ...}) and of transport failures onto berth
 * error codes.
 *
 * Negotiation: GET /version (the one unversioned request, as Docker's own client
 * negotiates with /_ping) gives ApiVersion and MinAPIVersion; we speak
 * min(ApiVersion, 1.47) and refuse when that is below 1.41 or below MinAPIVersion. The
 * result is kept until a request fails to reach dockerd; the next request (or the event
 * thread's reconnect) negotiates again, since the daemon may have been upgraded.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

long docker_timeout_ms(const struct docker *d)
{
	return (long)d->timeout_s * 1000L;
}

int docker_parse_api_minor(const char *s)
{
	int minor = 0;

	if (!s || strncmp(s, "1.", 2) != 0 || !s[2])
		return -1;
	for (s += 2; *s; s++) {
		if (*s < '0' || *s > '9' || minor > 100000)
			return -1;
		minor = minor * 10 + (*s - '0');
	}
	return minor;
}

int docker_unreachable(struct docker *d, const struct unixhttp_error *uerr, berth_error *err)
{
	switch (uerr->failure) {
	case UNIXHTTP_E_NOMEM:
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	case UNIXHTTP_E_TIMEOUT:
		return berth_error_set(err, BERTH_E_TIMEOUT,
				       "Docker engine at %s did not answer in time: %s", d->socket,
				       uerr->text);
	case UNIXHTTP_E_TOO_BIG:
		return berth_error_set(err, BERTH_E_RUNTIME, "Docker engine at %s: %s", d->socket,
				       uerr->text);
	default:
		return berth_error_set(err, BERTH_E_UNAVAILABLE,
				       "Docker engine at %s is unreachable: %s", d->socket,
				       uerr->text);
	}
}

char *docker_error_message(const struct unixhttp_response *resp)
{
	json_object *root, *msg;
	char *text = NULL;

	if (!resp->body || !resp->body_len)
		return NULL;
	root = json_tokener_parse(resp->body);
	if (root && json_object_object_get_ex(root, "message", &msg) &&
	    json_object_is_type(msg, json_type_string))
		text = strdup(json_object_get_string(msg));
	json_object_put(root);
	return text;
}

/* State errors some Docker versions answer with 500 rather than 409. */
static bool is_state_conflict(const char *msg)
{
	static const char *const phrases[] = {
		"is not running", "is not paused", "is already paused", "is paused",
		"is restarting", "is already running",
	};

	for (size_t i = 0; msg && i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (strstr(msg, phrases[i]))
			return true;
	return false;
}

int docker_http_error(const struct unixhttp_response *resp, const char *what, berth_error *err)
{
	char *msg = docker_error_message(resp);
	int code;

	switch (resp->status) {
	case 400: code = BERTH_E_INVALID; break;
	case 304: /* not modified: already started / already stopped */
	case 409: code = BERTH_E_CONFLICT; break;
	case 404: code = BERTH_E_NOT_FOUND; break;
	case 501: code = BERTH_E_UNSUPPORTED; break;
	case 503: code = BERTH_E_UNAVAILABLE; break;
	default: code = BERTH_E_RUNTIME; break;
	}
	if (resp->status == 500 && is_state_conflict(msg))
		code = BERTH_E_CONFLICT;
	if (msg && *msg)
		berth_error_set(err, code, "%s", msg);
	else
		berth_error_set(err, code, "%s: Docker answered HTTP %ld", what, resp->status);
	free(msg);
	return -1;
}

int docker_negotiate(struct docker *d, berth_error *err)
{
	return docker_negotiate_within(d, docker_timeout_ms(d), err);
}

int docker_negotiate_within(struct docker *d, long timeout_ms, berth_error *err)
{
	struct unixhttp_request req = {
		.method = "GET",
		.target = "/version",
		.timeout_ms = timeout_ms,
		.max_response = 1u << 20,
	};
	struct unixhttp_response resp;
	struct unixhttp_error uerr;
	json_object *root = NULL;
	const char *version, *api, *min_api;
	int server_max, server_min, minor, old, ret = -1;
	char *engine = NULL;

	if (unixhttp_request(d->http, &req, &resp, &uerr) < 0) {
		docker_api_forget(d);
		docker_unreachable(d, &uerr, err);
		goto out;
	}
	if (resp.status != 200) {
		char *msg = docker_error_message(&resp);

		berth_error_set(err, BERTH_E_UNAVAILABLE,
				"Docker engine at %s answered HTTP %ld to GET /version%s%s",
				d->socket, resp.status, msg ? ": " : "", msg ? msg : "");
		free(msg);
		goto out;
	}
	root = json_tokener_parse(resp.body);
	version = jsonutil_string(root, "Version");
	api = jsonutil_string(root, "ApiVersion");
	min_api = jsonutil_string(root, "MinAPIVersion");
	server_max = docker_parse_api_minor(api);
	server_min = min_api ? docker_parse_api_minor(min_api) : 0;
	if (server_max < 0 || server_min < 0) {
		berth_error_set(err, BERTH_E_UNAVAILABLE,
				"Docker engine at %s: cannot read ApiVersion/MinAPIVersion from "
				"GET /version", d->socket);
		goto out;
	}
	if (d->pinned_minor) {
		minor = d->pinned_minor;
		if (minor > server_max || minor < server_min) {
			berth_error_set(err, BERTH_E_UNAVAILABLE,
					"Docker engine %s at %s speaks API 1.%d to 1.%d; the "
					"configured api_version 1.%d is outside that range",
					version ? version : "", d->socket, server_min, server_max,
					minor);
			goto out;
		}
	} else {
		minor = server_max < DOCKER_API_MAX_MINOR ? server_max : DOCKER_API_MAX_MINOR;
		if (minor < DOCKER_API_MIN_MINOR) {
			berth_error_set(err, BERTH_E_UNAVAILABLE,
					"Docker engine %s at %s speaks API 1.%d at most; this "
					"backend needs 1.%d or newer (Docker 20.10)",
					version ? version : "", d->socket, server_max,
					DOCKER_API_MIN_MINOR);
			goto out;
		}
		if (minor < server_min) {
			berth_error_set(err, BERTH_E_UNAVAILABLE,
					"Docker engine %s at %s requires API 1.%d or newer; this "
					"backend speaks 1.%d to 1.%d",
					version ? version : "", d->socket, server_min,
					DOCKER_API_MIN_MINOR, DOCKER_API_MAX_MINOR);
			goto out;
		}
	}
	engine = strdup(version ? version : "");
	if (!engine) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	pthread_mutex_lock(&d->lock);
	old = d->logged_minor;
	d->api_minor = minor;
	d->logged_minor = minor;
	free(d->engine_version);
	d->engine_version = engine;
	pthread_mutex_unlock(&d->lock);
	if (old != minor)
		docker_log(d, BERTH_LOG_INFO,
			   "Docker engine %s at %s: using API 1.%d (engine: 1.%d to 1.%d)",
			   version ? version : "", d->socket, minor, server_min, server_max);
	ret = 0;
out:
	json_object_put(root);
	unixhttp_response_release(&resp);
	return ret;
}

int docker_api_minor(struct docker *d, berth_error *err)
{
	int minor;

	pthread_mutex_lock(&d->lock);
	minor = d->api_minor;
	pthread_mutex_unlock(&d->lock);
	if (minor)
		return minor;
	if (docker_negotiate(d, err) < 0)
		return -1;
	pthread_mutex_lock(&d->lock);
	minor = d->api_minor;
	pthread_mutex_unlock(&d->lock);
	return minor;
}

int docker_check_engine(struct docker *d, berth_error *err)
{
	struct unixhttp_response resp;
	int minor, ret;

	pthread_mutex_lock(&d->lock);
	minor = d->api_minor;
	pthread_mutex_unlock(&d->lock);
	if (!minor)
		return docker_negotiate(d, err);
	/* GET /version makes dockerd ask containerd, runc and docker-init for their versions
	 * (10-20 ms on a small machine); once negotiated, /_ping says as much about reachability */
	if (docker_call(d, "GET", "/_ping", NULL, docker_timeout_ms(d), &resp, err) < 0)
		ret = -1;
	else if (resp.status != 200)
		ret = berth_error_set(err, BERTH_E_UNAVAILABLE,
				      "Docker engine at %s answered HTTP %ld to GET /_ping", d->socket,
				      resp.status);
	else
		ret = 0;
	unixhttp_response_release(&resp);
	return ret;
}

void docker_api_forget(struct docker *d)
{
	pthread_mutex_lock(&d->lock);
	d->api_minor = 0;
	pthread_mutex_unlock(&d->lock);
}

/* Sends req (target relative to the version prefix) as /v1.NN<target>. */
static int call_req(struct docker *d, struct unixhttp_request *req,
		    struct unixhttp_response *resp, berth_error *err)
{
	struct unixhttp_error uerr;
	const char *rel = req->target;
	char *target = NULL;
	int minor, ret;

	memset(resp, 0, sizeof(*resp));
	minor = docker_api_minor(d, err);
	if (minor < 0)
		return -1;
	if (asprintf(&target, "/v1.%d%s", minor, rel) < 0)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	req->target = target;
	ret = unixhttp_request(d->http, req, resp, &uerr);
	req->target = rel;
	if (ret < 0) {
		if (uerr.failure == UNIXHTTP_E_CONNECT || uerr.failure == UNIXHTTP_E_TRANSFER)
			docker_api_forget(d);
		docker_unreachable(d, &uerr, err);
	}
	free(target);
	return ret;
}

int docker_call(struct docker *d, const char *method, const char *target, json_object *body,
		long timeout_ms, struct unixhttp_response *resp, berth_error *err)
{
	struct unixhttp_request req = {
		.method = method,
		.target = target,
		.timeout_ms = timeout_ms,
	};

	if (body) {
		size_t len = 0;

		req.body = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len);
		if (!req.body)
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		req.body_len = len;
	}
	return call_req(d, &req, resp, err);
}

int docker_callf(struct docker *d, const char *method, json_object *body, long timeout_ms,
		 struct unixhttp_response *resp, berth_error *err, const char *fmt, ...)
{
	char *target = NULL;
	va_list ap;
	int n, ret;

	memset(resp, 0, sizeof(*resp));
	va_start(ap, fmt);
	n = vasprintf(&target, fmt, ap);
	va_end(ap);
	if (n < 0)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	ret = docker_call(d, method, target, body, timeout_ms, resp, err);
	free(target);
	return ret;
}

int docker_call_stream(struct docker *d, struct unixhttp_request *req,
		       struct unixhttp_response *resp, berth_error *err)
{
	return call_req(d, req, resp, err);
}
