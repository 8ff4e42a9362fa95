/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Engine backend: the container operations of the driver table, one Engine API
 * request each (create may pull and retry; rename may inspect first; list inspects every
 * container it finds). Safe for concurrent calls: each request takes its own connection
 * (a kept-alive one from the client's pool, or a new one).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "restlist.h"

/* A request to /containers/<id><suffix>; suffix starts with '/' or '?' or is "". */
static int container_call(struct docker *d, const char *method, const char *id,
			  const char *suffix, json_object *body, long timeout_ms,
			  struct unixhttp_response *resp, berth_error *err)
{
	char *eid;
	int ret;

	memset(resp, 0, sizeof(*resp));
	if (!id || !*id)
		return berth_error_set(err, BERTH_E_INVALID, "empty container id");
	eid = unixhttp_escape(id);
	if (!eid)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	ret = docker_callf(d, method, body, timeout_ms, resp, err, "/containers/%s%s", eid,
			   suffix);
	free(eid);
	return ret;
}

/* For ops whose only success is 204 and whose 304 means `not_modified`. */
static int simple_post(struct docker *d, const char *id, const char *suffix, long timeout_ms,
		       const char *not_modified, const char *what, berth_error *err)
{
	struct unixhttp_response resp;
	int ret = 0;

	if (container_call(d, "POST", id, suffix, NULL, timeout_ms, &resp, err) < 0) {
		ret = -1;
	} else if (resp.status == 304 && not_modified) {
		ret = berth_error_set(err, BERTH_E_CONFLICT, "container %s %s", id, not_modified);
	} else if (resp.status < 200 || resp.status > 299) {
		ret = docker_http_error(&resp, what, err);
	}
	unixhttp_response_release(&resp);
	return ret;
}

static bool is_no_such_image(const struct unixhttp_response *resp)
{
	char *msg;
	bool yes;

	if (resp->status != 404)
		return false;
	msg = docker_error_message(resp);
	yes = msg && strncasecmp(msg, "No such image", 13) == 0;
	free(msg);
	return yes;
}

int docker_op_create(void *instance, const berth_container_spec *spec, unsigned flags,
		     char **native_id_out, berth_error *err)
{
	struct docker *d = instance;
	struct unixhttp_response resp = { 0 };
	json_object *body, *root = NULL;
	char *name = NULL, *ename = NULL;
	const char *id;
	int ret = -1;

	BERTH_CHECK_FLAGS(flags, BERTH_CREATE_NO_PULL, err);
	body = docker_spec_create_body(spec, err);
	if (!body)
		return -1;
	if (!spec->name || !*spec->name) {
		berth_error_set(err, BERTH_E_INVALID, "a container needs a name");
		goto out;
	}
	name = docker_name_for(spec->name, spec->berth_id);
	ename = name ? unixhttp_escape(name) : NULL;
	if (!ename) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	for (int attempt = 0;; attempt++) {
		if (docker_callf(d, "POST", body, docker_timeout_ms(d), &resp, err,
				 "/containers/create?name=%s", ename) < 0)
			goto out;
		if (resp.status == 201 || resp.status == 200)
			break;
		if (is_no_such_image(&resp)) {
			if (attempt == 0 && d->pull && !(flags & BERTH_CREATE_NO_PULL)) {
				unixhttp_response_release(&resp);
				if (docker_pull(d, spec->image, err) < 0)
					goto out;
				continue;
			}
			berth_error_set(err, BERTH_E_NOT_FOUND, "no such image: %s", spec->image);
			goto out;
		}
		docker_http_error(&resp, "create", err);
		goto out;
	}
	root = json_tokener_parse(resp.body);
	id = jsonutil_string(root, "Id");
	if (!id || !*id) {
		berth_error_set(err, BERTH_E_RUNTIME, "Docker created %s but sent no Id", name);
		goto out;
	}
	*native_id_out = strdup(id);
	if (!*native_id_out) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	if (strcmp(name, spec->name) != 0)
		docker_log(d, BERTH_LOG_INFO,
			   "container \"%s\" is \"%s\" in Docker (Docker refuses the name)",
			   spec->name, name);
	ret = 0;
out:
	unixhttp_response_release(&resp);
	json_object_put(root);
	json_object_put(body);
	free(name);
	free(ename);
	return ret;
}

int docker_op_start(void *instance, const char *id, unsigned flags, berth_error *err)
{
	int rc;

	BERTH_CHECK_FLAGS(flags, 0, err);
	rc = simple_post(instance, id, "/start", docker_timeout_ms(instance),
			 "is already running", "start", err);
	/* Docker answers 400 when the OCI runtime cannot exec the command: the container
	 * exists and its start failed, a runtime failure rather than a bad request. */
	if (rc < 0 && err && err->code == BERTH_E_INVALID)
		err->code = BERTH_E_RUNTIME;
	return rc;
}

int docker_op_kill(void *instance, const char *id, int signal, unsigned flags,
		   berth_error *err)
{
	char suffix[32];

	BERTH_CHECK_FLAGS(flags, BERTH_KILL_ALL, err);
	if (signal <= 0 || signal >= 65)
		return berth_error_set(err, BERTH_E_INVALID, "invalid signal %d", signal);
	/* Docker signals the container's first process; killing it with SIGKILL ends
	 * every process of the container (its PID namespace goes with it). */
	if ((flags & BERTH_KILL_ALL) && signal != SIGKILL)
		return berth_error_set(err, BERTH_E_UNSUPPORTED,
				       "Docker cannot send signal %d to every process of a "
				       "container, only to its main process", signal);
	snprintf(suffix, sizeof(suffix), "/kill?signal=%d", signal);
	return simple_post(instance, id, suffix, docker_timeout_ms(instance), NULL, "kill",
			   err);
}

int docker_op_stop(void *instance, const char *id, int signal, int timeout_s, unsigned flags,
		   berth_error *err)
{
	struct docker *d = instance;
	char suffix[64];
	long http_ms;
	int minor;

	BERTH_CHECK_FLAGS(flags, 0, err);
	if (timeout_s < 0 || timeout_s > 86400)
		return berth_error_set(err, BERTH_E_INVALID, "invalid stop timeout %d s",
				       timeout_s);
	if (signal < 0 || signal >= 65)
		return berth_error_set(err, BERTH_E_INVALID, "invalid signal %d", signal);
	if (signal == 0)
		signal = SIGTERM;
	minor = docker_api_minor(d, err);
	if (minor < 0)
		return -1;
	if (minor >= DOCKER_API_STOP_SIGNAL_MINOR)
		snprintf(suffix, sizeof(suffix), "/stop?t=%d&signal=%d", timeout_s, signal);
	else if (signal == SIGTERM)
		snprintf(suffix, sizeof(suffix), "/stop?t=%d", timeout_s);
	else
		return berth_error_set(err, BERTH_E_UNSUPPORTED,
				       "stopping with signal %d needs Docker API 1.%d (Docker "
				       "23.0); this engine speaks 1.%d",
				       signal, DOCKER_API_STOP_SIGNAL_MINOR, minor);
	/* Docker answers once the container has exited: after up to timeout_s, then SIGKILL */
	http_ms = ((long)timeout_s + d->stop_grace_s) * 1000L;
	return simple_post(d, id, suffix, http_ms > 1000 ? http_ms : 1000, "is not running",
			   "stop", err);
}

int docker_op_pause(void *instance, const char *id, unsigned flags, berth_error *err)
{
	BERTH_CHECK_FLAGS(flags, 0, err);
	return simple_post(instance, id, "/pause", docker_timeout_ms(instance), NULL, "pause",
			   err);
}

int docker_op_resume(void *instance, const char *id, unsigned flags, berth_error *err)
{
	BERTH_CHECK_FLAGS(flags, 0, err);
	return simple_post(instance, id, "/unpause", docker_timeout_ms(instance), NULL,
			   "unpause", err);
}

/* returns: the container's berth.id label, malloc()ed; NULL with err set. */
static char *berth_id_of(struct docker *d, const char *id, berth_error *err)
{
	berth_container_info info = { .size = sizeof(info) };
	char *berth_id;

	if (docker_op_inspect(d, id, &info, err) < 0)
		return NULL;
	berth_id = info.berth_id;
	info.berth_id = NULL;
	berth_container_info_release(&info);
	if (!berth_id)
		berth_error_set(err, BERTH_E_INVALID,
				"container %s has no " BERTH_LABEL_ID " label to name it after",
				id);
	return berth_id;
}

int docker_op_rename(void *instance, const char *id, const char *new_name, unsigned flags,
		     berth_error *err)
{
	struct docker *d = instance;
	char *berth_id = NULL, *name = NULL, *ename = NULL, *suffix = NULL;
	int ret = -1;

	BERTH_CHECK_FLAGS(flags, 0, err);
	if (!new_name || !*new_name)
		return berth_error_set(err, BERTH_E_INVALID, "empty container name");
	if (!docker_name_valid(new_name)) {
		berth_id = berth_id_of(d, id, err);
		if (!berth_id)
			return -1;
	}
	name = docker_name_for(new_name, berth_id);
	ename = name ? unixhttp_escape(name) : NULL;
	if (!ename || asprintf(&suffix, "/rename?name=%s", ename) < 0) {
		suffix = NULL;
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	ret = simple_post(d, id, suffix, docker_timeout_ms(d), NULL, "rename", err);
out:
	free(suffix);
	free(ename);
	free(name);
	free(berth_id);
	return ret;
}

int docker_op_update(void *instance, const char *id, const berth_update *update,
		     unsigned flags, berth_error *err)
{
	struct docker *d = instance;
	struct unixhttp_response resp;
	json_object *body;
	int ret = 0;

	BERTH_CHECK_FLAGS(flags, 0, err);
	body = docker_spec_update_body(update, err);
	if (!body)
		return -1;
	if (container_call(d, "POST", id, "/update", body, docker_timeout_ms(d), &resp, err) < 0)
		ret = -1;
	else if (resp.status != 200 && resp.status != 204)
		ret = docker_http_error(&resp, "update", err);
	else if ((update->mask & BERTH_UPDATE_RESOURCES) && update->running &&
		 update->resources.memory_swap == -1 && update->previous.memory_swap > 0)
		docker_log(d, BERTH_LOG_NOTICE,
			   "container %s: Docker records unlimited swap but leaves the running "
			   "container's swap limit as it was until the container next starts",
			   id);
	unixhttp_response_release(&resp);
	json_object_put(body);
	return ret;
}

int docker_op_remove(void *instance, const char *id, unsigned flags, berth_error *err)
{
	struct docker *d = instance;
	struct unixhttp_response resp;
	int ret = 0;

	BERTH_CHECK_FLAGS(flags, BERTH_REMOVE_FORCE, err);
	if (container_call(d, "DELETE", id, flags & BERTH_REMOVE_FORCE ? "?v=1&force=1" : "?v=1",
			   NULL, docker_timeout_ms(d), &resp, err) < 0)
		ret = -1;
	else if (resp.status != 204 && resp.status != 200)
		ret = docker_http_error(&resp, "remove", err);
	unixhttp_response_release(&resp);
	return ret;
}

int docker_op_inspect(void *instance, const char *id, berth_container_info *info,
		      berth_error *err)
{
	struct docker *d = instance;
	struct unixhttp_response resp;
	json_object *root;
	int ret;

	if (container_call(d, "GET", id, "/json", NULL, docker_timeout_ms(d), &resp, err) < 0) {
		unixhttp_response_release(&resp);
		return -1;
	}
	if (resp.status != 200) {
		ret = docker_http_error(&resp, "inspect", err);
		unixhttp_response_release(&resp);
		return ret;
	}
	root = json_tokener_parse(resp.body);
	ret = docker_info_from_json(root, info, err);
	json_object_put(root);
	unixhttp_response_release(&resp);
	return ret;
}

int docker_op_list(void *instance, berth_list_cb cb, void *userdata, unsigned flags,
		   berth_error *err)
{
	struct docker *d = instance;
	struct unixhttp_response resp;
	char *filters;
	int ret = 0;

	BERTH_CHECK_FLAGS(flags, 0, err);
	filters = unixhttp_escape("{\"label\":[\"" BERTH_LABEL_ID "\"]}");
	if (!filters)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	ret = docker_callf(d, "GET", NULL, docker_timeout_ms(d), &resp, err,
			   "/containers/json?all=1&filters=%s", filters);
	free(filters);
	if (ret < 0)
		goto out;
	if (resp.status != 200) {
		ret = docker_http_error(&resp, "list", err);
		goto out;
	}
	ret = restlist_walk(resp.body, "Docker", docker_op_inspect, d, cb, userdata, err);
out:
	unixhttp_response_release(&resp);
	return ret;
}
