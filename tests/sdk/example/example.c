/* SPDX-License-Identifier: Apache-2.0 */
/*
 * example: an out-of-tree berth backend, built against the installed SDK only
 * (`pkg-config --cflags berth-module`, see Makefile and berth-module(7)).
 *
 * It keeps its containers in memory and runs nothing: start marks a container running,
 * a signal or a stop "ends" it with exit code 128 + signal. That is enough for berthd to
 * load it, open it from a `backends` group and answer every Container API command
 * that needs create, start, kill, stop, remove, inspect and list.
 *
 * Configuration group:   { module = "example"; max_containers = 64; }
 *
 * Threading (backend.h): open/watch/close run on berthd's main thread; the ops run on
 * worker threads, concurrently for different containers, so the table is under a
 * mutex. Exit events go to the core from the module's own event thread (watch()),
 * never from inside an op.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <berth/berth.h>

#define EXAMPLE "example"

BERTH_MODULE_DECLARE_VERSION(BERTH_ABI_VERSION_1)

static const berth_option example_options[] = {
	{ "max_containers", BERTH_OPT_INT, false, "containers kept at most (default 64)" },
	{ 0 },
};

struct ex_container {
	struct ex_container *next;
	char native_id[24];
	char *berth_id;
	char *name;
	char *image;
	int state;     /* enum berth_runtime_state */
	int exit_code;
	int64_t created_ns, started_ns, finished_ns;
	berth_restart_policy restart;
	berth_resources resources;
};

/* An event waiting for the event thread. */
struct ex_event {
	struct ex_event *next;
	int type;
	char native_id[24];
	char *berth_id;
	int exit_code;
	int64_t time_ns;
};

struct example {
	const berth_host *host;
	berth_backend_handle *handle;
	long long max_containers;

	pthread_mutex_t lock; /* everything below */
	struct ex_container *containers;
	size_t n_containers;
	unsigned long long next_id;

	pthread_cond_t wake;  /* the event thread's */
	struct ex_event *events, **events_tail;
	bool thread_running, stopping;
	pthread_t thread;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Caller holds ex->lock. */
static struct ex_container *find(struct example *ex, const char *native_id)
{
	for (struct ex_container *c = ex->containers; c; c = c->next)
		if (strcmp(c->native_id, native_id) == 0)
			return c;
	return NULL;
}

/* Queues an event for the event thread; caller holds ex->lock. Events are dropped
 * while watch() has not started the thread (the core inspects after every op anyway). */
static void post_event(struct example *ex, int type, const struct ex_container *c)
{
	struct ex_event *e;

	if (!ex->thread_running || ex->stopping)
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->type = type;
	snprintf(e->native_id, sizeof(e->native_id), "%s", c->native_id);
	e->berth_id = c->berth_id ? strdup(c->berth_id) : NULL;
	e->exit_code = c->exit_code;
	e->time_ns = now_ns();
	*ex->events_tail = e;
	ex->events_tail = &e->next;
	pthread_cond_signal(&ex->wake);
}

static void free_container(struct ex_container *c)
{
	free(c->berth_id);
	free(c->name);
	free(c->image);
	free(c);
}

/* ---- the event thread ------------------------------------------------------------------ */

static void *event_thread(void *arg)
{
	struct example *ex = arg;

	pthread_mutex_lock(&ex->lock);
	for (;;) {
		struct ex_event *e;

		while (!ex->events && !ex->stopping)
			pthread_cond_wait(&ex->wake, &ex->lock);
		if (ex->stopping)
			break;
		e = ex->events;
		ex->events = e->next;
		if (!ex->events)
			ex->events_tail = &ex->events;
		pthread_mutex_unlock(&ex->lock);

		/* Outside the lock: the core may call back into inspect(). */
		berth_event ev = {
			.size = sizeof(ev),
			.type = e->type,
			.native_id = e->native_id,
			.berth_id = e->berth_id,
			.exit_code = e->exit_code,
			.time_ns = e->time_ns,
		};
		ex->host->backend_event(ex->handle, &ev);
		free(e->berth_id);
		free(e);

		pthread_mutex_lock(&ex->lock);
	}
	pthread_mutex_unlock(&ex->lock);
	return NULL;
}

/* ---- instance ---------------------------------------------------------------------------- */

static int example_open(const berth_host *host, const berth_settings *settings,
			berth_backend_handle *handle, void **instance, berth_error *err)
{
	struct example *ex;
	long long max = 64;

	/* Values the core cannot check (ranges, formats) are checked here and reported
	 * like any configuration error: "FILE:LINE: backends.example.max_containers: ..." */
	if (host->setting_int(settings, "max_containers", &max) == 0 && (max < 1 || max > 100000))
		return host->setting_invalid(settings, "max_containers", err,
					     "%lld is out of range (1 to 100000)", max);
	ex = calloc(1, sizeof(*ex));
	if (!ex)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	ex->host = host;
	ex->handle = handle;
	ex->max_containers = max;
	ex->events_tail = &ex->events;
	pthread_mutex_init(&ex->lock, NULL);
	pthread_cond_init(&ex->wake, NULL);
	/* A real backend would look for its runtime here and report an unreachable one
	 * with host->backend_status(handle, false, why) instead of failing. */
	host->backend_status(handle, true, NULL);
	host->log(BERTH_LOG_INFO, EXAMPLE, "in-memory backend ready (at most %lld containers)",
		  max);
	*instance = ex;
	return 0;
}

static int example_watch(void *instance, berth_error *err)
{
	struct example *ex = instance;
	int rc;

	pthread_mutex_lock(&ex->lock);
	rc = pthread_create(&ex->thread, NULL, event_thread, ex);
	ex->thread_running = rc == 0;
	pthread_mutex_unlock(&ex->lock);
	if (rc != 0)
		return berth_error_set(err, BERTH_E_INTERNAL, "cannot start the event thread: %s",
				       strerror(rc));
	return 0;
}

static void example_close(void *instance)
{
	struct example *ex = instance;
	bool joined;

	if (!ex)
		return;
	/* close() must not return before the event thread has ended. */
	pthread_mutex_lock(&ex->lock);
	ex->stopping = true;
	joined = ex->thread_running;
	pthread_cond_signal(&ex->wake);
	pthread_mutex_unlock(&ex->lock);
	if (joined)
		pthread_join(ex->thread, NULL);
	while (ex->events) {
		struct ex_event *e = ex->events;

		ex->events = e->next;
		free(e->berth_id);
		free(e);
	}
	while (ex->containers) {
		struct ex_container *c = ex->containers;

		ex->containers = c->next;
		free_container(c);
	}
	pthread_cond_destroy(&ex->wake);
	pthread_mutex_destroy(&ex->lock);
	free(ex);
}

static uint64_t example_capabilities(void *instance)
{
	/* berth_id is kept and listed; exits are reported. No native restart policy: the
	 * core's restart manager enforces policies from BERTH_EV_EXIT. */
	return BERTH_CAP_LABELS | BERTH_CAP_EVENTS;
}

static int example_ping(void *instance, char **version_out, berth_error *err)
{
	if (version_out) {
		*version_out = strdup("example in-memory backend 1.0");
		if (!*version_out)
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	return 0;
}

/* ---- operations -------------------------------------------------------------------------- */

static int example_create(void *instance, const berth_container_spec *spec, unsigned flags,
			  char **native_id_out, berth_error *err)
{
	struct example *ex = instance;
	struct ex_container *c;

	BERTH_CHECK_FLAGS(flags, BERTH_CREATE_NO_PULL, err);
	if (!spec || !BERTH_HAS_FIELD(spec, berth_container_spec, resources))
		return berth_error_set(err, BERTH_E_INVALID, "container spec too small");
	c = calloc(1, sizeof(*c));
	if (!c)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	c->berth_id = spec->berth_id ? strdup(spec->berth_id) : NULL;
	c->name = strdup(spec->name);
	c->image = strdup(spec->image);
	if ((spec->berth_id && !c->berth_id) || !c->name || !c->image) {
		free_container(c);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	c->state = BERTH_RS_CREATED;
	c->created_ns = now_ns();
	c->restart = spec->restart;
	c->resources = spec->resources;

	pthread_mutex_lock(&ex->lock);
	for (struct ex_container *o = ex->containers; o; o = o->next)
		if (strcmp(o->name, spec->name) == 0) {
			pthread_mutex_unlock(&ex->lock);
			free_container(c);
			return berth_error_set(err, BERTH_E_CONFLICT,
					       "the name \"%s\" is already in use by container %s",
					       spec->name, o->native_id);
		}
	if ((long long)ex->n_containers >= ex->max_containers) {
		pthread_mutex_unlock(&ex->lock);
		free_container(c);
		return berth_error_set(err, BERTH_E_RUNTIME,
				       "the example backend holds %zu containers, its maximum "
				       "(max_containers)", ex->n_containers);
	}
	snprintf(c->native_id, sizeof(c->native_id), "ex%016llx", ++ex->next_id);
	*native_id_out = strdup(c->native_id); /* malloc()ed: the core frees it */
	if (!*native_id_out) {
		pthread_mutex_unlock(&ex->lock);
		free_container(c);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	c->next = ex->containers;
	ex->containers = c;
	ex->n_containers++;
	post_event(ex, BERTH_EV_CREATE, c);
	pthread_mutex_unlock(&ex->lock);
	ex->host->log(BERTH_LOG_DEBUG, EXAMPLE, "created %s (%s, image %s)", c->native_id,
		      spec->name, spec->image);
	return 0;
}

static int example_start(void *instance, const char *native_id, unsigned flags,
			 berth_error *err)
{
	struct example *ex = instance;
	struct ex_container *c;
	int rc = 0;

	BERTH_CHECK_FLAGS(flags, 0, err);
	pthread_mutex_lock(&ex->lock);
	c = find(ex, native_id);
	if (!c) {
		rc = berth_error_set(err, BERTH_E_NOT_FOUND, "no such container: %s", native_id);
	} else if (c->state == BERTH_RS_RUNNING || c->state == BERTH_RS_PAUSED) {
		rc = berth_error_set(err, BERTH_E_CONFLICT, "container %s is already running",
				     native_id);
	} else {
		c->state = BERTH_RS_RUNNING;
		c->exit_code = 0;
		c->started_ns = now_ns();
		post_event(ex, BERTH_EV_START, c);
	}
	pthread_mutex_unlock(&ex->lock);
	return rc;
}

/* The pretend process ends: exit code 128 + signal, as a shell reports it. Caller
 * holds ex->lock. */
static void end_process(struct example *ex, struct ex_container *c, int signal)
{
	c->state = BERTH_RS_EXITED;
	c->exit_code = 128 + signal;
	c->finished_ns = now_ns();
	post_event(ex, BERTH_EV_EXIT, c);
}

static int example_kill(void *instance, const char *native_id, int signal, unsigned flags,
			berth_error *err)
{
	struct example *ex = instance;
	struct ex_container *c;
	int rc = 0;

	BERTH_CHECK_FLAGS(flags, BERTH_KILL_ALL, err);
	if (signal < 1 || signal > 64)
		return berth_error_set(err, BERTH_E_INVALID, "invalid signal %d", signal);
	pthread_mutex_lock(&ex->lock);
	c = find(ex, native_id);
	if (!c)
		rc = berth_error_set(err, BERTH_E_NOT_FOUND, "no such container: %s", native_id);
	else if (c->state != BERTH_RS_RUNNING && c->state != BERTH_RS_PAUSED)
		rc = berth_error_set(err, BERTH_E_CONFLICT, "container %s is not running",
				     native_id);
	else if (signal != SIGCONT && signal != SIGWINCH && signal != SIGCHLD &&
		 signal != SIGURG)
		end_process(ex, c, signal); /* the pretend process ignores what is ignored */
	pthread_mutex_unlock(&ex->lock);
	return rc;
}

static int example_stop(void *instance, const char *native_id, int signal, int timeout_s,
			unsigned flags, berth_error *err)
{
	struct example *ex = instance;
	struct ex_container *c;
	int rc = 0;

	BERTH_CHECK_FLAGS(flags, 0, err);
	pthread_mutex_lock(&ex->lock);
	c = find(ex, native_id);
	if (!c)
		rc = berth_error_set(err, BERTH_E_NOT_FOUND, "no such container: %s", native_id);
	else if (c->state != BERTH_RS_RUNNING && c->state != BERTH_RS_PAUSED)
		rc = berth_error_set(err, BERTH_E_CONFLICT, "container %s is not running",
				     native_id);
	else
		end_process(ex, c, signal); /* it obeys at once, no need for the timeout */
	pthread_mutex_unlock(&ex->lock);
	return rc;
}

static int example_remove(void *instance, const char *native_id, unsigned flags,
			  berth_error *err)
{
	struct example *ex = instance;
	struct ex_container **p, *c = NULL;

	BERTH_CHECK_FLAGS(flags, BERTH_REMOVE_FORCE, err);
	pthread_mutex_lock(&ex->lock);
	for (p = &ex->containers; *p; p = &(*p)->next)
		if (strcmp((*p)->native_id, native_id) == 0) {
			c = *p;
			break;
		}
	if (!c) {
		pthread_mutex_unlock(&ex->lock);
		return berth_error_set(err, BERTH_E_NOT_FOUND, "no such container: %s", native_id);
	}
	if ((c->state == BERTH_RS_RUNNING || c->state == BERTH_RS_PAUSED) &&
	    !(flags & BERTH_REMOVE_FORCE)) {
		pthread_mutex_unlock(&ex->lock);
		return berth_error_set(err, BERTH_E_CONFLICT,
				       "container %s is running: stop it first or force", native_id);
	}
	if (c->state == BERTH_RS_RUNNING || c->state == BERTH_RS_PAUSED)
		end_process(ex, c, SIGKILL);
	*p = c->next;
	ex->n_containers--;
	post_event(ex, BERTH_EV_DESTROY, c);
	pthread_mutex_unlock(&ex->lock);
	free_container(c);
	return 0;
}

/* Fills `info` (allocated and sized by the core) from `c`; strings are malloc()ed and
 * released by the core. Caller holds ex->lock. */
static int fill_info(const struct ex_container *c, berth_container_info *info, berth_error *err)
{
	info->native_id = strdup(c->native_id);
	info->berth_id = c->berth_id ? strdup(c->berth_id) : NULL;
	info->name = strdup(c->name);
	info->image = strdup(c->image);
	if (!info->native_id || !info->name || !info->image || (c->berth_id && !info->berth_id)) {
		berth_container_info_release(info);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	info->state = c->state;
	info->pid = 0; /* nothing runs */
	info->exit_code = c->exit_code;
	info->created_ns = c->created_ns;
	info->started_ns = c->started_ns;
	info->finished_ns = c->finished_ns;
	if (BERTH_HAS_FIELD(info, berth_container_info, resources)) {
		info->restart = c->restart;
		info->resources = c->resources;
	}
	return 0;
}

static int example_inspect(void *instance, const char *native_id, berth_container_info *info,
			   berth_error *err)
{
	struct example *ex = instance;
	struct ex_container *c;
	int rc;

	pthread_mutex_lock(&ex->lock);
	c = find(ex, native_id);
	rc = c ? fill_info(c, info, err)
	       : berth_error_set(err, BERTH_E_NOT_FOUND, "no such container: %s", native_id);
	pthread_mutex_unlock(&ex->lock);
	return rc;
}

static int example_list(void *instance, berth_list_cb cb, void *userdata, unsigned flags,
			berth_error *err)
{
	struct example *ex = instance;
	berth_container_info *infos;
	size_t n = 0, i;
	int rc = 0;

	BERTH_CHECK_FLAGS(flags, 0, err);
	/* Snapshot under the lock, call back without it. */
	pthread_mutex_lock(&ex->lock);
	infos = calloc(ex->n_containers ? ex->n_containers : 1, sizeof(*infos));
	if (!infos) {
		pthread_mutex_unlock(&ex->lock);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	for (struct ex_container *c = ex->containers; c; c = c->next, n++) {
		infos[n].size = sizeof(infos[n]);
		if (fill_info(c, &infos[n], err) < 0) {
			rc = -1;
			break;
		}
	}
	pthread_mutex_unlock(&ex->lock);
	for (i = 0; rc == 0 && i < n; i++)
		rc = cb(userdata, &infos[i]);
	for (i = 0; i < n; i++)
		berth_container_info_release(&infos[i]);
	free(infos);
	return rc;
}

/* ---- the driver and the module ------------------------------------------------------------ */

static const berth_backend_driver example_driver = {
	.size = sizeof(berth_backend_driver),
	.name = "example",
	.description = "in-memory example backend (runs nothing)",
	.options = example_options,
	.open = example_open,
	.close = example_close,
	.capabilities = example_capabilities,
	.watch = example_watch,
	.ping = example_ping,
	.create = example_create,
	.start = example_start,
	.kill = example_kill,
	.stop = example_stop,
	/* pause, resume, rename, update: NULL = not supported; the core answers 501 or
	 * keeps the change in its own record (see backend.h). */
	.remove = example_remove,
	.inspect = example_inspect,
	.list = example_list,
};

int berth_module_init(const berth_host *host, berth_module *self, berth_error *err)
{
	return host->register_backend(self, &example_driver, err);
}

void berth_module_cleanup(void)
{
}
