/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Monitor: what backends report on their own. Events (exit, OOM, start, destroy...)
 * wake a stop that waits for an exit and queue a refresh of that container in its lane;
 * reachability changes are logged and, when a runtime comes back, trigger a
 * reconciliation with its list: containers that vanished are removed, containers that
 * carry a berth label but have no record (a lost state directory) are adopted, all
 * others are refreshed.
 */
#ifndef BERTH_CORE_MONITOR_H
#define BERTH_CORE_MONITOR_H

#include <stdbool.h>

#include <berth/backend.h>

void monitor_event(berth_backend_handle *b, const berth_event *ev);
void monitor_status(berth_backend_handle *b, bool reachable, const char *why);
/* Queues a reconciliation of backend b. */
void monitor_reconcile(berth_backend_handle *b);

#endif
