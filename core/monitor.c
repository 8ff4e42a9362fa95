/* SPDX-License-Identifier: Apache-2.0 */
/* Monitor: backend events and reachability -> refreshes and reconciliation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "container.h"
#include "identity.h"
#include "log.h"
#include "monitor.h"
#include "queue.h"
#include "restart.h"
#include "spec.h"
#include "state.h"
#include "store.h"
#include "twin.h"

struct refresh_job {
	struct job job;
	struct container *c;
	int event;      /* enum berth_event_type, 0 for a plain refresh */
	int exit_code;
	int64_t time_ns;
};

static void refresh_free(struct job *job)
{
	struct refresh_job *r = (struct refresh_job *)job;

	container_unref(r->c);
	free(r);
}

/* An exit the agent did not cause is EXITED for the twin even when the runtime has
 * already restarted the container by the time we look: report the exit first. */
static void report_missed_exit(struct refresh_job *r, const berth_container_info *info)
{
	struct container *c = r->c;
	bool report = false;

	if (info->state != BERTH_RS_RUNNING && info->state != BERTH_RS_PAUSED)
		return; /* the refresh itself shows the exit */
	pthread_mutex_lock(&c->lock);
	if ((c->state.status == CS_RUNNING || c->state.status == CS_PAUSED) &&
	    !c->manually_stopped && info->started_ns > c->state.started_ns) {
		c->state.status = CS_EXITED;
		c->state.pid = -1;
		c->state.exit_code = r->exit_code;
		if (r->time_ns)
			c->state.finished_ns = r->time_ns;
		report = true;
	}
	pthread_mutex_unlock(&c->lock);
	if (report)
		state_commit(c, true);
}

static void refresh_run(struct job *job)
{
	struct refresh_job *r = (struct refresh_job *)job;
	struct container *c = r->c;
	berth_container_info info = { .size = sizeof(info) };
	berth_error err;
	char *native;

	pthread_mutex_lock(&c->lock);
	native = !c->removed && c->native_id ? strdup(c->native_id) : NULL;
	pthread_mutex_unlock(&c->lock);
	if (!native) {
		refresh_free(job);
		return;
	}
	berth_error_clear(&err);
	if (c->backend->drv->inspect(c->backend->inst, native, &info, &err) < 0) {
		if (err.code == BERTH_E_NOT_FOUND) {
			log_notice("container %s is gone from %s: removing its record", c->id,
				   c->backend->name);
			state_removed(c);
		} else {
			log_warn("container %s: refresh failed: %s", c->id, err.message);
		}
	} else {
		if (r->event == BERTH_EV_EXIT)
			report_missed_exit(r, &info);
		state_commit(c, state_apply(c, &info));
		restart_consider(c);
	}
	berth_container_info_release(&info);
	free(native);
	refresh_free(job);
}

static void queue_refresh(struct container *c, const berth_event *ev)
{
	struct refresh_job *r = calloc(1, sizeof(*r));
	berth_error err;

	if (!r)
		return;
	r->c = container_ref(c);
	if (ev) {
		r->event = ev->type;
		r->exit_code = ev->exit_code;
		r->time_ns = ev->time_ns;
	}
	snprintf(r->job.key, sizeof(r->job.key), "%s", c->id);
	r->job.run = refresh_run;
	r->job.cancel = refresh_free;
	berth_error_clear(&err);
	if (queue_submit(&r->job, &err) < 0)
		refresh_free(&r->job);
}

void monitor_event(berth_backend_handle *b, const berth_event *ev)
{
	struct container *c = NULL;

	if (ev->native_id)
		c = containers_find_native(b, ev->native_id);
	if (!c && ev->berth_id) {
		c = containers_get(ev->berth_id);
		if (c && c->backend != b) {
			container_unref(c);
			c = NULL;
		}
	}
	if (!c)
		return; /* not ours, or still being created (create inspects anyway) */
	if (ev->type == BERTH_EV_EXIT) {
		/* Wake a stop waiting for this exit right now, not after the queue. */
		pthread_mutex_lock(&c->lock);
		c->exit_events++;
		pthread_cond_broadcast(&c->changed);
		pthread_mutex_unlock(&c->lock);
	}
	if (ev->type != BERTH_EV_CREATE && ev->type != BERTH_EV_RENAME)
		queue_refresh(c, ev);
	container_unref(c);
}

/* ---- reconciliation ---- */

struct reconcile_job {
	struct job job;
	berth_backend_handle *b;
};

struct seen {
	size_t n; /* labelled containers listed */
	berth_backend_handle *b;
};

/* A container with a berth label and no record: rebuild the record from the runtime. */
static void adopt(berth_backend_handle *b, const berth_container_info *info)
{
	struct container *c = container_new(info->berth_id, b);
	berth_error err;

	if (!c)
		return;
	c->native_id = info->native_id ? strdup(info->native_id) : NULL;
	c->name = strdup(info->name && *info->name ? info->name : c->id);
	c->image = info->image ? strdup(info->image) : NULL;
	c->config = json_object_new_object();
	json_object_object_add(c->config, "networkMode", json_object_new_string("BRIDGE"));
	spec_config_set_restart(c->config, &info->restart);
	spec_config_set_resources(c->config, &info->resources);
	c->created_ns = info->created_ns ? info->created_ns : container_now_ns();
	c->state.status = CS_CREATED;
	if (!c->native_id || !c->name || containers_add(c) < 0) {
		container_unref(c);
		return;
	}
	state_apply(c, info);
	berth_error_clear(&err);
	if (store_save(c, &err) < 0)
		log_err("%s", err.message);
	log_notice("adopted container %s (%s) from %s: its record was missing", c->id, c->name,
		   b->name);
	twin_feature(c);
	container_unref(c);
}

static int reconcile_one(void *userdata, const berth_container_info *info)
{
	struct seen *s = userdata;
	struct container *c;

	char thing[IDENTITY_MAX];

	if (!info->berth_id || strlen(info->berth_id) != CONTAINER_ID_LEN)
		return 0;
	s->n++;
	c = containers_get(info->berth_id);
	/* Only our own: another agent on the same engine owns the rest. */
	if (!c && info->owner && identity_thing(thing, sizeof(thing)) &&
	    strcmp(info->owner, thing) == 0)
		adopt(s->b, info);
	container_unref(c);
	return 0;
}

static void reconcile_run(struct job *job)
{
	struct reconcile_job *r = (struct reconcile_job *)job;
	struct seen s = { .b = r->b };
	struct container **list;
	berth_error err;
	size_t n;

	backend_refresh(r->b);
	berth_error_clear(&err);
	if (r->b->drv->list(r->b->inst, reconcile_one, &s, 0, &err) < 0) {
		log_warn("backend %s: cannot list containers: %s", r->b->name, err.message);
		free(r);
		return;
	}
	/* Refresh every record of this backend: vanished ones are removed by the refresh. */
	list = containers_list(&n);
	for (size_t i = 0; i < n; i++)
		if (list[i]->backend == r->b)
			queue_refresh(list[i], NULL);
	containers_list_free(list, n);
	log_info("backend %s reconciled: %zu containers listed", r->b->name, s.n);
	free(r);
}

static void reconcile_cancel(struct job *job)
{
	free(job);
}

void monitor_reconcile(berth_backend_handle *b)
{
	struct reconcile_job *r = calloc(1, sizeof(*r));
	berth_error err;

	if (!r)
		return;
	r->b = b;
	snprintf(r->job.key, sizeof(r->job.key), "backend:%s", b->name);
	r->job.run = reconcile_run;
	r->job.cancel = reconcile_cancel;
	berth_error_clear(&err);
	if (queue_submit(&r->job, &err) < 0)
		free(r);
}

void monitor_status(berth_backend_handle *b, bool reachable, const char *why)
{
	bool came_back = backend_set_status(b, reachable, why);

	if (!reachable)
		log_warn("backend %s is unreachable: %s", b->name, why ? why : "no reason given");
	if (came_back) {
		log_notice("backend %s is reachable again", b->name);
		monitor_reconcile(b);
	}
}
