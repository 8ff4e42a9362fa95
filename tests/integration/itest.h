/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Harness shared by the module-level integration tests (test_<backend>_backend.c): the
 * "ok - ..." / "not ok - ..." reporting, process and peer-script helpers, small readers
 * of /proc and /sys, and the calls into the module under test through tests/harness.
 *
 * One module is under test per program: th, drv and inst below are that module's test
 * host, driver and main instance (set by load_driver() and the test's open case).
 */
#ifndef BERTH_ITEST_H
#define BERTH_ITEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <berth/berth.h>

#include "testhost.h"

#define EVENT_WAIT_MS 15000

extern struct testhost *th;
extern const berth_backend_driver *drv;
extern void *inst;

/* ---- reporting ---- */

extern bool case_failed;

void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define EXPECT(cond, ...)                                                                   \
	do {                                                                                \
		if (!(cond)) {                                                              \
			case_failed = true;                                                 \
			diag("%s:%d: expected %s", __FILE__, __LINE__, #cond);              \
			diag(__VA_ARGS__);                                                  \
		}                                                                           \
	} while (0)

void case_begin(void);
/* Prints "ok - NAME" or "not ok - NAME", counts it; returns whether the case passed. */
bool case_end(const char *name);
/* Prints the "# N passed, M failed" summary; returns the exit status (0 = all passed). */
int report_summary(void);

double mono_us(void);
double mono_ms(void);

/* ---- processes and peers ---- */

/* Runs argv (PATH searched), returns its exit status (-1 if it could not run); *out gets
 * its stdout (malloc()ed, NUL-terminated) when out is non-NULL. stderr goes to /dev/null. */
int run_capture(char *const argv[], char **out);
/* sh SCRIPT ARG: a tests/integration/lib/<peer>.sh action (start, stop, status). */
int run_peer(const char *script, const char *arg);
/* Starts the peer (sh SCRIPT start) when `status` says it is down, and sets *started
 * then; when it is up and rerun is set, runs `start` again (an idempotent start that
 * refreshes its images and env file). Returns 0; 77 after printing "# skipped: skip_msg"
 * when skip_msg is non-NULL and `start` exits 77 (a peer package is missing); else 1
 * after printing a "not ok" line naming what (the systemd peer, ...). */
int start_peer(const char *script, const char *what, bool rerun, const char *skip_msg,
	       bool *started);
/* $BERTH_TEST_RUN, or /tmp/berth-test. */
const char *test_run_dir(void);

/* One variable of a peer's env file, copied to buf (len bytes) when present. */
struct env_var {
	const char *name;
	char *buf;
	size_t len;
};

/* Reads the `export NAME=value` lines of a peer's env file (a value in single quotes is
 * unquoted): the ones named in vars (ended by a NULL name) are copied, the ones starting
 * with export_prefix (when non-NULL) are put in the environment. False when the file
 * cannot be read; the caller checks that what it needs was there. */
bool read_env(const char *path, const struct env_var *vars, const char *export_prefix);

/* ---- /proc and /sys ---- */

/* The number at the start of the file named by the printf format, or -1. */
long long read_number(const char *path_fmt, ...) __attribute__((format(printf, 1, 2)));
bool proc_alive(int pid);
/* A UUID unique to this process and n (a berth id). */
void uuid(char *buf, size_t len, int n);

/* ---- the module under test ---- */

/* Creates th for OWNER, loads the module at SO and looks up driver NAME, as the first
 * case ("module loads and registers the NAME driver"). False (th freed) when it failed. */
bool load_driver(const char *owner, const char *so, const char *name);
/* An instance of the driver with the settings text, or NULL with *err set. */
void *open_instance(const char *settings_text, berth_error *err);

/* What make_spec() puts in every spec; the test sets it before its first container. */
struct spec_defaults {
	const char *image, *network_mode, *owner;
};
extern struct spec_defaults spec_defaults;

/* A shell loop that says hello-berth, exits 3 on TERM and 7 on USR1. */
extern const char *const loop_cmd[];

/* A cleared spec with spec_defaults, the berth id, name and command. */
void make_spec(berth_container_spec *spec, const char *berth_id, const char *name,
	       const char *const *cmd);

/* Settings text open() must refuse as BERTH_E_INVALID, naming key. */
struct bad_setting {
	const char *text, *key;
};

/* EXPECTs open_instance() to refuse each of bad (naming its key) and an unknown key. */
void expect_settings_refused(const struct bad_setting *bad, size_t n);

/* drv->create on inst; the new container is tracked for cleanup_tracked(). */
char *create(const berth_container_spec *spec, unsigned flags, berth_error *err);
/* Remembers a container (native id or name) to remove at the end. */
void track(const char *id);
/* Calls remove_one on every tracked container, then forgets them. */
void cleanup_tracked(void (*remove_one)(const char *id));

/* The case "open() succeeds with RUNTIME down": an instance on a socket nobody listens
 * on opens, reports backend_status(false) naming the socket, watches, and answers create
 * and ping with BERTH_E_UNAVAILABLE ("... unreachable", naming the socket); its close()
 * does not wait for the event thread's back-off. */
void case_runtime_down_at_open(const char *runtime);

/* The container's state as drv->inspect reports it, or -1. */
int state_of(const char *id);
/* Waits for an event of TYPE for ID (EXPECTs it, and its berth id when berth_id is
 * non-NULL); returns its exit code, or -1 when none came. */
int expect_event(int type, const char *id, const char *berth_id, const char *what);
/* Drops the records a case does not look at. */
void drain(void);

#endif
