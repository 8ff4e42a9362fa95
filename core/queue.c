/* SPDX-License-Identifier: Apache-2.0 */
/* Work queue: serial per key, parallel across keys, bounded, elastic worker pool. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "queue.h"

#define LANE_BUCKETS 256
#define WORKER_IDLE_SECONDS 30
#define WORKER_STACK_SIZE (512 * 1024)

/* Workers run on stacks of our own: glibc keeps the stacks of exited threads cached and
 * dirty, so a burst of 20 parallel stops would raise the idle footprint for good. A
 * retired worker is joined and its stack unmapped by the next worker that wakes up. */
struct worker {
	pthread_t tid;
	void *stack;
	struct worker *next;
};

/* All jobs of one key; on the ready list while it has jobs and none of them runs. */
struct lane {
	char key[QUEUE_KEY_MAX];
	struct job *head, *tail;
	bool running;
	struct lane *hash_next;
	struct lane *ready_next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER; /* a lane became ready */
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER; /* pending or threads dropped */
static struct lane *buckets[LANE_BUCKETS];
static struct lane *ready_head, *ready_tail;
static size_t ready_count;
static size_t counted_jobs, pending_jobs;
static int threads, idle_threads, max_threads = 32, limit_jobs = 1024;
static bool accepting = true, exiting;
static struct worker *retired; /* exited, waiting to be joined */

static unsigned hash_key(const char *key)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % LANE_BUCKETS;
}

static struct lane *lane_get(const char *key, bool create)
{
	unsigned b = hash_key(key);
	struct lane *l;

	for (l = buckets[b]; l; l = l->hash_next)
		if (strcmp(l->key, key) == 0)
			return l;
	if (!create)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	memcpy(l->key, key, strnlen(key, QUEUE_KEY_MAX - 1));
	l->hash_next = buckets[b];
	buckets[b] = l;
	return l;
}

static void lane_free(struct lane *l)
{
	struct lane **pp = &buckets[hash_key(l->key)];

	while (*pp != l)
		pp = &(*pp)->hash_next;
	*pp = l->hash_next;
	free(l);
}

static void ready_push(struct lane *l)
{
	l->ready_next = NULL;
	if (ready_tail)
		ready_tail->ready_next = l;
	else
		ready_head = l;
	ready_tail = l;
	ready_count++;
	pthread_cond_signal(&work_cond);
}

static struct lane *ready_pop(void)
{
	struct lane *l = ready_head;

	if (l) {
		ready_head = l->ready_next;
		if (!ready_head)
			ready_tail = NULL;
		ready_count--;
	}
	return l;
}

static void reap_retired(void);

static void *worker(void *arg)
{
	struct worker *self = arg;

	pthread_mutex_lock(&lock);
	for (;;) {
		struct lane *l;
		struct job *job;

		while (!ready_head && !exiting) {
			struct timespec deadline;
			int rc;

			clock_gettime(CLOCK_REALTIME, &deadline);
			deadline.tv_sec += WORKER_IDLE_SECONDS;
			idle_threads++;
			rc = pthread_cond_timedwait(&work_cond, &lock, &deadline);
			idle_threads--;
			if (rc == ETIMEDOUT && !ready_head) {
				if (threads > 1)
					goto out; /* shrink the pool; the last one stays */
				pthread_mutex_unlock(&lock);
				reap_retired();
				pthread_mutex_lock(&lock);
			}
		}
		if (!ready_head && exiting)
			break;
		l = ready_pop();
		job = l->head;
		if (!job) { /* emptied by queue_shutdown() */
			lane_free(l);
			continue;
		}
		l->head = job->next;
		if (!l->head)
			l->tail = NULL;
		l->running = true;
		pthread_mutex_unlock(&lock);

		job->next = NULL;
		{
			bool counted = job->counted;

			job->run(job); /* frees the job */
			pthread_mutex_lock(&lock);
			if (counted)
				counted_jobs--;
		}
		pending_jobs--;
		l->running = false;
		if (l->head)
			ready_push(l);
		else
			lane_free(l);
		pthread_cond_broadcast(&idle_cond);
	}
out:
	threads--;
	self->next = retired;
	retired = self;
	pthread_cond_broadcast(&idle_cond);
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* Joins retired workers and unmaps their stacks; never called with the lock held. Once a
 * burst is over, the free memory it left inside the heap goes back to the kernel too
 * (glibc returns only the top of the heap by itself). */
static void reap_retired(void)
{
	struct worker *w;
	bool reaped = false;

	pthread_mutex_lock(&lock);
	w = retired;
	retired = NULL;
	pthread_mutex_unlock(&lock);
	while (w) {
		struct worker *next = w->next;

		pthread_join(w->tid, NULL);
		munmap(w->stack, WORKER_STACK_SIZE);
		free(w);
		w = next;
		reaped = true;
	}
	if (reaped)
		malloc_trim(0);
}

/* Called with the lock held. */
static void spawn_worker_if_needed(void)
{
	long page = sysconf(_SC_PAGESIZE);
	pthread_attr_t attr;
	struct worker *w;

	/* Every ready lane needs a thread; idle ones will take some of them. */
	if (ready_count <= (size_t)idle_threads || threads >= max_threads)
		return;
	w = calloc(1, sizeof(*w));
	if (!w)
		return;
	w->stack = mmap(NULL, WORKER_STACK_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (w->stack == MAP_FAILED) {
		free(w);
		return;
	}
	mprotect(w->stack, (size_t)page, PROT_NONE); /* guard page: overflow faults */
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, w->stack, WORKER_STACK_SIZE);
	if (pthread_create(&w->tid, &attr, worker, w) == 0) {
		threads++;
	} else {
		if (threads == 0)
			log_err("queue: cannot start a worker thread");
		munmap(w->stack, WORKER_STACK_SIZE);
		free(w);
	}
	pthread_attr_destroy(&attr);
}

int queue_init(int max_workers, int limit)
{
	pthread_mutex_lock(&lock);
	max_threads = max_workers > 0 ? max_workers : 1;
	limit_jobs = limit > 0 ? limit : 1;
	accepting = true;
	exiting = false;
	pthread_mutex_unlock(&lock);
	return 0;
}

void queue_set_limits(int max_workers, int limit)
{
	pthread_mutex_lock(&lock);
	if (max_workers > 0)
		max_threads = max_workers;
	if (limit > 0)
		limit_jobs = limit;
	pthread_mutex_unlock(&lock);
}

int queue_submit(struct job *job, berth_error *err)
{
	struct lane *l;

	pthread_mutex_lock(&lock);
	if (!accepting) {
		pthread_mutex_unlock(&lock);
		return berth_error_set(err, BERTH_E_SHUTDOWN, "the agent is shutting down");
	}
	if (job->counted && counted_jobs >= (size_t)limit_jobs) {
		pthread_mutex_unlock(&lock);
		return berth_error_set(err, BERTH_E_BUSY,
				       "the agent has %d commands queued, its limit; try again later",
				       limit_jobs);
	}
	l = lane_get(job->key, true);
	if (!l) {
		pthread_mutex_unlock(&lock);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	job->next = NULL;
	if (l->tail)
		l->tail->next = job;
	else
		l->head = job;
	l->tail = job;
	if (job->counted)
		counted_jobs++;
	pending_jobs++;
	if (!l->running && l->head == job)
		ready_push(l);
	spawn_worker_if_needed();
	pthread_mutex_unlock(&lock);
	return 0;
}

size_t queue_pending(void)
{
	size_t n;

	pthread_mutex_lock(&lock);
	n = pending_jobs;
	pthread_mutex_unlock(&lock);
	return n;
}

/* Waits on idle_cond until cond() holds or the deadline passes; lock held. */
static bool wait_until(bool (*cond)(void), int timeout_ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	while (!cond())
		if (pthread_cond_timedwait(&idle_cond, &lock, &deadline) == ETIMEDOUT)
			return cond();
	return true;
}

static bool nothing_pending(void)
{
	return pending_jobs == 0;
}

static bool no_threads(void)
{
	return threads == 0;
}

bool queue_wait_idle(int timeout_ms)
{
	bool idle;

	pthread_mutex_lock(&lock);
	idle = wait_until(nothing_pending, timeout_ms);
	pthread_mutex_unlock(&lock);
	return idle;
}

void queue_shutdown(int timeout_ms)
{
	struct job *cancelled = NULL;

	pthread_mutex_lock(&lock);
	accepting = false;
	if (!wait_until(nothing_pending, timeout_ms)) {
		/* Take every job that has not started; running ones finish on their own. */
		for (unsigned b = 0; b < LANE_BUCKETS; b++) {
			for (struct lane *l = buckets[b]; l; l = l->hash_next) {
				while (l->head) {
					struct job *j = l->head;

					l->head = j->next;
					j->next = cancelled;
					cancelled = j;
					if (j->counted)
						counted_jobs--;
					pending_jobs--;
				}
				l->tail = NULL;
			}
		}
	}
	pthread_mutex_unlock(&lock);

	while (cancelled) {
		struct job *j = cancelled;

		cancelled = j->next;
		j->cancel(j);
	}

	pthread_mutex_lock(&lock);
	wait_until(nothing_pending, 24 * 3600 * 1000); /* running jobs end by their timeouts */
	exiting = true;
	pthread_cond_broadcast(&work_cond);
	wait_until(no_threads, 10000);
	pthread_mutex_unlock(&lock);
	reap_retired();
	pthread_mutex_lock(&lock);
	ready_head = ready_tail = NULL;
	ready_count = 0;
	for (unsigned b = 0; b < LANE_BUCKETS; b++) {
		while (buckets[b]) {
			struct lane *l = buckets[b];

			buckets[b] = l->hash_next;
			free(l);
		}
	}
	pthread_mutex_unlock(&lock);
}
