/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Engine backend: the event stream, on the shared event thread of
 * backends/common/restevents (back-off, reconnect with since=, repeats dropped).
 *
 * One long-lived GET /events?filters={"type":["container"],"label":["berth.id"]}. Before
 * each stream the API version is negotiated again (dockerd may have been upgraded), and
 * after it ends the version is forgotten: the pool's connections died with the stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

static const struct {
	const char *action;
	int type;
} event_map[] = {
	{ "create", BERTH_EV_CREATE },	{ "start", BERTH_EV_START },
	{ "die", BERTH_EV_EXIT },	{ "oom", BERTH_EV_OOM },
	{ "pause", BERTH_EV_PAUSE },	{ "unpause", BERTH_EV_RESUME },
	{ "rename", BERTH_EV_RENAME },	{ "update", BERTH_EV_UPDATE },
	{ "destroy", BERTH_EV_DESTROY },
};

int docker_event_type(const char *action)
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
	const char *exit_code = jsonutil_string(attrs, "exitCode");
	json_object *tn = jsonutil_get(obj, "timeNano");

	(void)userdata;
	if (!action)
		action = jsonutil_string(obj, "status"); /* before API 1.22 */
	if (!id)
		id = jsonutil_string(obj, "id");
	if ((type && strcmp(type, "container") != 0) || !id)
		return false;
	ev->type = docker_event_type(action);
	if (!ev->type)
		return false;
	ev->time_ns = tn ? json_object_get_int64(tn) : 0;
	if (!ev->time_ns) {
		json_object *t = jsonutil_get(obj, "time");

		ev->time_ns = t ? json_object_get_int64(t) * 1000000000 : 0;
	}
	ev->native_id = id;
	ev->berth_id = jsonutil_string(attrs, BERTH_LABEL_ID);
	if (ev->type == BERTH_EV_EXIT && exit_code)
		ev->exit_code = atoi(exit_code);
	if (ev->type == BERTH_EV_RENAME)
		ev->name = jsonutil_string(attrs, "name");
	*action_out = action;
	return true;
}

static char *target(void *userdata, int64_t since_ns)
{
	struct docker *d = userdata;
	char *filters, *t = NULL;
	int minor, n;

	pthread_mutex_lock(&d->lock);
	minor = d->api_minor;
	pthread_mutex_unlock(&d->lock);
	filters = unixhttp_escape("{\"type\":[\"container\"],\"label\":[\"" BERTH_LABEL_ID "\"]}");
	if (!filters)
		return NULL;
	if (since_ns > 0)
		n = asprintf(&t, "/v1.%d/events?filters=%s&since=%lld.%09lld", minor, filters,
			     (long long)(since_ns / 1000000000),
			     (long long)(since_ns % 1000000000));
	else
		n = asprintf(&t, "/v1.%d/events?filters=%s", minor, filters);
	free(filters);
	return n < 0 ? NULL : t;
}

/* Negotiates unless the API is known: open() negotiated before the first stream, and
 * after_stream() forgets it, so that every reconnect asks a possibly upgraded engine. */
static int probe(void *userdata, berth_error *err)
{
	return docker_api_minor(userdata, err) < 0 ? -1 : 0;
}

static char *error_message(void *userdata, const struct unixhttp_response *resp)
{
	(void)userdata;
	return docker_error_message(resp);
}

static void after_stream(void *userdata)
{
	docker_api_forget(userdata);
}

static const struct restevents_ops docker_events_ops = {
	.probe = probe,
	.target = target,
	.parse = parse,
	.error_message = error_message,
	.after_stream = after_stream,
};

int docker_events_init(struct docker *d)
{
	struct restevents *r = &d->events;

	r->ops = &docker_events_ops;
	r->userdata = d;
	r->host = d->host;
	r->handle = d->handle;
	r->module = DOCKER_MODULE;
	r->runtime = "Docker engine";
	r->socket = d->socket;
	r->http = d->http;
	r->since_first = false;
	return restevents_init(r);
}

int docker_events_start(struct docker *d, berth_error *err)
{
	return restevents_start(&d->events, err);
}

void docker_events_stop(struct docker *d)
{
	restevents_stop(&d->events);
}
