/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Container API operations (PROTOCOL.md section 7, with DESIGN.md's decisions).
 *
 * Two phases, so that a rejected command changes nothing:
 *  - ops_parse() runs at intake, on the transport's thread: it checks the value's shape
 *    and types and parses sizes, signals, policies and names (400 on any problem).
 *  - ops_execute() runs on a worker, in the container's lane: it checks what depends on
 *    the container's state (409), merges and validates updates, calls the backend, saves
 *    the record and reports to the twin.
 */
#ifndef BERTH_CORE_OPS_H
#define BERTH_CORE_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "container.h"
#include "ditto.h"
#include "router.h"
#include "spec.h"

struct create_args {
	char id[CONTAINER_ID_LEN + 1]; /* chosen at intake: the queue lane's key */
	char *image;
	char *name;          /* NULL: the container id */
	char *backend;       /* NULL: the default backend */
	bool start;
	json_object *config; /* normalised (spec_normalize_config) */
};

struct stop_args {
	int signal;
	int timeout;         /* seconds; 0 = the agent's stop_timeout */
	bool force;
};

struct update_args {
	bool has_restart, has_resources;
	struct restart_patch restart;
	struct resources_patch resources;
};

struct op_args {
	struct create_args create; /* OP_CREATE, OP_CREATE_WITH_CONFIG */
	struct stop_args stop;     /* OP_STOP, OP_STOP_WITH_OPTIONS */
	char *name;                /* OP_RENAME */
	struct update_args update; /* OP_UPDATE */
	bool force;                /* OP_REMOVE */
};

/* The agent-wide default stop timeout (seconds). */
void ops_set_stop_timeout(int seconds);
int ops_stop_timeout(void);

int ops_parse(int op, const struct ditto_envelope *env, struct op_args *args,
	      struct ditto_error *err);
void ops_args_release(struct op_args *args);

/* The result of an operation. */
struct op_result {
	int status;         /* 200 with value, 204 without; or the error's status */
	json_object *value; /* owned; NULL for 204 and errors */
	struct ditto_error error;
};

/* Runs `op` on `c` (NULL for ContainerFactory ops). */
void ops_execute(int op, struct container *c, struct op_args *args, struct op_result *res);

/* ---- the operations, one file each family ---- */
void ops_create(struct op_args *args, struct op_result *res);
void ops_start(struct container *c, struct op_result *res);
void ops_stop(struct container *c, const struct stop_args *a, struct op_result *res);
void ops_pause(struct container *c, struct op_result *res);
void ops_resume(struct container *c, struct op_result *res);
void ops_remove(struct container *c, bool force, struct op_result *res);
void ops_rename(struct container *c, const char *name, struct op_result *res);
void ops_update(struct container *c, const struct update_args *a, struct op_result *res);

/* Helpers shared by the operation files. */
int ops_fail(struct op_result *res, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ops_fail_berth(struct op_result *res, const berth_error *err);
/* Serialises name checks and changes across lanes (names are unique). */
void ops_names_lock(void);
void ops_names_unlock(void);
/* Snapshot of status under the lock. */
int ops_status(struct container *c);
/* The native id, copied (caller frees), or NULL. */
char *ops_native_id(struct container *c);

#endif
