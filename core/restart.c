/* SPDX-License-Identifier: Apache-2.0 */
/* Restart manager: policies enforced by the agent, with a timer thread for delays. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends.h"
#include "log.h"
#include "queue.h"
#include "restart.h"
#include "spec.h"
#include "state.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 60000

struct pending {
	struct pending *next;
	char id[CONTAINER_ID_LEN + 1];
	int64_t due_ms; /* CLOCK_MONOTONIC */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static pthread_t timer;
static bool running, stopping;
static struct pending *pendings;

bool restart_wanted(const berth_restart_policy *p, bool manually_stopped, int exit_code,
		    int restart_count)
{
	if (manually_stopped)
		return false;
	switch (p->type) {
	case BERTH_RESTART_ALWAYS:
	case BERTH_RESTART_UNLESS_STOPPED:
		return true;
	case BERTH_RESTART_ON_FAILURE:
		return exit_code != 0 &&
		       (p->max_retry_count == 0 || restart_count < p->max_retry_count);
	default:
		return false;
	}
}

int64_t restart_delay_ms(const berth_restart_policy *p, int restart_count)
{
	int64_t ms = BACKOFF_FIRST_MS;

	if (p->retry_timeout_s > 0)
		return p->retry_timeout_s * 1000;
	for (int i = 0; i < restart_count && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct restart_job {
	struct job job;
	struct container *c;
};

static void restart_job_free(struct job *job)
{
	struct restart_job *r = (struct restart_job *)job;

	container_unref(r->c);
	free(r);
}

/* In the container's lane: still wanted? then start it. */
static void restart_run(struct job *job)
{
	struct container *c = ((struct restart_job *)job)->c;
	berth_restart_policy policy;
	bool wanted, changed = false;
	berth_error err;
	char *native;

	pthread_mutex_lock(&c->lock);
	spec_config_restart(c->config, &policy);
	wanted = !c->removed && c->state.status == CS_EXITED &&
		 restart_wanted(&policy, c->manually_stopped, c->state.exit_code, c->restart_count);
	native = wanted && c->native_id ? strdup(c->native_id) : NULL;
	pthread_mutex_unlock(&c->lock);
	if (native) {
		/* Every attempt counts, failed ones too: they lengthen the back-off and use up
		 * on-failure's retries, so a container that cannot start is not hammered. */
		pthread_mutex_lock(&c->lock);
		c->restart_count++;
		pthread_mutex_unlock(&c->lock);
		berth_error_clear(&err);
		if (c->backend->drv->start(c->backend->inst, native, 0, &err) < 0)
			log_warn("container %s: restart by policy failed: %s", c->id, err.message);
		else
			log_info("container %s restarted by its %s policy", c->id,
				 policy.type == BERTH_RESTART_ON_FAILURE ? "on-failure" : "restart");
		if (state_refresh(c, &changed, &err) == 0)
			state_commit(c, changed);
		restart_consider(c); /* still exited: the next attempt, later */
		free(native);
	}
	restart_job_free(job);
}

static void submit_restart(const char *id)
{
	struct container *c = containers_get(id);
	struct restart_job *r;
	berth_error err;

	if (!c)
		return;
	r = calloc(1, sizeof(*r));
	if (!r) {
		container_unref(c);
		return;
	}
	r->c = c;
	memcpy(r->job.key, c->id, sizeof(c->id));
	r->job.run = restart_run;
	r->job.cancel = restart_job_free;
	berth_error_clear(&err);
	if (queue_submit(&r->job, &err) < 0)
		restart_job_free(&r->job);
}

static void *timer_main(void *arg)
{
	pthread_mutex_lock(&lock);
	while (!stopping) {
		struct pending **pp, *due = NULL;
		int64_t next = -1, now = now_ms();

		for (pp = &pendings; *pp;) {
			if ((*pp)->due_ms <= now) {
				struct pending *p = *pp;

				*pp = p->next;
				p->next = due;
				due = p;
				continue;
			}
			if (next < 0 || (*pp)->due_ms < next)
				next = (*pp)->due_ms;
			pp = &(*pp)->next;
		}
		pthread_mutex_unlock(&lock);
		while (due) {
			struct pending *p = due;

			due = p->next;
			submit_restart(p->id);
			free(p);
		}
		pthread_mutex_lock(&lock);
		if (stopping)
			break;
		if (next < 0) {
			pthread_cond_wait(&cond, &lock);
		} else {
			int64_t wait = next - now_ms();
			struct timespec ts;

			if (wait <= 0)
				continue;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&cond, &lock, &ts);
		}
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

void restart_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&cond, &attr);
	pthread_condattr_destroy(&attr);
	stopping = false;
	running = pthread_create(&timer, NULL, timer_main, NULL) == 0;
	if (!running)
		log_err("restart manager: cannot start its timer thread");
}

void restart_shutdown(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(timer, NULL);
	running = false;
	while (pendings) {
		struct pending *p = pendings;

		pendings = p->next;
		free(p);
	}
	pthread_cond_destroy(&cond);
}

void restart_consider(struct container *c)
{
	berth_restart_policy policy;
	struct pending *p;
	int64_t delay;
	int exit_code;
	bool wanted;

	if (backend_caps(c->backend) & BERTH_CAP_RESTART_POLICY)
		return; /* the runtime does it, faithfully */
	pthread_mutex_lock(&c->lock);
	spec_config_restart(c->config, &policy);
	wanted = c->state.status == CS_EXITED &&
		 restart_wanted(&policy, c->manually_stopped, c->state.exit_code, c->restart_count);
	delay = restart_delay_ms(&policy, c->restart_count);
	exit_code = c->state.exit_code;
	pthread_mutex_unlock(&c->lock);
	if (!wanted || !running)
		return;

	pthread_mutex_lock(&lock);
	for (p = pendings; p; p = p->next)
		if (strcmp(p->id, c->id) == 0)
			break;
	if (!p && (p = calloc(1, sizeof(*p)))) {
		memcpy(p->id, c->id, sizeof(p->id));
		p->due_ms = now_ms() + delay;
		p->next = pendings;
		pendings = p;
		pthread_cond_signal(&cond);
		log_info("container %s exited with %d: restarting in %lld ms", c->id,
			 exit_code, (long long)delay);
	}
	pthread_mutex_unlock(&lock);
}
