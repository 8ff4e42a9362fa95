/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Podman backend: GET /libpod/containers/{id}/json -> berth_container_info.
 *
 * Podman's states are more than Docker's: "configured" and "initialized" (created,
 * not yet run), "stopping", and "stopped" next to "exited" (podman stop, or an exit
 * podman noticed after a restart of its own). Times are Go's RFC 3339, zero time
 * "0001-01-01T00:00:00Z" for never.
 */
#include <stdlib.h>
#include <string.h>

#include "podman.h"

static int64_t get_int(json_object *o, const char *key)
{
	json_object *v = jsonutil_get(o, key);

	if (!v)
		return 0;
	if (json_object_is_type(v, json_type_string))
		return strtoll(json_object_get_string(v), NULL, 10);
	return json_object_get_int64(v);
}

static bool get_bool(json_object *o, const char *key)
{
	json_object *v = jsonutil_get(o, key);

	return v && json_object_get_boolean(v);
}

static int state_of(const char *status)
{
	static const struct {
		const char *name;
		int state;
	} map[] = {
		{ "created", BERTH_RS_CREATED },     { "configured", BERTH_RS_CREATED },
		{ "initialized", BERTH_RS_CREATED }, { "running", BERTH_RS_RUNNING },
		{ "stopping", BERTH_RS_RUNNING },    { "paused", BERTH_RS_PAUSED },
		{ "exited", BERTH_RS_EXITED },       { "stopped", BERTH_RS_EXITED },
		{ "removing", BERTH_RS_REMOVING },   { "dead", BERTH_RS_DEAD },
	};

	for (size_t i = 0; status && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(status, map[i].name) == 0)
			return map[i].state;
	return BERTH_RS_UNKNOWN;
}

static bool dup_to(char **dst, const char *src)
{
	if (!src || !*src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

int podman_info_from_json(json_object *root, berth_container_info *info, berth_error *err)
{
	json_object *state, *config, *hc, *labels;
	const char *image;
	bool ok = true;

	if (info->size < offsetof(berth_container_info, resources) + sizeof(info->resources))
		return berth_error_set(err, BERTH_E_INTERNAL, "container info too small (%u bytes)",
				       info->size);
	if (!root || !json_object_is_type(root, json_type_object) ||
	    !jsonutil_string(root, "Id"))
		return berth_error_set(err, BERTH_E_RUNTIME,
				       "Podman's container description has no Id");
	state = jsonutil_get(root, "State");
	config = jsonutil_get(root, "Config");
	hc = jsonutil_get(root, "HostConfig");
	labels = jsonutil_get(config, "Labels");
	image = jsonutil_string(root, "ImageName");
	if (!image)
		image = jsonutil_string(config, "Image");

	ok &= dup_to(&info->native_id, jsonutil_string(root, "Id"));
	ok &= dup_to(&info->name, jsonutil_string(root, "Name"));
	ok &= dup_to(&info->image, image);
	ok &= dup_to(&info->berth_id, jsonutil_string(labels, BERTH_LABEL_ID));
	if (BERTH_HAS_FIELD(info, berth_container_info, owner))
		ok &= dup_to(&info->owner, jsonutil_string(labels, BERTH_LABEL_OWNER));
	ok &= dup_to(&info->error, jsonutil_string(state, "Error"));
	if (!ok) {
		berth_container_info_release(info);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	info->state = state_of(jsonutil_string(state, "Status"));
	info->pid = (int)get_int(state, "Pid");
	info->exit_code = (int)get_int(state, "ExitCode");
	info->oom_killed = get_bool(state, "OOMKilled");
	info->started_ns = jsonutil_parse_time(jsonutil_string(state, "StartedAt"));
	info->finished_ns = jsonutil_parse_time(jsonutil_string(state, "FinishedAt"));
	info->created_ns = jsonutil_parse_time(jsonutil_string(root, "Created"));
	info->restart_count = (int)get_int(root, "RestartCount");
	info->restart.type = BERTH_RESTART_NO; /* berth's restart manager holds the policy */
	info->resources.memory = get_int(hc, "Memory");
	info->resources.memory_reservation = get_int(hc, "MemoryReservation");
	info->resources.memory_swap = get_int(hc, "MemorySwap");
	return 0;
}
