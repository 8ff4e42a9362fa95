/* SPDX-License-Identifier: Apache-2.0 */
/* Runtime facts -> twin state; saving and reporting changes. */
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "log.h"
#include "state.h"
#include "store.h"
#include "twin.h"

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool state_apply(struct container *c, const berth_container_info *info)
{
	struct container_state *s = &c->state;
	struct container_state before;
	char *error_before;
	bool changed;
	int status;

	pthread_mutex_lock(&c->lock);
	before = *s;
	error_before = s->error ? strdup(s->error) : NULL;
	switch (info->state) {
	case BERTH_RS_RUNNING:
		status = CS_RUNNING;
		break;
	case BERTH_RS_PAUSED:
		status = CS_PAUSED;
		break;
	case BERTH_RS_CREATED:
		/* Never started, or a start that failed: keep STOPPED/EXITED if we said so. */
		status = s->status == CS_STOPPED || s->status == CS_EXITED ? s->status : CS_CREATED;
		break;
	case BERTH_RS_RESTARTING: /* waiting for the runtime's restart after an exit */
	case BERTH_RS_EXITED:
	case BERTH_RS_DEAD:
		status = c->manually_stopped ? CS_STOPPED : CS_EXITED;
		break;
	case BERTH_RS_REMOVING:
	default:
		status = s->status;
		break;
	}
	s->status = status;
	if (status == CS_RUNNING || status == CS_PAUSED) {
		s->pid = info->pid > 0 ? info->pid : s->pid;
		c->started_before = true;
	} else if (status != CS_CREATING) {
		s->pid = -1;
	}
	if (status == CS_STOPPED || status == CS_EXITED) {
		s->exit_code = info->exit_code;
		s->oom_killed = info->oom_killed;
	}
	if (info->started_ns)
		s->started_ns = info->started_ns;
	if (info->finished_ns)
		s->finished_ns = info->finished_ns;
	if (info->oom_killed && status == CS_EXITED)
		container_set_error(c, "OOM Killed");
	else if (info->error && *info->error)
		container_set_error(c, info->error);
	changed = before.status != s->status || before.pid != s->pid ||
		  before.exit_code != s->exit_code || before.oom_killed != s->oom_killed ||
		  before.started_ns != s->started_ns || before.finished_ns != s->finished_ns ||
		  !same_string(error_before, s->error);
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
	free(error_before);
	return changed;
}

int state_refresh(struct container *c, bool *changed, berth_error *err)
{
	berth_container_info info = { .size = sizeof(info) };
	char *native;
	int rc;

	*changed = false;
	pthread_mutex_lock(&c->lock);
	native = c->native_id ? strdup(c->native_id) : NULL;
	pthread_mutex_unlock(&c->lock);
	if (!native)
		return berth_error_set(err, BERTH_E_NOT_FOUND, "container %s has no runtime object",
				       c->id);
	rc = c->backend->drv->inspect(c->backend->inst, native, &info, err);
	free(native);
	if (rc == 0)
		*changed = state_apply(c, &info);
	berth_container_info_release(&info);
	return rc;
}

bool state_set(struct container *c, int status, const char *error)
{
	bool changed;

	pthread_mutex_lock(&c->lock);
	changed = c->state.status != status;
	c->state.status = status;
	if (status != CS_RUNNING && status != CS_PAUSED)
		c->state.pid = -1;
	if (error && !same_string(error, c->state.error)) {
		container_set_error(c, error);
		changed = true;
	}
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
	return changed;
}

void state_commit(struct container *c, bool changed)
{
	berth_error err;

	berth_error_clear(&err);
	if (store_save(c, &err) < 0)
		log_err("%s", err.message);
	if (changed)
		twin_state(c);
}

void state_removed(struct container *c)
{
	pthread_mutex_lock(&c->lock);
	c->state.status = CS_DEAD;
	c->state.pid = -1;
	c->removed = true;
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
	twin_removed(c);
	if (store_delete(c->id) < 0)
		log_err("cannot delete the record of %s", c->id);
	containers_remove(c);
}
