/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd backend: the event thread.
 *
 * One long-lived Events.Subscribe stream on a connection of its own, filtered on the
 * instance's namespace and the topics berth reports:
 *
 *   /tasks/start -> BERTH_EV_START     /tasks/exit -> BERTH_EV_EXIT (exit status; the
 *   /tasks/oom -> BERTH_EV_OOM           init process only, not execs)
 *   /tasks/paused -> BERTH_EV_PAUSE    /tasks/resumed -> BERTH_EV_RESUME
 *   /containers/delete -> BERTH_EV_DESTROY
 *
 * The envelope's event is a google.protobuf.Any holding a containerd.events message in
 * protobuf. containerd does not replay events: when the stream breaks the thread reports
 * backend_status(false), backs off (100 ms doubling to 5 s), subscribes again and reports
 * backend_status(true) once containerd has answered the new stream, and the core then
 * reconciles with list() (which covers the exits missed in between). close() wakes the
 * thread through a self-pipe that the stream and the back-off both wait on.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrd.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

static const char *const topics[] = {
	"/tasks/start", "/tasks/exit", "/tasks/oom", "/tasks/paused", "/tasks/resumed",
	"/containers/delete",
};
#define N_TOPICS (sizeof(topics) / sizeof(topics[0]))

static void report_up(struct ctrd *c)
{
	if (!atomic_exchange(&c->reachable, true)) {
		ctrd_log(c, BERTH_LOG_NOTICE, "containerd at %s is reachable again", c->socket);
		c->host->backend_status(c->handle, true, NULL);
	}
}

static void report_down(struct ctrd *c, const char *why)
{
	if (atomic_exchange(&c->reachable, false)) {
		ctrd_log(c, BERTH_LOG_WARNING, "%s", why);
		c->host->backend_status(c->handle, false, why);
	}
}

static bool wait_stop(struct ctrd *c, int ms)
{
	struct pollfd pfd = { .fd = c->wake[0], .events = POLLIN };

	if (atomic_load(&c->stop))
		return true;
	while (poll(&pfd, 1, ms) < 0 && errno == EINTR)
		;
	return atomic_load(&c->stop);
}

static int64_t ts_ns(const Google__Protobuf__Timestamp *t)
{
	return t && t->seconds > 0 ? t->seconds * 1000000000LL + t->nanos : 0;
}

/* The message inside an envelope's Any, unpacked with desc (caller frees), or NULL. */
static ProtobufCMessage *unpack_event(const Google__Protobuf__Any *any,
				      const ProtobufCMessageDescriptor *desc)
{
	const char *url = any->type_url ? any->type_url : "";
	const char *slash = strrchr(url, '/');

	/* "containerd.events.TaskExit" (typeurl may prefix it with a host/) */
	if (strcmp(slash ? slash + 1 : url, desc->name) != 0)
		return NULL;
	return protobuf_c_message_unpack(desc, NULL, any->value.len, any->value.data);
}

static void deliver(struct ctrd *c, const Containerd__Services__Events__V1__Envelope *env)
{
	berth_event ev = { .size = sizeof(ev) };
	ProtobufCMessage *m = NULL;
	const char *topic = env->topic ? env->topic : "";

	if (!env->event || !env->namespace_ || strcmp(env->namespace_, c->namespace) != 0)
		return;
	ev.time_ns = ts_ns(env->timestamp);
	if (strcmp(topic, "/tasks/exit") == 0) {
		Containerd__Events__TaskExit *e;

		m = unpack_event(env->event, &containerd__events__task_exit__descriptor);
		e = (Containerd__Events__TaskExit *)m;
		/* an exec's exit names the exec; the container's own process has its id */
		if (!e || !e->container_id || (e->id && *e->id && strcmp(e->id, e->container_id)))
			goto out;
		ev.type = BERTH_EV_EXIT;
		ev.native_id = e->container_id;
		ev.exit_code = (int)e->exit_status;
		if (ts_ns(e->exited_at))
			ev.time_ns = ts_ns(e->exited_at);
	} else if (strcmp(topic, "/tasks/oom") == 0) {
		Containerd__Events__TaskOOM *e;

		m = unpack_event(env->event, &containerd__events__task_oom__descriptor);
		e = (Containerd__Events__TaskOOM *)m;
		if (!e || !e->container_id)
			goto out;
		ctrd_oom_set(c, e->container_id, true);
		ev.type = BERTH_EV_OOM;
		ev.native_id = e->container_id;
	} else if (strcmp(topic, "/tasks/start") == 0) {
		Containerd__Events__TaskStart *e;

		m = unpack_event(env->event, &containerd__events__task_start__descriptor);
		e = (Containerd__Events__TaskStart *)m;
		if (!e || !e->container_id)
			goto out;
		ev.type = BERTH_EV_START;
		ev.native_id = e->container_id;
	} else if (strcmp(topic, "/tasks/paused") == 0) {
		Containerd__Events__TaskPaused *e;

		m = unpack_event(env->event, &containerd__events__task_paused__descriptor);
		e = (Containerd__Events__TaskPaused *)m;
		if (!e || !e->container_id)
			goto out;
		ev.type = BERTH_EV_PAUSE;
		ev.native_id = e->container_id;
	} else if (strcmp(topic, "/tasks/resumed") == 0) {
		Containerd__Events__TaskResumed *e;

		m = unpack_event(env->event, &containerd__events__task_resumed__descriptor);
		e = (Containerd__Events__TaskResumed *)m;
		if (!e || !e->container_id)
			goto out;
		ev.type = BERTH_EV_RESUME;
		ev.native_id = e->container_id;
	} else if (strcmp(topic, "/containers/delete") == 0) {
		Containerd__Events__ContainerDelete *e;

		m = unpack_event(env->event, &containerd__events__container_delete__descriptor);
		e = (Containerd__Events__ContainerDelete *)m;
		if (!e || !e->id)
			goto out;
		ctrd_oom_set(c, e->id, false);
		ev.type = BERTH_EV_DESTROY;
		ev.native_id = e->id;
	} else {
		return;
	}
	/* events carry no labels; berth's containers have berth's id as their id, and the
	 * core ignores ids it does not know */
	ev.berth_id = NULL;
	c->host->backend_event(c->handle, &ev);
out:
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
}

struct subscription {
	struct ctrd *c;
	bool accepted;
};

static int on_envelope(void *userdata, const uint8_t *data, size_t len)
{
	struct subscription *sub = userdata;
	Containerd__Services__Events__V1__Envelope *env;

	env = containerd__services__events__v1__envelope__unpack(NULL, len, data);
	if (!env) {
		ctrd_log(sub->c, BERTH_LOG_WARNING,
			 "containerd sent an event that is not an Envelope");
		return 0;
	}
	deliver(sub->c, env);
	protobuf_c_message_free_unpacked(&env->base, NULL);
	return 0;
}

static void on_accepted(void *userdata)
{
	struct subscription *sub = userdata;

	sub->accepted = true;
	report_up(sub->c);
}

/* One subscription, from connect to its end; fills why. True when containerd had
 * accepted it. */
static bool run_stream(struct ctrd *c, char *why, size_t why_len)
{
	Containerd__Services__Events__V1__SubscribeRequest req =
		CONTAINERD__SERVICES__EVENTS__V1__SUBSCRIBE_REQUEST__INIT;
	struct subscription sub = { .c = c };
	struct ctrd_grpc_stream_ops ops = { .on_accepted = on_accepted,
					    .on_message = on_envelope, .userdata = &sub };
	char *filters[N_TOPICS] = { 0 };
	berth_error e;
	int rc = 0;

	for (size_t i = 0; i < N_TOPICS; i++) {
		if (asprintf(&filters[i], "namespace==%s,topic==\"%s\"", c->namespace,
			     topics[i]) < 0) {
			filters[i] = NULL;
			snprintf(why, why_len, "containerd event stream: out of memory");
			rc = -1;
		}
	}
	if (rc == 0) {
		req.n_filters = N_TOPICS;
		req.filters = filters;
		berth_error_clear(&e);
		rc = ctrd_grpc_stream(&c->target, CTRD_SVC_EVENTS "Subscribe", &req.base, &ops,
				      0, c->wake[0], "containerd event stream", &e);
		if (rc == 0)
			snprintf(why, why_len, "containerd at %s ended the event stream",
				 c->socket);
		else
			snprintf(why, why_len, "%s", e.message);
	}
	for (size_t i = 0; i < N_TOPICS; i++)
		free(filters[i]);
	return sub.accepted;
}

static void *event_thread(void *arg)
{
	struct ctrd *c = arg;
	int backoff = BACKOFF_MIN_MS;

	while (!atomic_load(&c->stop)) {
		char why[BERTH_ERROR_MESSAGE_MAX];
		bool connected;

		connected = run_stream(c, why, sizeof(why));
		if (atomic_load(&c->stop))
			break;
		if (connected)
			backoff = BACKOFF_MIN_MS;
		report_down(c, why);
		if (wait_stop(c, backoff))
			break;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

int ctrd_events_start(struct ctrd *c, berth_error *err)
{
	int rc;

	if (c->thread_running)
		return 0;
	atomic_store(&c->stop, false);
	rc = pthread_create(&c->thread, NULL, event_thread, c);
	if (rc)
		return berth_error_set(err, BERTH_E_INTERNAL,
				       "cannot start the containerd event thread: %s", strerror(rc));
	c->thread_running = true;
	return 0;
}

void ctrd_events_stop(struct ctrd *c)
{
	char ch = 'x';
	ssize_t n;

	if (!c->thread_running)
		return;
	atomic_store(&c->stop, true);
	do
		n = write(c->wake[1], &ch, 1);
	while (n < 0 && errno == EINTR);
	pthread_join(c->thread, NULL);
	c->thread_running = false;
	while (read(c->wake[0], &ch, 1) > 0)
		;
}
