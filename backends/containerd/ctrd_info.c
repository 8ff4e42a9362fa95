/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd backend: what a container is, from Containers.Get (labels, image, stored
 * spec, created_at) and Tasks.Get (status, pid, exit status, exited_at), and the list of
 * berth's containers (Tasks.List once, then Containers.List with the filter
 * labels."berth.id").
 *
 * State: no task -> created (or exited, when the berth.started label says it ran and
 * its task is gone, e.g. after a reboot); task CREATED -> created; RUNNING -> running;
 * PAUSED/PAUSING -> paused; STOPPED -> exited with its exit status. OOM: containerd keeps
 * no flag; the event thread remembers /tasks/oom until the container's next start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrd.h"

int ctrd_container_get(struct ctrd *c, const char *id,
		       Containerd__Services__Containers__V1__GetContainerResponse **out,
		       berth_error *err)
{
	Containerd__Services__Containers__V1__GetContainerRequest req =
		CONTAINERD__SERVICES__CONTAINERS__V1__GET_CONTAINER_REQUEST__INIT;
	char what[128];

	*out = NULL;
	if (!id || !*id)
		return berth_error_set(err, BERTH_E_INVALID, "empty container id");
	req.id = (char *)id;
	snprintf(what, sizeof(what), "container %.80s", id);
	if (ctrd_call(c, CTRD_SVC_CONTAINERS "Get", &req,
		      &containerd__services__containers__v1__get_container_response__descriptor,
		      out, what, NULL, err) < 0)
		return -1;
	if (!(*out)->container) {
		protobuf_c_message_free_unpacked(&(*out)->base, NULL);
		*out = NULL;
		return berth_error_set(err, BERTH_E_RUNTIME, "%s: containerd sent no container",
				       what);
	}
	return 0;
}

int ctrd_task_get(struct ctrd *c, const char *id,
		  Containerd__Services__Tasks__V1__GetResponse **out, berth_error *err)
{
	Containerd__Services__Tasks__V1__GetRequest req =
		CONTAINERD__SERVICES__TASKS__V1__GET_REQUEST__INIT;
	berth_error e;
	char what[128];

	*out = NULL;
	req.container_id = (char *)id;
	snprintf(what, sizeof(what), "task of %.80s", id);
	berth_error_clear(&e);
	if (ctrd_call(c, CTRD_SVC_TASKS "Get", &req,
		      &containerd__services__tasks__v1__get_response__descriptor, out, what,
		      NULL, &e) < 0) {
		if (e.code == BERTH_E_NOT_FOUND)
			return 0;
		if (err)
			*err = e;
		return -1;
	}
	if (!(*out)->process) {
		protobuf_c_message_free_unpacked(&(*out)->base, NULL);
		*out = NULL;
	}
	return 0;
}

const char *ctrd_label(const ctrd_container_pb *ct, const char *key)
{
	for (size_t i = 0; ct && i < ct->n_labels; i++)
		if (ct->labels[i]->key && strcmp(ct->labels[i]->key, key) == 0)
			return ct->labels[i]->value;
	return NULL;
}

json_object *ctrd_container_spec(const ctrd_container_pb *ct)
{
	json_tokener *tok;
	json_object *o;

	if (!ct->spec || !ct->spec->value.len)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, (const char *)ct->spec->value.data,
				  (int)ct->spec->value.len);
	json_tokener_free(tok);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static int64_t ts_ns(const Google__Protobuf__Timestamp *t)
{
	if (!t || t->seconds <= 0)
		return 0;
	return t->seconds * 1000000000LL + t->nanos;
}

static bool dup_to(char **dst, const char *src)
{
	if (!src || !*src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

/* Fills info from a container and its task (NULL: none). */
static int fill_info(struct ctrd *c, const ctrd_container_pb *ct, const ctrd_process_pb *p,
		     berth_container_info *info, berth_error *err)
{
	const char *started = ctrd_label(ct, CTRD_LABEL_STARTED);
	json_object *spec;
	bool ok = true;

	if (info->size < offsetof(berth_container_info, resources) + sizeof(info->resources))
		return berth_error_set(err, BERTH_E_INTERNAL, "container info too small (%u bytes)",
				       info->size);
	ok &= dup_to(&info->native_id, ct->id);
	ok &= dup_to(&info->berth_id, ctrd_label(ct, BERTH_LABEL_ID));
	ok &= dup_to(&info->name, ctrd_label(ct, CTRD_LABEL_NAME));
	ok &= dup_to(&info->image, ct->image);
	if (BERTH_HAS_FIELD(info, berth_container_info, owner))
		ok &= dup_to(&info->owner, ctrd_label(ct, BERTH_LABEL_OWNER));
	if (!ok) {
		berth_container_info_release(info);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	info->created_ns = ts_ns(ct->created_at);
	info->started_ns = started ? strtoll(started, NULL, 10) : 0;
	info->state = info->started_ns ? BERTH_RS_EXITED : BERTH_RS_CREATED;
	if (p) {
		switch (p->status) {
		case CONTAINERD__V1__TYPES__STATUS__CREATED:
			info->state = BERTH_RS_CREATED;
			break;
		case CONTAINERD__V1__TYPES__STATUS__RUNNING:
			info->state = BERTH_RS_RUNNING;
			info->pid = (int)p->pid;
			break;
		case CONTAINERD__V1__TYPES__STATUS__PAUSED:
		case CONTAINERD__V1__TYPES__STATUS__PAUSING:
			info->state = BERTH_RS_PAUSED;
			info->pid = (int)p->pid;
			break;
		case CONTAINERD__V1__TYPES__STATUS__STOPPED:
			info->state = BERTH_RS_EXITED;
			info->exit_code = (int)p->exit_status;
			info->finished_ns = ts_ns(p->exited_at);
			break;
		default:
			info->state = BERTH_RS_UNKNOWN;
			break;
		}
	}
	if (info->state == BERTH_RS_EXITED)
		info->oom_killed = ctrd_oom_get(c, ct->id);
	info->restart.type = BERTH_RESTART_NO; /* not native: the core keeps the policy */
	spec = ctrd_container_spec(ct);
	if (spec) {
		ctrd_spec_get_resources(spec, &info->resources);
		json_object_put(spec);
	}
	return 0;
}

int ctrd_op_inspect(void *instance, const char *id, berth_container_info *info,
		    berth_error *err)
{
	struct ctrd *c = instance;
	Containerd__Services__Containers__V1__GetContainerResponse *ct = NULL;
	Containerd__Services__Tasks__V1__GetResponse *task = NULL;
	int ret;

	if (ctrd_container_get(c, id, &ct, err) < 0)
		return -1;
	if (ctrd_task_get(c, id, &task, err) < 0) {
		protobuf_c_message_free_unpacked(&ct->base, NULL);
		return -1;
	}
	ret = fill_info(c, ct->container, task ? task->process : NULL, info, err);
	if (task)
		protobuf_c_message_free_unpacked(&task->base, NULL);
	protobuf_c_message_free_unpacked(&ct->base, NULL);
	return ret;
}

/* The task of container `id` in a Tasks.List answer, or NULL. containerd 1.6 fills only
 * Process.id there (the task's id, which is its container's), not container_id. */
static const ctrd_process_pb *find_task(
	const Containerd__Services__Tasks__V1__ListTasksResponse *tasks, const char *id)
{
	for (size_t i = 0; tasks && i < tasks->n_tasks; i++) {
		const ctrd_process_pb *p = tasks->tasks[i];
		const char *tid = p->container_id && *p->container_id ? p->container_id : p->id;

		if (tid && strcmp(tid, id) == 0)
			return p;
	}
	return NULL;
}

int ctrd_op_list(void *instance, berth_list_cb cb, void *userdata, unsigned flags,
		 berth_error *err)
{
	struct ctrd *c = instance;
	Containerd__Services__Containers__V1__ListContainersRequest req =
		CONTAINERD__SERVICES__CONTAINERS__V1__LIST_CONTAINERS_REQUEST__INIT;
	Containerd__Services__Containers__V1__ListContainersResponse *resp = NULL;
	Containerd__Services__Tasks__V1__ListTasksRequest treq =
		CONTAINERD__SERVICES__TASKS__V1__LIST_TASKS_REQUEST__INIT;
	Containerd__Services__Tasks__V1__ListTasksResponse *tasks = NULL;
	char *filters[] = { "labels.\"" BERTH_LABEL_ID "\"" };
	int ret = 0;

	BERTH_CHECK_FLAGS(flags, 0, err);
	req.n_filters = 1;
	req.filters = filters;
	/* tasks first: a container created in between is listed without its task (created),
	 * never a task without its container */
	if (ctrd_call(c, CTRD_SVC_TASKS "List", &treq,
		      &containerd__services__tasks__v1__list_tasks_response__descriptor, &tasks,
		      "list tasks", NULL, err) < 0)
		return -1;
	if (ctrd_call(c, CTRD_SVC_CONTAINERS "List", &req,
		      &containerd__services__containers__v1__list_containers_response__descriptor,
		      &resp, "list containers", NULL, err) < 0) {
		protobuf_c_message_free_unpacked(&tasks->base, NULL);
		return -1;
	}
	for (size_t i = 0; i < resp->n_containers && ret == 0; i++) {
		const ctrd_container_pb *ct = resp->containers[i];
		berth_container_info info = { .size = sizeof(info) };

		if (!ct || !ct->id)
			continue;
		ret = fill_info(c, ct, find_task(tasks, ct->id), &info, err);
		if (ret == 0)
			ret = cb(userdata, &info);
		berth_container_info_release(&info);
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	protobuf_c_message_free_unpacked(&tasks->base, NULL);
	return ret;
}
