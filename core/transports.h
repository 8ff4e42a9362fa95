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
};

int transports_open_all(const struct berth_config *cfg, const berth_host *host,
			berth_error *err);
int transports_start_all(berth_error *err);
/* Stops taking commands on every transport. */
void transports_stop_all(void);
void transports_close_all(void);

size_t transports_count(void);
struct berth_transport_handle *transports_at(size_t i);
bool transports_all_online(void);

bool transport_is_online(struct berth_transport_handle *t);
void transport_set_online(struct berth_transport_handle *t, bool online);

/* Sends a twin event to every online transport (to one when `only` is not NULL). */
void transports_send_event(struct berth_transport_handle *only, const char *thing_id,
			   const char *tenant, const char *payload);

#endif
