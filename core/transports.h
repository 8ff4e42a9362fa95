/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transport instances: one per `transports` group. Sends replies back on the transport
 * a command came from, and twin events to every transport that is online.
 */
#ifndef BERTH_CORE_TRANSPORTS_H
#define BERTH_CORE_TRANSPORTS_H

#include <pthread.h>
#include <stdbool.h>

#include <berth/transport.h>

#include "config.h"

struct berth_transport_handle {
	char *name;
	const berth_transport_driver *drv;
	void *inst;
	uint64_t caps;          /* enum berth_transport_cap */
	pthread_mutex_t lock;   /* guards online */
	bool online;
	bool started;
	bool builtin;           /* core-internal (control socket): not a cloud link, so not
				 * counted for readiness and sent no twin events */
};

int transports_open_all(const struct berth_config *cfg, const berth_host *host,
			berth_error *err);
/* Adds a transport implemented in the core itself, after transports_open_all() and
 * before transports_start_all(). `inst` is already set up; the handle is returned for
 * its transport_inbound() calls, and from here on it is started, stopped and closed
 * (drv->close(inst), also on shutdown after a failed start) like the others. NULL on
 * error (inst is then still the caller's). At most TRANSPORTS_BUILTIN_MAX. */
#define TRANSPORTS_BUILTIN_MAX 2
struct berth_transport_handle *transports_add_builtin(const char *name,
						      const berth_transport_driver *drv,
						      void *inst, berth_error *err);
int transports_start_all(berth_error *err);
/* Stops taking commands on every transport. */
void transports_stop_all(void);
void transports_close_all(void);

size_t transports_count(void);
struct berth_transport_handle *transports_at(size_t i);
/* Every cloud transport is online (built-in ones are not counted). */
bool transports_all_online(void);

bool transport_is_online(struct berth_transport_handle *t);
void transport_set_online(struct berth_transport_handle *t, bool online);

/* Sends a twin event to every online cloud transport (to one when `only` is not NULL).
 * Returns true when every transport it was meant for took it (none was offline). */
bool transports_send_event(struct berth_transport_handle *only, const char *thing_id,
			   const char *tenant, const char *payload);

#endif
