/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Router: maps a decoded envelope (topic + path) onto a feature and an operation:
 *   <ns>/<name>/things/live/messages/<subject>   thing "<ns>:<name>" must be ours
 *   /features/ContainerFactory/inbox/messages/{create,createWithConfig}
 *   /features/Container:<id>/inbox/messages/{start,stop,stopWithOptions,pause,resume,
 *                                            rename,update,remove}
 * The operation comes from the path (as the reference agent does); the topic's subject
 * is not cross-checked.
 */
#ifndef BERTH_CORE_ROUTER_H
#define BERTH_CORE_ROUTER_H

#include "ditto.h"

#define ROUTER_ID_MAX 128 /* longest feature/container id routed; longer is unknown */
#define ROUTER_OP_MAX 64

enum router_feature {
	FEATURE_FACTORY = 1,
	FEATURE_CONTAINER = 2,
};

enum router_op {
	OP_CREATE = 1,
	OP_CREATE_WITH_CONFIG,
	OP_START,
	OP_STOP,
	OP_STOP_WITH_OPTIONS,
	OP_PAUSE,
	OP_RESUME,
	OP_RENAME,
	OP_UPDATE,
	OP_REMOVE,
};

struct route {
	int feature;                           /* enum router_feature */
	int op;                                /* enum router_op */
	char op_name[ROUTER_OP_MAX];           /* as in the path */
	char feature_id[ROUTER_ID_MAX + 16];   /* "ContainerFactory", "Container:<id>" */
	char container_id[ROUTER_ID_MAX + 1];  /* FEATURE_CONTAINER only */
	char outbox_path[ROUTER_ID_MAX + 128]; /* /features/<fid>/outbox/messages/<op> */
};

/*
 * Routes `env` for an agent serving `thing_id` (NULL: not known yet -> 404).
 * Errors: 400 malformed topic or path; 404 other thing, unknown feature or operation.
 * On error r->outbox_path is set when the path could be parsed ("" otherwise), so the
 * error response can use it.
 */
int router_route(const struct ditto_envelope *env, const char *thing_id, struct route *r,
		 struct ditto_error *err);

const char *router_op_name(int op);

#endif
