/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berthctl's pure part: the command line -> what to ask berthd, and a Container API
 * command -> the Ditto envelope the cloud would send (topic from the agent's thing id,
 * correlation-id, response-required true, content-type with a value, inbox path).
 * No I/O here, so that the unit test links it alone (tests/unit/test_ctl.c).
 */
#ifndef BERTH_CORE_CTL_ARGS_H
#define BERTH_CORE_CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* Exit codes (documented in berthctl --help). */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,      /* berthd answered 4xx/5xx */
	CTL_EXIT_USAGE = 2,       /* bad command line */
	CTL_EXIT_UNREACHABLE = 3, /* cannot reach berthd (no socket, refused, no permission) */
	CTL_EXIT_TIMEOUT = 4,     /* no answer within --timeout */
};

enum ctl_verb {
	CTL_HELP = 1,
	CTL_VERSION,
	CTL_LIST,
	CTL_SHOW,
	CTL_STATUS,
	CTL_CREATE,
	CTL_START,
	CTL_STOP,
	CTL_PAUSE,
	CTL_RESUME,
	CTL_RENAME,
	CTL_UPDATE,
	CTL_REMOVE,
	CTL_RAW,
};

#define CTL_DEFAULT_TIMEOUT 120 /* seconds: longer than a default stop (30 s + kill) */

struct ctl_cmd {
	/* global options */
	const char *socket;    /* --socket; NULL: the default */
	bool json;             /* --json */
	int timeout_s;         /* --timeout (before the command): how long to wait for berthd */

	int verb;              /* enum ctl_verb */
	const char *target;    /* ID|NAME (show and container operations) */
	const char *raw;       /* raw: the envelope text, sent as is */
	const char *op;        /* the Ditto operation: "createWithConfig", "stopWithOptions", ... */
	bool factory;          /* the operation is on ContainerFactory (create) */
	json_object *value;    /* the operation's value (owned), NULL when it has none */
};

/* Parses argv (argv[0] is the program name; argv is borrowed, the strings in cmd point
 * into it). Returns 0, or -1 with a message for the user in err (a usage error). */
int ctl_parse_args(int argc, char *const argv[], struct ctl_cmd *cmd, char *err, size_t errlen);
void ctl_cmd_release(struct ctl_cmd *cmd);

/* Whether the verb sends a Container API command (an envelope) to a container. */
bool ctl_verb_is_container_op(int verb);

/* "ns:name" + op -> "ns/name/things/live/messages/op". -1 when thing_id has no ':' or
 * the result does not fit. */
int ctl_topic(const char *thing_id, const char *op, char *buf, size_t len);

/* The Ditto envelope for cmd (a container operation or create), addressed to thing_id and
 * (not for create) container_id. Returns a new object, or NULL with a message in err. */
json_object *ctl_envelope(const struct ctl_cmd *cmd, const char *thing_id,
			  const char *container_id, const char *correlation_id, char *err,
			  size_t errlen);

/* Finds ID|NAME in the "containers" array of a list answer: an exact id, else an exact
 * name, else a unique id prefix (4 characters at least). Returns the id (borrowed from
 * containers) or NULL; *ambiguous tells a prefix of several ids from no match. */
const char *ctl_resolve(json_object *containers, const char *arg, bool *ambiguous);

/* The text of an answer that failed: the Ditto error value's message (and description)
 * or the control socket's "error". Writes into buf and returns it. */
const char *ctl_error_text(json_object *answer, char *buf, size_t len);

/* CTL_EXIT_OK for 2xx, CTL_EXIT_FAILED otherwise. */
int ctl_exit_for_status(int status);

#endif
