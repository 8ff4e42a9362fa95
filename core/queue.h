/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Work queue: jobs with the same key (a container id) run one after another in arrival
 * order; jobs with different keys run in parallel on a pool of worker threads that
 * grows on demand up to max_workers and shrinks when idle. A bounded number of counted
 * jobs (commands) may wait; beyond it queue_submit() says BERTH_E_BUSY.
 */
#ifndef BERTH_CORE_QUEUE_H
#define BERTH_CORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include <berth/error.h>

#define QUEUE_KEY_MAX 64

struct job {
	struct job *next;                /* queue-internal */
	char key[QUEUE_KEY_MAX];         /* jobs with equal keys are serialised */
	bool counted;                    /* counts against the limit (commands do) */
	void (*run)(struct job *job);    /* on a worker thread; owns and frees the job */
	void (*cancel)(struct job *job); /* instead of run when the queue shuts down; frees */
};

int queue_init(int max_workers, int limit);
void queue_set_limits(int max_workers, int limit);
/* Takes ownership of `job` on success. Errors: BERTH_E_BUSY (full), BERTH_E_SHUTDOWN. */
int queue_submit(struct job *job, berth_error *err);
/* Jobs waiting or running. */
size_t queue_pending(void);
/* Stops taking jobs, waits up to timeout_ms for queued and running jobs, cancels what is
 * still queued then, waits for running jobs to end and for the workers to exit. */
void queue_shutdown(int timeout_ms);
/* Waits until nothing is queued or running (tests); false on timeout. */
bool queue_wait_idle(int timeout_ms);

#endif
