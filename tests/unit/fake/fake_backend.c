/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-only backend module: a container runtime in memory, with a thread of its own
 * that plays the processes and reports events. See fake.h for what it does and how a
 * test controls it. Never installed. Built twice: fake_backend.so (driver fake_backend,
 * every op) and, with FAKE_MINIMAL, fake_minimal.so (driver fake_minimal, required ops
 * only).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <berth/berth.h>

#include "fake.h"

#define MAX_RULES 16
/* Ops that fake_minimal.so does not register. */
#define OPTIONAL_OP __attribute__((unused)) static
#define NSIG_MAX 65

struct ctr {
	struct fake_container c;
	int action[NSIG_MAX];    /* enum fake_signal_action */
	int exit_code[NSIG_MAX]; /* -1: 128 + signal */
	int64_t exit_due_ms;     /* CLOCK_MONOTONIC; 0: no exit pending */
	int exit_pending_code;
	bool exit_pending_oom;
	struct ctr *next;
};

struct ev {
	berth_event e;
	char native[FAKE_ID_MAX];
	char berth[FAKE_ID_MAX];
	char name[160];
	bool status;      /* a reachability report instead of an event */
	bool reachable;
	char why[128];
	struct ev *next;
};

struct rule {
	char op[FAKE_OP_MAX];
	int delay_ms;
	bool held;
	int blocked;
	bool fail;
	int code;
	char message[256];
};

struct inst {
	char name[64];
	const berth_host *host;
	berth_backend_handle *handle;
	uint64_t caps;
	bool events_on;
	bool watching;
	int exit_delay_ms;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* broadcast on every change */
	pthread_t thread;
	bool stopping;
	int delivering;

	struct ctr *ctrs;
	unsigned next_id;
	struct ev *evq, *evq_tail;
	struct rule rules[MAX_RULES];
	struct fake_call *calls;
	size_t n_calls, cap_calls;

	struct inst *next;
};

static pthread_mutex_t instances_lock = PTHREAD_MUTEX_INITIALIZER;
static struct inst *instances;

/* A runtime outlives berthd: containers of a closed instance, by instance name, for the
 * next open() with `keep = true` (an open without it discards them). Never freed: the
 * module stays mapped for the life of the process. */
struct kept {
	char name[64];
	struct ctr *ctrs;
	unsigned next_id;
	struct kept *next;
};
static struct kept *graveyard;

/* ---- helpers ------------------------------------------------------------------------- */

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

static int64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static struct inst *find_inst(const char *name)
{
	struct inst *in;

	pthread_mutex_lock(&instances_lock);
	for (in = instances; in; in = in->next)
		if (strcmp(in->name, name) == 0)
			break;
	pthread_mutex_unlock(&instances_lock);
	return in;
}

static struct ctr *find_ctr(struct inst *in, const char *native)
{
	for (struct ctr *c = in->ctrs; c; c = c->next)
		if (native && strcmp(c->c.native_id, native) == 0)
			return c;
	return NULL;
}

static struct rule *rule_for(struct inst *in, const char *op, bool create)
{
	struct rule *free_slot = NULL;

	for (int i = 0; i < MAX_RULES; i++) {
		if (strcmp(in->rules[i].op, op) == 0)
			return &in->rules[i];
		if (!in->rules[i].op[0] && !free_slot)
			free_slot = &in->rules[i];
	}
	if (create && free_slot) {
		memset(free_slot, 0, sizeof(*free_slot));
		copy(free_slot->op, sizeof(free_slot->op), op);
		return free_slot;
	}
	return NULL;
}

/* Queues an event for the runtime thread (lock held). Dropped unless events flow. */
static void queue_event(struct inst *in, int type, const struct ctr *c, int exit_code,
			const char *name)
{
	struct ev *e;

	if (!in->events_on || !in->watching)
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	copy(e->native, sizeof(e->native), c->c.native_id);
	copy(e->berth, sizeof(e->berth), c->c.berth_id);
	copy(e->name, sizeof(e->name), name);
	e->e.size = sizeof(e->e);
	e->e.type = type;
	e->e.exit_code = exit_code;
	e->e.time_ns = real_ns();
	if (in->evq_tail)
		in->evq_tail->next = e;
	else
		in->evq = e;
	in->evq_tail = e;
	pthread_cond_broadcast(&in->cond);
}

/* The process ends now (lock held). */
static void apply_exit(struct inst *in, struct ctr *c, int code, bool oom)
{
	c->exit_due_ms = 0;
	if (c->c.state != BERTH_RS_RUNNING && c->c.state != BERTH_RS_PAUSED)
		return;
	c->c.state = BERTH_RS_EXITED;
	c->c.pid = 0;
	c->c.exit_code = code;
	c->c.oom_killed = oom;
	c->c.finished_ns = real_ns();
	c->c.pending_signal = 0;
	if (oom)
		queue_event(in, BERTH_EV_OOM, c, code, NULL);
	queue_event(in, BERTH_EV_EXIT, c, code, NULL);
	pthread_cond_broadcast(&in->cond);
}

/* The process will end after the instance's exit delay, on the runtime thread. */
static void schedule_exit(struct inst *in, struct ctr *c, int code, bool oom)
{
	int64_t due = mono_ms() + in->exit_delay_ms;

	if (c->exit_due_ms && c->exit_due_ms <= due)
		return; /* already dying */
	c->exit_due_ms = due > 0 ? due : 1;
	c->exit_pending_code = code;
	c->exit_pending_oom = oom;
	pthread_cond_broadcast(&in->cond);
}

/* A signal reaches the process (lock held). */
static void deliver(struct inst *in, struct ctr *c, int sig)
{
	int code;

	if (sig <= 0 || sig >= NSIG_MAX)
		return;
	if (sig != SIGKILL && c->action[sig] == FAKE_SIG_IGNORE)
		return;
	code = sig != SIGKILL && c->exit_code[sig] >= 0 ? c->exit_code[sig] : 128 + sig;
	schedule_exit(in, c, code, false);
}

/* The runtime: applies due exits and reports events, outside the caller's threads. */
static void *runtime_main(void *arg)
{
	struct inst *in = arg;

	pthread_mutex_lock(&in->lock);
	while (!in->stopping) {
		int64_t now = mono_ms(), next = 0;

		for (struct ctr *c = in->ctrs; c; c = c->next) {
			if (c->exit_due_ms && c->exit_due_ms <= now)
				apply_exit(in, c, c->exit_pending_code, c->exit_pending_oom);
			else if (c->exit_due_ms && (!next || c->exit_due_ms < next))
				next = c->exit_due_ms;
		}
		if (in->evq) {
			struct ev *e = in->evq;

			in->evq = e->next;
			if (!in->evq)
				in->evq_tail = NULL;
			in->delivering++;
			pthread_mutex_unlock(&in->lock);
			if (e->status) {
				in->host->backend_status(in->handle, e->reachable,
							 e->why[0] ? e->why : NULL);
			} else {
				e->e.native_id = e->native;
				e->e.berth_id = e->berth[0] ? e->berth : NULL;
				e->e.name = e->name[0] ? e->name : NULL;
				in->host->backend_event(in->handle, &e->e);
			}
			free(e);
			pthread_mutex_lock(&in->lock);
			in->delivering--;
			pthread_cond_broadcast(&in->cond);
			continue;
		}
		if (next) {
			struct timespec ts;
			int64_t wait = next - now;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&in->cond, &in->lock, &ts);
		} else {
			pthread_cond_wait(&in->cond, &in->lock);
		}
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

/* ---- the call log, failures, delays and holds ---------------------------------------- */

/* Records the call and applies the op's rule; returns with the lock held. -1: the rule
 * says fail (err filled, call finished). */
static int begin(struct inst *in, const char *op, const char *native, int sig, int timeout,
		 unsigned flags, unsigned mask, size_t *idx, berth_error *err)
{
	struct fake_call *call;
	struct rule *r;

	pthread_mutex_lock(&in->lock);
	if (in->n_calls == in->cap_calls) {
		size_t cap = in->cap_calls ? in->cap_calls * 2 : 64;
		struct fake_call *grown = realloc(in->calls, cap * sizeof(*grown));

		if (!grown)
			abort(); /* a test module: no point in limping on */
		in->calls = grown;
		in->cap_calls = cap;
	}
	*idx = in->n_calls++;
	call = &in->calls[*idx];
	memset(call, 0, sizeof(*call));
	call->seq = (unsigned)in->n_calls;
	copy(call->op, sizeof(call->op), op);
	copy(call->native_id, sizeof(call->native_id), native);
	call->signal = sig;
	call->timeout = timeout;
	call->flags = flags;
	call->mask = mask;
	call->begin_ns = mono_ns();

	while ((r = rule_for(in, op, false)) && r->held && !in->stopping) {
		r->blocked++;
		pthread_cond_broadcast(&in->cond);
		pthread_cond_wait(&in->cond, &in->lock);
		r->blocked--;
	}
	if (r && r->delay_ms > 0) {
		int ms = r->delay_ms;

		pthread_mutex_unlock(&in->lock);
		usleep((useconds_t)ms * 1000);
		pthread_mutex_lock(&in->lock);
		r = rule_for(in, op, false);
	}
	if (r && r->fail) {
		r->fail = false;
		berth_error_set(err, r->code, "%s", r->message);
		in->calls[*idx].result = -1;
		in->calls[*idx].end_ns = mono_ns();
		return -1;
	}
	return 0;
}

/* Finishes the call and drops the lock; returns rc. */
static int end(struct inst *in, size_t idx, int rc)
{
	in->calls[idx].result = rc;
	in->calls[idx].end_ns = mono_ns();
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	return rc;
}

static int not_found(berth_error *err, const char *native)
{
	return berth_error_set(err, BERTH_E_NOT_FOUND, "No such container: %s", native);
}

/* ---- the driver ---------------------------------------------------------------------- */

static const berth_option fake_options[] = {
	{ "capabilities", BERTH_OPT_INT, false, "enum berth_backend_cap bits" },
	{ "events", BERTH_OPT_BOOL, false, "report events (default true)" },
	{ "keep", BERTH_OPT_BOOL, false, "take over the containers of the last instance of this name" },
	{ 0 }
};

static void free_ctrs(struct ctr *c)
{
	while (c) {
		struct ctr *next = c->next;

		free(c);
		c = next;
	}
}

/* Takes (keep) or discards what the last instance of this name left. instances_lock held. */
static void graveyard_take(struct inst *in, bool keep)
{
	for (struct kept *k = graveyard; k; k = k->next) {
		if (strcmp(k->name, in->name) != 0)
			continue;
		if (keep) {
			in->ctrs = k->ctrs;
			in->next_id = k->next_id;
		} else {
			free_ctrs(k->ctrs);
		}
		k->ctrs = NULL;
		k->next_id = 0;
	}
}

/* Leaves the instance's containers behind for the next instance of its name. */
static void graveyard_put(struct inst *in)
{
	struct kept *k;

	for (k = graveyard; k && strcmp(k->name, in->name) != 0; k = k->next)
		;
	if (!k && (k = calloc(1, sizeof(*k)))) {
		copy(k->name, sizeof(k->name), in->name);
		k->next = graveyard;
		graveyard = k;
	}
	if (!k) {
		free_ctrs(in->ctrs);
	} else {
		free_ctrs(k->ctrs);
		k->ctrs = in->ctrs;
		k->next_id = in->next_id;
	}
	for (struct ctr *c = in->ctrs; c; c = c->next)
		c->exit_due_ms = 0; /* no process dies while nobody runs the runtime */
	in->ctrs = NULL;
}

#define DEFAULT_CAPS                                                                    \
	(BERTH_CAP_RENAME | BERTH_CAP_LIVE_UPDATE | BERTH_CAP_STOP_SIGNAL | BERTH_CAP_PAUSE | \
	 BERTH_CAP_LABELS | BERTH_CAP_EVENTS | BERTH_CAP_PULL)

static int fake_open(const berth_host *host, const berth_settings *settings,
		     berth_backend_handle *handle, void **instance, berth_error *err)
{
	struct inst *in = calloc(1, sizeof(*in));
	const char *name = NULL;
	long long caps;
	bool events, keep = false;

	if (!in)
		return berth_error_set(err, BERTH_E_NOMEM, "fake: out of memory");
	host->setting_string(settings, "name", &name);
	copy(in->name, sizeof(in->name), name ? name : "fake");
	in->host = host;
	in->handle = handle;
	in->caps = DEFAULT_CAPS;
	in->events_on = true;
	if (host->setting_int(settings, "capabilities", &caps) == 0)
		in->caps = (uint64_t)caps;
	if (host->setting_bool(settings, "events", &events) == 0)
		in->events_on = events;
	host->setting_bool(settings, "keep", &keep);
	pthread_mutex_init(&in->lock, NULL);
	pthread_cond_init(&in->cond, NULL);
	pthread_mutex_lock(&instances_lock);
	graveyard_take(in, keep); /* before the runtime thread looks at the containers */
	pthread_mutex_unlock(&instances_lock);
	if (pthread_create(&in->thread, NULL, runtime_main, in) != 0) {
		pthread_mutex_lock(&instances_lock);
		graveyard_put(in);
		pthread_mutex_unlock(&instances_lock);
		pthread_mutex_destroy(&in->lock);
		pthread_cond_destroy(&in->cond);
		free(in);
		return berth_error_set(err, BERTH_E_RUNTIME, "fake: cannot start its thread");
	}
	pthread_mutex_lock(&instances_lock);
	in->next = instances;
	instances = in;
	pthread_mutex_unlock(&instances_lock);
	*instance = in;
	return 0;
}

static void fake_close(void *instance)
{
	struct inst *in = instance, **pp;

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
	pthread_join(in->thread, NULL);
	pthread_mutex_lock(&instances_lock);
	graveyard_put(in);
	pthread_mutex_unlock(&instances_lock);
	while (in->evq) {
		struct ev *e = in->evq;

		in->evq = e->next;
		free(e);
	}
	free(in->calls);
	pthread_mutex_destroy(&in->lock);
	pthread_cond_destroy(&in->cond);
	free(in);
}

static uint64_t fake_capabilities(void *instance)
{
	struct inst *in = instance;
	uint64_t caps;

	pthread_mutex_lock(&in->lock);
	caps = in->caps;
	pthread_mutex_unlock(&in->lock);
	return caps;
}

static int fake_watch(void *instance, berth_error *err)
{
	struct inst *in = instance;

	pthread_mutex_lock(&in->lock);
	in->watching = true;
	pthread_mutex_unlock(&in->lock);
	return 0;
}

OPTIONAL_OP int fake_ping(void *instance, char **version_out, berth_error *err)
{
	struct inst *in = instance;
	size_t idx;

	if (begin(in, "ping", NULL, 0, 0, 0, 0, &idx, err) < 0)
		return end(in, idx, -1);
	*version_out = strdup("fake 1.0 (test runtime)");
	return end(in, idx, 0);
}

static int fake_create(void *instance, const berth_container_spec *spec, unsigned flags,
		       char **native_id_out, berth_error *err)
{
	struct inst *in = instance;
	struct ctr *c;
	size_t idx;

	if (begin(in, "create", NULL, 0, 0, flags, 0, &idx, err) < 0)
		return end(in, idx, -1);
	if (strstr(spec->image, "missing"))
		return end(in, idx, berth_error_set(err, BERTH_E_NOT_FOUND,
						    "No such image: %s", spec->image));
	for (c = in->ctrs; c; c = c->next)
		if (strcmp(c->c.name, spec->name) == 0)
			return end(in, idx, berth_error_set(err, BERTH_E_CONFLICT,
				   "Conflict. The container name \"/%s\" is already in use by "
				   "container \"%s\"", spec->name, c->c.native_id));
	c = calloc(1, sizeof(*c));
	if (!c)
		return end(in, idx, berth_error_set(err, BERTH_E_NOMEM, "fake: out of memory"));
	snprintf(c->c.native_id, sizeof(c->c.native_id), "fake-%u", ++in->next_id);
	copy(c->c.berth_id, sizeof(c->c.berth_id), spec->berth_id);
	if (BERTH_HAS_FIELD(spec, berth_container_spec, owner))
		copy(c->c.owner, sizeof(c->c.owner), spec->owner);
	copy(c->c.name, sizeof(c->c.name), spec->name);
	copy(c->c.image, sizeof(c->c.image), spec->image);
	c->c.state = BERTH_RS_CREATED;
	c->c.restart = spec->restart;
	c->c.resources = spec->resources;
	for (int i = 0; i < NSIG_MAX; i++)
		c->exit_code[i] = -1;
	*native_id_out = strdup(c->c.native_id);
	c->next = in->ctrs;
	in->ctrs = c;
	copy(in->calls[idx].native_id, sizeof(in->calls[idx].native_id), c->c.native_id);
	queue_event(in, BERTH_EV_CREATE, c, 0, NULL);
	return end(in, idx, 0);
}

static int fake_start(void *instance, const char *native, unsigned flags, berth_error *err)
{
	struct inst *in = instance;
	struct ctr *c;
	size_t idx;

	if (begin(in, "start", native, 0, 0, flags, 0, &idx, err) < 0)
		return end(in, idx, -1);
	if (!(c = find_ctr(in, native)))
		return end(in, idx, not_found(err, native));
	if (c->c.state == BERTH_RS_RUNNING || c->c.state == BERTH_RS_PAUSED)
		return end(in, idx, berth_error_set(err, BERTH_E_CONFLICT,
						    "container %s is already running", native));
	c->c.state = BERTH_RS_RUNNING;
	c->c.pid = 1000 + (int)(c->c.native_id[5] ? atoi(c->c.native_id + 5) : 0);
	c->c.exit_code = 0;
	c->c.oom_killed = false;
	c->c.started_ns = real_ns();
	c->exit_due_ms = 0;
	queue_event(in, BERTH_EV_START, c, 0, NULL);
	return end(in, idx, 0);
}

static int fake_kill(void *instance, const char *native, int signal, unsigned flags,
		     berth_error *err)
{
	struct inst *in = instance;
	struct ctr *c;
	size_t idx;

	if (begin(in, "kill", native, signal, 0, flags, 0, &idx, err) < 0)
		return end(in, idx, -1);
	if (!(c = find_ctr(in, native)))
		return end(in, idx, not_found(err, native));
	if (c->c.state != BERTH_RS_RUNNING && c->c.state != BERTH_RS_PAUSED)
		return end(in, idx, berth_error_set(err, BERTH_E_CONFLICT,
						    "Container %s is not running", native));
	if (signal <= 0 || signal >= NSIG_MAX)
		return end(in, idx, berth_error_set(err, BERTH_E_INVALID, "invalid signal %d",
						    signal));
	if (c->c.state == BERTH_RS_PAUSED && signal != SIGKILL)
		c->c.pending_signal = signal; /* frozen: delivered on resume */
	else
		deliver(in, c, signal);
	return end(in, idx, 0);
}

OPTIONAL_OP int fake_stop(void *instance, const char *native, int signal, int timeout_s,
		     unsigned flags, berth_error *err)
{
	struct inst *in = instance;
	struct ctr *c;
	size_t idx;
	int code;

	if (begin(in, "stop", native, signal, timeout_s, flags, 0, &idx, err) < 0)
		return end(in, idx, -1);
	if (!(c = find_ctr(in, native)))
		return end(in, idx, not_found(err, native));
	if (c->c.state != BERTH_RS_RUNNING && c->c.state != BERTH_RS_PAUSED)
		return end(in, idx, berth_error_set(err, BERTH_E_CONFLICT,
						    "Container %s is not running", native));
	/* The signal, the (not slept) timeout, then SIGKILL for what ignored it. */
	if (signal > 0 && signal < NSIG_MAX && signal != SIGKILL &&
	    c->action[signal] == FAKE_SIG_EXIT)
		code = c->exit_code[signal] >= 0 ? c->exit_code[signal] : 128 + signal;
	else
		code = 128 + SIGKILL;
	apply_exit(in, c, code, false);
	return end(in, idx, 0);
}

OPTIONAL_OP int fake_pause(void *instance, const char *native, unsigned flags, berth_error *err)
{
	struct inst *in = instance;
	struct ctr *c;
	size_t idx;

	if (begin(in, "pause", native, 0, 0, flags, 0, &idx, err) < 0)
		return end(in, idx, -1);
	if (!(c = find_ctr(in, native)))
		return end(in, idx, not_found(err, native));
	if (c->c.state != BERTH_RS_RUNNING)
		return end(in, idx, berth_error_set(err, BERTH_E_CONFLICT,
						    "Container %s is not running", native));
	c->c.state = BERTH_RS_PAUSED;
	queue_event(in, BERTH_EV_PAUSE, c, 0, NULL);
	return end(in, idx, 0);
}

OPTIONAL_OP int fake_resume(void *instance, const char *native, unsigned flags, berth_error *err)
{
	struct inst *in = instance;
	struct ctr *c;
	size_t idx;
	int pending;

	if (begin(in, "resume", native, 0, 0, flags, 0, &idx, err) < 0)
		return end(in, idx, -1);
	if (!(c = find_ctr(in, native)))
		return end(in, idx, not_found(err, native));
	if (c->c.state != BERTH_RS_PAUSED)
		return end(in, idx, berth_error_set(err, BERTH_E_CONFLICT,
						    "Container %s is not paused", native));
	c->c.state = BERTH_RS_RUNNING;
	queue_event(in, BERTH_EV_RESUME, c, 0, NULL);
	pending = c->c.pending_signal;
	c->c.pending_signal = 0;
	if (pending)
		deliver(in, c, pending);
	return end(in, idx, 0);
}

OPTIONAL_OP int fake_rename(void *instance, const char *native, const char *new_name,
		       unsigned flags, berth_error *err)
{
	struct inst *in = instance;
	struct ctr *c;
	size_t idx;

	if (begin(in, "rename", native, 0, 0, flags, 0, &idx, err) < 0)
		return end(in, idx, -1);
	if (!(c = find_ctr(in, native)))
		return end(in, idx, not_found(err, native));
	for (struct ctr *o = in->ctrs; o; o = o->next)
		if (o != c && strcmp(o->c.name, new_name) == 0)
			return end(in, idx, berth_error_set(err, BERTH_E_CONFLICT,
				   "Conflict. The container name \"/%s\" is already in use",
				   new_name));
	copy(c->c.name, sizeof(c->c.name), new_name);
	queue_event(in, BERTH_EV_RENAME, c, 0, new_name);
	return end(in, idx, 0);
}

OPTIONAL_OP int fake_update(void *instance, const char *native, const berth_update *u,
		       unsigned flags, berth_error *err)
{
	struct inst *in = instance;
	struct ctr *c;
	size_t idx;

	if (begin(in, "update", native, 0, 0, flags, u->mask, &idx, err) < 0)
		return end(in, idx, -1);
	if (!(c = find_ctr(in, native)))
		return end(in, idx, not_found(err, native));
	if (u->mask & BERTH_UPDATE_RESTART)
		c->c.restart = u->restart;
	if (u->mask & BERTH_UPDATE_RESOURCES)
		c->c.resources = u->resources;
	queue_event(in, BERTH_EV_UPDATE, c, 0, NULL);
	return end(in, idx, 0);
}

static void unlink_ctr(struct inst *in, struct ctr *c)
{
	struct ctr **pp;

	for (pp = &in->ctrs; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = c->next;
}

static int fake_remove(void *instance, const char *native, unsigned flags, berth_error *err)
{
	struct inst *in = instance;
	struct ctr *c;
	size_t idx;

	if (begin(in, "remove", native, 0, 0, flags, 0, &idx, err) < 0)
		return end(in, idx, -1);
	if (!(c = find_ctr(in, native)))
		return end(in, idx, not_found(err, native));
	if ((c->c.state == BERTH_RS_RUNNING || c->c.state == BERTH_RS_PAUSED) &&
	    !(flags & BERTH_REMOVE_FORCE))
		return end(in, idx, berth_error_set(err, BERTH_E_CONFLICT,
			   "You cannot remove a running container %s. Stop the container before "
			   "attempting removal or force remove", native));
	apply_exit(in, c, 128 + SIGKILL, false);
	queue_event(in, BERTH_EV_DESTROY, c, 0, NULL);
	unlink_ctr(in, c);
	free(c);
	return end(in, idx, 0);
}

static void fill_info(const struct ctr *c, berth_container_info *info)
{
	info->native_id = strdup(c->c.native_id);
	info->berth_id = c->c.berth_id[0] ? strdup(c->c.berth_id) : NULL;
	if (BERTH_HAS_FIELD(info, berth_container_info, owner))
		info->owner = c->c.owner[0] ? strdup(c->c.owner) : NULL;
	info->name = strdup(c->c.name);
	info->image = strdup(c->c.image);
	info->state = c->c.state;
	info->pid = c->c.pid;
	info->exit_code = c->c.exit_code;
	info->oom_killed = c->c.oom_killed;
	info->started_ns = c->c.started_ns;
	info->finished_ns = c->c.finished_ns;
	info->restart = c->c.restart;
	info->resources = c->c.resources;
}

static int fake_inspect(void *instance, const char *native, berth_container_info *info,
			berth_error *err)
{
	struct inst *in = instance;
	struct ctr *c;
	size_t idx;

	if (begin(in, "inspect", native, 0, 0, 0, 0, &idx, err) < 0)
		return end(in, idx, -1);
	if (!(c = find_ctr(in, native)))
		return end(in, idx, not_found(err, native));
	fill_info(c, info);
	return end(in, idx, 0);
}

static int fake_list(void *instance, berth_list_cb cb, void *userdata, unsigned flags,
		     berth_error *err)
{
	struct inst *in = instance;
	berth_container_info *infos;
	size_t idx, n = 0, i = 0;
	int rc = 0;

	if (begin(in, "list", NULL, 0, 0, flags, 0, &idx, err) < 0)
		return end(in, idx, -1);
	for (struct ctr *c = in->ctrs; c; c = c->next)
		n++;
	infos = calloc(n ? n : 1, sizeof(*infos));
	if (!infos)
		return end(in, idx, berth_error_set(err, BERTH_E_NOMEM, "fake: out of memory"));
	for (struct ctr *c = in->ctrs; c; c = c->next) {
		if ((in->caps & BERTH_CAP_LABELS) && !c->c.berth_id[0])
			continue; /* not ours */
		infos[i].size = sizeof(infos[i]);
		fill_info(c, &infos[i++]);
	}
	end(in, idx, 0);
	/* The callback runs without the runtime's lock, as with a real runtime's answer. */
	for (size_t k = 0; k < i; k++) {
		if (rc == 0)
			rc = cb(userdata, &infos[k]);
		berth_container_info_release(&infos[k]);
	}
	free(infos);
	return rc;
}

#ifndef FAKE_MINIMAL
static const berth_backend_driver fake_driver = {
	.size = sizeof(berth_backend_driver),
	.name = "fake_backend",
	.description = "test-only in-memory runtime",
	.options = fake_options,
	.open = fake_open,
	.close = fake_close,
	.capabilities = fake_capabilities,
	.watch = fake_watch,
	.ping = fake_ping,
	.create = fake_create,
	.start = fake_start,
	.kill = fake_kill,
	.stop = fake_stop,
	.pause = fake_pause,
	.resume = fake_resume,
	.rename = fake_rename,
	.update = fake_update,
	.remove = fake_remove,
	.inspect = fake_inspect,
	.list = fake_list,
};

#else
/* The same runtime with only the required ops. */
static const berth_backend_driver fake_minimal_driver = {
	.size = sizeof(berth_backend_driver),
	.name = "fake_minimal",
	.description = "test-only in-memory runtime without optional ops",
	.options = fake_options,
	.open = fake_open,
	.close = fake_close,
	.capabilities = fake_capabilities,
	.watch = fake_watch,
	.create = fake_create,
	.start = fake_start,
	.kill = fake_kill,
	.remove = fake_remove,
	.inspect = fake_inspect,
	.list = fake_list,
};
#endif

/* ---- control ------------------------------------------------------------------------- */

#define WITH_INST(name, fail)                                                            \
	struct inst *in = find_inst(name);                                               \
	if (!in)                                                                         \
		return fail;                                                             \
	pthread_mutex_lock(&in->lock)

#define DONE(rv)                                                                         \
	do {                                                                             \
		pthread_cond_broadcast(&in->cond);                                       \
		pthread_mutex_unlock(&in->lock);                                         \
		return rv;                                                               \
	} while (0)

static int ctl_fail_next(const char *name, const char *op, int code, const char *message)
{
	WITH_INST(name, -1);
	struct rule *r = rule_for(in, op, true);

	if (!r)
		DONE(-1);
	r->fail = true;
	r->code = code;
	copy(r->message, sizeof(r->message), message);
	DONE(0);
}

static int ctl_set_delay(const char *name, const char *op, int ms)
{
	WITH_INST(name, -1);
	struct rule *r = rule_for(in, op, true);

	if (!r)
		DONE(-1);
	r->delay_ms = ms;
	DONE(0);
}

static int ctl_hold(const char *name, const char *op)
{
	WITH_INST(name, -1);
	struct rule *r = rule_for(in, op, true);

	if (!r)
		DONE(-1);
	r->held = true;
	DONE(0);
}

static int ctl_release(const char *name, const char *op)
{
	WITH_INST(name, -1);
	struct rule *r = rule_for(in, op, false);

	if (r)
		r->held = false;
	DONE(0);
}

/* Waits on the instance's condition until pred() or timeout; lock held. */
static bool wait_for(struct inst *in, bool (*pred)(struct inst *, const void *), const void *arg,
		     int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!pred(in, arg))
		if (pthread_cond_timedwait(&in->cond, &in->lock, &ts) != 0)
			return pred(in, arg);
	return true;
}

struct held_arg {
	const char *op;
	int n;
};

static bool held_enough(struct inst *in, const void *arg)
{
	const struct held_arg *a = arg;
	struct rule *r = rule_for(in, a->op, false);

	return r && r->blocked >= a->n;
}

static bool ctl_wait_held(const char *name, const char *op, int n, int timeout_ms)
{
	struct held_arg a = { op, n };
	bool ok;

	WITH_INST(name, false);
	ok = wait_for(in, held_enough, &a, timeout_ms);
	DONE(ok);
}

static int ctl_set_exit_delay(const char *name, int ms)
{
	WITH_INST(name, -1);
	in->exit_delay_ms = ms;
	DONE(0);
}

static int ctl_set_events(const char *name, bool on)
{
	WITH_INST(name, -1);
	in->events_on = on;
	DONE(0);
}

static int ctl_on_signal(const char *name, const char *native, int sig, int action,
			 int exit_code)
{
	WITH_INST(name, -1);
	struct ctr *c = find_ctr(in, native);

	if (!c || sig <= 0 || sig >= NSIG_MAX)
		DONE(-1);
	c->action[sig] = action;
	c->exit_code[sig] = exit_code;
	DONE(0);
}

static int ctl_exit(const char *name, const char *native, int exit_code, bool oom)
{
	WITH_INST(name, -1);
	struct ctr *c = find_ctr(in, native);

	if (!c || (c->c.state != BERTH_RS_RUNNING && c->c.state != BERTH_RS_PAUSED))
		DONE(-1);
	schedule_exit(in, c, exit_code, oom);
	DONE(0);
}

static int ctl_runtime_restart(const char *name, const char *native, int exit_code)
{
	WITH_INST(name, -1);
	struct ctr *c = find_ctr(in, native);

	if (!c || c->c.state != BERTH_RS_RUNNING)
		DONE(-1);
	apply_exit(in, c, exit_code, false);
	c->c.state = BERTH_RS_RUNNING;
	c->c.pid++;
	c->c.started_ns = real_ns();
	queue_event(in, BERTH_EV_START, c, 0, NULL);
	DONE(0);
}

static int ctl_vanish(const char *name, const char *native)
{
	WITH_INST(name, -1);
	struct ctr *c = find_ctr(in, native);

	if (!c)
		DONE(-1);
	apply_exit(in, c, 128 + SIGKILL, false);
	queue_event(in, BERTH_EV_DESTROY, c, 0, NULL);
	unlink_ctr(in, c);
	free(c);
	DONE(0);
}

static int ctl_add(const char *name, const char *berth_id, const char *owner, const char *cname,
		   const char *image, int state, char *native_out, size_t len)
{
	WITH_INST(name, -1);
	struct ctr *c = calloc(1, sizeof(*c));

	if (!c)
		DONE(-1);
	snprintf(c->c.native_id, sizeof(c->c.native_id), "fake-%u", ++in->next_id);
	copy(c->c.berth_id, sizeof(c->c.berth_id), berth_id);
	copy(c->c.owner, sizeof(c->c.owner), owner);
	copy(c->c.name, sizeof(c->c.name), cname);
	copy(c->c.image, sizeof(c->c.image), image);
	c->c.restart.type = BERTH_RESTART_NO;
	c->c.state = state;
	if (state == BERTH_RS_RUNNING) {
		c->c.pid = 4242;
		c->c.started_ns = real_ns();
	}
	for (int i = 0; i < NSIG_MAX; i++)
		c->exit_code[i] = -1;
	c->next = in->ctrs;
	in->ctrs = c;
	copy(native_out, len, c->c.native_id);
	DONE(0);
}

static int ctl_set_reachable(const char *name, bool reachable, const char *why)
{
	WITH_INST(name, -1);
	struct ev *e = calloc(1, sizeof(*e));

	if (!e)
		DONE(-1);
	e->status = true;
	e->reachable = reachable;
	copy(e->why, sizeof(e->why), why);
	if (in->evq_tail)
		in->evq_tail->next = e;
	else
		in->evq = e;
	in->evq_tail = e;
	DONE(0);
}

static int ctl_get(const char *name, const char *native, struct fake_container *out)
{
	WITH_INST(name, -1);
	struct ctr *c = find_ctr(in, native);

	if (!c)
		DONE(-1);
	*out = c->c;
	DONE(0);
}

static size_t ctl_count(const char *name)
{
	size_t n = 0;

	WITH_INST(name, 0);
	for (struct ctr *c = in->ctrs; c; c = c->next)
		n++;
	DONE(n);
}

static size_t ctl_calls(const char *name, struct fake_call *out, size_t max)
{
	size_t n;

	WITH_INST(name, 0);
	n = in->n_calls;
	if (out)
		memcpy(out, in->calls, (n < max ? n : max) * sizeof(*out));
	DONE(n);
}

static int ctl_clear_calls(const char *name)
{
	WITH_INST(name, -1);
	in->n_calls = 0;
	DONE(0);
}

static int ctl_count_calls(const char *name, const char *op, const char *native)
{
	int n = 0;

	WITH_INST(name, -1);
	for (size_t i = 0; i < in->n_calls; i++)
		if ((!op || strcmp(in->calls[i].op, op) == 0) &&
		    (!native || strcmp(in->calls[i].native_id, native) == 0))
			n++;
	DONE(n);
}

static bool quiet(struct inst *in, const void *arg)
{
	if (in->evq || in->delivering)
		return false;
	for (struct ctr *c = in->ctrs; c; c = c->next)
		if (c->exit_due_ms)
			return false;
	return true;
}

static bool ctl_wait_quiet(const char *name, int timeout_ms)
{
	bool ok;

	WITH_INST(name, true); /* no such instance: nothing pending */
	ok = wait_for(in, quiet, NULL, timeout_ms);
	DONE(ok);
}

static bool ctl_has(const char *name)
{
	return find_inst(name) != NULL;
}

static const struct fake_backend_control control = {
	.size = sizeof(struct fake_backend_control),
	.fail_next = ctl_fail_next,
	.set_delay = ctl_set_delay,
	.hold = ctl_hold,
	.release = ctl_release,
	.wait_held = ctl_wait_held,
	.set_exit_delay = ctl_set_exit_delay,
	.set_events = ctl_set_events,
	.on_signal = ctl_on_signal,
	.exit = ctl_exit,
	.runtime_restart = ctl_runtime_restart,
	.vanish = ctl_vanish,
	.add = ctl_add,
	.set_reachable = ctl_set_reachable,
	.get = ctl_get,
	.count = ctl_count,
	.calls = ctl_calls,
	.clear_calls = ctl_clear_calls,
	.count_calls = ctl_count_calls,
	.wait_quiet = ctl_wait_quiet,
	.has = ctl_has,
};

/* ---- entry points -------------------------------------------------------------------- */

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

BERTH_MODULE_EXPORT const struct fake_backend_control *berth_module_fake_backend_control(void);
const struct fake_backend_control *berth_module_fake_backend_control(void)
{
	return &control;
}

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
#ifdef FAKE_MINIMAL
	return host->register_backend(self, &fake_minimal_driver, err);
#else
	return host->register_backend(self, &fake_driver, err);
#endif
}

void berth_module_cleanup(void)
{
}
