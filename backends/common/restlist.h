/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restlist: the list operation of the REST backends (docker, podman): the runtime's JSON
 * array of containers (GET /containers/json, filtered on the berth label), each element
 * inspected by its "Id" and handed to the core's callback.
 */
#ifndef BERTH_RESTLIST_H
#define BERTH_RESTLIST_H

#include <berth/berth.h>

typedef int (*restlist_inspect_fn)(void *instance, const char *id, berth_container_info *info,
				   berth_error *err);

/* Walks body (the list's JSON text; runtime names it in the error when it is not a list):
 * inspect(instance, id) for each element, cb(userdata, info) for each one found. A
 * container removed since the list was made (BERTH_E_NOT_FOUND) is passed over. Returns
 * 0, -1 with *err set, or cb's non-zero value (which stops the walk). */
int restlist_walk(const char *body, const char *runtime, restlist_inspect_fn inspect,
		  void *instance, berth_list_cb cb, void *userdata, berth_error *err);

#endif
