/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Containers as berth knows them: the record (id, backend, native id, name, image,
 * config, state, restart bookkeeping), the in-memory table of all records, and the
 * record's JSON forms: the stored record (store.c) and the twin's `status` property
 * (PROTOCOL.md 6.2).
 *
 * Locking: the table has its own lock; each record has a mutex guarding its mutable
 * fields. Commands for one container are serialised by the work queue, so the lock is
 * only held for short reads and writes, never across a backend call.
 */
#ifndef BERTH_CORE_CONTAINER_H
#define BERTH_CORE_CONTAINER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include <berth/backend.h>

#define CONTAINER_ID_LEN 36 /* a UUID */

/* The twin's state enum; numbers as the reference stores them. */
enum container_status {
	CS_CREATING = 0,
	CS_CREATED = 1,
	CS_RUNNING = 2,
	CS_STOPPED = 3, /* stopped by a command (or a failed start) */
	CS_PAUSED = 4,
	CS_EXITED = 5,  /* the process ended on its own */
	CS_DEAD = 6,    /* removed */
	CS_UNKNOWN = 7,
};

struct container_state {
	int status;          /* enum container_status */
	int pid;             /* > 0 while running/paused, else -1 */
	int exit_code;
	bool oom_killed;
	char *error;         /* NULL or the last failure's text */
	int64_t started_ns;  /* 0 = never */
	int64_t finished_ns; /* 0 = never */
};

struct berth_backend_handle;

struct container {
	char id[CONTAINER_ID_LEN + 1];
	struct berth_backend_handle *backend; /* never NULL for a record in the table */

	pthread_mutex_t lock;   /* guards everything below */
	pthread_cond_t changed; /* broadcast when state or exit_events changes */
	char *native_id;        /* NULL while being created */
	char *name;
	char *image;
	json_object *config;    /* the twin's `config` object: normalised, defaults filled */
	int64_t created_ns;
	struct container_state state;
	bool manually_stopped;  /* stopped by a command: restart policies hold off */
	bool started_before;    /* started successfully at least once */
	int restart_count;      /* restarts by policy since the last manual start */
	uint64_t exit_events;   /* exit events seen; the stopper waits for this to move */
	bool removed;           /* gone from the runtime and the table */
	int refs;               /* table reference + one per holder */
};

/* A fresh UUID v4 into out. */
int container_new_id(char out[CONTAINER_ID_LEN + 1]);
/* A new record with `id` (NULL: a fresh UUID v4), refs = 1 (the caller's). */
struct container *container_new(const char *id, struct berth_backend_handle *backend);
struct container *container_ref(struct container *c);
void container_unref(struct container *c);

/* "RUNNING", ... ; status from a name (-1 if unknown). */
const char *container_status_name(int status);
int container_status_from_name(const char *name);

/* Sets state->error (copies; NULL clears). Caller holds c->lock. */
void container_set_error(struct container *c, const char *error);

/* ---- table ---- */
/* Adds (takes a reference). Fails if the id is taken. */
int containers_add(struct container *c);
/* Removes from the table (drops the table's reference). */
void containers_remove(struct container *c);
/* Lookups return a new reference (container_unref when done) or NULL. */
struct container *containers_get(const char *id);
struct container *containers_find_name(const char *name, const struct container *except);
struct container *containers_find_native(const struct berth_backend_handle *backend,
					 const char *native_id);
/* A snapshot of every record, each referenced; free with containers_list_free. */
struct container **containers_list(size_t *n);
void containers_list_free(struct container **list, size_t n);
size_t containers_count(void);
/* Drops every record (shutdown, tests). */
void containers_clear(void);

/* ---- JSON forms (caller holds c->lock; results are new objects the caller owns) ---- */
/* The stored record (store.c). */
json_object *container_record_json(const struct container *c);
/* Rebuilds a record from its stored form; NULL with a reason in `why` on bad input.
 * The backend is looked up by the caller from "backend" in the JSON. */
struct container *container_from_record_json(json_object *rec,
					     struct berth_backend_handle *backend,
					     char *why, size_t why_len);
/* The twin's state object ({"status":"RUNNING","pid":..., ...}). */
json_object *container_state_json(const struct container *c);
/* The twin's `status` property: {name, imageRef, config, createdAt, state}. */
json_object *container_status_json(const struct container *c);

/* RFC 3339 UTC with nanoseconds; "" for 0. Returns buf. */
const char *container_format_time(int64_t ns, char *buf, size_t len);
/* Parses what container_format_time writes; 0 on failure. */
int64_t container_parse_time(const char *s);
/* Wall clock in nanoseconds. */
int64_t container_now_ns(void);

#endif
