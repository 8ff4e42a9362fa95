/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Podman backend: the container operations of the driver table, one libpod request each
 * (create may pull and retry; start re-applies updated limits; list inspects every
 * container it finds). Safe for concurrent calls: each request takes its own connection
 * (a kept-alive one from the client's pool, or a new one); the limits table is locked.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podman.h"
#include "restlist.h"

/* A request to /containers/<id><suffix>; suffix starts with '/' or '?' or is "". */
static int container_call(struct podman *p, const char *method, const char *id,
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
	ret = podman_callf(p, method, body, timeout_ms, resp, err, "/containers/%s%s", eid,
			   suffix);
	free(eid);
	return ret;
}

/* For ops whose success is a 2xx without a body worth reading. */
static int simple_post(struct podman *p, const char *id, const char *suffix, json_object *body,
		       long timeout_ms, const char *what, berth_error *err)
{
	struct unixhttp_response resp;
	int ret = 0;

	if (container_call(p, "POST", id, suffix, body, timeout_ms, &resp, err) < 0)
		ret = -1;
	else if (resp.status < 200 || resp.status > 299)
		ret = podman_http_error(&resp, what, err);
	unixhttp_response_release(&resp);
	return ret;
}

/* Podman 4.3 answers a create with an unknown image 500 "...: image not known". */
static bool is_no_such_image(const struct unixhttp_response *resp)
{
	json_object *root;
	const char *cause, *msg;
	bool yes;

	if (resp->status != 404 && resp->status != 500)
		return false;
	root = json_tokener_parse(resp->body);
	cause = jsonutil_string(root, "cause");
	msg = jsonutil_string(root, "message");
	yes = (cause && strstr(cause, "image not known")) ||
	      (msg && strstr(msg, "image not known")) || (msg && strstr(msg, "no such image"));
	json_object_put(root);
	return yes;
}

int podman_op_create(void *instance, const berth_container_spec *spec, unsigned flags,
		     char **native_id_out, berth_error *err)
{
	struct podman *p = instance;
	struct unixhttp_response resp = { 0 };
	json_object *body, *name_v, *root = NULL;
	char *name = NULL;
	const char *id;
	int ret = -1;

	BERTH_CHECK_FLAGS(flags, BERTH_CREATE_NO_PULL, err);
	if (!spec->name || !*spec->name)
		return berth_error_set(err, BERTH_E_INVALID, "a container needs a name");
	body = podman_spec_create_body(spec, p->bridge_network, err);
	if (!body)
		return -1;
	name = podman_name_for(spec->name, spec->berth_id);
	name_v = name ? json_object_new_string(name) : NULL;
	if (!name_v || json_object_object_add(body, "name", name_v) < 0) {
		json_object_put(name_v);
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	for (int attempt = 0;; attempt++) {
		if (podman_callf(p, "POST", body, podman_timeout_ms(p), &resp, err,
				 "/containers/create") < 0)
			goto out;
		if (resp.status == 201 || resp.status == 200)
			break;
		if (is_no_such_image(&resp)) {
			if (attempt == 0 && p->pull && !(flags & BERTH_CREATE_NO_PULL)) {
				unixhttp_response_release(&resp);
				if (podman_pull(p, spec->image, err) < 0)
					goto out;
				continue;
			}
			berth_error_set(err, BERTH_E_NOT_FOUND, "no such image: %s", spec->image);
			goto out;
		}
		podman_http_error(&resp, "create", err);
		goto out;
	}
	root = json_tokener_parse(resp.body);
	id = jsonutil_string(root, "Id");
	if (!id || !*id) {
		berth_error_set(err, BERTH_E_RUNTIME, "Podman created %s but sent no Id", name);
		goto out;
	}
	*native_id_out = strdup(id);
	if (!*native_id_out) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	if (strcmp(name, spec->name) != 0)
		podman_log(p, BERTH_LOG_INFO,
			   "container \"%s\" is \"%s\" in Podman (Podman refuses the name)",
			   spec->name, name);
	ret = 0;
out:
	unixhttp_response_release(&resp);
	json_object_put(root);
	json_object_put(body);
	free(name);
	return ret;
}

static int apply_limits(struct podman *p, const char *id, const berth_resources *r,
			berth_error *err)
{
	json_object *body = podman_spec_resources_body(r, err);
	int ret;

	if (!body)
		return -1;
	ret = simple_post(p, id, "/update", body, podman_timeout_ms(p), "update", err);
	json_object_put(body);
	return ret;
}

/* A command that ends at once leaves nothing to update: not worth a warning. */
static bool still_running(struct podman *p, const char *id)
{
	berth_container_info info = { .size = sizeof(info) };
	berth_error e;
	bool yes;

	if (podman_op_inspect(p, id, &info, &e) < 0)
		return true;
	yes = info.state == BERTH_RS_RUNNING || info.state == BERTH_RS_PAUSED;
	berth_container_info_release(&info);
	return yes;
}

int podman_op_start(void *instance, const char *id, unsigned flags, berth_error *err)
{
	struct podman *p = instance;
	berth_resources r;
	berth_error e;

	BERTH_CHECK_FLAGS(flags, 0, err);
	if (simple_post(p, id, "/start", NULL, podman_timeout_ms(p), "start", err) < 0)
		return -1;
	/* podman 4.3 built the cgroup from the create-time limits: berth's updates again */
	if (podman_limits_get(p, id, &r) && podman_has_update(p)) {
		berth_error_clear(&e);
		if (apply_limits(p, id, &r, &e) < 0 && still_running(p, id))
			podman_log(p, BERTH_LOG_WARNING,
				   "container %s started with its create-time memory limits: "
				   "applying the updated ones failed: %s", id, e.message);
	}
	return 0;
}

int podman_op_kill(void *instance, const char *id, int signal, unsigned flags,
		   berth_error *err)
{
	char suffix[32];

	BERTH_CHECK_FLAGS(flags, BERTH_KILL_ALL, err);
	if (signal <= 0 || signal >= 65)
		return berth_error_set(err, BERTH_E_INVALID, "invalid signal %d", signal);
	/* libpod signals the container's first process; SIGKILL to it ends the whole
	 * PID namespace, any other signal cannot reach every process */
	if ((flags & BERTH_KILL_ALL) && signal != SIGKILL)
		return berth_error_set(err, BERTH_E_UNSUPPORTED,
				       "Podman's API cannot send signal %d to every process of a "
				       "container, only to its main process", signal);
	snprintf(suffix, sizeof(suffix), "/kill?signal=%d", signal);
	return simple_post(instance, id, suffix, NULL, podman_timeout_ms(instance), "kill", err);
}

/* libpod's stop sends the container's stop signal, pinned to SIGTERM at create. */
int podman_op_stop(void *instance, const char *id, int signal, int timeout_s, unsigned flags,
		   berth_error *err)
{
	struct podman *p = instance;
	char suffix[48];
	long http_ms;

	BERTH_CHECK_FLAGS(flags, 0, err);
	if (timeout_s < 0 || timeout_s > 86400)
		return berth_error_set(err, BERTH_E_INVALID, "invalid stop timeout %d s",
				       timeout_s);
	if (signal != 0 && signal != SIGTERM)
		return berth_error_set(err, BERTH_E_UNSUPPORTED,
				       "Podman's stop sends the container's stop signal "
				       "(SIGTERM), not signal %d", signal);
	snprintf(suffix, sizeof(suffix), "/stop?timeout=%d", timeout_s);
	http_ms = ((long)timeout_s + p->stop_grace_s) * 1000L;
	return simple_post(p, id, suffix, NULL, http_ms > 1000 ? http_ms : 1000, "stop", err);
}

int podman_op_pause(void *instance, const char *id, unsigned flags, berth_error *err)
{
	BERTH_CHECK_FLAGS(flags, 0, err);
	return simple_post(instance, id, "/pause", NULL, podman_timeout_ms(instance), "pause",
			   err);
}

int podman_op_resume(void *instance, const char *id, unsigned flags, berth_error *err)
{
	BERTH_CHECK_FLAGS(flags, 0, err);
	return simple_post(instance, id, "/unpause", NULL, podman_timeout_ms(instance),
			   "unpause", err);
}

int podman_op_rename(void *instance, const char *id, const char *new_name, unsigned flags,
		     berth_error *err)
{
	struct podman *p = instance;
	berth_container_info info = { .size = sizeof(info) };
	char *name = NULL, *ename = NULL, *suffix = NULL;
	int ret = -1;

	BERTH_CHECK_FLAGS(flags, 0, err);
	if (!new_name || !*new_name)
		return berth_error_set(err, BERTH_E_INVALID, "empty container name");
	if (!podman_name_valid(new_name)) {
		if (podman_op_inspect(p, id, &info, err) < 0)
			return -1;
		if (!info.berth_id) {
			berth_container_info_release(&info);
			return berth_error_set(err, BERTH_E_INVALID,
					       "container %s has no " BERTH_LABEL_ID
					       " label to name it after", id);
		}
	}
	name = podman_name_for(new_name, info.berth_id);
	ename = name ? unixhttp_escape(name) : NULL;
	if (!ename || asprintf(&suffix, "/rename?name=%s", ename) < 0) {
		suffix = NULL;
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	ret = simple_post(p, id, suffix, NULL, podman_timeout_ms(p), "rename", err);
out:
	free(suffix);
	free(ename);
	free(name);
	berth_container_info_release(&info);
	return ret;
}

/* Resources only: the restart policy is berth's restart manager's (no
 * BERTH_CAP_RESTART_POLICY), so a BERTH_UPDATE_RESTART needs nothing from podman. */
int podman_op_update(void *instance, const char *id, const berth_update *update,
		     unsigned flags, berth_error *err)
{
	struct podman *p = instance;

	BERTH_CHECK_FLAGS(flags, 0, err);
	if (update->size < offsetof(berth_update, running) + sizeof(update->running))
		return berth_error_set(err, BERTH_E_INVALID, "update too small (%u bytes)",
				       update->size);
	if (update->mask & ~(unsigned)(BERTH_UPDATE_RESTART | BERTH_UPDATE_RESOURCES))
		return berth_error_set(err, BERTH_E_UNSUPPORTED, "unsupported update mask 0x%x",
				       update->mask);
	if (!(update->mask & BERTH_UPDATE_RESOURCES))
		return 0;
	if (!podman_has_update(p))
		return berth_error_set(err, BERTH_E_UNSUPPORTED,
				       "Podman before 4.3 cannot change the limits of a "
				       "container; recreate it with the new limits");
	if (update->running) {
		if (apply_limits(p, id, &update->resources, err) < 0)
			return -1;
	} else {
		/* checked now, applied by the next start */
		json_object *body = podman_spec_resources_body(&update->resources, err);

		if (!body)
			return -1;
		json_object_put(body);
	}
	return podman_limits_set(p, id, &update->resources, err);
}

/* DELETE answers 200 with [{"Id": ..., "Err": ...}]: an item's Err is a failure too. */
static int remove_result(const struct unixhttp_response *resp, berth_error *err)
{
	json_object *root = json_tokener_parse(resp->body), *item;
	const char *msg = NULL;
	int ret = 0;

	if (root && json_object_is_type(root, json_type_array) &&
	    json_object_array_length(root) > 0) {
		item = json_object_array_get_idx(root, 0);
		msg = jsonutil_string(item, "Err");
	}
	if (msg && *msg)
		ret = berth_error_set(err, podman_error_code(500, NULL, msg), "%s", msg);
	json_object_put(root);
	return ret;
}

int podman_op_remove(void *instance, const char *id, unsigned flags, berth_error *err)
{
	struct podman *p = instance;
	struct unixhttp_response resp;
	int ret = 0;

	BERTH_CHECK_FLAGS(flags, BERTH_REMOVE_FORCE, err);
	if (container_call(p, "DELETE", id,
			   flags & BERTH_REMOVE_FORCE ? "?force=true&timeout=0" : "", NULL,
			   podman_timeout_ms(p), &resp, err) < 0)
		ret = -1;
	else if (resp.status != 200 && resp.status != 204)
		ret = podman_http_error(&resp, "remove", err);
	else
		ret = remove_result(&resp, err);
	unixhttp_response_release(&resp);
	if (ret == 0 || (err && err->code == BERTH_E_NOT_FOUND))
		podman_limits_forget(p, id);
	return ret;
}

int podman_op_inspect(void *instance, const char *id, berth_container_info *info,
		      berth_error *err)
{
	struct podman *p = instance;
	struct unixhttp_response resp;
	json_object *root;
	berth_resources r;
	int ret;

	if (container_call(p, "GET", id, "/json", NULL, podman_timeout_ms(p), &resp, err) < 0) {
		unixhttp_response_release(&resp);
		return -1;
	}
	if (resp.status != 200) {
		ret = podman_http_error(&resp, "inspect", err);
		unixhttp_response_release(&resp);
		return ret;
	}
	root = json_tokener_parse(resp.body);
	ret = podman_info_from_json(root, info, err);
	json_object_put(root);
	unixhttp_response_release(&resp);
	/* inspect shows the create-time limits: berth's updates are what applies */
	if (ret == 0 && info->native_id && podman_limits_get(p, info->native_id, &r))
		info->resources = r;
	return ret;
}

int podman_op_list(void *instance, berth_list_cb cb, void *userdata, unsigned flags,
		   berth_error *err)
{
	struct podman *p = instance;
	struct unixhttp_response resp;
	char *filters;
	int ret;

	BERTH_CHECK_FLAGS(flags, 0, err);
	filters = unixhttp_escape("{\"label\":[\"" BERTH_LABEL_ID "\"]}");
	if (!filters)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	ret = podman_callf(p, "GET", NULL, podman_timeout_ms(p), &resp, err,
			   "/containers/json?all=true&filters=%s", filters);
	free(filters);
	if (ret < 0)
		goto out;
	if (resp.status != 200) {
		ret = podman_http_error(&resp, "list", err);
		goto out;
	}
	ret = restlist_walk(resp.body, "Podman", podman_op_inspect, p, cb, userdata, err);
out:
	unixhttp_response_release(&resp);
	return ret;
}
