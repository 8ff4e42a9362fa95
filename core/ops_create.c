/* SPDX-License-Identifier: Apache-2.0 */
/* ContainerFactory create / createWithConfig. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "identity.h"
#include "log.h"
#include "ops.h"
#include "state.h"
#include "store.h"
#include "twin.h"

/* Reserves the name by putting the record in the table (state CREATING). */
static int reserve(struct container *c, struct op_result *res)
{
	struct container *other;
	int rc = 0;

	ops_names_lock();
	other = containers_find_name(c->name, c);
	if (other)
		rc = ops_fail(res, 409, "the name %s is already used by container %s", c->name,
			      other->id);
	else if (containers_add(c) < 0)
		rc = ops_fail(res, 409, "container id %s is already in use", c->id);
	ops_names_unlock();
	container_unref(other);
	return rc;
}

void ops_create(struct op_args *args, struct op_result *res)
{
	struct create_args *a = &args->create;
	struct berth_backend_handle *b;
	struct spec_holder spec;
	char owner[IDENTITY_MAX];
	struct container *c;
	berth_error err;
	char *native = NULL;
	int rc;

	berth_error_clear(&err);
	b = a->backend ? backends_find(a->backend) : backends_default();
	if (!b) {
		if (a->backend)
			ops_fail(res, 400, "no backend named %s is configured", a->backend);
		else
			ops_fail(res, 503, "no backend is configured");
		return;
	}
	if (backend_check_reachable(b, &err) < 0) {
		ops_fail_berth(res, &err);
		return;
	}
	c = container_new(a->id, b);
	if (!c) {
		ops_fail(res, 500, "out of memory");
		return;
	}
	c->name = strdup(a->name ? a->name : c->id);
	c->image = strdup(a->image);
	c->config = json_object_get(a->config);
	c->created_ns = container_now_ns();
	if (!c->name || !c->image) {
		ops_fail(res, 500, "out of memory");
		container_unref(c);
		return;
	}
	if (reserve(c, res) < 0) {
		container_unref(c);
		return;
	}

	if (spec_build(&spec, c->id, c->name, c->image, c->config) < 0) {
		ops_fail(res, 500, "out of memory");
		rc = -1;
	} else {
		/* Labels the container as ours, so that only this agent adopts it. */
		spec.spec.owner = identity_thing(owner, sizeof(owner)) ? owner : NULL;
		rc = b->drv->create(b->inst, &spec.spec, 0, &native, &err);
		if (rc < 0)
			ops_fail_berth(res, &err);
	}
	spec_holder_release(&spec);
	if (rc < 0 || !native) {
		if (rc == 0)
			ops_fail(res, 500, "backend %s created no container", b->name);
		free(native);
		/* Commands queued behind the create hold a reference: they find it gone. */
		pthread_mutex_lock(&c->lock);
		c->removed = true;
		pthread_mutex_unlock(&c->lock);
		containers_remove(c);
		container_unref(c);
		return;
	}

	pthread_mutex_lock(&c->lock);
	c->native_id = native;
	c->state.status = CS_CREATED;
	pthread_mutex_unlock(&c->lock);
	state_commit(c, false);
	twin_feature(c);
	twin_state(c); /* the reference's sequence: the whole feature, then status/state */
	log_info("container %s (%s) created on %s as %.12s", c->id, c->name, b->name, native);

	if (a->start) {
		ops_start(c, res);
		if (res->status >= 300) {
			char message[sizeof(res->error.message)];

			snprintf(message, sizeof(message), "container %s was created but did not start: %.400s",
				 c->id, res->error.message);
			memcpy(res->error.message, message, sizeof(message));
			container_unref(c);
			return;
		}
	}
	res->status = 200;
	res->value = json_object_new_string(c->id);
	container_unref(c);
}
