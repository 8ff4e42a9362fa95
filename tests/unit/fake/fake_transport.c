/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-only transport module: a "network thread" that hands injected messages to the
 * core like a real transport, and a recorder of the replies and twin events the core
 * sends. See fake.h for how a test controls it. Never installed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <berth/berth.h>

#include "fake.h"

enum work_kind {
	WORK_INBOUND = 1,
	WORK_ONLINE,
	WORK_OFFLINE,
};

struct work {
	int kind;
	const struct fake_message *msg; /* WORK_INBOUND; the injector waits, so it lives */
	int disposition;
	bool done;
	bool wait;                      /* someone waits for done; else the thread frees it */
	struct work *next;
};

struct records {
	struct fake_record *v;
	size_t n, cap;
};

struct tinst {
	char name[64];
	const berth_host *host;
	berth_transport_handle *handle;
	bool redelivery;
	char *thing_id, *tenant;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* broadcast on every change */
	pthread_t thread;
	bool started, stopping, receiving;
	struct work *head, *tail;
	bool online;

	struct records replies, events;
	bool fail_reply;
	int fail_code;
	char fail_message[256];
	bool hold_event, event_held; /* hold_next_event(): armed; a send_event() is blocked */

	struct tinst *next;
};

static pthread_mutex_t instances_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tinst *instances;

static struct tinst *find_inst(const char *name)
{
	struct tinst *in;

	pthread_mutex_lock(&instances_lock);
	for (in = instances; in; in = in->next)
		if (strcmp(in->name, name) == 0)
			break;
	pthread_mutex_unlock(&instances_lock);
	return in;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *dup_len(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static void records_add(struct records *r, const struct fake_record *rec)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct fake_record *grown = realloc(r->v, cap * sizeof(*grown));

		if (!grown)
			abort(); /* a test module */
		r->v = grown;
		r->cap = cap;
	}
	r->v[r->n++] = *rec;
}

static void records_clear(struct records *r)
{
	for (size_t i = 0; i < r->n; i++)
		fake_record_release(&r->v[i]);
	r->n = 0;
}

static void record_copy(const struct fake_record *from, struct fake_record *to)
{
	to->status = from->status;
	to->reply_to = dup_or_null(from->reply_to);
	to->correlation_id = dup_or_null(from->correlation_id);
	to->subject = dup_or_null(from->subject);
	to->device_id = dup_or_null(from->device_id);
	to->payload = dup_or_null(from->payload);
	to->content_type = dup_or_null(from->content_type);
	to->thing_id = dup_or_null(from->thing_id);
	to->tenant = dup_or_null(from->tenant);
}

static bool deadline_wait(struct tinst *in, const struct timespec *ts)
{
	return pthread_cond_timedwait(&in->cond, &in->lock, ts) == 0;
}

static void deadline_in(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Queues work for the network thread (lock held). */
static void push_work(struct tinst *in, struct work *w)
{
	w->next = NULL;
	if (in->tail)
		in->tail->next = w;
	else
		in->head = w;
	in->tail = w;
	pthread_cond_broadcast(&in->cond);
}

/* ---- the network thread -------------------------------------------------------------- */

static void *network_main(void *arg)
{
	struct tinst *in = arg;

	pthread_mutex_lock(&in->lock);
	for (;;) {
		struct work *w;

		while (!in->head && !in->stopping)
			pthread_cond_wait(&in->cond, &in->lock);
		if (!in->head)
			break;
		w = in->head;
		in->head = w->next;
		if (!in->head)
			in->tail = NULL;
		pthread_mutex_unlock(&in->lock);

		if (w->kind == WORK_INBOUND) {
			const struct fake_message *m = w->msg;
			berth_inbound msg = {
				.size = sizeof(msg),
				.payload = m->payload,
				.payload_len = m->payload_len ? m->payload_len
							      : (m->payload ? strlen(m->payload) : 0),
				.reply_to = m->reply_to,
				.correlation_id = m->correlation_id,
				.subject = m->subject,
				.device_id = m->device_id,
				.content_type = m->content_type,
			};

			w->disposition = in->host->transport_inbound(in->handle, &msg);
		} else if (w->kind == WORK_ONLINE) {
			berth_identity id = {
				.size = sizeof(id),
				.thing_id = in->thing_id,
				.tenant = in->tenant,
			};

			in->host->transport_online(in->handle, in->thing_id ? &id : NULL);
		} else {
			in->host->transport_offline(in->handle, "fake transport: disconnected by the test");
		}

		pthread_mutex_lock(&in->lock);
		if (w->kind == WORK_ONLINE)
			in->online = true;
		else if (w->kind == WORK_OFFLINE)
			in->online = false;
		if (w->wait) {
			w->done = true;
		} else {
			free(w);
		}
		pthread_cond_broadcast(&in->cond);
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

/* ---- the driver ---------------------------------------------------------------------- */

static const berth_option fake_options[] = {
	{ "redelivery", BERTH_OPT_BOOL, false, "the peer redelivers released commands" },
	{ "thing_id", BERTH_OPT_STRING, false, "identity announced when going online" },
	{ "tenant", BERTH_OPT_STRING, false, "tenant announced with thing_id" },
	{ 0 }
};

static int fake_open(const berth_host *host, const berth_settings *settings,
		     berth_transport_handle *handle, void **instance, berth_error *err)
{
	struct tinst *in = calloc(1, sizeof(*in));
	const char *s = NULL;

	if (!in)
		return berth_error_set(err, BERTH_E_NOMEM, "fake: out of memory");
	host->setting_string(settings, "name", &s);
	snprintf(in->name, sizeof(in->name), "%s", s ? s : "fake_transport");
	in->host = host;
	in->handle = handle;
	host->setting_bool(settings, "redelivery", &in->redelivery);
	if (host->setting_string(settings, "thing_id", &s) == 0)
		in->thing_id = strdup(s);
	if (host->setting_string(settings, "tenant", &s) == 0)
		in->tenant = strdup(s);
	pthread_mutex_init(&in->lock, NULL);
	pthread_cond_init(&in->cond, NULL);
	pthread_mutex_lock(&instances_lock);
	in->next = instances;
	instances = in;
	pthread_mutex_unlock(&instances_lock);
	*instance = in;
	return 0;
}

static uint64_t fake_capabilities(void *instance)
{
	struct tinst *in = instance;

	return (in->redelivery ? BERTH_TCAP_REDELIVERY : 0) |
	       (in->thing_id ? BERTH_TCAP_IDENTITY : 0);
}

static int fake_start(void *instance, berth_error *err)
{
	struct tinst *in = instance;
	struct work *w = calloc(1, sizeof(*w));

	if (!w)
		return berth_error_set(err, BERTH_E_NOMEM, "fake: out of memory");
	if (pthread_create(&in->thread, NULL, network_main, in) != 0) {
		free(w);
		return berth_error_set(err, BERTH_E_RUNTIME, "fake: cannot start its thread");
	}
	pthread_mutex_lock(&in->lock);
	in->started = true;
	in->receiving = true;
	w->kind = WORK_ONLINE;
	push_work(in, w); /* "connected" */
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static int fake_send_reply(void *instance, const berth_reply *reply, berth_error *err)
{
	struct tinst *in = instance;
	struct fake_record rec = {
		.status = reply->status,
		.reply_to = dup_or_null(reply->reply_to),
		.correlation_id = dup_or_null(reply->correlation_id),
		.subject = dup_or_null(reply->subject),
		.device_id = dup_or_null(reply->device_id),
		.payload = dup_len(reply->payload, reply->payload_len),
		.content_type = dup_or_null(reply->content_type),
	};

	pthread_mutex_lock(&in->lock);
	if (in->fail_reply) {
		in->fail_reply = false;
		pthread_mutex_unlock(&in->lock);
		fake_record_release(&rec);
		return berth_error_set(err, in->fail_code, "%s", in->fail_message);
	}
	records_add(&in->replies, &rec);
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static int fake_send_event(void *instance, const berth_outbound_event *ev, berth_error *err)
{
	struct tinst *in = instance;
	struct fake_record rec = {
		.payload = dup_len(ev->payload, ev->payload_len),
		.content_type = dup_or_null(ev->content_type),
		.thing_id = dup_or_null(ev->thing_id),
		.tenant = dup_or_null(ev->tenant),
	};

	pthread_mutex_lock(&in->lock);
	if (in->hold_event) {
		in->hold_event = false;
		in->event_held = true;
		pthread_cond_broadcast(&in->cond);
		while (in->event_held && !in->stopping)
			pthread_cond_wait(&in->cond, &in->lock);
	}
	records_add(&in->events, &rec);
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static void fake_stop(void *instance)
{
	struct tinst *in = instance;

	pthread_mutex_lock(&in->lock);
	in->receiving = false;
	pthread_mutex_unlock(&in->lock);
}

static void fake_close(void *instance)
{
	struct tinst *in = instance, **pp;

	pthread_mutex_lock(&instances_lock);
	for (pp = &instances; *pp && *pp != in; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = in->next;
	pthread_mutex_unlock(&instances_lock);

	pthread_mutex_lock(&in->lock);
	in->stopping = true;
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	if (in->started)
		pthread_join(in->thread, NULL);
	records_clear(&in->replies);
	records_clear(&in->events);
	free(in->replies.v);
	free(in->events.v);
	free(in->thing_id);
	free(in->tenant);
	pthread_mutex_destroy(&in->lock);
	pthread_cond_destroy(&in->cond);
	free(in);
}

static const berth_transport_driver fake_driver = {
	.size = sizeof(berth_transport_driver),
	.name = "fake_transport",
	.description = "test-only transport: injected commands, recorded answers",
	.options = fake_options,
	.open = fake_open,
	.capabilities = fake_capabilities,
	.start = fake_start,
	.send_reply = fake_send_reply,
	.send_event = fake_send_event,
	.stop = fake_stop,
	.close = fake_close,
};

/* ---- control ------------------------------------------------------------------------- */

static int ctl_inject(const char *name, const struct fake_message *msg)
{
	struct tinst *in = find_inst(name);
	struct work w = { .kind = WORK_INBOUND, .msg = msg, .wait = true };
	int disposition;

	if (!in)
		return -1;
	pthread_mutex_lock(&in->lock);
	if (!in->receiving || in->stopping) {
		pthread_mutex_unlock(&in->lock);
		return -1;
	}
	push_work(in, &w);
	while (!w.done)
		pthread_cond_wait(&in->cond, &in->lock);
	disposition = w.disposition;
	pthread_mutex_unlock(&in->lock);
	return disposition;
}

static bool is_online(struct tinst *in, size_t unused)
{
	return in->online;
}

static bool have_replies(struct tinst *in, size_t n)
{
	return in->replies.n >= n;
}

static bool have_events(struct tinst *in, size_t n)
{
	return in->events.n >= n;
}

static bool wait_pred(const char *name, bool (*pred)(struct tinst *, size_t), size_t n,
		      int timeout_ms)
{
	struct tinst *in = find_inst(name);
	struct timespec ts;
	bool ok;

	if (!in)
		return false;
	deadline_in(&ts, timeout_ms);
	pthread_mutex_lock(&in->lock);
	while (!(ok = pred(in, n)) && deadline_wait(in, &ts))
		;
	ok = pred(in, n);
	pthread_mutex_unlock(&in->lock);
	return ok;
}

static bool ctl_wait_online(const char *name, int timeout_ms)
{
	return wait_pred(name, is_online, 0, timeout_ms);
}

static bool ctl_wait_replies(const char *name, size_t n, int timeout_ms)
{
	return wait_pred(name, have_replies, n, timeout_ms);
}

static bool ctl_wait_events(const char *name, size_t n, int timeout_ms)
{
	return wait_pred(name, have_events, n, timeout_ms);
}

static int ctl_reconnect(const char *name)
{
	struct tinst *in = find_inst(name);
	struct work *off, *on;

	if (!in)
		return -1;
	off = calloc(1, sizeof(*off));
	on = calloc(1, sizeof(*on));
	if (!off || !on) {
		free(off);
		free(on);
		return -1;
	}
	off->kind = WORK_OFFLINE;
	on->kind = WORK_ONLINE;
	pthread_mutex_lock(&in->lock);
	in->online = false;
	push_work(in, off);
	push_work(in, on);
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static size_t count_of(const char *name, bool replies)
{
	struct tinst *in = find_inst(name);
	size_t n;

	if (!in)
		return 0;
	pthread_mutex_lock(&in->lock);
	n = replies ? in->replies.n : in->events.n;
	pthread_mutex_unlock(&in->lock);
	return n;
}

static size_t ctl_n_replies(const char *name)
{
	return count_of(name, true);
}

static size_t ctl_n_events(const char *name)
{
	return count_of(name, false);
}

static int get_record(const char *name, bool replies, size_t i, struct fake_record *out)
{
	struct tinst *in = find_inst(name);
	struct records *r;
	int rc = -1;

	*out = (struct fake_record){ 0 };
	if (!in)
		return -1;
	pthread_mutex_lock(&in->lock);
	r = replies ? &in->replies : &in->events;
	if (i < r->n) {
		record_copy(&r->v[i], out);
		rc = 0;
	}
	pthread_mutex_unlock(&in->lock);
	return rc;
}

static int ctl_reply(const char *name, size_t i, struct fake_record *out)
{
	return get_record(name, true, i, out);
}

static int ctl_event(const char *name, size_t i, struct fake_record *out)
{
	return get_record(name, false, i, out);
}

static int ctl_clear(const char *name)
{
	struct tinst *in = find_inst(name);

	if (!in)
		return -1;
	pthread_mutex_lock(&in->lock);
	records_clear(&in->replies);
	records_clear(&in->events);
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static int ctl_fail_next_reply(const char *name, int code, const char *message)
{
	struct tinst *in = find_inst(name);

	if (!in)
		return -1;
	pthread_mutex_lock(&in->lock);
	in->fail_reply = true;
	in->fail_code = code;
	snprintf(in->fail_message, sizeof(in->fail_message), "%s", message ? message : "");
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static int ctl_hold_next_event(const char *name)
{
	struct tinst *in = find_inst(name);

	if (!in)
		return -1;
	pthread_mutex_lock(&in->lock);
	in->hold_event = true;
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static bool event_is_held(struct tinst *in, size_t unused)
{
	return in->event_held;
}

static bool ctl_wait_event_held(const char *name, int timeout_ms)
{
	return wait_pred(name, event_is_held, 0, timeout_ms);
}

static int ctl_release_event(const char *name)
{
	struct tinst *in = find_inst(name);

	if (!in)
		return -1;
	pthread_mutex_lock(&in->lock);
	in->hold_event = false;
	in->event_held = false;
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static const struct fake_transport_control control = {
	.size = sizeof(struct fake_transport_control),
	.inject = ctl_inject,
	.wait_online = ctl_wait_online,
	.reconnect = ctl_reconnect,
	.n_replies = ctl_n_replies,
	.n_events = ctl_n_events,
	.wait_replies = ctl_wait_replies,
	.wait_events = ctl_wait_events,
	.reply = ctl_reply,
	.event = ctl_event,
	.clear = ctl_clear,
	.fail_next_reply = ctl_fail_next_reply,
	.hold_next_event = ctl_hold_next_event,
	.wait_event_held = ctl_wait_event_held,
	.release_event = ctl_release_event,
};

/* ---- entry points -------------------------------------------------------------------- */

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

BERTH_MODULE_EXPORT const struct fake_transport_control *berth_module_fake_transport_control(void);
const struct fake_transport_control *berth_module_fake_transport_control(void)
{
	return &control;
}

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	return host->register_transport(self, &fake_driver, err);
}

void berth_module_cleanup(void)
{
}
