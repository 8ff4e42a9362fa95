/* SPDX-License-Identifier: Apache-2.0 */
/* Container rename and update (restart policy and memory limits, merged). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "log.h"
#include "ops.h"
#include "state.h"
#include "store.h"
#include "twin.h"
#include "values.h"

void ops_rename(struct container *c, const char *name, struct op_result *res)
{
	const berth_backend_driver *drv = c->backend->drv;
	struct container *other;
	berth_error err;
	char *native = NULL, *copy;
	bool same;

	if (!name)
		return; /* an empty name changes nothing */
	pthread_mutex_lock(&c->lock);
	same = c->name && strcmp(c->name, name) == 0;
	pthread_mutex_unlock(&c->lock);
	if (same)
		return;
	copy = strdup(name);
	if (!copy) {
		ops_fail(res, 500, "out of memory");
		return;
	}
	berth_error_clear(&err);
	ops_names_lock();
	other = containers_find_name(name, c);
	if (other) {
		ops_fail(res, 409, "the name %s is already used by container %s", name, other->id);
		goto out;
	}
	if ((backend_caps(c->backend) & BERTH_CAP_RENAME) && drv->rename) {
		if (backend_check_reachable(c->backend, &err) < 0 || !(native = ops_native_id(c)) ||
		    drv->rename(c->backend->inst, native, name, 0, &err) < 0) {
			if (!native && !err.code)
				ops_fail(res, 409, "container %s is still being created", c->id);
			else
				ops_fail_berth(res, &err);
			goto out;
		}
	}
	pthread_mutex_lock(&c->lock);
	free(c->name);
	c->name = copy;
	copy = NULL;
	pthread_mutex_unlock(&c->lock);
out:
	ops_names_unlock();
	container_unref(other);
	free(native);
	free(copy);
	if (res->status < 300) {
		state_commit(c, false);
		twin_name(c);
	}
}

static bool same_policy(const berth_restart_policy *a, const berth_restart_policy *b)
{
	return a->type == b->type && a->max_retry_count == b->max_retry_count &&
	       a->retry_timeout_s == b->retry_timeout_s;
}

static bool same_resources(const berth_resources *a, const berth_resources *b)
{
	return a->memory == b->memory && a->memory_reservation == b->memory_reservation &&
	       a->memory_swap == b->memory_swap;
}

void ops_update(struct container *c, const struct update_args *a, struct op_result *res)
{
	const berth_backend_driver *drv = c->backend->drv;
	berth_restart_policy policy, old_policy;
	berth_resources resources, old_resources;
	berth_update upd = { .size = sizeof(upd) };
	berth_error err;
	char *native;
	int status;

	if (!a->has_restart && !a->has_resources)
		return;
	pthread_mutex_lock(&c->lock);
	spec_config_restart(c->config, &old_policy);
	spec_config_resources(c->config, &old_resources);
	status = c->state.status;
	pthread_mutex_unlock(&c->lock);

	/* Merge: what the request names replaces, the rest stays; then judge the result. */
	policy = old_policy;
	resources = old_resources;
	if (a->has_restart)
		spec_apply_restart_patch(&policy, &a->restart);
	if (a->has_resources)
		spec_apply_resources_patch(&resources, &a->resources);
	berth_error_clear(&err);
	if (values_check_restart_policy(&policy, &err) < 0) {
		ops_fail(res, 400, "restartPolicy: %s", err.message);
		return;
	}
	if (values_check_resources(&resources, &err) < 0) {
		ops_fail(res, 400, "resources: %s", err.message);
		return;
	}
	if (!same_policy(&policy, &old_policy))
		upd.mask |= BERTH_UPDATE_RESTART;
	if (!same_resources(&resources, &old_resources))
		upd.mask |= BERTH_UPDATE_RESOURCES;
	if (!upd.mask)
		return; /* nothing changes: no event either */

	if (drv->update) {
		if (backend_check_reachable(c->backend, &err) < 0) {
			ops_fail_berth(res, &err);
			return;
		}
		native = ops_native_id(c);
		if (!native) {
			ops_fail(res, 409, "container %s is still being created", c->id);
			return;
		}
		upd.restart = policy;
		upd.resources = resources;
		upd.previous = old_resources;
		upd.running = status == CS_RUNNING || status == CS_PAUSED;
		if (drv->update(c->backend->inst, native, &upd, 0, &err) < 0) {
			free(native);
			ops_fail_berth(res, &err);
			return;
		}
		free(native);
	}
	pthread_mutex_lock(&c->lock);
	spec_config_set_restart(c->config, &policy);
	spec_config_set_resources(c->config, &resources);
	pthread_mutex_unlock(&c->lock);
	state_commit(c, false);
	twin_config(c);
	log_info("container %s updated", c->id);
}
