/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's twin state from what the runtime says: inspect, map the runtime's state
 * onto CREATED/RUNNING/STOPPED/PAUSED/EXITED (STOPPED when a command stopped it, EXITED
 * when the process ended on its own), save the record and tell the twin when anything a
 * twin reader sees has changed. Callers run inside the container's queue lane.
 */
#ifndef BERTH_CORE_STATE_H
#define BERTH_CORE_STATE_H

#include <stdbool.h>

#include <berth/backend.h>

#include "container.h"

/* Applies `info` (takes c->lock). Returns true if the twin-visible state changed. */
bool state_apply(struct container *c, const berth_container_info *info);

/* Inspects and applies. Returns 0, or -1 with err (BERTH_E_NOT_FOUND: the runtime has no
 * such container any more). *changed tells whether the state changed. */
int state_refresh(struct container *c, bool *changed, berth_error *err);

/* Sets status (and error text, NULL keeps it) directly; true if it changed. */
bool state_set(struct container *c, int status, const char *error);

/* Saves the record; publishes the state to the twin when `changed`. */
void state_commit(struct container *c, bool changed);

/* The container is gone from the runtime: DEAD to the twin, feature deleted, record
 * deleted, out of the table. */
void state_removed(struct container *c);

#endif
