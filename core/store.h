/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Persistent state under state_dir:
 *   containers/<id>.json   one record per container (container_record_json)
 *   features.json          the container features announced to the twin, so that a
 *                          resync can delete those that vanished while offline
 * Every write is atomic: temp file, fsync, rename, fsync of the directory. A crash at
 * any instant leaves either the old or the new file.
 */
#ifndef BERTH_CORE_STORE_H
#define BERTH_CORE_STORE_H

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

/* Writes `len` bytes to dir/name atomically (exposed for the tests). */
int store_write_atomic(int dirfd, const char *name, const char *data, size_t len);

#endif
