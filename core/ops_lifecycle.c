/* SPDX-License-Identifier: Apache-2.0 */
/* Container start, pause, resume and remove. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "log.h"
#include "ops.h"
#include "state.h"

/* Common preamble: the runtime is reachable and the container has a native id.
 * Returns the native id (caller frees) or NULL with res filled. */
static char *prepare(struct container *c, struct op_result *res)
{
	berth_error err;
	char *native;

	berth_error_clear(&err);
	if (backend_check_reachable(c->backend, &err) < 0) {
		ops_fail_berth(res, &err);
		return NULL;
	}
	native = ops_native_id(c);
	if (!native)
		ops_fail(res, 409, "container %s is still being created", c->id);
	return native;
}

/* After a backend call: inspect, save, report. */
static void settle(struct container *c)
{
	bool changed = false;
	berth_error err;

	berth_error_clear(&err);
	if (state_refresh(c, &changed, &err) < 0)
		log_warn("container %s: cannot inspect after the operation: %s", c->id, err.message);
	state_commit(c, changed);
}

void ops_start(struct container *c, struct op_result *res)
{
	int status = ops_status(c);
	berth_error err;
	char *native;

	if (status == CS_RUNNING) {
		ops_fail(res, 409, "container %s is already running", c->id);
		return;
	}
	if (status == CS_PAUSED) {
		ops_fail(res, 409, "container %s is paused: resume it instead of starting it", c->id);
		return;
	}
	native = prepare(c, res);
	if (!native)
		return;
	berth_error_clear(&err);
	if (c->backend->drv->start(c->backend->inst, native, 0, &err) < 0) {
		free(native);
		if (err.code == BERTH_E_CONFLICT) { /* the runtime knew better: catch up */
			settle(c);
			ops_fail_berth(res, &err);
			return;
		}
		/* A start the runtime refused leaves the container stopped, with the reason. */
		if (err.code != BERTH_E_UNAVAILABLE)
			state_commit(c, state_set(c, CS_STOPPED, err.message));
		ops_fail_berth(res, &err);
		return;
	}
	free(native);
	pthread_mutex_lock(&c->lock);
	c->manually_stopped = false;
	c->restart_count = 0;
	pthread_mutex_unlock(&c->lock);
	settle(c);
}

static bool can_pause(struct container *c, struct op_result *res)
{
	if (!(backend_caps(c->backend) & BERTH_CAP_PAUSE) || !c->backend->drv->pause ||
	    !c->backend->drv->resume) {
		ops_fail(res, 501, "backend %s cannot pause containers", c->backend->name);
		return false;
	}
	return true;
}

void ops_pause(struct container *c, struct op_result *res)
{
	int status = ops_status(c);
	berth_error err;
	char *native;

	if (!can_pause(c, res))
		return;
	if (status != CS_RUNNING) {
		ops_fail(res, 409, "container %s is not running (state %s): only a running "
			 "container can be paused", c->id, container_status_name(status));
		return;
	}
	if (!(native = prepare(c, res)))
		return;
	berth_error_clear(&err);
	if (c->backend->drv->pause(c->backend->inst, native, 0, &err) < 0)
		ops_fail_berth(res, &err);
	free(native);
	settle(c);
}

void ops_resume(struct container *c, struct op_result *res)
{
	int status = ops_status(c);
	berth_error err;
	char *native;

	if (!can_pause(c, res))
		return;
	if (status != CS_PAUSED) {
		ops_fail(res, 409, "container %s is not paused (state %s)", c->id,
			 container_status_name(status));
		return;
	}
	if (!(native = prepare(c, res)))
		return;
	berth_error_clear(&err);
	if (c->backend->drv->resume(c->backend->inst, native, 0, &err) < 0)
		ops_fail_berth(res, &err);
	free(native);
	settle(c);
}

void ops_remove(struct container *c, bool force, struct op_result *res)
{
	int status = ops_status(c);
	berth_error err;
	char *native;

	if ((status == CS_RUNNING || status == CS_PAUSED) && !force) {
		ops_fail(res, 409, "container %s is %s: stop it first, or remove it with force "
			 "(value true)", c->id, status == CS_RUNNING ? "running" : "paused");
		return;
	}
	if (!(native = prepare(c, res)))
		return;
	berth_error_clear(&err);
	if (c->backend->drv->remove(c->backend->inst, native, force ? BERTH_REMOVE_FORCE : 0,
				    &err) < 0 && err.code != BERTH_E_NOT_FOUND) {
		free(native);
		if (err.code == BERTH_E_CONFLICT)
			settle(c); /* it was running after all: report that */
		ops_fail_berth(res, &err);
		return;
	}
	free(native);
	log_info("container %s removed", c->id);
	state_removed(c);
}
