/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Podman backend: the event stream, on the shared event thread of
 * backends/common/restevents (back-off, reconnect with since=, repeats dropped).
 *
 * GET /libpod/events?stream=true&filters={"type":["container"]}&since=. Podman 4.3's
 * label filter wants "key=value" and matches nothing for a bare key, so events of
 * containers without a berth.id label (the event's attributes carry the labels) are
 * dropped here. A container's exit is "died" (with containerExitCode), its removal
 * "remove". Every stream asks for since=, the first one from when watch() began: the
 * file events logger starts tailing its file a moment after the service answered, and
 * events of that moment would be lost without it. The service's version is asked again
 * before each stream (it may have been upgraded: live update depends on it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podman.h"

static const struct {
	const char *action;
	int type;
} event_map[] = {
	{ "create", BERTH_EV_CREATE },	{ "start", BERTH_EV_START },
	{ "died", BERTH_EV_EXIT },	{ "die", BERTH_EV_EXIT },
	{ "oom", BERTH_EV_OOM },	{ "pause", BERTH_EV_PAUSE },
	{ "unpause", BERTH_EV_RESUME },	{ "rename", BERTH_EV_RENAME },
	{ "update", BERTH_EV_UPDATE },	{ "remove", BERTH_EV_DESTROY },
};

int podman_event_type(const char *action)
{
	for (size_t i = 0; action && i < sizeof(event_map) / sizeof(event_map[0]); i++)
		if (strcmp(action, event_map[i].action) == 0)
			return event_map[i].type;
	return 0;
}

static bool parse(void *userdata, json_object *obj, berth_event *ev, const char **action_out)
{
	json_object *actor = jsonutil_get(obj, "Actor");
	json_object *attrs = jsonutil_get(actor, "Attributes");
	const char *type = jsonutil_string(obj, "Type");
	const char *action = jsonutil_string(obj, "Action");
	const char *id = jsonutil_string(actor, "ID");
	const char *exit_code = jsonutil_string(attrs, "containerExitCode");
	const char *berth_id = jsonutil_string(attrs, BERTH_LABEL_ID);
	json_object *tn = jsonutil_get(obj, "timeNano");

	(void)userdata;
	if (!action)
		action = jsonutil_string(obj, "status");
	if (!id)
		id = jsonutil_string(obj, "id");
	if ((type && strcmp(type, "container") != 0) || !id || !berth_id)
		return false;
	ev->type = podman_event_type(action);
	if (!ev->type)
		return false;
	ev->time_ns = tn ? json_object_get_int64(tn) : 0;
	if (!ev->time_ns) {
		json_object *t = jsonutil_get(obj, "time");

		ev->time_ns = t ? json_object_get_int64(t) * 1000000000 : 0;
	}
	ev->native_id = id;
	ev->berth_id = berth_id;
	if (ev->type == BERTH_EV_EXIT && exit_code)
		ev->exit_code = atoi(exit_code);
	if (ev->type == BERTH_EV_RENAME)
		ev->name = jsonutil_string(attrs, "name");
	*action_out = action;
	return true;
}

static char *target(void *userdata, int64_t since_ns)
{
	char *filters, *t = NULL;
	int n;

	(void)userdata;
	filters = unixhttp_escape("{\"type\":[\"container\"]}");
	if (!filters)
		return NULL;
	if (since_ns > 0)
		n = asprintf(&t, PODMAN_API_PREFIX "/events?stream=true&filters=%s"
			     "&since=%lld.%09lld", filters, (long long)(since_ns / 1000000000),
			     (long long)(since_ns % 1000000000));
	else
		n = asprintf(&t, PODMAN_API_PREFIX "/events?stream=true&filters=%s", filters);
	free(filters);
	return n < 0 ? NULL : t;
}

static int probe(void *userdata, berth_error *err)
{
	struct podman *p = userdata;

	return podman_probe(p, podman_timeout_ms(p), err);
}

static char *error_message(void *userdata, const struct unixhttp_response *resp)
{
	berth_error e;

	(void)userdata;
	podman_http_error(resp, "events", &e);
	return strdup(e.message);
}

static const struct restevents_ops podman_events_ops = {
	.probe = probe,
	.target = target,
	.parse = parse,
	.error_message = error_message,
};

int podman_events_init(struct podman *p)
{
	struct restevents *r = &p->events;

	r->ops = &podman_events_ops;
	r->userdata = p;
	r->host = p->host;
	r->handle = p->handle;
	r->module = PODMAN_MODULE;
	r->runtime = "Podman service";
	r->socket = p->socket;
	r->http = p->http;
	r->since_first = true;
	return restevents_init(r);
}

int podman_events_start(struct podman *p, berth_error *err)
{
	return restevents_start(&p->events, err);
}

void podman_events_stop(struct podman *p)
{
	restevents_stop(&p->events);
}
