/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An in-process berthd for the unit tests: daemon_run() on a thread of its own, with a
 * configuration written into a private directory under /tmp, loading the fake backend
 * and fake transport (tests/unit/fake/) through the core's loader from a module
 * directory the test fills (copies of the built .so files, mode 0755). Commands go in
 * through the fake transport's thread; replies, twin events and the fake runtime's state
 * are read back through the fakes' control tables. harness_stop() sends the daemon
 * thread SIGTERM, as systemd would, and checks its exit code.
 *
 * Waits are bounded by HARNESS_WAIT_MS only so that a broken test ends; no test asserts
 * how long anything takes.
 */
#ifndef BERTH_TEST_HARNESS_H
#define BERTH_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "container.h"
#include "fake/fake.h"
#include "unit_main.h"

#define HARNESS_WAIT_MS 60000

/* The configuration's instances. */
#define H_FAKE "fake" /* backend fake_backend, the default */
#define H_MINI "mini" /* backend fake_minimal (no optional ops) */
#define H_FT "ft"     /* transport fake_transport */
#define H_THING "edge:device"
#define H_TOPIC_PREFIX "edge/device/things/live/messages/"

struct harness_options {
	const char *agent;      /* extra agent keys, e.g. "queue_limit = 2;" */
	bool no_identity;       /* no thing_id/tenant: the agent learns them from a transport */
	const char *backends;   /* body of the backends list; NULL: fake (default) and mini */
	const char *transports; /* body of the transports list; NULL: one fake transport ft */
	bool keep_state;        /* reuse the previous run's state directory, and the fake
				 * runtimes' containers (option keep) */
	bool keep_records;      /* keep what the fakes recorded during start-up */
};

/* Control tables of the loaded fakes (valid after the first harness_start() that loaded
 * them): FB of fake_backend.so (instance "fake"), FBM of fake_minimal.so (instance
 * "mini"), FT of fake_transport.so. fb(inst) is the table that runs instance inst. */
extern const struct fake_backend_control *FB;
extern const struct fake_backend_control *FBM;
extern const struct fake_transport_control *FT;
const struct fake_backend_control *fb(const char *inst);

/* First thing in main(): blocks SIGTERM/SIGINT/SIGHUP in every thread to come, makes the
 * private directory and copies the fake modules into it. Exits on failure. */
void harness_global_init(void);
void harness_global_cleanup(void);

/* Starts berthd and waits until its transports are online, the start-up resync and
 * reconciliation are done; clears the fakes' records. Stops a daemon still running. */
bool harness_start(const struct harness_options *o);
/* Rewrites the configuration with `o` and sends the daemon SIGHUP (a reload). Returns
 * at once: the daemon applies it on its own thread. */
bool harness_reload(const struct harness_options *o);
/* Stops it; returns daemon_run()'s exit code (0), -1 when none was running. */
int harness_stop(void);
const char *harness_state_dir(void);

/* ---- commands ---- */

struct h_reply {
	int status;          /* the reply's status (berth_reply.status) */
	json_object *env;    /* the response envelope */
	json_object *value;  /* its value (borrowed from env) or NULL */
	struct fake_record rec;
};
void h_reply_release(struct h_reply *r);

/* A Ditto command envelope for `op` on `feature` ("ContainerFactory",
 * "Container:<id>"); value is JSON text (NULL: no value); corr the correlation-id.
 * Returns malloc()ed text. */
char *h_envelope(const char *feature, const char *op, const char *value, const char *corr);

/* Injects a payload through the fake transport; returns the disposition. */
int h_inject(const char *payload, const char *reply_to, const char *subject);
/* Injects a command (correlation-id written into corr, 32 bytes) without waiting. */
int h_send(const char *feature, const char *op, const char *value, char *corr);
/* Waits for the reply with this correlation-id; its status, -1 when none came. */
int h_wait_reply(const char *corr, struct h_reply *out);
bool h_has_reply(const char *corr);
/* h_send + h_wait_reply; out may be NULL. */
int h_command(const char *feature, const char *op, const char *value, struct h_reply *out);
/* Container:<id> in a static buffer (one of a few rotating ones). */
const char *h_feature(const char *id);
/* create (with_config false) or createWithConfig; the new id in id (37 bytes) on 200. */
int h_create(const char *value, bool with_config, char *id);
/* Convenience: createWithConfig {"imageRef":"busybox","start":<start>,"config":<config>}. */
int h_create_config(const char *config, bool start, char *id);

/* ---- core state ---- */
char *h_native(const char *id);  /* malloc()ed native id of the record, NULL if none */
int h_status(const char *id);    /* the record's enum container_status, -1: no record */
bool h_record_exists(const char *id); /* <state>/containers/<id>.json */
json_object *h_record(const char *id); /* the stored record (new reference) or NULL */
/* Waits until the fakes are quiet and the work queue is idle. */
void h_settle(void);

/* ---- twin events (as the fake transport ft recorded them) ---- */
size_t h_events_mark(void);
/* The first event at index >= from matching: action "modify"/"delete" (NULL any), path
 * ending with path_suffix (NULL any), value.status == state (NULL any). -1 if none. */
long h_find_event(size_t from, const char *action, const char *path_suffix, const char *state);
/* The same, waiting for it. */
long h_wait_event(size_t from, const char *action, const char *path_suffix, const char *state);
int h_count_events(size_t from, const char *action, const char *path_suffix, const char *state);
/* Event i parsed (new reference) or NULL. */
json_object *h_event_json(size_t i);

/* A NULL-safe CU_ASSERT_STRING_EQUAL that shows both strings when they differ. */
bool h_streq_at(const char *file, int line, const char *actual, const char *expected);
#define H_ASSERT_STR(actual, expected)                                                    \
	CU_ASSERT_TRUE(h_streq_at(__FILE__, __LINE__, (actual), (expected)))

static inline size_t h_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* ---- JSON ---- */
const char *h_str(json_object *o, const char *path);  /* "a/b/c" members; NULL if absent */
int64_t h_int(json_object *o, const char *path, int64_t dflt);
json_object *h_get(json_object *o, const char *path);

/* The common main(): runs the tests (only those whose name contains $BERTH_TEST_ONLY
 * when it is set; $BERTH_TEST_LOG sets berthd's log level, default "err"). */
int h_main(const char *suite, const struct unit_test *tests, size_t n);

#endif
