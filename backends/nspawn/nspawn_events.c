/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd-nspawn backend: the event thread. It has a bus connection of its own,
 * subscribed to systemd's signals, and matches PropertiesChanged of the units under
 * /org/freedesktop/systemd1/unit and UnitRemoved. A change of one of our units
 * (berth-<name>.service with a record in state_dir) is read back in full and compared
 * with what the thread saw last: a new ExecMainStartTimestamp is a START, the end of
 * that run an EXIT with the payload's exit code (preceded by OOM when systemd's Result
 * is oom-kill). When the bus goes away
 * the thread reports it (backend_status false) and reconnects with a back-off; on
 * reconnection it takes the current state as seen (the core reconciles with list()).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "nspawn.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000

struct seen {
	char *name;
	uint64_t start_us; /* the run whose START was reported */
	uint64_t exit_us;  /* the run (by its start) whose EXIT was reported */
};

struct ev_ctx {
	struct nspawn *n;
	sd_bus *bus;
	struct seen *seen;
	size_t n_seen;
	bool lost;
};

static struct seen *seen_get(struct ev_ctx *x, const char *name, bool add)
{
	struct seen *s;

	for (size_t i = 0; i < x->n_seen; i++)
		if (strcmp(x->seen[i].name, name) == 0)
			return &x->seen[i];
	if (!add)
		return NULL;
	s = realloc(x->seen, (x->n_seen + 1) * sizeof(*s));
	if (!s)
		return NULL;
	x->seen = s;
	s = &x->seen[x->n_seen];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	if (!s->name)
		return NULL;
	x->n_seen++;
	return s;
}

static void seen_drop(struct ev_ctx *x, const char *name)
{
	for (size_t i = 0; i < x->n_seen; i++)
		if (strcmp(x->seen[i].name, name) == 0) {
			free(x->seen[i].name);
			x->seen[i] = x->seen[--x->n_seen];
			return;
		}
}

static void emit(struct ev_ctx *x, int type, const char *name, const char *berth_id,
		 int exit_code, uint64_t time_us)
{
	berth_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.size = sizeof(ev);
	ev.type = type;
	ev.native_id = name;
	ev.berth_id = berth_id;
	ev.exit_code = exit_code;
	ev.time_ns = time_us ? (int64_t)time_us * 1000 : nsp_now_ns();
	x->n->host->backend_event(x->n->handle, &ev);
}

/* Compares the unit's state with what was seen; reports (when `report`) and records. */
static void unit_changed(struct ev_ctx *x, const char *name, bool report)
{
	struct nsp_record *r = NULL;
	struct nsp_unit_state st;
	berth_error e;
	struct seen *s;
	char *unit;

	berth_error_clear(&e);
	if (nsp_record_load(x->n, name, &r, &e) < 0)
		return; /* not ours, or removed */
	unit = nsp_unit_name(name);
	if (!unit || nsp_unit_state(x->bus, unit, &st, &e) < 0 || !st.exists ||
	    !(s = seen_get(x, name, true))) {
		free(unit);
		nsp_record_free(r);
		return;
	}
	free(unit);
	if (st.start_us && st.start_us != s->start_us) {
		if (report)
			emit(x, BERTH_EV_START, name, r->berth_id, 0, st.start_us);
		s->start_us = st.start_us;
	}
	if (st.start_us && !nsp_unit_running(&st) && s->exit_us != st.start_us &&
	    (st.exit_us || strcmp(st.active, "failed") == 0)) {
		if (report) {
			if (strcmp(st.result, "oom-kill") == 0)
				emit(x, BERTH_EV_OOM, name, r->berth_id, 0, st.exit_us);
			emit(x, BERTH_EV_EXIT, name, r->berth_id, nsp_unit_exit_code(&st),
			     st.exit_us);
		}
		s->exit_us = st.start_us;
	}
	nsp_record_free(r);
}

static int on_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct ev_ctx *x = userdata;
	char *unit = NULL, *name;

	(void)ret_error;
	if (sd_bus_path_decode(sd_bus_message_get_path(m), SD_PATH "/unit", &unit) <= 0)
		return 0;
	name = nsp_name_of_unit(unit);
	free(unit);
	if (name)
		unit_changed(x, name, true);
	free(name);
	return 0;
}

static int on_unit_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct ev_ctx *x = userdata;
	struct nsp_record *r = NULL;
	const char *unit, *path;
	berth_error e;
	char *name;

	(void)ret_error;
	if (sd_bus_message_read(m, "so", &unit, &path) < 0)
		return 0;
	name = nsp_name_of_unit(unit);
	if (!name)
		return 0;
	/* a machine that is gone (remove() reported its DESTROY) is forgotten; one whose
	 * unit was only cleared for the next start is kept */
	berth_error_clear(&e);
	if (nsp_record_load(x->n, name, &r, &e) < 0 && e.code == BERTH_E_NOT_FOUND)
		seen_drop(x, name);
	nsp_record_free(r);
	free(name);
	return 0;
}

static int resync_one(void *ud, const char *name)
{
	unit_changed(ud, name, false);
	return 0;
}

static int connect_bus(struct ev_ctx *x, berth_error *err)
{
	int r;

	if (nsp_bus_open(x->n, &x->bus, err) < 0)
		return -1;
	r = sd_bus_match_signal(x->bus, NULL, SD_DEST, NULL, "org.freedesktop.DBus.Properties",
				"PropertiesChanged", on_properties, x);
	if (r >= 0)
		r = sd_bus_match_signal(x->bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "UnitRemoved",
					on_unit_removed, x);
	if (r < 0) {
		nsp_bus_error(err, r, NULL, "adding the signal matches");
		goto fail;
	}
	if (nsp_subscribe(x->bus, err) < 0)
		goto fail;
	/* what runs now is the starting point */
	nsp_record_each(x->n, resync_one, x, err);
	return 0;
fail:
	sd_bus_flush_close_unref(x->bus);
	x->bus = NULL;
	return -1;
}

/* Sleeps ms or until close() wakes us; false when stopping. */
static bool pause_ms(struct nspawn *n, int ms)
{
	struct pollfd p = { .fd = n->wake, .events = POLLIN };

	poll(&p, 1, ms);
	return !atomic_load(&n->stop);
}

static void run_bus(struct ev_ctx *x)
{
	struct nspawn *n = x->n;

	while (!atomic_load(&n->stop)) {
		struct pollfd p[2];
		uint64_t until;
		int r, timeout = -1;

		r = sd_bus_process(x->bus, NULL);
		if (r < 0) {
			char why[256];

			snprintf(why, sizeof(why), "lost the bus of systemd: %s", strerror(-r));
			nsp_log(n, BERTH_LOG_WARNING, "%s", why);
			atomic_store(&n->reachable, false);
			n->host->backend_status(n->handle, false, why);
			return;
		}
		if (r > 0)
			continue;
		p[0].fd = sd_bus_get_fd(x->bus);
		p[0].events = (short)sd_bus_get_events(x->bus);
		p[1].fd = n->wake;
		p[1].events = POLLIN;
		if (sd_bus_get_timeout(x->bus, &until) > 0 && until != UINT64_MAX) {
			struct timespec ts;
			uint64_t now;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
			timeout = until > now ? (int)((until - now + 999) / 1000) : 0;
		}
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			return;
	}
}

static void *event_thread(void *arg)
{
	struct ev_ctx x = { .n = arg };
	struct nspawn *n = arg;
	int backoff = BACKOFF_MIN_MS;

	while (!atomic_load(&n->stop)) {
		berth_error e;

		berth_error_clear(&e);
		if (connect_bus(&x, &e) < 0) {
			if (atomic_exchange(&n->reachable, false)) {
				nsp_log(n, BERTH_LOG_WARNING, "%s", e.message);
				n->host->backend_status(n->handle, false, e.message);
			}
			if (!pause_ms(n, backoff))
				break;
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		backoff = BACKOFF_MIN_MS;
		if (!atomic_exchange(&n->reachable, true))
			n->host->backend_status(n->handle, true, NULL);
		run_bus(&x);
		sd_bus_flush_close_unref(x.bus);
		x.bus = NULL;
		if (!pause_ms(n, BACKOFF_MIN_MS))
			break;
	}
	for (size_t i = 0; i < x.n_seen; i++)
		free(x.seen[i].name);
	free(x.seen);
	return NULL;
}

int nsp_events_start(struct nspawn *n, berth_error *err)
{
	int r;

	if (n->thread_running)
		return 0;
	atomic_store(&n->stop, false);
	r = pthread_create(&n->thread, NULL, event_thread, n);
	if (r != 0)
		return berth_error_set(err, BERTH_E_INTERNAL, "cannot start the event thread: %s",
				       strerror(r));
	n->thread_running = true;
	return 0;
}

void nsp_events_stop(struct nspawn *n)
{
	uint64_t one = 1;

	if (!n->thread_running)
		return;
	atomic_store(&n->stop, true);
	if (write(n->wake, &one, sizeof(one)) < 0) {
		/* the eventfd cannot be full here; the thread also checks the flag */
	}
	pthread_join(n->thread, NULL);
	n->thread_running = false;
}
