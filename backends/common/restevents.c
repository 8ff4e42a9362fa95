/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restevents: the event thread of the REST backends (see restevents.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "restevents.h"

#define EVENTS_MAX_OBJECT (1u << 20)
#define EVENTS_MAX_ERROR_BODY (16u << 10)
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define SINCE_MARGIN_NS 1000000000LL /* a reconnect asks for 1 s before the last event */

struct stream {
	struct restevents *r;
	struct jsonutil_stream js;
	long status;
	bool too_big;
	char *body; /* an error answer's body; malloc()ed */
	size_t body_len;
};

static void report_up(struct restevents *r)
{
	if (!atomic_exchange(&r->reachable, true)) {
		if (r->host->log)
			r->host->log(BERTH_LOG_NOTICE, r->module, "%s at %s is reachable again",
				     r->runtime, r->socket);
		r->host->backend_status(r->handle, true, NULL);
	}
}

static void report_down(struct restevents *r, const char *why)
{
	if (atomic_exchange(&r->reachable, false)) {
		if (r->host->log)
			r->host->log(BERTH_LOG_WARNING, r->module, "%s", why);
		r->host->backend_status(r->handle, false, why);
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits up to ms for stop(); true when the thread must end. */
static bool wait_stop(struct restevents *r, int ms)
{
	struct pollfd pfd = { .fd = r->wake[0], .events = POLLIN };

	if (atomic_load(&r->stop))
		return true;
	while (poll(&pfd, 1, ms) < 0 && errno == EINTR)
		;
	return atomic_load(&r->stop);
}

static bool seen_before(const struct restevents *r, int64_t time_ns, const char *key)
{
	for (size_t i = 0; i < RESTEVENTS_SEEN; i++)
		if (r->seen[i].time_ns == time_ns && strcmp(r->seen[i].key, key) == 0)
			return true;
	return false;
}

static void remember(struct restevents *r, int64_t time_ns, const char *key)
{
	struct restevents_seen *e = &r->seen[r->seen_next];

	r->seen_next = (r->seen_next + 1) % RESTEVENTS_SEEN;
	e->time_ns = time_ns;
	snprintf(e->key, sizeof(e->key), "%s", key);
}

static int on_object(void *userdata, json_object *obj)
{
	struct stream *s = userdata;
	struct restevents *r = s->r;
	berth_event ev = { .size = sizeof(ev) };
	const char *action = NULL;

	if (!r->ops->parse(r->userdata, obj, &ev, &action) || !ev.native_id)
		return 0;
	/* A reconnect asks for a little more than it missed (since= inclusive, minus a
	 * margin for events published out of timestamp order): drop what was delivered. */
	if (ev.time_ns) {
		char key[RESTEVENTS_KEY_MAX];

		snprintf(key, sizeof(key), "%s/%s", ev.native_id, action ? action : "");
		if (seen_before(r, ev.time_ns, key))
			return 0;
		remember(r, ev.time_ns, key);
		if (ev.time_ns > r->last_event_ns)
			r->last_event_ns = ev.time_ns;
	}
	r->host->backend_event(r->handle, &ev);
	return 0;
}

static void on_headers(void *userdata, long status)
{
	struct stream *s = userdata;

	s->status = status;
	if (status == 200)
		report_up(s->r);
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
 * true when the runtime had accepted the stream. */
static bool run_stream(struct restevents *r, int64_t since_ns, char *why, size_t why_len)
{
	struct stream s = { .r = r };
	struct unixhttp_request req = { .method = "GET", .on_data = on_data,
					.on_headers = on_headers, .userdata = &s };
	struct unixhttp_response resp;
	struct unixhttp_error uerr;
	char *target;

	if (jsonutil_stream_init(&s.js, EVENTS_MAX_OBJECT, on_object, &s) < 0) {
		snprintf(why, why_len, "%s event stream: out of memory", r->runtime);
		return false;
	}
	target = r->ops->target(r->userdata, since_ns);
	if (!target) {
		jsonutil_stream_release(&s.js);
		snprintf(why, why_len, "%s event stream: out of memory", r->runtime);
		return false;
	}
	req.target = target;
	if (unixhttp_stream(r->http, &req, r->wake[0], &resp, &uerr) < 0) {
		if (s.too_big)
			snprintf(why, why_len, "%s at %s sent an event larger than %u bytes",
				 r->runtime, r->socket, EVENTS_MAX_OBJECT);
		else if (s.status == 200)
			snprintf(why, why_len, "%s at %s: the event stream broke: %s", r->runtime,
				 r->socket, uerr.text);
		else
			snprintf(why, why_len, "%s at %s is unreachable: %s", r->runtime, r->socket,
				 uerr.text);
	} else if (s.status != 200) {
		struct unixhttp_response eresp = { .status = s.status, .body = s.body,
						   .body_len = s.body_len };
		char *msg = r->ops->error_message(r->userdata, &eresp);

		snprintf(why, why_len, "%s at %s answered HTTP %ld to GET %.*s%s%.300s", r->runtime,
			 r->socket, s.status, (int)strcspn(target, "?"), target, msg ? ": " : "",
			 msg ? msg : "");
		free(msg);
	} else {
		snprintf(why, why_len, "%s at %s ended the event stream", r->runtime, r->socket);
	}
	unixhttp_response_release(&resp);
	jsonutil_stream_release(&s.js);
	free(s.body);
	free(target);
	return s.status == 200;
}

static void *event_thread(void *arg)
{
	struct restevents *r = arg;
	int64_t connected_ns = r->since_first ? now_ns() : 0;
	int backoff = BACKOFF_MIN_MS;

	while (!atomic_load(&r->stop)) {
		char why[BERTH_ERROR_MESSAGE_MAX];
		berth_error e;
		int64_t since, started;
		bool connected;

		berth_error_clear(&e);
		if (r->ops->probe(r->userdata, &e) < 0) {
			report_down(r, e.message);
		} else {
			/* from the last event; without one, from when the previous stream began
			 * (the first: from now on, or from the thread's start with since_first) */
			since = r->last_event_ns ? r->last_event_ns - SINCE_MARGIN_NS : connected_ns;
			started = now_ns();
			connected = run_stream(r, since, why, sizeof(why));
			if (atomic_load(&r->stop))
				break;
			if (connected) {
				connected_ns = started;
				backoff = BACKOFF_MIN_MS;
			}
			report_down(r, why);
			if (r->ops->after_stream)
				r->ops->after_stream(r->userdata);
		}
		if (wait_stop(r, backoff))
			break;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

int restevents_init(struct restevents *r)
{
	r->running = false;
	r->last_event_ns = 0;
	r->seen_next = 0;
	memset(r->seen, 0, sizeof(r->seen));
	atomic_init(&r->stop, false);
	atomic_init(&r->reachable, false);
	r->wake[0] = r->wake[1] = -1;
	return pipe2(r->wake, O_CLOEXEC | O_NONBLOCK);
}

int restevents_start(struct restevents *r, berth_error *err)
{
	int rc;

	if (r->running)
		return 0;
	atomic_store(&r->stop, false);
	rc = pthread_create(&r->thread, NULL, event_thread, r);
	if (rc)
		return berth_error_set(err, BERTH_E_INTERNAL,
				       "cannot start the %s event thread: %s", r->runtime,
				       strerror(rc));
	r->running = true;
	return 0;
}

void restevents_stop(struct restevents *r)
{
	char c = 'x';
	ssize_t n;

	if (!r->running)
		return;
	atomic_store(&r->stop, true);
	do
		n = write(r->wake[1], &c, 1);
	while (n < 0 && errno == EINTR);
	pthread_join(r->thread, NULL);
	r->running = false;
	while (read(r->wake[0], &c, 1) > 0)
		;
}

void restevents_release(struct restevents *r)
{
	restevents_stop(r);
	if (r->wake[0] >= 0)
		close(r->wake[0]);
	if (r->wake[1] >= 0)
		close(r->wake[1]);
	r->wake[0] = r->wake[1] = -1;
}
