/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Engine backend: GET /containers/{id}/json -> berth_container_info, and the
 * small JSON and time helpers it needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker.h"

json_object *docker_json_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *docker_json_string(json_object *o, const char *key)
{
	json_object *v = docker_json_get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v)
							       : NULL;
}

static int64_t get_int(json_object *o, const char *key)
{
	json_object *v = docker_json_get(o, key);

	if (!v)
		return 0;
	if (json_object_is_type(v, json_type_string))
		return strtoll(json_object_get_string(v), NULL, 10);
	return json_object_get_int64(v);
}

static bool get_bool(json_object *o, const char *key)
{
	json_object *v = docker_json_get(o, key);

	return v && json_object_get_boolean(v);
}

static int digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

int64_t docker_parse_time(const char *s)
{
	struct tm tm = { 0 };
	int64_t ns = 0, secs;
	int y, mo, d, h, mi, sec, off = 0;
	time_t t;

	if (!s)
		return 0;
	if ((y = digits(&s, 4)) < 0 || *s++ != '-' || (mo = digits(&s, 2)) < 0 || *s++ != '-' ||
	    (d = digits(&s, 2)) < 0 || (*s != 'T' && *s != 't' && *s != ' '))
		return 0;
	s++;
	if ((h = digits(&s, 2)) < 0 || *s++ != ':' || (mi = digits(&s, 2)) < 0 || *s++ != ':' ||
	    (sec = digits(&s, 2)) < 0)
		return 0;
	if (*s == '.') {
		int n = 0;

		for (s++; *s >= '0' && *s <= '9'; s++, n++)
			if (n < 9)
				ns = ns * 10 + (*s - '0');
		for (; n < 9; n++)
			ns *= 10;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1, oh, om;

		if ((oh = digits(&s, 2)) < 0 || *s++ != ':' || (om = digits(&s, 2)) < 0)
			return 0;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return 0;
	}
	if (*s || y <= 1970 - 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return 0; /* includes Docker's zero time 0001-01-01T00:00:00Z */
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return 0;
	secs = (int64_t)t - off;
	if (secs < 0 || secs > INT64_MAX / 1000000000 - 1)
		return 0;
	return secs * 1000000000 + ns;
}

static int state_of(const char *status)
{
	static const struct {
		const char *name;
		int state;
	} map[] = {
		{ "created", BERTH_RS_CREATED },   { "running", BERTH_RS_RUNNING },
		{ "paused", BERTH_RS_PAUSED },     { "restarting", BERTH_RS_RESTARTING },
		{ "removing", BERTH_RS_REMOVING }, { "exited", BERTH_RS_EXITED },
		{ "dead", BERTH_RS_DEAD },
	};

	for (size_t i = 0; status && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(status, map[i].name) == 0)
			return map[i].state;
	return BERTH_RS_UNKNOWN;
}

static int restart_type_of(const char *name)
{
	if (!name || !*name || strcmp(name, "no") == 0)
		return BERTH_RESTART_NO;
	if (strcmp(name, "always") == 0)
		return BERTH_RESTART_ALWAYS;
	if (strcmp(name, "unless-stopped") == 0)
		return BERTH_RESTART_UNLESS_STOPPED;
	if (strcmp(name, "on-failure") == 0)
		return BERTH_RESTART_ON_FAILURE;
	return BERTH_RESTART_NO;
}

/* *dst = strdup(src) when src is a non-empty string; false when out of memory. */
static bool dup_to(char **dst, const char *src)
{
	if (!src || !*src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

int docker_info_from_json(json_object *root, berth_container_info *info, berth_error *err)
{
	json_object *state, *config, *hc, *rp;
	const char *name;
	bool ok = true;

	if (info->size < offsetof(berth_container_info, resources) + sizeof(info->resources))
		return berth_error_set(err, BERTH_E_INTERNAL, "container info too small (%u bytes)",
				       info->size);
	if (!root || !json_object_is_type(root, json_type_object) ||
	    !docker_json_string(root, "Id"))
		return berth_error_set(err, BERTH_E_RUNTIME,
				       "Docker's container description has no Id");
	state = docker_json_get(root, "State");
	config = docker_json_get(root, "Config");
	hc = docker_json_get(root, "HostConfig");
	rp = docker_json_get(hc, "RestartPolicy");

	name = docker_json_string(root, "Name");
	if (name && name[0] == '/')
		name++;
	ok &= dup_to(&info->native_id, docker_json_string(root, "Id"));
	ok &= dup_to(&info->name, name);
	ok &= dup_to(&info->image, docker_json_string(config, "Image"));
	ok &= dup_to(&info->berth_id,
		     docker_json_string(docker_json_get(config, "Labels"), BERTH_LABEL_ID));
	if (BERTH_HAS_FIELD(info, berth_container_info, owner))
		ok &= dup_to(&info->owner, docker_json_string(docker_json_get(config, "Labels"),
							      BERTH_LABEL_OWNER));
	ok &= dup_to(&info->error, docker_json_string(state, "Error"));
	if (!ok) {
		berth_container_info_release(info);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	info->state = state_of(docker_json_string(state, "Status"));
	info->pid = (int)get_int(state, "Pid");
	info->exit_code = (int)get_int(state, "ExitCode");
	info->oom_killed = get_bool(state, "OOMKilled");
	info->started_ns = docker_parse_time(docker_json_string(state, "StartedAt"));
	info->finished_ns = docker_parse_time(docker_json_string(state, "FinishedAt"));
	info->created_ns = docker_parse_time(docker_json_string(root, "Created"));
	info->restart_count = (int)get_int(root, "RestartCount");
	info->restart.type = restart_type_of(docker_json_string(rp, "Name"));
	info->restart.max_retry_count = (int)get_int(rp, "MaximumRetryCount");
	info->restart.retry_timeout_s = 0;
	info->resources.memory = get_int(hc, "Memory");
	info->resources.memory_reservation = get_int(hc, "MemoryReservation");
	info->resources.memory_swap = get_int(hc, "MemorySwap");
	return 0;
}
