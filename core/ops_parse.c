/* SPDX-License-Identifier: Apache-2.0 */
/* Operation values: shape, types and parsing, before anything is queued (400s). */
#include <ctype.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ops.h"
#include "values.h"

#define IMAGE_REF_MAX 512

static const char *type_name(json_object *v)
{
	return json_type_to_name(json_object_get_type(v));
}

/* NULL, absent and JSON null all mean "no value". */
static bool no_value(const struct ditto_envelope *env)
{
	return !env->has_value || !env->value;
}

static int check_keys(json_object *o, const char *const *known, const char *op,
		      struct ditto_error *err)
{
	json_object_object_foreach(o, key, val) {
		bool ok = false;

		(void)val;
		for (const char *const *k = known; *k && !ok; k++)
			ok = strcasecmp(*k, key) == 0;
		if (!ok)
			return ditto_error_set(err, 400, "unknown key '%.64s' in the %s value", key, op);
	}
	return 0;
}

static int parse_image(json_object *o, struct create_args *a, struct ditto_error *err)
{
	json_object *v = ditto_object_get_ci(o, "imageRef");
	const char *s;

	if (!v)
		return ditto_error_set(err, 400, "imageRef is required");
	if (!json_object_is_type(v, json_type_string))
		return ditto_error_set(err, 400, "imageRef must be a string, not %s", type_name(v));
	s = json_object_get_string(v);
	if (!*s)
		return ditto_error_set(err, 400, "imageRef must not be empty");
	if (strlen(s) > IMAGE_REF_MAX)
		return ditto_error_set(err, 400, "imageRef is longer than %d characters", IMAGE_REF_MAX);
	for (const char *p = s; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return ditto_error_set(err, 400, "imageRef '%.64s' contains blanks", s);
	a->image = strdup(s);
	return a->image ? 0 : ditto_error_set(err, 500, "out of memory");
}

static int parse_bool(json_object *o, const char *key, bool *out, struct ditto_error *err)
{
	json_object *v = ditto_object_get_ci(o, key);

	if (!v || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return ditto_error_set(err, 400, "%s must be true or false, not %s", key, type_name(v));
	*out = json_object_get_boolean(v);
	return 0;
}

static int parse_create(int op, const struct ditto_envelope *env, struct create_args *a,
			struct ditto_error *err)
{
	static const char *const create_keys[] = { "imageRef", "start", NULL };
	static const char *const config_keys[] = { "imageRef", "start", "name", "config",
						   "backend", NULL };
	const char *opname = op == OP_CREATE ? "create" : "createWithConfig";
	json_object *o = env->value, *v;
	berth_error berr;

	if (no_value(env))
		return ditto_error_set(err, 400, "the %s value is missing: expected {\"imageRef\": ...}",
				       opname);
	if (!json_object_is_type(o, json_type_object))
		return ditto_error_set(err, 400, "the %s value must be an object, not %s", opname,
				       type_name(o));
	if (check_keys(o, op == OP_CREATE ? create_keys : config_keys, opname, err) < 0 ||
	    parse_image(o, a, err) < 0 || parse_bool(o, "start", &a->start, err) < 0)
		return -1;
	if (op == OP_CREATE)
		return spec_normalize_config(NULL, &a->config, err);

	if ((v = ditto_object_get_ci(o, "name")) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string))
			return ditto_error_set(err, 400, "name must be a string, not %s", type_name(v));
		if (json_object_get_string_len(v) > 0) {
			if (values_check_name(json_object_get_string(v), &berr) < 0)
				return ditto_error_set(err, 400, "%s", berr.message);
			a->name = strdup(json_object_get_string(v));
		}
	}
	if ((v = ditto_object_get_ci(o, "backend")) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
			return ditto_error_set(err, 400, "backend must be a non-empty string");
		a->backend = strdup(json_object_get_string(v));
	}
	return spec_normalize_config(ditto_object_get_ci(o, "config"), &a->config, err);
}

static int parse_stop_options(const struct ditto_envelope *env, struct stop_args *a,
			      struct ditto_error *err)
{
	static const char *const keys[] = { "signal", "timeout", "force", NULL };
	json_object *o = env->value, *v;
	berth_error berr;
	int64_t n;

	if (no_value(env))
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return ditto_error_set(err, 400, "the stopWithOptions value must be an object, not %s",
				       type_name(o));
	if (check_keys(o, keys, "stopWithOptions", err) < 0 ||
	    parse_bool(o, "force", &a->force, err) < 0)
		return -1;
	if ((v = ditto_object_get_ci(o, "signal")) && !json_object_is_type(v, json_type_null)) {
		if (json_object_is_type(v, json_type_string)) {
			if (json_object_get_string_len(v) > 0 &&
			    values_parse_signal(json_object_get_string(v), &a->signal, &berr) < 0)
				return ditto_error_set(err, 400, "%s", berr.message);
		} else if (json_object_is_type(v, json_type_int) ||
			   json_object_is_type(v, json_type_double)) {
			/* The Container API page: "names or numbers, e.g. SIGINT or 2". */
			if (spec_json_integer(v, "signal", 1, 64, &n, err) < 0)
				return -1;
			a->signal = (int)n;
		} else {
			return ditto_error_set(err, 400, "signal must be a name or a number, not %s",
					       type_name(v));
		}
	}
	if ((v = ditto_object_get_ci(o, "timeout")) && !json_object_is_type(v, json_type_null)) {
		if (spec_json_integer(v, "timeout", INT64_MIN, INT64_MAX, &n, err) < 0)
			return -1;
		if (n < 0)
			return ditto_error_set(err, 400, "timeout must not be negative, not %lld",
					       (long long)n);
		if (n > 24 * 3600)
			return ditto_error_set(err, 400, "timeout must be at most 86400 seconds");
		a->timeout = (int)n;
	}
	return 0;
}

static int parse_rename(const struct ditto_envelope *env, char **name, struct ditto_error *err)
{
	berth_error berr;

	if (no_value(env))
		return 0;
	if (!json_object_is_type(env->value, json_type_string))
		return ditto_error_set(err, 400, "the rename value must be a string, not %s",
				       type_name(env->value));
	if (json_object_get_string_len(env->value) == 0)
		return 0;
	if (values_check_name(json_object_get_string(env->value), &berr) < 0)
		return ditto_error_set(err, 400, "%s", berr.message);
	*name = strdup(json_object_get_string(env->value));
	return *name ? 0 : ditto_error_set(err, 500, "out of memory");
}

static int parse_update(const struct ditto_envelope *env, struct update_args *a,
			struct ditto_error *err)
{
	static const char *const keys[] = { "restartPolicy", "resources", NULL };
	json_object *o = env->value, *v;

	if (no_value(env))
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return ditto_error_set(err, 400, "the update value must be an object, not %s",
				       type_name(o));
	if (check_keys(o, keys, "update", err) < 0)
		return -1;
	if ((v = ditto_object_get_ci(o, "restartPolicy")) && !json_object_is_type(v, json_type_null)) {
		if (spec_parse_restart_patch(v, "restartPolicy", &a->restart, err) < 0)
			return -1;
		a->has_restart = true;
	}
	if ((v = ditto_object_get_ci(o, "resources")) && !json_object_is_type(v, json_type_null)) {
		if (spec_parse_resources_patch(v, "resources", &a->resources, err) < 0)
			return -1;
		a->has_resources = true;
	}
	return 0;
}

static int parse_remove(const struct ditto_envelope *env, bool *force, struct ditto_error *err)
{
	if (no_value(env))
		return 0;
	if (!json_object_is_type(env->value, json_type_boolean))
		return ditto_error_set(err, 400, "the remove value must be true or false (force), not %s",
				       type_name(env->value));
	*force = json_object_get_boolean(env->value);
	return 0;
}

int ops_parse(int op, const struct ditto_envelope *env, struct op_args *args,
	      struct ditto_error *err)
{
	memset(args, 0, sizeof(*args));
	switch (op) {
	case OP_CREATE:
	case OP_CREATE_WITH_CONFIG:
		return parse_create(op, env, &args->create, err);
	case OP_STOP:
		/* Always ends stopped: SIGTERM, the default timeout, then SIGKILL. */
		args->stop = (struct stop_args){ .signal = SIGTERM, .timeout = 0, .force = true };
		return 0;
	case OP_STOP_WITH_OPTIONS:
		args->stop = (struct stop_args){ .signal = SIGTERM, .timeout = 0, .force = false };
		return parse_stop_options(env, &args->stop, err);
	case OP_RENAME:
		return parse_rename(env, &args->name, err);
	case OP_UPDATE:
		return parse_update(env, &args->update, err);
	case OP_REMOVE:
		return parse_remove(env, &args->force, err);
	case OP_START:
	case OP_PAUSE:
	case OP_RESUME:
		return 0; /* the value is ignored */
	default:
		return ditto_error_set(err, 404, "unsupported operation");
	}
}

void ops_args_release(struct op_args *args)
{
	free(args->create.image);
	free(args->create.name);
	free(args->create.backend);
	json_object_put(args->create.config);
	free(args->name);
	memset(args, 0, sizeof(*args));
}
