/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container configuration: the Container API's `config` object (createWithConfig), its
 * normalised twin form (PROTOCOL.md 6.2: upper-case enums, sizes as "200m", defaults
 * filled), the restart-policy and resources patches that `update` merges, and the
 * berth_container_spec handed to a backend.
 *
 * Value rules (all 400 on violation, naming the field): keys are matched
 * case-insensitively; unknown keys are refused; integers may be written 30 or 30.0 but
 * not 30.5 or "30"; strings are never coerced.
 */
#ifndef BERTH_CORE_SPEC_H
#define BERTH_CORE_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include <berth/backend.h>

#include "ditto.h"

/* Fields present in a restartPolicy object. */
struct restart_patch {
	bool has_type, has_max_retry, has_timeout;
	int type;
	int max_retry_count;
	int64_t retry_timeout_s;
};

/* Fields present in a resources object ("" = remove that limit: value 0). */
struct resources_patch {
	bool has_memory, has_reservation, has_swap;
	int64_t memory, reservation, swap;
};

/* `where` prefixes field names in messages ("restartPolicy", "config.restartPolicy"). */
int spec_parse_restart_patch(json_object *o, const char *where, struct restart_patch *p,
			     struct ditto_error *err);
int spec_parse_resources_patch(json_object *o, const char *where, struct resources_patch *p,
			       struct ditto_error *err);
/* Merges: present fields replace. A type change away from on-failure drops the retry
 * settings that were not given again. */
void spec_apply_restart_patch(berth_restart_policy *pol, const struct restart_patch *p);
void spec_apply_resources_patch(berth_resources *r, const struct resources_patch *p);

/* Integer value of a JSON int or integral double; -1 with a message otherwise. */
int spec_json_integer(json_object *v, const char *field, int64_t min, int64_t max,
		      int64_t *out, struct ditto_error *err);

/*
 * Parses createWithConfig's `config` (NULL or {} = all defaults) into the twin form,
 * with defaults: restartPolicy UNLESS_STOPPED, networkMode BRIDGE, memorySwap = 2 x
 * memory when memory is set without swap. *out is a new object the caller owns.
 */
int spec_normalize_config(json_object *config, json_object **out, struct ditto_error *err);

/* Read and write the restart policy / resources of a normalised config. */
void spec_config_restart(json_object *config, berth_restart_policy *p);
void spec_config_resources(json_object *config, berth_resources *r);
void spec_config_set_restart(json_object *config, const berth_restart_policy *p);
void spec_config_set_resources(json_object *config, const berth_resources *r);

/* A berth_container_spec over a normalised config; the holder owns the arrays (the
 * strings point into `config`, which must outlive the holder). */
struct spec_holder {
	berth_container_spec spec;
	const char **cmd, **env, **extra_hosts;
	berth_mount *mounts;
	berth_port_mapping *ports;
};
int spec_build(struct spec_holder *h, const char *berth_id, const char *name,
	       const char *image, json_object *config);
void spec_holder_release(struct spec_holder *h);

#endif
