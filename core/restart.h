/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restart manager for runtimes that do not enforce restart policies themselves (no
 * BERTH_CAP_RESTART_POLICY). Docker's meaning of the policies:
 *   no              never
 *   always          after every exit the agent did not cause
 *   unless-stopped  the same (a command's stop is never undone)
 *   on-failure      after a non-zero exit, at most maxRetryCount times (0 = no limit)
 * A container stopped by a command is not restarted until it is started again.
 * Delay before a restart: restartPolicy timeout seconds when set, else 100 ms doubling
 * per restart up to 1 minute. A manual start resets the count.
 */
#ifndef BERTH_CORE_RESTART_H
#define BERTH_CORE_RESTART_H

#include <stdbool.h>
#include <stdint.h>

#include <berth/backend.h>

#include "container.h"

void restart_init(void);
void restart_shutdown(void);

/* Called after a container's state was refreshed (in its lane). */
void restart_consider(struct container *c);

/* The decision and the delay, separately testable. */
bool restart_wanted(const berth_restart_policy *p, bool manually_stopped, int exit_code,
		    int restart_count);
int64_t restart_delay_ms(const berth_restart_policy *p, int restart_count);

#endif
