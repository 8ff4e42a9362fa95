/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Engine backend: the event thread.
 *
 * One long-lived GET /events?filters={"type":["container"],"label":["berth.id"]} on a
 * connection of its own, parsed incrementally (jsonutil_stream.c) and reported
 * through host->backend_event(). When the stream ends or fails the thread reports
 * backend_status(false), backs off (100 ms doubling to 5 s), negotiates the API version
 * again (dockerd may have been upgraded), reconnects with since=<time of the last
 * event minus 1 s> so that nothing in between is missed (events already delivered are
 * recognised by time, id and action, and dropped), and reports backend_status(true) once
 * Docker answers the new stream. The same loop brings an instance whose dockerd was
 * down at open() online. close() wakes the thread through a self-pipe that the stream
 * and the back-off both wait on, so it ends within milliseconds.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"

#define EVENTS_MAX_OBJECT (1u << 20)
#define EVENTS_MAX_ERROR_BODY (16u << 10)
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define EVENTS_KEY_MAX DOCKER_EVENTS_KEY_MAX
#define SINCE_MARGIN_NS 1000000000LL /* a reconnect asks for 1 s before the last event */

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

struct stream {
	struct docker *d;
	struct jsonutil_stream js;
	long status;
	bool too_big;
	char *body; /* an error answer's body; malloc()ed */
	size_t body_len;
};

static void report_up(struct docker *d)
{
	if (!atomic_exchange(&d->reachable, true)) {
		docker_log(d, BERTH_LOG_NOTICE, "Docker engine at %s is reachable again",
			   d->socket);
		d->host->backend_status(d->handle, true, NULL);
	}
}

static void report_down(struct docker *d, const char *why)
{
	if (atomic_exchange(&d->reachable, false)) {
		docker_log(d, BERTH_LOG_WARNING, "%s", why);
		d->host->backend_status(d->handle, false, why);
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits up to ms for close(); true when the thread must end. */
static bool wait_stop(struct docker *d, int ms)
{
	struct pollfd pfd = { .fd = d->wake[0], .events = POLLIN };

	if (atomic_load(&d->stop))
		return true;
	while (poll(&pfd, 1, ms) < 0 && errno == EINTR)
		;
	return atomic_load(&d->stop);
}

static bool seen_before(const struct docker *d, int64_t time_ns, const char *key)
{
	for (size_t i = 0; i < DOCKER_EVENTS_SEEN; i++)
		if (d->seen[i].time_ns == time_ns && strcmp(d->seen[i].key, key) == 0)
			return true;
	return false;
}

static void remember(struct docker *d, int64_t time_ns, const char *key)
{
	struct docker_seen *e = &d->seen[d->seen_next];

	d->seen_next = (d->seen_next + 1) % DOCKER_EVENTS_SEEN;
	e->time_ns = time_ns;
	snprintf(e->key, sizeof(e->key), "%s", key);
}

static int on_event(void *userdata, json_object *obj)
{
	struct stream *s = userdata;
	struct docker *d = s->d;
	json_object *actor = jsonutil_get(obj, "Actor");
	json_object *attrs = jsonutil_get(actor, "Attributes");
	const char *type = jsonutil_string(obj, "Type");
	const char *action = jsonutil_string(obj, "Action");
	const char *id = jsonutil_string(actor, "ID");
	const char *exit_code = jsonutil_string(attrs, "exitCode");
	json_object *tn = jsonutil_get(obj, "timeNano");
	berth_event ev = { .size = sizeof(ev) };

	if (!action)
		action = jsonutil_string(obj, "status"); /* before API 1.22 */
	if (!id)
		id = jsonutil_string(obj, "id");
	if ((type && strcmp(type, "container") != 0) || !id)
		return 0;
	ev.type = docker_event_type(action);
	if (!ev.type)
		return 0;
	ev.time_ns = tn ? json_object_get_int64(tn) : 0;
	if (!ev.time_ns) {
		json_object *t = jsonutil_get(obj, "time");

		ev.time_ns = t ? json_object_get_int64(t) * 1000000000 : 0;
	}

	/* A reconnect asks for a little more than it missed (since= inclusive, minus a
	 * margin for events published out of timestamp order): drop what was delivered. */
	if (ev.time_ns) {
		char key[EVENTS_KEY_MAX];

		snprintf(key, sizeof(key), "%s/%s", id, action);
		if (seen_before(d, ev.time_ns, key))
			return 0;
		remember(d, ev.time_ns, key);
		if (ev.time_ns > d->last_event_ns)
			d->last_event_ns = ev.time_ns;
	}

	ev.native_id = id;
	ev.berth_id = jsonutil_string(attrs, BERTH_LABEL_ID);
	if (ev.type == BERTH_EV_EXIT && exit_code)
		ev.exit_code = atoi(exit_code);
	if (ev.type == BERTH_EV_RENAME)
		ev.name = jsonutil_string(attrs, "name");
	d->host->backend_event(d->handle, &ev);
	return 0;
}

static void on_headers(void *userdata, long status)
{
	struct stream *s = userdata;

	s->status = status;
	if (status == 200)
		report_up(s->d);
}

static bool on_data(void *userdata, const char *data, size_t len)
{
	struct stream *s = userdata;

	if (s->status == 200) {
		if (jsonutil_stream_feed(&s->js, data, len) < 0) {
			s->too_big = true;
			return false;
		}
		return true;
	}
	if (s->body_len + len > EVENTS_MAX_ERROR_BODY)
		len = EVENTS_MAX_ERROR_BODY - s->body_len;
	if (len) {
		char *b = realloc(s->body, s->body_len + len + 1);

		if (!b)
			return false;
		memcpy(b + s->body_len, data, len);
		s->body_len += len;
		b[s->body_len] = '\0';
		s->body = b;
	}
	return true;
}

/* One stream, from connect to its end. Fills why (for backend_status) on return;
 * true when Docker had accepted the stream. */
static bool run_stream(struct docker *d, int64_t since_ns, char *why, size_t why_len)
{
	struct stream s = { .d = d };
	struct unixhttp_request req = { .method = "GET", .on_data = on_data,
					.on_headers = on_headers, .userdata = &s };
	struct unixhttp_response resp;
	struct unixhttp_error uerr;
	char *filters, *target = NULL;
	int minor, n;

	pthread_mutex_lock(&d->lock);
	minor = d->api_minor;
	pthread_mutex_unlock(&d->lock);
	filters = unixhttp_escape("{\"type\":[\"container\"],\"label\":[\"" BERTH_LABEL_ID "\"]}");
	if (!filters || jsonutil_stream_init(&s.js, EVENTS_MAX_OBJECT, on_event, &s) < 0) {
		free(filters);
		snprintf(why, why_len, "Docker event stream: out of memory");
		return false;
	}
	if (since_ns > 0)
		n = asprintf(&target, "/v1.%d/events?filters=%s&since=%lld.%09lld", minor, filters,
			     (long long)(since_ns / 1000000000),
			     (long long)(since_ns % 1000000000));
	else
		n = asprintf(&target, "/v1.%d/events?filters=%s", minor, filters);
	free(filters);
	if (n < 0) {
		jsonutil_stream_release(&s.js);
		snprintf(why, why_len, "Docker event stream: out of memory");
		return false;
	}
	req.target = target;
	if (unixhttp_stream(d->http, &req, d->wake[0], &resp, &uerr) < 0) {
		if (s.too_big)
			snprintf(why, why_len,
				 "Docker engine at %s sent an event larger than %u bytes",
				 d->socket, EVENTS_MAX_OBJECT);
		else if (s.status == 200)
			snprintf(why, why_len, "Docker event stream from %s broke: %s", d->socket,
				 uerr.text);
		else
			snprintf(why, why_len, "Docker engine at %s is unreachable: %s", d->socket,
				 uerr.text);
	} else if (s.status != 200) {
		struct unixhttp_response eresp = { .status = s.status, .body = s.body,
						   .body_len = s.body_len };
		char *msg = docker_error_message(&eresp);

		snprintf(why, why_len, "Docker engine at %s answered HTTP %ld to GET /events%s%s",
			 d->socket, s.status, msg ? ": " : "", msg ? msg : "");
		free(msg);
	} else {
		snprintf(why, why_len, "Docker engine at %s ended the event stream", d->socket);
	}
	unixhttp_response_release(&resp);
	jsonutil_stream_release(&s.js);
	free(s.body);
	free(target);
	return s.status == 200;
}

static void *event_thread(void *arg)
{
	struct docker *d = arg;
	int64_t connected_ns = 0;
	int backoff = BACKOFF_MIN_MS;

	while (!atomic_load(&d->stop)) {
		char why[BERTH_ERROR_MESSAGE_MAX];
		berth_error e;
		int64_t since, started;
		bool connected;

		berth_error_clear(&e);
		if (docker_negotiate(d, &e) < 0) {
			report_down(d, e.message);
		} else {
			/* since= only on a reconnect; the first stream starts now */
			since = d->last_event_ns ? d->last_event_ns - SINCE_MARGIN_NS
						 : connected_ns;
			started = now_ns();
			connected = run_stream(d, since, why, sizeof(why));
			if (atomic_load(&d->stop))
				break;
			if (connected) {
				connected_ns = started;
				backoff = BACKOFF_MIN_MS;
			}
			report_down(d, why);
			/* the pool's connections died with the stream: negotiate again */
			docker_api_forget(d);
		}
		if (wait_stop(d, backoff))
			break;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

int docker_events_start(struct docker *d, berth_error *err)
{
	int rc;

	if (d->thread_running)
		return 0;
	atomic_store(&d->stop, false);
	rc = pthread_create(&d->thread, NULL, event_thread, d);
	if (rc)
		return berth_error_set(err, BERTH_E_INTERNAL,
				       "cannot start the Docker event thread: %s", strerror(rc));
	d->thread_running = true;
	return 0;
}

void docker_events_stop(struct docker *d)
{
	char c = 'x';
	ssize_t n;

	if (!d->thread_running)
		return;
	atomic_store(&d->stop, true);
	do
		n = write(d->wake[1], &c, 1);
	while (n < 0 && errno == EINTR);
	pthread_join(d->thread, NULL);
	d->thread_running = false;
	while (read(d->wake[0], &c, 1) > 0)
		;
}
