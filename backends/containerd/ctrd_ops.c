/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd backend: the container operations of the driver table.
 *
 *   create   image -> OCI spec; Containers.Create (labels berth.id, berth.owner,
 *            berth.name; snapshot key = id); then Snapshots.Prepare(key, parent = the
 *            image's chain id). In this order the snapshot is referenced by the
 *            container from its first instant, so containerd's garbage collector cannot
 *            take it (the Go client holds a lease for the same reason).
 *   start    a task left by an earlier run is deleted; Snapshots.Mounts; Tasks.Create
 *            (rootfs = the mounts, stdout/stderr file://<log_dir>/<id>.log);
 *            Tasks.Start; label berth.started.
 *   kill     Tasks.Kill{signal, all}
 *   pause    Tasks.Pause / Tasks.Resume
 *   rename   Containers.Update of label berth.name
 *   update   Tasks.Update(LinuxResources) when a task runs, then Containers.Update of the
 *            stored spec (the task's old limits are put back if that fails)
 *   remove   force: Tasks.Kill(SIGKILL, all), Tasks.Wait; Tasks.Delete;
 *            Snapshots.Remove; Containers.Delete
 * Safe for concurrent calls: every gRPC call has its own connection (ctrd_grpc.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctrd.h"

static void free_pb(void *msg)
{
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A task's status, CONTAINERD__V1__TYPES__STATUS__UNKNOWN (0) with no task, -1 on
 * failure. */
static int task_status(struct ctrd *c, const char *id, berth_error *err)
{
	Containerd__Services__Tasks__V1__GetResponse *t = NULL;
	int st;

	if (ctrd_task_get(c, id, &t, err) < 0)
		return -1;
	st = t ? (int)t->process->status : -2;
	free_pb(t);
	return st;
}
#define TASK_NONE (-2)

static bool is_live(int st)
{
	return st == CONTAINERD__V1__TYPES__STATUS__RUNNING ||
	       st == CONTAINERD__V1__TYPES__STATUS__PAUSED ||
	       st == CONTAINERD__V1__TYPES__STATUS__PAUSING;
}

/* A task call answered NOT_FOUND: the container has no running task (CONFLICT) or is
 * gone altogether (NOT_FOUND). Rewrites err accordingly; returns -1. */
static int not_running(struct ctrd *c, const char *id, const char *what, berth_error *err)
{
	Containerd__Services__Containers__V1__GetContainerResponse *ct = NULL;
	berth_error e;

	berth_error_clear(&e);
	if (ctrd_container_get(c, id, &ct, &e) < 0) {
		if (e.code == BERTH_E_NOT_FOUND)
			return berth_error_set(err, BERTH_E_NOT_FOUND, "no such container: %s", id);
		if (err)
			*err = e;
		return -1;
	}
	free_pb(ct);
	return berth_error_set(err, BERTH_E_CONFLICT, "cannot %s container %s: it is not running",
			       what, id);
}

static ctrd_label_pb *label(ctrd_label_pb *l, const char *key, const char *value)
{
	containerd__services__containers__v1__container__labels_entry__init(l);
	l->key = (char *)key;
	l->value = (char *)value;
	return l;
}

/* Containers.Update of one label. */
static int update_label(struct ctrd *c, const char *id, const char *key, const char *value,
			const char *what, berth_error *err)
{
	Containerd__Services__Containers__V1__UpdateContainerRequest req =
		CONTAINERD__SERVICES__CONTAINERS__V1__UPDATE_CONTAINER_REQUEST__INIT;
	Containerd__Services__Containers__V1__UpdateContainerResponse *resp = NULL;
	ctrd_container_pb ct = CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__INIT;
	Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
	ctrd_label_pb entry, *entries[1] = { label(&entry, key, value) };
	char *path = NULL;
	int ret;

	if (asprintf(&path, "labels.%s", key) < 0)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	ct.id = (char *)id;
	ct.n_labels = 1;
	ct.labels = entries;
	mask.n_paths = 1;
	mask.paths = &path;
	req.container = &ct;
	req.update_mask = &mask;
	ret = ctrd_call(c, CTRD_SVC_CONTAINERS "Update", &req,
			&containerd__services__containers__v1__update_container_response__descriptor,
			&resp, what, NULL, err);
	free_pb(resp);
	free(path);
	return ret;
}

static int delete_container_record(struct ctrd *c, const char *id, berth_error *err)
{
	Containerd__Services__Containers__V1__DeleteContainerRequest req =
		CONTAINERD__SERVICES__CONTAINERS__V1__DELETE_CONTAINER_REQUEST__INIT;
	char what[128];

	req.id = (char *)id;
	snprintf(what, sizeof(what), "delete container %.80s", id);
	return ctrd_call(c, CTRD_SVC_CONTAINERS "Delete", &req, NULL, NULL, what, NULL, err);
}

static int remove_snapshot(struct ctrd *c, const char *snapshotter, const char *key,
			   berth_error *err)
{
	Containerd__Services__Snapshots__V1__RemoveSnapshotRequest req =
		CONTAINERD__SERVICES__SNAPSHOTS__V1__REMOVE_SNAPSHOT_REQUEST__INIT;
	berth_error e;

	req.snapshotter = (char *)snapshotter;
	req.key = (char *)key;
	berth_error_clear(&e);
	if (ctrd_call(c, CTRD_SVC_SNAPSHOTS "Remove", &req, NULL, NULL, "remove snapshot", NULL,
		      &e) < 0 && e.code != BERTH_E_NOT_FOUND) {
		if (err)
			*err = e;
		return -1;
	}
	return 0;
}

static int prepare_snapshot(struct ctrd *c, const char *key, const char *parent,
			    berth_error *err)
{
	Containerd__Services__Snapshots__V1__PrepareSnapshotRequest req =
		CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_REQUEST__INIT;
	Containerd__Services__Snapshots__V1__PrepareSnapshotResponse *resp = NULL;
	int rc;

	req.snapshotter = c->snapshotter;
	req.key = (char *)key;
	req.parent = (char *)parent;
	rc = ctrd_call(c, CTRD_SVC_SNAPSHOTS "Prepare", &req,
		       &containerd__services__snapshots__v1__prepare_snapshot_response__descriptor,
		       &resp, "prepare the root filesystem", NULL, err);
	if (rc < 0 && err && err->code == BERTH_E_CONFLICT) {
		/* left by a create that died half-way with this id: start afresh */
		if (remove_snapshot(c, c->snapshotter, key, err) < 0)
			return -1;
		rc = ctrd_call(c, CTRD_SVC_SNAPSHOTS "Prepare", &req,
			       &containerd__services__snapshots__v1__prepare_snapshot_response__descriptor,
			       &resp, "prepare the root filesystem", NULL, err);
	}
	free_pb(resp);
	return rc;
}

int ctrd_op_create(void *instance, const berth_container_spec *spec, unsigned flags,
		   char **native_id_out, berth_error *err)
{
	struct ctrd *c = instance;
	Containerd__Services__Containers__V1__CreateContainerRequest req =
		CONTAINERD__SERVICES__CONTAINERS__V1__CREATE_CONTAINER_REQUEST__INIT;
	Containerd__Services__Containers__V1__CreateContainerResponse *resp = NULL;
	ctrd_container_pb ct = CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__INIT;
	Containerd__Services__Containers__V1__Container__Runtime rt =
		CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__RUNTIME__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	ctrd_label_pb l[3], *labels[3];
	struct ctrd_image img = { 0 };
	json_object *oci = NULL;
	const char *text, *id;
	char what[128];
	berth_error e;
	int ret = -1;

	/* never pulls: BERTH_CREATE_NO_PULL is what it always does */
	BERTH_CHECK_FLAGS(flags, BERTH_CREATE_NO_PULL, err);
	if (ctrd_spec_check(spec, err) < 0)
		return -1;
	if (!spec->name || !*spec->name)
		return berth_error_set(err, BERTH_E_INVALID, "a container needs a name");
	id = spec->berth_id;
	if (ctrd_image_resolve(c, spec->image, &img, err) < 0)
		return -1;
	oci = ctrd_spec_new(c, id, spec, &img, err);
	if (!oci)
		goto out;
	text = json_object_to_json_string_ext(oci, JSON_C_TO_STRING_PLAIN);

	ct.id = (char *)id;
	ct.n_labels = 0;
	labels[ct.n_labels++] = label(&l[0], BERTH_LABEL_ID, id);
	labels[ct.n_labels++] = label(&l[1], CTRD_LABEL_NAME, spec->name);
	if (BERTH_HAS_FIELD(spec, berth_container_spec, owner) && spec->owner)
		labels[ct.n_labels++] = label(&l[2], BERTH_LABEL_OWNER, spec->owner);
	ct.labels = labels;
	ct.image = img.name;
	rt.name = c->runtime;
	ct.runtime = &rt;
	any.type_url = CTRD_TYPE_SPEC;
	any.value.data = (uint8_t *)text;
	any.value.len = strlen(text);
	ct.spec = &any;
	ct.snapshotter = c->snapshotter;
	ct.snapshot_key = (char *)id;
	req.container = &ct;
	snprintf(what, sizeof(what), "create container %.80s", spec->name);
	if (ctrd_call(c, CTRD_SVC_CONTAINERS "Create", &req,
		      &containerd__services__containers__v1__create_container_response__descriptor,
		      &resp, what, NULL, err) < 0)
		goto out;
	if (prepare_snapshot(c, id, img.chain_id, err) < 0) {
		berth_error_clear(&e);
		if (delete_container_record(c, id, &e) < 0)
			ctrd_log(c, BERTH_LOG_WARNING, "%s", e.message);
		goto out;
	}
	*native_id_out = strdup(id);
	if (!*native_id_out) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	ret = 0;
out:
	free_pb(resp);
	json_object_put(oci);
	ctrd_image_release(&img);
	return ret;
}

static int delete_task(struct ctrd *c, const char *id, berth_error *err)
{
	Containerd__Services__Tasks__V1__DeleteTaskRequest req =
		CONTAINERD__SERVICES__TASKS__V1__DELETE_TASK_REQUEST__INIT;
	Containerd__Services__Tasks__V1__DeleteResponse *resp = NULL;
	berth_error e;

	req.container_id = (char *)id;
	berth_error_clear(&e);
	if (ctrd_call(c, CTRD_SVC_TASKS "Delete", &req,
		      &containerd__services__tasks__v1__delete_response__descriptor, &resp,
		      "delete the task", NULL, &e) < 0 && e.code != BERTH_E_NOT_FOUND) {
		if (err)
			*err = e;
		return -1;
	}
	free_pb(resp);
	return 0;
}

static int kill_task(struct ctrd *c, const char *id, int signal, bool all, berth_error *err)
{
	Containerd__Services__Tasks__V1__KillRequest req =
		CONTAINERD__SERVICES__TASKS__V1__KILL_REQUEST__INIT;
	char what[128];

	req.container_id = (char *)id;
	req.signal = (uint32_t)signal;
	req.all = all;
	snprintf(what, sizeof(what), "signal %d to %.80s", signal, id);
	return ctrd_call(c, CTRD_SVC_TASKS "Kill", &req, NULL, NULL, what, NULL, err);
}

static int wait_task(struct ctrd *c, const char *id, berth_error *err)
{
	Containerd__Services__Tasks__V1__WaitRequest req =
		CONTAINERD__SERVICES__TASKS__V1__WAIT_REQUEST__INIT;
	Containerd__Services__Tasks__V1__WaitResponse *resp = NULL;
	int rc;

	req.container_id = (char *)id;
	rc = ctrd_call(c, CTRD_SVC_TASKS "Wait", &req,
		       &containerd__services__tasks__v1__wait_response__descriptor, &resp,
		       "wait for the task", NULL, err);
	free_pb(resp);
	return rc;
}

/* stdout/stderr of a task: "" (discarded) or file://<log_dir>/<id>.log, the directory
 * created when missing. returns: malloc()ed, or NULL with err set. */
static char *log_uri(const struct ctrd *c, const char *id, berth_error *err)
{
	char *uri = NULL;

	if (!c->log_dir)
		uri = strdup("");
	else if (mkdir(c->log_dir, 0750) < 0 && errno != EEXIST)
		berth_error_set(err, BERTH_E_RUNTIME, "cannot create the log directory %s: %s",
				c->log_dir, strerror(errno));
	else if (asprintf(&uri, "file://%s/%s.log", c->log_dir, id) < 0)
		uri = NULL;
	if (!uri && err && err->code == BERTH_OK)
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	return uri;
}

static int snapshot_mounts(struct ctrd *c, const ctrd_container_pb *ct,
			   Containerd__Services__Snapshots__V1__MountsResponse **out,
			   berth_error *err)
{
	Containerd__Services__Snapshots__V1__MountsRequest req =
		CONTAINERD__SERVICES__SNAPSHOTS__V1__MOUNTS_REQUEST__INIT;

	req.snapshotter = ct->snapshotter;
	req.key = ct->snapshot_key;
	return ctrd_call(c, CTRD_SVC_SNAPSHOTS "Mounts", &req,
			 &containerd__services__snapshots__v1__mounts_response__descriptor, out,
			 "the root filesystem", NULL, err);
}

int ctrd_op_start(void *instance, const char *id, unsigned flags, berth_error *err)
{
	struct ctrd *c = instance;
	Containerd__Services__Containers__V1__GetContainerResponse *ct = NULL;
	Containerd__Services__Snapshots__V1__MountsResponse *mounts = NULL;
	Containerd__Services__Tasks__V1__CreateTaskRequest creq =
		CONTAINERD__SERVICES__TASKS__V1__CREATE_TASK_REQUEST__INIT;
	Containerd__Services__Tasks__V1__CreateTaskResponse *cresp = NULL;
	Containerd__Services__Tasks__V1__StartRequest sreq =
		CONTAINERD__SERVICES__TASKS__V1__START_REQUEST__INIT;
	Containerd__Services__Tasks__V1__StartResponse *sresp = NULL;
	char *uri = NULL, started[32], what[128];
	berth_error e;
	int st, ret = -1;

	BERTH_CHECK_FLAGS(flags, 0, err);
	if (ctrd_container_get(c, id, &ct, err) < 0)
		return -1;
	st = task_status(c, id, err);
	if (st == -1)
		goto out;
	if (is_live(st)) {
		berth_error_set(err, BERTH_E_CONFLICT, "container %s is already running", id);
		goto out;
	}
	if (st != TASK_NONE && delete_task(c, id, err) < 0)
		goto out;
	if (!ct->container->snapshot_key || !*ct->container->snapshot_key) {
		berth_error_set(err, BERTH_E_RUNTIME, "container %s has no root filesystem "
				"snapshot", id);
		goto out;
	}
	if (snapshot_mounts(c, ct->container, &mounts, err) < 0)
		goto out;
	berth_error_clear(err);
	uri = log_uri(c, id, err);
	if (!uri)
		goto out;
	creq.container_id = (char *)id;
	creq.n_rootfs = mounts->n_mounts;
	creq.rootfs = mounts->mounts;
	creq.stdout = uri;
	creq.stderr = uri;
	snprintf(what, sizeof(what), "start %.80s", id);
	if (ctrd_call(c, CTRD_SVC_TASKS "Create", &creq,
		      &containerd__services__tasks__v1__create_task_response__descriptor, &cresp,
		      what, NULL, err) < 0) {
		/* containerd's NotFound/FailedPrecondition here are about the OCI runtime
		 * (an executable that is missing), not the container: a start failure */
		if (err && err->code != BERTH_E_UNAVAILABLE && err->code != BERTH_E_TIMEOUT)
			err->code = BERTH_E_RUNTIME;
		goto out;
	}
	ctrd_oom_set(c, id, false);
	sreq.container_id = (char *)id;
	if (ctrd_call(c, CTRD_SVC_TASKS "Start", &sreq,
		      &containerd__services__tasks__v1__start_response__descriptor, &sresp, what,
		      NULL, err) < 0) {
		if (err && err->code != BERTH_E_UNAVAILABLE && err->code != BERTH_E_TIMEOUT)
			err->code = BERTH_E_RUNTIME;
		berth_error_clear(&e);
		if (delete_task(c, id, &e) < 0)
			ctrd_log(c, BERTH_LOG_WARNING, "%s", e.message);
		goto out;
	}
	snprintf(started, sizeof(started), "%lld", (long long)now_ns());
	berth_error_clear(&e);
	if (update_label(c, id, CTRD_LABEL_STARTED, started, "record the start time", &e) < 0)
		ctrd_log(c, BERTH_LOG_WARNING, "container %s: %s", id, e.message);
	ret = 0;
out:
	free_pb(sresp);
	free_pb(cresp);
	free_pb(mounts);
	free_pb(ct);
	free(uri);
	return ret;
}

int ctrd_op_kill(void *instance, const char *id, int signal, unsigned flags,
		 berth_error *err)
{
	struct ctrd *c = instance;

	BERTH_CHECK_FLAGS(flags, BERTH_KILL_ALL, err);
	if (signal <= 0 || signal >= 65)
		return berth_error_set(err, BERTH_E_INVALID, "invalid signal %d", signal);
	if (kill_task(c, id, signal, flags & BERTH_KILL_ALL, err) < 0) {
		if (err && err->code == BERTH_E_NOT_FOUND)
			return not_running(c, id, "signal", err);
		return -1;
	}
	return 0;
}

static int pause_or_resume(struct ctrd *c, const char *id, bool pause, berth_error *err)
{
	Containerd__Services__Tasks__V1__PauseTaskRequest preq =
		CONTAINERD__SERVICES__TASKS__V1__PAUSE_TASK_REQUEST__INIT;
	Containerd__Services__Tasks__V1__ResumeTaskRequest rreq =
		CONTAINERD__SERVICES__TASKS__V1__RESUME_TASK_REQUEST__INIT;
	char what[128];
	int st;

	st = task_status(c, id, err);
	if (st == -1)
		return -1;
	if (st == TASK_NONE || st == CONTAINERD__V1__TYPES__STATUS__STOPPED ||
	    st == CONTAINERD__V1__TYPES__STATUS__CREATED)
		return not_running(c, id, pause ? "pause" : "resume", err);
	if (pause && st != CONTAINERD__V1__TYPES__STATUS__RUNNING)
		return berth_error_set(err, BERTH_E_CONFLICT, "container %s is already paused", id);
	if (!pause && st == CONTAINERD__V1__TYPES__STATUS__RUNNING)
		return berth_error_set(err, BERTH_E_CONFLICT, "container %s is not paused", id);
	snprintf(what, sizeof(what), "%s %.80s", pause ? "pause" : "resume", id);
	preq.container_id = rreq.container_id = (char *)id;
	if (ctrd_call(c, pause ? CTRD_SVC_TASKS "Pause" : CTRD_SVC_TASKS "Resume",
		      pause ? &preq.base : &rreq.base, NULL, NULL, what, NULL, err) < 0) {
		if (err && err->code == BERTH_E_NOT_FOUND)
			return not_running(c, id, pause ? "pause" : "resume", err);
		return -1;
	}
	return 0;
}

int ctrd_op_pause(void *instance, const char *id, unsigned flags, berth_error *err)
{
	BERTH_CHECK_FLAGS(flags, 0, err);
	return pause_or_resume(instance, id, true, err);
}

int ctrd_op_resume(void *instance, const char *id, unsigned flags, berth_error *err)
{
	BERTH_CHECK_FLAGS(flags, 0, err);
	return pause_or_resume(instance, id, false, err);
}

int ctrd_op_rename(void *instance, const char *id, const char *new_name, unsigned flags,
		   berth_error *err)
{
	char what[160];

	BERTH_CHECK_FLAGS(flags, 0, err);
	if (!new_name || !*new_name)
		return berth_error_set(err, BERTH_E_INVALID, "empty container name");
	if (!id || !*id)
		return berth_error_set(err, BERTH_E_INVALID, "empty container id");
	snprintf(what, sizeof(what), "rename %.80s", id);
	return update_label(instance, id, CTRD_LABEL_NAME, new_name, what, err);
}

static int check_resources(const berth_resources *r, berth_error *err)
{
	if (r->memory < 0 || r->memory_reservation < 0 || r->memory_swap < -1)
		return berth_error_set(err, BERTH_E_INVALID,
				       "memory limits must be positive (memory swap: -1 for "
				       "unlimited)");
	if (r->memory_swap > 0 && r->memory == 0)
		return berth_error_set(err, BERTH_E_INVALID,
				       "a memory swap limit needs a memory limit");
	if (r->memory_swap > 0 && r->memory_swap < r->memory)
		return berth_error_set(err, BERTH_E_INVALID,
				       "memory swap (memory + swap) must not be below memory");
	return 0;
}

/* Tasks.Update with LinuxResources JSON. */
static int update_task(struct ctrd *c, const char *id, const berth_resources *r,
		       berth_error *err)
{
	Containerd__Services__Tasks__V1__UpdateTaskRequest req =
		CONTAINERD__SERVICES__TASKS__V1__UPDATE_TASK_REQUEST__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	char *text = ctrd_spec_update_resources(r), what[128];
	int rc;

	if (!text)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	any.type_url = CTRD_TYPE_RESOURCES;
	any.value.data = (uint8_t *)text;
	any.value.len = strlen(text);
	req.container_id = (char *)id;
	req.resources = &any;
	snprintf(what, sizeof(what), "update the limits of %.80s", id);
	rc = ctrd_call(c, CTRD_SVC_TASKS "Update", &req, NULL, NULL, what, NULL, err);
	free(text);
	return rc;
}

int ctrd_op_update(void *instance, const char *id, const berth_update *u, unsigned flags,
		   berth_error *err)
{
	struct ctrd *c = instance;
	Containerd__Services__Containers__V1__GetContainerResponse *ct = NULL;
	Containerd__Services__Containers__V1__UpdateContainerRequest req =
		CONTAINERD__SERVICES__CONTAINERS__V1__UPDATE_CONTAINER_REQUEST__INIT;
	Containerd__Services__Containers__V1__UpdateContainerResponse *resp = NULL;
	Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	ctrd_container_pb upd = CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__INIT;
	char *path = "spec", what[128];
	berth_resources old;
	json_object *spec = NULL;
	bool live = false;
	const char *text;
	berth_error e;
	int st, ret = -1;

	BERTH_CHECK_FLAGS(flags, 0, err);
	if (u->size < offsetof(berth_update, running) + sizeof(u->running))
		return berth_error_set(err, BERTH_E_INVALID, "update too small (%u bytes)",
				       u->size);
	if (u->mask & ~(unsigned)(BERTH_UPDATE_RESTART | BERTH_UPDATE_RESOURCES))
		return berth_error_set(err, BERTH_E_UNSUPPORTED, "unsupported update mask 0x%x",
				       u->mask);
	if (ctrd_container_get(c, id, &ct, err) < 0)
		return -1;
	/* the restart policy is the core's (no BERTH_CAP_RESTART_POLICY): nothing to do */
	if (!(u->mask & BERTH_UPDATE_RESOURCES)) {
		free_pb(ct);
		return 0;
	}
	if (check_resources(&u->resources, err) < 0)
		goto out;
	spec = ctrd_container_spec(ct->container);
	if (!spec) {
		berth_error_set(err, BERTH_E_RUNTIME, "container %s has no readable OCI spec", id);
		goto out;
	}
	ctrd_spec_get_resources(spec, &old);
	if (ctrd_spec_set_resources(spec, &u->resources, err) < 0)
		goto out;
	st = task_status(c, id, err);
	if (st == -1)
		goto out;
	if (is_live(st)) {
		if (update_task(c, id, &u->resources, err) < 0) {
			if (err && err->code == BERTH_E_NOT_FOUND)
				err->code = BERTH_E_CONFLICT; /* exited meanwhile */
			goto out;
		}
		live = true;
	}
	text = json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN);
	any.type_url = CTRD_TYPE_SPEC;
	any.value.data = (uint8_t *)text;
	any.value.len = strlen(text);
	upd.id = (char *)id;
	upd.spec = &any;
	mask.n_paths = 1;
	mask.paths = &path;
	req.container = &upd;
	req.update_mask = &mask;
	snprintf(what, sizeof(what), "store the limits of %.80s", id);
	if (ctrd_call(c, CTRD_SVC_CONTAINERS "Update", &req,
		      &containerd__services__containers__v1__update_container_response__descriptor,
		      &resp, what, NULL, err) < 0) {
		berth_error_clear(&e);
		if (live && update_task(c, id, &old, &e) < 0)
			ctrd_log(c, BERTH_LOG_WARNING,
				 "container %s: the running task keeps the new limits, the stored "
				 "spec the old ones: %s", id, e.message);
		goto out;
	}
	ret = 0;
out:
	free_pb(resp);
	json_object_put(spec);
	free_pb(ct);
	return ret;
}

int ctrd_op_remove(void *instance, const char *id, unsigned flags, berth_error *err)
{
	struct ctrd *c = instance;
	Containerd__Services__Containers__V1__GetContainerResponse *ct = NULL;
	int st, ret = -1;

	BERTH_CHECK_FLAGS(flags, BERTH_REMOVE_FORCE, err);
	if (ctrd_container_get(c, id, &ct, err) < 0)
		return -1;
	st = task_status(c, id, err);
	if (st == -1)
		goto out;
	if (is_live(st) || st == CONTAINERD__V1__TYPES__STATUS__CREATED) {
		if (is_live(st) && !(flags & BERTH_REMOVE_FORCE)) {
			berth_error_set(err, BERTH_E_CONFLICT,
					"container %s is running: stop it first or remove it with "
					"force", id);
			goto out;
		}
		if (kill_task(c, id, SIGKILL, true, err) < 0 && err->code != BERTH_E_NOT_FOUND)
			goto out;
		if (st != CONTAINERD__V1__TYPES__STATUS__RUNNING &&
		    st != CONTAINERD__V1__TYPES__STATUS__CREATED) {
			/* frozen: SIGKILL is delivered once the cgroup thaws */
			Containerd__Services__Tasks__V1__ResumeTaskRequest rreq =
				CONTAINERD__SERVICES__TASKS__V1__RESUME_TASK_REQUEST__INIT;
			berth_error e;

			rreq.container_id = (char *)id;
			if (ctrd_call(c, CTRD_SVC_TASKS "Resume", &rreq, NULL, NULL, "resume", NULL,
				      &e) < 0)
				ctrd_log(c, BERTH_LOG_DEBUG, "container %s: %s", id, e.message);
		}
		if (wait_task(c, id, err) < 0 && err->code != BERTH_E_NOT_FOUND)
			goto out;
	}
	if (st != TASK_NONE && delete_task(c, id, err) < 0)
		goto out;
	if (ct->container->snapshot_key && *ct->container->snapshot_key &&
	    remove_snapshot(c, ct->container->snapshotter, ct->container->snapshot_key, err) < 0)
		goto out;
	if (delete_container_record(c, id, err) < 0)
		goto out;
	ctrd_oom_set(c, id, false);
	ret = 0;
out:
	free_pb(ct);
	return ret;
}
