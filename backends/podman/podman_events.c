/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Podman backend: the event thread.
 *
 * One long-lived GET /libpod/events?stream=true&filters={"type":["container"]} on a
 * connection of its own, parsed incrementally (jsonutil_stream) and reported through
 * host->backend_event(). Podman 4.3's label filter wants "key=value" and matches nothing
 * for a bare key, so events of containers without a berth.id label (the event's
 * attributes carry the labels) are dropped here. A container's exit is "died" (with
 * containerExitCode), its removal "remove". When the stream ends or fails the thread
 * reports backend_status(false), backs off (100 ms doubling to 5 s), asks the service's
 * version again (it may have been upgraded), reconnects with since=<time of the last
 * event minus 1 s> so that nothing in between is missed (events already delivered are
 * recognised by time, id and action, and dropped), and reports backend_status(true) once
 * podman answers the new stream. The same loop brings an instance whose service was down
 * at open() online. close() wakes the thread through a self-pipe that the stream and the
 * back-off both wait on, so it ends within milliseconds.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "podman.h"

#define EVENTS_MAX_OBJECT (1u << 20)
#define EVENTS_MAX_ERROR_BODY (16u << 10)
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define EVENTS_KEY_MAX PODMAN_EVENTS_KEY_MAX
#define SINCE_MARGIN_NS 1000000000LL /* a reconnect asks for 1 s before the last event */

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

struct stream {
	struct podman *p;
	struct jsonutil_stream js;
	long status;
	bool too_big;
	char *body; /* an error answer's body; malloc()ed */
	size_t body_len;
};

static void report_up(struct podman *p)
{
	if (!atomic_exchange(&p->reachable, true)) {
		podman_log(p, BERTH_LOG_NOTICE, "Podman service at %s is reachable again",
			   p->socket);
		p->host->backend_status(p->handle, true, NULL);
	}
}

static void report_down(struct podman *p, const char *why)
{
	if (atomic_exchange(&p->reachable, false)) {
		podman_log(p, BERTH_LOG_WARNING, "%s", why);
		p->host->backend_status(p->handle, false, why);
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits up to ms for close(); true when the thread must end. */
static bool wait_stop(struct podman *p, int ms)
{
	struct pollfd pfd = { .fd = p->wake[0], .events = POLLIN };

	if (atomic_load(&p->stop))
		return true;
	while (poll(&pfd, 1, ms) < 0 && errno == EINTR)
		;
	return atomic_load(&p->stop);
}

static bool seen_before(const struct podman *p, int64_t time_ns, const char *key)
{
	for (size_t i = 0; i < PODMAN_EVENTS_SEEN; i++)
		if (p->seen[i].time_ns == time_ns && strcmp(p->seen[i].key, key) == 0)
			return true;
	return false;
}

static void remember(struct podman *p, int64_t time_ns, const char *key)
{
	struct podman_seen *e = &p->seen[p->seen_next];

	p->seen_next = (p->seen_next + 1) % PODMAN_EVENTS_SEEN;
	e->time_ns = time_ns;
	snprintf(e->key, sizeof(e->key), "%s", key);
}

static int on_event(void *userdata, json_object *obj)
{
	struct stream *s = userdata;
	struct podman *p = s->p;
	json_object *actor = jsonutil_get(obj, "Actor");
	json_object *attrs = jsonutil_get(actor, "Attributes");
	const char *type = jsonutil_string(obj, "Type");
	const char *action = jsonutil_string(obj, "Action");
	const char *id = jsonutil_string(actor, "ID");
	const char *exit_code = jsonutil_string(attrs, "containerExitCode");
	const char *berth_id = jsonutil_string(attrs, BERTH_LABEL_ID);
	json_object *tn = jsonutil_get(obj, "timeNano");
	berth_event ev = { .size = sizeof(ev) };

	if (!action)
		action = jsonutil_string(obj, "status");
	if (!id)
		id = jsonutil_string(obj, "id");
	if ((type && strcmp(type, "container") != 0) || !id || !berth_id)
		return 0;
	ev.type = podman_event_type(action);
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
		if (seen_before(p, ev.time_ns, key))
			return 0;
		remember(p, ev.time_ns, key);
		if (ev.time_ns > p->last_event_ns)
			p->last_event_ns = ev.time_ns;
	}

	ev.native_id = id;
	ev.berth_id = berth_id;
	if (ev.type == BERTH_EV_EXIT && exit_code)
		ev.exit_code = atoi(exit_code);
	if (ev.type == BERTH_EV_RENAME)
		ev.name = jsonutil_string(attrs, "name");
	p->host->backend_event(p->handle, &ev);
	return 0;
}

static void on_headers(void *userdata, long status)
{
	struct stream *s = userdata;

	s->status = status;
	if (status == 200)
		report_up(s->p);
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
 * true when Podman had accepted the stream. */
static bool run_stream(struct podman *p, int64_t since_ns, char *why, size_t why_len)
{
	struct stream s = { .p = p };
	struct unixhttp_request req = { .method = "GET", .on_data = on_data,
					.on_headers = on_headers, .userdata = &s };
	struct unixhttp_response resp;
	struct unixhttp_error uerr;
	char *filters, *target = NULL;
	int n;

	filters = unixhttp_escape("{\"type\":[\"container\"]}");
	if (!filters || jsonutil_stream_init(&s.js, EVENTS_MAX_OBJECT, on_event, &s) < 0) {
		free(filters);
		snprintf(why, why_len, "Podman event stream: out of memory");
		return false;
	}
	if (since_ns > 0)
		n = asprintf(&target, PODMAN_API_PREFIX "/events?stream=true&filters=%s"
			     "&since=%lld.%09lld", filters,
			     (long long)(since_ns / 1000000000),
			     (long long)(since_ns % 1000000000));
	else
		n = asprintf(&target, PODMAN_API_PREFIX "/events?stream=true&filters=%s",
			     filters);
	free(filters);
	if (n < 0) {
		jsonutil_stream_release(&s.js);
		snprintf(why, why_len, "Podman event stream: out of memory");
		return false;
	}
	req.target = target;
	if (unixhttp_stream(p->http, &req, p->wake[0], &resp, &uerr) < 0) {
		if (s.too_big)
			snprintf(why, why_len,
				 "Podman service at %s sent an event larger than %u bytes",
				 p->socket, EVENTS_MAX_OBJECT);
		else if (s.status == 200)
			snprintf(why, why_len, "Podman event stream from %s broke: %s", p->socket,
				 uerr.text);
		else
			snprintf(why, why_len, "Podman service at %s is unreachable: %s", p->socket,
				 uerr.text);
	} else if (s.status != 200) {
		struct unixhttp_response eresp = { .status = s.status, .body = s.body,
						   .body_len = s.body_len };
		berth_error e;

		podman_http_error(&eresp, "events", &e);
		snprintf(why, why_len, "Podman service at %s answered HTTP %ld to GET "
			 "/libpod/events: %.300s", p->socket, s.status, e.message);
	} else {
		snprintf(why, why_len, "Podman service at %s ended the event stream", p->socket);
	}
	unixhttp_response_release(&resp);
	jsonutil_stream_release(&s.js);
	free(s.body);
	free(target);
	return s.status == 200;
}

static void *event_thread(void *arg)
{
	struct podman *p = arg;
	/* every stream asks for since=: podman 4.3 starts tailing its events file a moment
	 * after it has answered, and events of that moment would be lost without it */
	int64_t connected_ns = now_ns();
	int backoff = BACKOFF_MIN_MS;

	while (!atomic_load(&p->stop)) {
		char why[BERTH_ERROR_MESSAGE_MAX];
		berth_error e;
		int64_t since, started;
		bool connected;

		berth_error_clear(&e);
		if (podman_probe(p, podman_timeout_ms(p), &e) < 0) {
			report_down(p, e.message);
		} else {
			/* the first stream from when watch() began, later ones from the last
			 * event (or, without one, from when the previous stream began) */
			since = p->last_event_ns ? p->last_event_ns - SINCE_MARGIN_NS
						 : connected_ns;
			started = now_ns();
			connected = run_stream(p, since, why, sizeof(why));
			if (atomic_load(&p->stop))
				break;
			if (connected) {
				connected_ns = started;
				backoff = BACKOFF_MIN_MS;
			}
			report_down(p, why);
		}
		if (wait_stop(p, backoff))
			break;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

int podman_events_start(struct podman *p, berth_error *err)
{
	int rc;

	if (p->thread_running)
		return 0;
	atomic_store(&p->stop, false);
	rc = pthread_create(&p->thread, NULL, event_thread, p);
	if (rc)
		return berth_error_set(err, BERTH_E_INTERNAL,
				       "cannot start the Podman event thread: %s", strerror(rc));
	p->thread_running = true;
	return 0;
}

void podman_events_stop(struct podman *p)
{
	char c = 'x';
	ssize_t n;

	if (!p->thread_running)
		return;
	atomic_store(&p->stop, true);
	do
		n = write(p->wake[1], &c, 1);
	while (n < 0 && errno == EINTR);
	pthread_join(p->thread, NULL);
	p->thread_running = false;
	while (read(p->wake[0], &c, 1) > 0)
		;
}
