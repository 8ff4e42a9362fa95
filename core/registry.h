/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Driver registry: the dispatch tables that modules register into. A backend driver
 * (docker, podman, ...) and a transport driver (mqtt, amqp) are found by the name that
 * configuration groups give in `module = "..."`.
 */
#ifndef BERTH_CORE_REGISTRY_H
#define BERTH_CORE_REGISTRY_H

#include <berth/backend.h>
#include <berth/module.h>
#include <berth/transport.h>

struct registry_backend_driver {
	const berth_backend_driver *drv;
	struct berth_module *module; /* who registered it */
};

struct registry_transport_driver {
	const berth_transport_driver *drv;
	struct berth_module *module;
};

/* berth_host.register_backend / register_transport. Refuse: NULL or empty name, a
 * table smaller than the MIN_SIZE, a NULL required op (backend: open, close,
 * capabilities, create, start, kill, remove, inspect, list; transport: open,
 * capabilities, start, send_reply, send_event, close), a name already registered
 * (BERTH_E_CONFLICT), and an option list with an unknown type, a duplicate key or one of
 * the core's keys (module, name, and for backends default). Messages name the module
 * file: "/usr/lib/berth/docker.so: driver docker: missing required op 'inspect'". */
int registry_register_backend(struct berth_module *self, const berth_backend_driver *drv,
			      berth_error *err);
int registry_register_transport(struct berth_module *self,
				const berth_transport_driver *drv, berth_error *err);

/* The entry of that name, or NULL. The pointer stays valid until the driver is
 * forgotten (registry_forget_module(), registry_clear()). Thread-safe. */
const struct registry_backend_driver *registry_find_backend(const char *name);
const struct registry_transport_driver *registry_find_transport(const char *name);

/* Forgets the drivers `module` registered (its init failed, or it is being unloaded). */
void registry_forget_module(const struct berth_module *module);

/* Forgets every driver (at shutdown, and between unit tests). */
void registry_clear(void);

/* Calls cb for every registered driver in registration order (e.g. berthd
 * --help-modules); a non-zero return stops the walk and is returned. cb runs with the
 * registry locked: it must not register or forget drivers. */
int registry_each_backend(int (*cb)(void *userdata, const struct registry_backend_driver *d),
			  void *userdata);
int registry_each_transport(int (*cb)(void *userdata,
				      const struct registry_transport_driver *d),
			    void *userdata);

#endif
