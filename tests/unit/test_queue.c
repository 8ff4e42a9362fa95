/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for core/queue.c on its own: order within a key, parallelism across keys
 * (two jobs that can only finish together), the worker limit, the limit on counted
 * jobs, jobs submitting jobs, shutdown (queued jobs cancelled, running ones finished)
 * and a queue started again. Waits are bounded only so that a broken queue fails the
 * test instead of hanging it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "queue.h"
#include "unit_main.h"

#define WAIT_MS 30000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

struct tjob {
	struct job job;
	int index;
	int *log;          /* appended to: index */
	size_t *log_len;
	int *cancelled;    /* incremented by cancel */
	int *gate;         /* when set: wait until *gate != 0 */
	int *arrived;      /* incremented on entry */
	int need;          /* wait until *arrived >= need (rendezvous), 0: no */
	bool *timed_out;
	int *running, *max_running;
	struct tjob *child; /* submitted from run() */
};

static void deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void tjob_run(struct job *job)
{
	struct tjob *t = (struct tjob *)job;
	struct timespec ts;

	deadline(&ts, WAIT_MS);
	pthread_mutex_lock(&lock);
	if (t->running) {
		(*t->running)++;
		if (*t->running > *t->max_running)
			*t->max_running = *t->running;
	}
	if (t->arrived) {
		(*t->arrived)++;
		pthread_cond_broadcast(&cond);
		while (*t->arrived < t->need)
			if (pthread_cond_timedwait(&cond, &lock, &ts) == ETIMEDOUT) {
				*t->timed_out = true;
				break;
			}
	}
	while (t->gate && !*t->gate)
		if (pthread_cond_timedwait(&cond, &lock, &ts) == ETIMEDOUT) {
			if (t->timed_out)
				*t->timed_out = true;
			break;
		}
	if (t->log)
		t->log[(*t->log_len)++] = t->index;
	if (t->running)
		(*t->running)--;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	if (t->child) {
		berth_error err;

		if (queue_submit(&t->child->job, &err) < 0)
			free(t->child);
	}
	free(t);
}

static void tjob_cancel(struct job *job)
{
	struct tjob *t = (struct tjob *)job;

	pthread_mutex_lock(&lock);
	if (t->cancelled)
		(*t->cancelled)++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	free(t->child);
	free(t);
}

static struct tjob *tjob_new(const char *key, int index, bool counted)
{
	struct tjob *t = calloc(1, sizeof(*t));

	snprintf(t->job.key, sizeof(t->job.key), "%s", key);
	t->job.counted = counted;
	t->job.run = tjob_run;
	t->job.cancel = tjob_cancel;
	t->index = index;
	return t;
}

static int submit(struct tjob *t)
{
	berth_error err;
	int rc = queue_submit(&t->job, &err);

	if (rc < 0) {
		free(t);
		return -err.code;
	}
	return 0;
}

static void set_gate(int *gate, int value)
{
	pthread_mutex_lock(&lock);
	*gate = value;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_order_within_key(void)
{
	int log[200];
	size_t len = 0;

	queue_init(8, 1000);
	for (int i = 0; i < 200; i++) {
		struct tjob *t = tjob_new(i % 2 ? "odd" : "even", i, true);

		t->log = log;
		t->log_len = &len;
		CU_ASSERT_EQUAL(submit(t), 0);
	}
	CU_ASSERT_TRUE(queue_wait_idle(WAIT_MS));
	CU_ASSERT_EQUAL(len, 200);
	/* each key's jobs in submission order */
	for (int parity = 0; parity < 2; parity++) {
		int last = -1;

		for (size_t i = 0; i < len; i++) {
			if (log[i] % 2 != parity)
				continue;
			CU_ASSERT_TRUE(log[i] > last);
			last = log[i];
		}
	}
	queue_shutdown(WAIT_MS);
}

static void test_parallel_across_keys(void)
{
	int arrived = 0;
	bool timed_out = false;

	queue_init(4, 100);
	/* four jobs, four keys: each waits until all four have started */
	for (int i = 0; i < 4; i++) {
		char key[8];
		struct tjob *t;

		snprintf(key, sizeof(key), "k%d", i);
		t = tjob_new(key, i, true);
		t->arrived = &arrived;
		t->need = 4;
		t->timed_out = &timed_out;
		CU_ASSERT_EQUAL(submit(t), 0);
	}
	CU_ASSERT_TRUE(queue_wait_idle(WAIT_MS));
	CU_ASSERT_FALSE(timed_out);
	CU_ASSERT_EQUAL(arrived, 4);
	queue_shutdown(WAIT_MS);
}

static void test_same_key_never_parallel(void)
{
	int running = 0, max_running = 0;

	queue_init(16, 1000);
	for (int i = 0; i < 100; i++) {
		struct tjob *t = tjob_new("one", i, false);

		t->running = &running;
		t->max_running = &max_running;
		CU_ASSERT_EQUAL(submit(t), 0);
	}
	CU_ASSERT_TRUE(queue_wait_idle(WAIT_MS));
	CU_ASSERT_EQUAL(max_running, 1);
	queue_shutdown(WAIT_MS);
}

static void test_worker_limit(void)
{
	int running = 0, max_running = 0;

	queue_init(2, 1000);
	for (int i = 0; i < 40; i++) {
		char key[8];
		struct tjob *t;

		snprintf(key, sizeof(key), "k%d", i);
		t = tjob_new(key, i, true);
		t->running = &running;
		t->max_running = &max_running;
		CU_ASSERT_EQUAL(submit(t), 0);
	}
	CU_ASSERT_TRUE(queue_wait_idle(WAIT_MS));
	CU_ASSERT_TRUE(max_running >= 1 && max_running <= 2);
	/* one worker still runs everything */
	queue_set_limits(1, 0);
	max_running = 0;
	for (int i = 0; i < 10; i++) {
		char key[8];
		struct tjob *t;

		snprintf(key, sizeof(key), "j%d", i);
		t = tjob_new(key, i, true);
		t->running = &running;
		t->max_running = &max_running;
		CU_ASSERT_EQUAL(submit(t), 0);
	}
	CU_ASSERT_TRUE(queue_wait_idle(WAIT_MS));
	CU_ASSERT_TRUE(max_running <= 2); /* a worker started before the change may remain */
	queue_shutdown(WAIT_MS);
}

static void test_limit(void)
{
	int gate = 0;
	struct tjob *t;

	queue_init(4, 3);
	/* three counted jobs (one running, two waiting behind it) fill the queue */
	for (int i = 0; i < 3; i++) {
		t = tjob_new("busy", i, true);
		t->gate = &gate;
		CU_ASSERT_EQUAL(submit(t), 0);
	}
	CU_ASSERT_EQUAL(queue_pending(), 3);
	CU_ASSERT_EQUAL(submit(tjob_new("other", 9, true)), -BERTH_E_BUSY);
	/* uncounted jobs (refreshes, restarts) are always taken */
	t = tjob_new("other", 10, false);
	t->gate = &gate;
	CU_ASSERT_EQUAL(submit(t), 0);
	CU_ASSERT_EQUAL(queue_pending(), 4);
	set_gate(&gate, 1);
	CU_ASSERT_TRUE(queue_wait_idle(WAIT_MS));
	CU_ASSERT_EQUAL(queue_pending(), 0);
	/* room again */
	CU_ASSERT_EQUAL(submit(tjob_new("other", 11, true)), 0);
	CU_ASSERT_TRUE(queue_wait_idle(WAIT_MS));
	queue_shutdown(WAIT_MS);
}

static void test_job_submits_job(void)
{
	int log[4];
	size_t len = 0;
	struct tjob *parent, *child;

	queue_init(2, 10);
	parent = tjob_new("k", 1, true);
	child = tjob_new("k", 2, false);
	parent->log = child->log = log;
	parent->log_len = child->log_len = &len;
	parent->child = child;
	CU_ASSERT_EQUAL(submit(parent), 0);
	CU_ASSERT_TRUE(queue_wait_idle(WAIT_MS));
	CU_ASSERT_EQUAL(len, 2);
	CU_ASSERT_EQUAL(log[0], 1);
	CU_ASSERT_EQUAL(log[1], 2);
	queue_shutdown(WAIT_MS);
}

struct shutdown_arg {
	int timeout_ms;
};

static void *do_shutdown(void *arg)
{
	queue_shutdown(((struct shutdown_arg *)arg)->timeout_ms);
	return NULL;
}

static void test_shutdown(void)
{
	int gate = 0, cancelled = 0, log[8];
	size_t len = 0;
	struct shutdown_arg arg = { .timeout_ms = 100 };
	struct tjob *t;
	pthread_t th;
	berth_error err;

	queue_init(4, 10);
	/* one job runs (blocked), three wait behind it in its lane */
	for (int i = 0; i < 4; i++) {
		t = tjob_new("lane", i, true);
		t->gate = &gate;
		t->log = log;
		t->log_len = &len;
		t->cancelled = &cancelled;
		CU_ASSERT_EQUAL(submit(t), 0);
	}
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, do_shutdown, &arg), 0);
	/* after its grace period the waiting jobs are cancelled; the running one goes on */
	{
		struct timespec ts;

		deadline(&ts, WAIT_MS);
		pthread_mutex_lock(&lock);
		while (cancelled < 3)
			if (pthread_cond_timedwait(&cond, &lock, &ts) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	CU_ASSERT_EQUAL(cancelled, 3);
	CU_ASSERT_EQUAL(len, 0);
	pthread_mutex_unlock(&lock);
	/* nothing new is taken while shutting down */
	t = tjob_new("late", 1, false);
	CU_ASSERT_EQUAL(queue_submit(&t->job, &err), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_SHUTDOWN);
	free(t);
	set_gate(&gate, 1);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(len, 1);
	CU_ASSERT_EQUAL(queue_pending(), 0);

	/* started again */
	queue_init(2, 10);
	t = tjob_new("lane", 7, true);
	t->log = log;
	t->log_len = &len;
	CU_ASSERT_EQUAL(submit(t), 0);
	CU_ASSERT_TRUE(queue_wait_idle(WAIT_MS));
	CU_ASSERT_EQUAL(len, 2);
	CU_ASSERT_EQUAL(log[1], 7);
	queue_shutdown(WAIT_MS);
}

static void test_long_keys(void)
{
	char key[QUEUE_KEY_MAX];
	int log[4];
	size_t len = 0;
	struct tjob *t;

	queue_init(2, 10);
	/* the key field is QUEUE_KEY_MAX bytes: the longest key that fits */
	memset(key, 'k', QUEUE_KEY_MAX - 1);
	key[QUEUE_KEY_MAX - 1] = '\0';
	for (int i = 0; i < 2; i++) {
		t = tjob_new(key, i, true);
		t->log = log;
		t->log_len = &len;
		CU_ASSERT_EQUAL(submit(t), 0);
	}
	CU_ASSERT_TRUE(queue_wait_idle(WAIT_MS));
	CU_ASSERT_EQUAL(len, 2);
	queue_shutdown(WAIT_MS);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "order within a key", test_order_within_key },
		{ "parallel across keys", test_parallel_across_keys },
		{ "one key never runs twice at once", test_same_key_never_parallel },
		{ "worker limit", test_worker_limit },
		{ "limit on counted jobs", test_limit },
		{ "a job submits a job", test_job_submits_job },
		{ "shutdown and start again", test_shutdown },
		{ "long keys", test_long_keys },
	};
	int failed;

	failed = unit_run("queue", NULL, NULL, tests, N(tests));
	return failed;
}
