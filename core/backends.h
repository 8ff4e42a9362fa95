/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Backend instances: one per `backends` group, opened from its driver. Tracks whether
 * the runtime is reachable and what it can do (capabilities change with its version).
 */
#ifndef BERTH_CORE_BACKENDS_H
#define BERTH_CORE_BACKENDS_H

#include <pthread.h>
#include <stdbool.h>

#include <berth/backend.h>

#include "config.h"

struct berth_backend_handle {
	char *name;                       /* instance name (config `name`, default module) */
	const berth_backend_driver *drv;
	void *inst;                       /* the driver's instance */
	bool is_default;

	pthread_mutex_t lock;             /* guards the fields below */
	bool reachable;
	char *why;                        /* why unreachable, or NULL */
	uint64_t caps;                    /* enum berth_backend_cap */
	char *version;                    /* "docker 20.10.24 (API 1.41)" or NULL */
};

/* Opens every configured backend (drivers must be registered already). On failure the
 * ones opened so far stay open: backends_close_all() closes them. */
int backends_open_all(const struct berth_config *cfg, const berth_host *host, berth_error *err);
/* Starts every backend's event stream (after the containers are loaded). */
void backends_watch_all(void);
void backends_close_all(void);

size_t backends_count(void);
struct berth_backend_handle *backends_at(size_t i);
struct berth_backend_handle *backends_find(const char *name);
struct berth_backend_handle *backends_default(void);

/* Snapshot of the capability bits / reachability. */
uint64_t backend_caps(struct berth_backend_handle *b);
bool backend_reachable(struct berth_backend_handle *b);
/* Called by host->backend_status(). Returns true when the backend just came back (was
 * unreachable, now reachable); the caller then refreshes it off the event thread. */
bool backend_set_status(struct berth_backend_handle *b, bool reachable, const char *why);
/* Fills err with BERTH_E_UNAVAILABLE when the runtime is down; returns -1 then. */
/* Asks the driver for its capabilities and version again (may block: not from the
 * backend's event thread). */
void backend_refresh(struct berth_backend_handle *b);
int backend_check_reachable(struct berth_backend_handle *b, berth_error *err);

#endif
