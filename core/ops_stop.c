/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stop with signal, timeout and force: one state machine for every backend.
 *   1. send the signal (a paused container is resumed right after, so it can act on it);
 *   2. wait for the exit: woken by the backend's exit event, checked by inspect;
 *   3. not gone after the timeout: SIGKILL to every process when forced (and wait
 *      again), otherwise answer an error and leave the container running.
 * A backend's native stop is used instead only when it means exactly the same: forced,
 * and the signal is SIGTERM or the backend takes any signal (BERTH_CAP_STOP_SIGNAL).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends.h"
#include "log.h"
#include "ops.h"
#include "state.h"
#include "store.h"
#include "values.h"

#define KILL_WAIT_MIN_SECONDS 10 /* after SIGKILL, wait at least this long */

static bool still_running(struct container *c, const char *native)
{
	berth_container_info info = { .size = sizeof(info) };
	berth_error err;
	bool running;

	berth_error_clear(&err);
	if (c->backend->drv->inspect(c->backend->inst, native, &info, &err) < 0)
		return err.code != BERTH_E_NOT_FOUND; /* unknown: assume it still runs */
	running = info.state == BERTH_RS_RUNNING || info.state == BERTH_RS_PAUSED;
	berth_container_info_release(&info);
	return running;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the runtime reports an exit (event counter moved past `seen`, or inspect
 * says so) or `seconds` pass. Inspects once a second in case events are not flowing. */
static bool wait_exit(struct container *c, const char *native, uint64_t seen, int seconds)
{
	int64_t deadline = monotonic_ms() + (int64_t)seconds * 1000;

	for (;;) {
		int64_t now = monotonic_ms(), slice = deadline - now;
		struct timespec until;
		bool exited;

		if (slice > 1000)
			slice = 1000;
		if (slice > 0) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += slice / 1000;
			until.tv_nsec += (long)(slice % 1000) * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&c->lock);
			while (c->exit_events == seen && !c->removed &&
			       pthread_cond_timedwait(&c->changed, &c->lock, &until) != ETIMEDOUT)
				;
			exited = c->exit_events != seen || c->removed;
			pthread_mutex_unlock(&c->lock);
			if (exited)
				return true;
		}
		if (!still_running(c, native))
			return true;
		if (monotonic_ms() >= deadline)
			return false;
	}
}

static uint64_t exit_events(struct container *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->lock);
	n = c->exit_events;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Signals and waits as described at the top. Returns 0 when stopped. */
static int signal_and_wait(struct container *c, const char *native, const struct stop_args *a,
			   int timeout, bool paused, struct op_result *res)
{
	const berth_backend_driver *drv = c->backend->drv;
	uint64_t seen = exit_events(c);
	berth_error err;
	char signame[16];
	const char *name = values_signal_name(a->signal);

	if (!name) {
		snprintf(signame, sizeof(signame), "signal %d", a->signal);
		name = signame;
	}
	berth_error_clear(&err);
	if (drv->kill(c->backend->inst, native, a->signal,
		      a->signal == SIGKILL ? BERTH_KILL_ALL : 0, &err) < 0) {
		if (err.code == BERTH_E_CONFLICT && !still_running(c, native))
			return 0; /* it ended just before the signal */
		return ops_fail_berth(res, &err);
	}
	if (paused && drv->resume && drv->resume(c->backend->inst, native, 0, &err) < 0)
		log_warn("container %s: resume after %s failed: %s", c->id, name, err.message);
	if (wait_exit(c, native, seen, timeout))
		return 0;
	if (!a->force || a->signal == SIGKILL)
		return ops_fail(res, 500, "container %s did not stop within %d s after %s and is "
				"still running; set force to kill it", c->id, timeout, name);

	log_info("container %s ignored %s for %d s: killing it", c->id, name, timeout);
	seen = exit_events(c);
	if (drv->kill(c->backend->inst, native, SIGKILL, BERTH_KILL_ALL, &err) < 0 &&
	    !(err.code == BERTH_E_CONFLICT && !still_running(c, native)))
		return ops_fail_berth(res, &err);
	if (wait_exit(c, native, seen, timeout > KILL_WAIT_MIN_SECONDS ? timeout
									 : KILL_WAIT_MIN_SECONDS))
		return 0;
	return ops_fail(res, 500, "container %s survived SIGKILL", c->id);
}

void ops_stop(struct container *c, const struct stop_args *a, struct op_result *res)
{
	const berth_backend_driver *drv = c->backend->drv;
	int status = ops_status(c), timeout = a->timeout > 0 ? a->timeout : ops_stop_timeout();
	bool changed = false;
	berth_error err;
	char *native;
	int rc;

	if (status != CS_RUNNING && status != CS_PAUSED) {
		ops_fail(res, 409, "container %s is not running (state %s)", c->id,
			 container_status_name(status));
		return;
	}
	berth_error_clear(&err);
	if (backend_check_reachable(c->backend, &err) < 0) {
		ops_fail_berth(res, &err);
		return;
	}
	native = ops_native_id(c);
	if (!native) {
		ops_fail(res, 409, "container %s is still being created", c->id);
		return;
	}
	/* From here on an exit is ours: the twin says STOPPED and restart policies hold.
	 * Saved before the signal, so that an agent killed mid-stop still knows. */
	pthread_mutex_lock(&c->lock);
	c->manually_stopped = true;
	pthread_mutex_unlock(&c->lock);
	if (store_save(c, &err) < 0)
		log_warn("%s", err.message);

	if (a->force && drv->stop && status == CS_RUNNING &&
	    (a->signal == SIGTERM || (backend_caps(c->backend) & BERTH_CAP_STOP_SIGNAL))) {
		rc = drv->stop(c->backend->inst, native, a->signal, timeout, 0, &err);
		if (rc < 0 && err.code == BERTH_E_CONFLICT && !still_running(c, native))
			rc = 0;
		if (rc < 0)
			ops_fail_berth(res, &err);
	} else {
		rc = signal_and_wait(c, native, a, timeout, status == CS_PAUSED, res);
	}
	if (rc < 0) {
		pthread_mutex_lock(&c->lock);
		c->manually_stopped = false;
		pthread_mutex_unlock(&c->lock);
	}
	free(native);
	if (state_refresh(c, &changed, &err) < 0)
		log_warn("container %s: cannot inspect after stop: %s", c->id, err.message);
	state_commit(c, changed);
}
