/* SPDX-License-Identifier: Apache-2.0 */
/* Operation dispatch and the helpers the operation files share. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

static int stop_timeout = 30;
static pthread_mutex_t names = PTHREAD_MUTEX_INITIALIZER;

void ops_set_stop_timeout(int seconds)
{
	__atomic_store_n(&stop_timeout, seconds > 0 ? seconds : 30, __ATOMIC_RELAXED);
}

int ops_stop_timeout(void)
{
	return __atomic_load_n(&stop_timeout, __ATOMIC_RELAXED);
}

void ops_names_lock(void)
{
	pthread_mutex_lock(&names);
}

void ops_names_unlock(void)
{
	pthread_mutex_unlock(&names);
}

int ops_fail(struct op_result *res, int status, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	res->error.status = status;
	res->error.description[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(res->error.message, sizeof(res->error.message), fmt, ap);
	va_end(ap);
	json_object_put(res->value);
	res->value = NULL;
	return -1;
}

int ops_fail_berth(struct op_result *res, const berth_error *err)
{
	ditto_error_from_berth(&res->error, err);
	res->status = res->error.status;
	json_object_put(res->value);
	res->value = NULL;
	return -1;
}

int ops_status(struct container *c)
{
	int status;

	pthread_mutex_lock(&c->lock);
	status = c->state.status;
	pthread_mutex_unlock(&c->lock);
	return status;
}

char *ops_native_id(struct container *c)
{
	char *id;

	pthread_mutex_lock(&c->lock);
	id = c->native_id ? strdup(c->native_id) : NULL;
	pthread_mutex_unlock(&c->lock);
	return id;
}

void ops_execute(int op, struct container *c, struct op_args *args, struct op_result *res)
{
	memset(res, 0, sizeof(*res));
	res->status = 204;
	if (c) {
		bool removed;

		pthread_mutex_lock(&c->lock);
		removed = c->removed;
		pthread_mutex_unlock(&c->lock);
		if (removed) {
			ops_fail(res, 404, "container %s does not exist any more", c->id);
			return;
		}
	}
	switch (op) {
	case OP_CREATE:
	case OP_CREATE_WITH_CONFIG:
		ops_create(args, res);
		break;
	case OP_START:
		ops_start(c, res);
		break;
	case OP_STOP:
	case OP_STOP_WITH_OPTIONS:
		ops_stop(c, &args->stop, res);
		break;
	case OP_PAUSE:
		ops_pause(c, res);
		break;
	case OP_RESUME:
		ops_resume(c, res);
		break;
	case OP_RENAME:
		ops_rename(c, args->name, res);
		break;
	case OP_UPDATE:
		ops_update(c, &args->update, res);
		break;
	case OP_REMOVE:
		ops_remove(c, args->force, res);
		break;
	default:
		ops_fail(res, 404, "unsupported operation");
		break;
	}
}
