/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Persistent state under state_dir:
 *   containers/<id>.json   one record per container (container_record_json)
 *   features.json          the container features announced to the twin, so that a
 *                          resync can delete those that vanished while offline
 *   identity.json          the thing id and tenant learned from a transport
 * Every write is atomic: temp file, fsync, rename, fsync of the directory. A crash at
 * any instant leaves either the old or the new file.
 */
#ifndef BERTH_CORE_STORE_H
#define BERTH_CORE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include <berth/error.h>

#include "container.h"

int store_open(const char *state_dir, berth_error *err);
void store_close(void);

/* Saves c's record (takes c->lock while serialising). */
int store_save(struct container *c, berth_error *err);
int store_delete(const char *id);

/* Calls cb for every readable record; unreadable ones are logged and skipped (left in
 * place for an administrator). cb owns nothing: the record is freed after it returns. */
int store_load(void (*cb)(json_object *record, const char *file, void *userdata),
	       void *userdata);

/* The announced feature list: a JSON array of container ids. */
json_object *store_load_announced(void);        /* new reference; [] when none */
int store_save_announced(json_object *ids);     /* borrows ids */

/* The identity learned from a transport (identity.json), for an agent without a
 * configured thing_id: commands queued in a persistent session arrive before the
 * transport has learned it again. load returns false when there is none. */
int store_save_identity(const char *thing_id, const char *tenant);
bool store_load_identity(char *thing_id, size_t thing_len, char *tenant, size_t tenant_len);

/* Writes `len` bytes to dir/name atomically (exposed for the tests). */
int store_write_atomic(int dirfd, const char *name, const char *data, size_t len);

#endif
