/* SPDX-License-Identifier: Apache-2.0 */
/*
 * testhost: a minimal host for exercising one module .so in a test program, without
 * berthd. It loads the module, records the drivers it registers, hands out settings
 * parsed from libconfig text, and records every callback the module makes (backend
 * events and status, transport inbound messages and online/offline) so that a test can
 * wait for them. Used by the module integration tests; never by berthd.
 */
#ifndef BERTH_TESTHOST_H
#define BERTH_TESTHOST_H

#include <stdbool.h>
#include <stddef.h>

#include <berth/berth.h>

struct testhost;

/* A copy of one recorded callback. Strings are malloc()ed copies (or NULL). */
struct testhost_record {
	enum {
		TESTHOST_EVENT = 1,   /* backend_event: type, native_id, berth_id, exit_code, name */
		TESTHOST_STATUS,      /* backend_status: reachable, text = why */
		TESTHOST_INBOUND,     /* transport_inbound: payload, reply_to, ... */
		TESTHOST_ONLINE,      /* transport_online: thing_id, tenant, device_id */
		TESTHOST_OFFLINE,     /* transport_offline: text = why */
	} kind;
	int type;        /* event type */
	int exit_code;
	bool reachable;
	char *native_id;
	char *berth_id;
	char *name;
	char *text;
	char *payload;   /* NUL-terminated copy */
	size_t payload_len;
	char *reply_to;
	char *correlation_id;
	char *subject;
	char *device_id;
	char *content_type;
	char *thing_id;
	char *tenant;
};

/* `agent_thing_id`/`agent_tenant` fill host->agent (may be NULL). */
struct testhost *testhost_new(const char *agent_thing_id, const char *agent_tenant);
void testhost_free(struct testhost *th);

/* dlopen()s the module, negotiates ABI 1 and runs its init. */
int testhost_load(struct testhost *th, const char *so_path, berth_error *err);

const berth_host *testhost_host(struct testhost *th);
const berth_backend_driver *testhost_backend_driver(struct testhost *th, const char *name);
const berth_transport_driver *testhost_transport_driver(struct testhost *th, const char *name);
berth_backend_handle *testhost_backend_handle(struct testhost *th);
berth_transport_handle *testhost_transport_handle(struct testhost *th);

/* Settings for open(): `text` is the body of a libconfig group, e.g.
 * "socket = \"/run/docker.sock\"; timeout = 5;". Checked against `options` like berthd
 * does (unknown keys, types, required). NULL on error (err says why). Valid until
 * testhost_free(). */
const berth_settings *testhost_settings(struct testhost *th, const char *module,
					const char *text, const berth_option *options,
					berth_error *err);

/* The disposition transport_inbound() answers from now on (default ACCEPTED). */
void testhost_set_disposition(struct testhost *th, int disposition);

/*
 * Waits up to timeout_ms for the first not-yet-taken record of `kind` for which
 * `match` returns true (match may be NULL: any), removes it and returns it (caller
 * frees with testhost_record_free), or NULL on timeout.
 */
struct testhost_record *testhost_wait(struct testhost *th, int kind,
				      bool (*match)(const struct testhost_record *r,
						    const void *arg),
				      const void *arg, int timeout_ms);
/* Matcher: an event of type *(int *)arg ... use testhost_wait_event for the usual case. */
struct testhost_record *testhost_wait_event(struct testhost *th, int event_type,
					    const char *native_id, int timeout_ms);
/* Number of records of `kind` not yet taken. */
size_t testhost_pending(struct testhost *th, int kind);
void testhost_record_free(struct testhost_record *r);

#endif
