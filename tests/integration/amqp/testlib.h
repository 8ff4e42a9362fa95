/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers of the AMQP transport integration tests: child processes (the Python peers)
 * that print one JSON object per line on stdout and read commands on stdin, waiting for
 * their lines, TAP-style reporting, and loading the module into a testhost.
 */
#ifndef BERTH_TEST_AMQP_TESTLIB_H
#define BERTH_TEST_AMQP_TESTLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include <json-c/json.h>

#include <berth/berth.h>

#include "testhost.h"

struct proc_line;

struct proc {
	char name[32];
	pid_t pid;
	int in_fd;              /* the child's stdin */
	int out_fd;             /* its stdout */
	pthread_t reader;
	bool reader_running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct proc_line *head; /* parsed lines not taken yet */
	bool eof;
};

/* Starts argv[0] (absolute path) with piped stdin/stdout; stderr is inherited. */
int proc_start(struct proc *p, const char *name, char *const argv[]);
/* Writes one line to the child's stdin. */
int proc_send(struct proc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Waits up to timeout_ms for a line whose "event" is `event` and whose fields match the
 * NULL-terminated key, value pairs (values compared as strings; "null" matches null),
 * removes and returns it (json_object_put() it), or NULL.
 */
json_object *proc_wait(struct proc *p, int timeout_ms, const char *event, ...);
/* Number of lines not taken yet with this event (and key/value pairs). */
int proc_count(struct proc *p, const char *event, ...);
/* Sends `sig` (unless 0), waits for the child (up to timeout_ms, then SIGKILL), joins the
 * reader and frees the lines. Returns the wait status or -1. */
int proc_stop(struct proc *p, int sig, int timeout_ms);
/* Runs argv to completion; returns its exit status (or -1). */
int run_wait(char *const argv[], int timeout_ms);

/* String field of a JSON object, or NULL. */
const char *jstr(json_object *o, const char *key);
/* Nested: jstr2(o, "properties", "status"). */
const char *jstr2(json_object *o, const char *key, const char *sub);

/* TAP-ish output: "ok - name" / "not ok - name: why". */
extern int test_failures;
extern int test_count;
void test_report(bool ok, const char *name, const char *why);
#define CHECK(cond, ...)                                                                \
	do {                                                                            \
		if (!(cond)) {                                                          \
			snprintf(why, sizeof(why), __VA_ARGS__);                        \
			goto out;                                                       \
		}                                                                       \
	} while (0)

/* One module instance in its own testhost. */
struct mod {
	struct testhost *th;
	const berth_transport_driver *drv;
	void *inst;
	bool started;
};

/* Loads `so`, opens an instance with `settings` (libconfig group body). */
int mod_open(struct mod *m, const char *so, const char *settings, berth_error *err);
int mod_start(struct mod *m, berth_error *err);
void mod_close(struct mod *m);
/* Waits for an online/offline record; returns it (testhost_record_free) or NULL. */
struct testhost_record *mod_wait(struct mod *m, int kind, int timeout_ms);
int mod_reply(struct mod *m, const struct testhost_record *cmd, int status, const char *payload,
	      berth_error *err);
int mod_event(struct mod *m, const char *payload, berth_error *err);

int64_t now_ms(void);
void sleep_ms(int ms);
/* Source dir of the tests: $BERTH_TEST_SRCDIR or the configured one. */
const char *test_srcdir(void);
/* $BERTH_TEST_RUN or /tmp/berth-test. */
const char *test_rundir(void);

#endif
