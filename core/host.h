/* SPDX-License-Identifier: Apache-2.0 */
/* The berth_host table every module is given: logging, registration, settings, the
 * agent's identity, and the callbacks into the core. */
#ifndef BERTH_CORE_HOST_H
#define BERTH_CORE_HOST_H

#include <berth/module.h>

#include "config.h"

/* Fills the table from the configuration (identity, state dir). */
const berth_host *host_init(const struct berth_config *cfg);

/* Called when something the daemon's readiness depends on changed (a transport came
 * online); set by the daemon. */
void host_set_change_notifier(void (*notify)(void));

#endif
