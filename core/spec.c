/* SPDX-License-Identifier: Apache-2.0 */
/* Container configuration: API `config` -> normalised twin form -> backend spec. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spec.h"
#include "values.h"

/* ---- small typed readers ---------------------------------------------------------- */

int spec_json_integer(json_object *v, const char *field, int64_t min, int64_t max,
		      int64_t *out, struct ditto_error *err)
{
	int64_t n;

	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
	} else if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);

		if (!isfinite(d) || d != floor(d) || d < (double)INT64_MIN || d >= (double)INT64_MAX)
			return ditto_error_set(err, 400, "%s must be a whole number", field);
		n = (int64_t)d;
	} else {
		return ditto_error_set(err, 400, "%s must be a number, not %s", field,
				       json_type_to_name(json_object_get_type(v)));
	}
	if (n < min || n > max)
		return ditto_error_set(err, 400, "%s must be between %lld and %lld, not %lld", field,
				       (long long)min, (long long)max, (long long)n);
	*out = n;
	return 0;
}

static int need_type(json_object *v, json_type type, const char *field, struct ditto_error *err)
{
	if (json_object_is_type(v, type))
		return 0;
	return ditto_error_set(err, 400, "%s must be %s %s, not %s", field,
			       type == json_type_array || type == json_type_object ? "an" : "a",
			       json_type_to_name(type), json_type_to_name(json_object_get_type(v)));
}

/* Refuses keys of `o` that are not in `known` (case-insensitive). */
static int check_keys(json_object *o, const char *const *known, const char *where,
		      struct ditto_error *err)
{
	json_object_object_foreach(o, key, val) {
		bool ok = false;

		(void)val;
		for (const char *const *k = known; *k && !ok; k++)
			ok = strcasecmp(*k, key) == 0;
		if (!ok)
			return ditto_error_set(err, 400, "unknown key %s%s%.64s", where,
					       *where ? "." : "", key);
	}
	return 0;
}

static void field_name(char *buf, size_t len, const char *where, const char *key)
{
	snprintf(buf, len, "%s%s%s", where, *where ? "." : "", key);
}

/* ---- patches ------------------------------------------------------------------------- */

int spec_parse_restart_patch(json_object *o, const char *where, struct restart_patch *p,
			     struct ditto_error *err)
{
	static const char *const keys[] = { "type", "maxRetryCount", "retryTimeout", "timeout", NULL };
	char field[96];
	json_object *v, *t2;
	berth_error berr;
	int64_t n;

	memset(p, 0, sizeof(*p));
	if (need_type(o, json_type_object, where, err) < 0 || check_keys(o, keys, where, err) < 0)
		return -1;
	if ((v = ditto_object_get_ci(o, "type"))) {
		field_name(field, sizeof(field), where, "type");
		if (need_type(v, json_type_string, field, err) < 0)
			return -1;
		if (values_parse_restart_type(json_object_get_string(v), &p->type, &berr) < 0)
			return ditto_error_set(err, 400, "%s: %s", field, berr.message);
		p->has_type = true;
	}
	if ((v = ditto_object_get_ci(o, "maxRetryCount"))) {
		field_name(field, sizeof(field), where, "maxRetryCount");
		if (spec_json_integer(v, field, 0, INT_MAX, &n, err) < 0)
			return -1;
		p->max_retry_count = (int)n;
		p->has_max_retry = true;
	}
	/* The Container API page says `timeout`, the reference agent `retryTimeout`. */
	v = ditto_object_get_ci(o, "retryTimeout");
	t2 = ditto_object_get_ci(o, "timeout");
	if (v && t2)
		return ditto_error_set(err, 400, "%s: give either timeout or retryTimeout, not both",
				       where);
	if (v || t2) {
		field_name(field, sizeof(field), where, v ? "retryTimeout" : "timeout");
		if (spec_json_integer(v ? v : t2, field, 0, INT32_MAX, &n, err) < 0)
			return -1;
		p->retry_timeout_s = n;
		p->has_timeout = true;
	}
	return 0;
}

static int parse_size_field(json_object *o, const char *where, const char *key,
			    bool allow_unlimited, bool *has, int64_t *out, struct ditto_error *err)
{
	json_object *v = ditto_object_get_ci(o, key);
	char field[96];
	berth_error berr;

	if (!v)
		return 0;
	field_name(field, sizeof(field), where, key);
	if (need_type(v, json_type_string, field, err) < 0)
		return -1;
	*has = true;
	if (json_object_get_string_len(v) == 0) {
		*out = 0; /* "" removes the limit */
		return 0;
	}
	if (values_parse_size(json_object_get_string(v), allow_unlimited, field, out, &berr) < 0)
		return ditto_error_set(err, 400, "%s", berr.message);
	return 0;
}

int spec_parse_resources_patch(json_object *o, const char *where, struct resources_patch *p,
			       struct ditto_error *err)
{
	static const char *const keys[] = { "memory", "memoryReservation", "memorySwap", NULL };

	memset(p, 0, sizeof(*p));
	if (need_type(o, json_type_object, where, err) < 0 || check_keys(o, keys, where, err) < 0)
		return -1;
	if (parse_size_field(o, where, "memory", false, &p->has_memory, &p->memory, err) < 0 ||
	    parse_size_field(o, where, "memoryReservation", false, &p->has_reservation,
			     &p->reservation, err) < 0 ||
	    parse_size_field(o, where, "memorySwap", true, &p->has_swap, &p->swap, err) < 0)
		return -1;
	return 0;
}

void spec_apply_restart_patch(berth_restart_policy *pol, const struct restart_patch *p)
{
	if (p->has_type && p->type != pol->type && p->type != BERTH_RESTART_ON_FAILURE) {
		pol->max_retry_count = 0;
		pol->retry_timeout_s = 0;
	}
	if (p->has_type)
		pol->type = p->type;
	if (p->has_max_retry)
		pol->max_retry_count = p->max_retry_count;
	if (p->has_timeout)
		pol->retry_timeout_s = p->retry_timeout_s;
}

void spec_apply_resources_patch(berth_resources *r, const struct resources_patch *p)
{
	if (p->has_memory)
		r->memory = p->memory;
	if (p->has_reservation)
		r->memory_reservation = p->reservation;
	if (p->has_swap)
		r->memory_swap = p->swap;
}

/* ---- reading and writing a normalised config ---------------------------------------- */

static int64_t size_member(json_object *o, const char *key)
{
	json_object *v;
	int64_t n = 0;
	berth_error berr;

	if (o && json_object_object_get_ex(o, key, &v) &&
	    values_parse_size(json_object_get_string(v), true, key, &n, &berr) == 0)
		return n;
	return 0;
}

void spec_config_restart(json_object *config, berth_restart_policy *p)
{
	json_object *rp = NULL, *v;
	berth_error berr;

	*p = (berth_restart_policy){ .type = BERTH_RESTART_UNLESS_STOPPED };
	if (!config || !json_object_object_get_ex(config, "restartPolicy", &rp))
		return;
	if (json_object_object_get_ex(rp, "type", &v))
		values_parse_restart_type(json_object_get_string(v), &p->type, &berr);
	if (json_object_object_get_ex(rp, "maxRetryCount", &v))
		p->max_retry_count = json_object_get_int(v);
	if (json_object_object_get_ex(rp, "retryTimeout", &v))
		p->retry_timeout_s = json_object_get_int64(v);
}

void spec_config_resources(json_object *config, berth_resources *r)
{
	json_object *res = NULL;

	*r = (berth_resources){ 0 };
	if (!config || !json_object_object_get_ex(config, "resources", &res))
		return;
	r->memory = size_member(res, "memory");
	r->memory_reservation = size_member(res, "memoryReservation");
	r->memory_swap = size_member(res, "memorySwap");
}

void spec_config_set_restart(json_object *config, const berth_restart_policy *p)
{
	json_object *rp = json_object_new_object();

	json_object_object_add(rp, "type", json_object_new_string(values_restart_type_wire(p->type)));
	if (p->max_retry_count)
		json_object_object_add(rp, "maxRetryCount", json_object_new_int(p->max_retry_count));
	if (p->retry_timeout_s)
		json_object_object_add(rp, "retryTimeout", json_object_new_int64(p->retry_timeout_s));
	json_object_object_add(config, "restartPolicy", rp);
}

static void add_size(json_object *o, const char *key, int64_t n)
{
	char buf[32];

	if (n == 0)
		return;
	values_format_size(n, buf, sizeof(buf));
	json_object_object_add(o, key, json_object_new_string(buf));
}

void spec_config_set_resources(json_object *config, const berth_resources *r)
{
	json_object *res;

	if (!r->memory && !r->memory_reservation && !r->memory_swap) {
		json_object_object_del(config, "resources");
		return;
	}
	res = json_object_new_object();
	add_size(res, "memory", r->memory);
	add_size(res, "memoryReservation", r->memory_reservation);
	add_size(res, "memorySwap", r->memory_swap);
	json_object_object_add(config, "resources", res);
}

/* ---- createWithConfig's config ------------------------------------------------------- */

static int copy_string(json_object *in, json_object *out, const char *key, const char *outkey,
		       struct ditto_error *err)
{
	json_object *v = ditto_object_get_ci(in, key);
	char field[64];

	if (!v)
		return 0;
	snprintf(field, sizeof(field), "config.%s", key);
	if (need_type(v, json_type_string, field, err) < 0)
		return -1;
	if (json_object_get_string_len(v) > 0)
		json_object_object_add(out, outkey, json_object_get(v));
	return 0;
}

/* An array of strings, each checked by `check` (may be NULL); empty arrays are dropped. */
static int copy_strings(json_object *in, json_object *out, const char *key,
			int (*check)(const char *s, berth_error *err), struct ditto_error *err)
{
	json_object *v = ditto_object_get_ci(in, key);
	char field[64];
	berth_error berr;
	size_t n;

	if (!v || json_object_is_type(v, json_type_null))
		return 0;
	snprintf(field, sizeof(field), "config.%s", key);
	if (need_type(v, json_type_array, field, err) < 0)
		return -1;
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		char efield[96];

		snprintf(efield, sizeof(efield), "%s[%zu]", field, i);
		if (need_type(e, json_type_string, efield, err) < 0)
			return -1;
		if (check && check(json_object_get_string(e), &berr) < 0)
			return ditto_error_set(err, 400, "%s: %s", efield, berr.message);
	}
	if (n > 0)
		json_object_object_add(out, key, json_object_get(v));
	return 0;
}

static int check_extra_host(const char *s, berth_error *err)
{
	const char *colon = strchr(s, ':');

	if (!colon || colon == s || !colon[1])
		return berth_error_set(err, BERTH_E_INVALID,
				       "'%.64s' is not of the form host:ip", s);
	return 0;
}

static int normalize_network_mode(json_object *in, json_object *out, struct ditto_error *err)
{
	json_object *v = ditto_object_get_ci(in, "networkMode");
	const char *s;

	if (!v) {
		json_object_object_add(out, "networkMode", json_object_new_string("BRIDGE"));
		return 0;
	}
	if (need_type(v, json_type_string, "config.networkMode", err) < 0)
		return -1;
	s = json_object_get_string(v);
	if (strcmp(s, "BRIDGE") == 0 || strcmp(s, "bridge") == 0 || !*s)
		s = "BRIDGE";
	else if (strcmp(s, "HOST") == 0 || strcmp(s, "host") == 0)
		s = "HOST";
	else
		return ditto_error_set(err, 400, "config.networkMode must be BRIDGE or HOST, not '%.32s'", s);
	json_object_object_add(out, "networkMode", json_object_new_string(s));
	return 0;
}

static int normalize_mounts(json_object *in, json_object *out, struct ditto_error *err)
{
	static const char *const keys[] = { "source", "destination", "propagationMode", NULL };
	static const char *const modes[] = { "RPRIVATE", "PRIVATE", "RSHARED", "SHARED",
					     "RSLAVE", "SLAVE", NULL };
	json_object *v = ditto_object_get_ci(in, "mountPoints"), *arr;

	if (!v || json_object_is_type(v, json_type_null))
		return 0;
	if (need_type(v, json_type_array, "config.mountPoints", err) < 0)
		return -1;
	arr = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *m = json_object_array_get_idx(v, i), *o, *src, *dst, *mode;
		char where[48];
		const char *pm = "RPRIVATE";

		snprintf(where, sizeof(where), "config.mountPoints[%zu]", i);
		if (need_type(m, json_type_object, where, err) < 0 ||
		    check_keys(m, keys, where, err) < 0)
			goto fail;
		src = ditto_object_get_ci(m, "source");
		dst = ditto_object_get_ci(m, "destination");
		mode = ditto_object_get_ci(m, "propagationMode");
		if (!src || !json_object_is_type(src, json_type_string) ||
		    json_object_get_string(src)[0] != '/' || !dst ||
		    !json_object_is_type(dst, json_type_string) ||
		    json_object_get_string(dst)[0] != '/') {
			ditto_error_set(err, 400, "%s needs absolute source and destination paths", where);
			goto fail;
		}
		if (mode) {
			bool ok = false;

			if (need_type(mode, json_type_string, where, err) < 0)
				goto fail;
			for (const char *const *p = modes; *p && !ok; p++) {
				if (strcasecmp(*p, json_object_get_string(mode)) == 0) {
					pm = *p;
					ok = true;
				}
			}
			if (!ok) {
				ditto_error_set(err, 400, "%s.propagationMode must be one of RPRIVATE, "
						"PRIVATE, RSHARED, SHARED, RSLAVE, SLAVE", where);
				goto fail;
			}
		}
		o = json_object_new_object();
		json_object_object_add(o, "source", json_object_get(src));
		json_object_object_add(o, "destination", json_object_get(dst));
		json_object_object_add(o, "propagationMode", json_object_new_string(pm));
		json_object_array_add(arr, o);
	}
	if (json_object_array_length(arr) > 0)
		json_object_object_add(out, "mountPoints", arr);
	else
		json_object_put(arr);
	return 0;
fail:
	json_object_put(arr);
	return -1;
}

static int normalize_ports(json_object *in, json_object *out, struct ditto_error *err)
{
	static const char *const keys[] = { "proto", "hostPort", "hostPortEnd", "containerPort",
					     "hostIP", NULL };
	json_object *v = ditto_object_get_ci(in, "portMappings"), *arr;

	if (!v || json_object_is_type(v, json_type_null))
		return 0;
	if (need_type(v, json_type_array, "config.portMappings", err) < 0)
		return -1;
	arr = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *m = json_object_array_get_idx(v, i), *o, *f;
		char where[48], field[80];
		int64_t host = 0, end = 0, ctr = 0;
		const char *proto = "tcp", *ip = "0.0.0.0";

		snprintf(where, sizeof(where), "config.portMappings[%zu]", i);
		if (need_type(m, json_type_object, where, err) < 0 ||
		    check_keys(m, keys, where, err) < 0)
			goto fail;
		snprintf(field, sizeof(field), "%s.containerPort", where);
		if (!(f = ditto_object_get_ci(m, "containerPort"))) {
			ditto_error_set(err, 400, "%s is required", field);
			goto fail;
		}
		if (spec_json_integer(f, field, 1, 65535, &ctr, err) < 0)
			goto fail;
		snprintf(field, sizeof(field), "%s.hostPort", where);
		if ((f = ditto_object_get_ci(m, "hostPort")) &&
		    spec_json_integer(f, field, 0, 65535, &host, err) < 0)
			goto fail;
		snprintf(field, sizeof(field), "%s.hostPortEnd", where);
		end = host;
		if ((f = ditto_object_get_ci(m, "hostPortEnd")) &&
		    spec_json_integer(f, field, host, 65535, &end, err) < 0)
			goto fail;
		if ((f = ditto_object_get_ci(m, "proto"))) {
			if (need_type(f, json_type_string, where, err) < 0)
				goto fail;
			if (strcasecmp(json_object_get_string(f), "udp") == 0)
				proto = "udp";
			else if (strcasecmp(json_object_get_string(f), "tcp") != 0) {
				ditto_error_set(err, 400, "%s.proto must be tcp or udp", where);
				goto fail;
			}
		}
		if ((f = ditto_object_get_ci(m, "hostIP"))) {
			if (need_type(f, json_type_string, where, err) < 0)
				goto fail;
			if (json_object_get_string_len(f) > 0)
				ip = json_object_get_string(f);
		}
		o = json_object_new_object();
		json_object_object_add(o, "proto", json_object_new_string(proto));
		json_object_object_add(o, "hostPort", json_object_new_int((int)host));
		json_object_object_add(o, "hostPortEnd", json_object_new_int((int)end));
		json_object_object_add(o, "containerPort", json_object_new_int((int)ctr));
		json_object_object_add(o, "hostIP", json_object_new_string(ip));
		json_object_array_add(arr, o);
	}
	if (json_object_array_length(arr) > 0)
		json_object_object_add(out, "portMappings", arr);
	else
		json_object_put(arr);
	return 0;
fail:
	json_object_put(arr);
	return -1;
}

/* Keys the reference knows that berth does not apply: accepted only when empty/false. */
static int refuse_unsupported(json_object *in, struct ditto_error *err)
{
	static const char *const keys[] = { "extraCapabilities", "devices", "decryption",
					    "openStdin", "tty", "log", NULL };

	for (const char *const *k = keys; *k; k++) {
		json_object *v = ditto_object_get_ci(in, *k);
		bool empty = !v || json_object_is_type(v, json_type_null) ||
			     (json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v)) ||
			     (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0) ||
			     (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 0);

		if (!empty)
			return ditto_error_set(err, 501, "config.%s is not supported by this agent", *k);
	}
	return 0;
}

int spec_normalize_config(json_object *config, json_object **out, struct ditto_error *err)
{
	static const char *const keys[] = {
		"domainName", "hostName", "env", "cmd", "privileged", "extraHosts", "networkMode",
		"mountPoints", "portMappings", "restartPolicy", "resources", "extraCapabilities",
		"devices", "decryption", "openStdin", "tty", "log", NULL,
	};
	berth_restart_policy policy = { .type = BERTH_RESTART_UNLESS_STOPPED };
	berth_resources res = { 0 };
	json_object *o, *v;
	berth_error berr;

	*out = NULL;
	if (config && json_object_is_type(config, json_type_null))
		config = NULL;
	if (config && (need_type(config, json_type_object, "config", err) < 0 ||
		       check_keys(config, keys, "config", err) < 0 ||
		       refuse_unsupported(config, err) < 0))
		return -1;
	o = json_object_new_object();
	if (config) {
		if (copy_string(config, o, "domainName", "domainName", err) < 0 ||
		    copy_string(config, o, "hostName", "hostName", err) < 0 ||
		    copy_strings(config, o, "env", values_check_env, err) < 0 ||
		    copy_strings(config, o, "cmd", NULL, err) < 0 ||
		    copy_strings(config, o, "extraHosts", check_extra_host, err) < 0 ||
		    normalize_mounts(config, o, err) < 0 || normalize_ports(config, o, err) < 0)
			goto fail;
		if ((v = ditto_object_get_ci(config, "privileged"))) {
			if (need_type(v, json_type_boolean, "config.privileged", err) < 0)
				goto fail;
			if (json_object_get_boolean(v))
				json_object_object_add(o, "privileged", json_object_new_boolean(1));
		}
	}
	if (normalize_network_mode(config, o, err) < 0)
		goto fail;
	if (config && (v = ditto_object_get_ci(config, "restartPolicy")) &&
	    !json_object_is_type(v, json_type_null)) {
		struct restart_patch p;

		if (spec_parse_restart_patch(v, "config.restartPolicy", &p, err) < 0)
			goto fail;
		if (!p.has_type) {
			ditto_error_set(err, 400, "config.restartPolicy.type is required");
			goto fail;
		}
		spec_apply_restart_patch(&policy, &p);
	}
	if (values_check_restart_policy(&policy, &berr) < 0) {
		ditto_error_set(err, 400, "config.restartPolicy: %s", berr.message);
		goto fail;
	}
	spec_config_set_restart(o, &policy);
	if (config && (v = ditto_object_get_ci(config, "resources")) &&
	    !json_object_is_type(v, json_type_null)) {
		struct resources_patch p;

		if (spec_parse_resources_patch(v, "config.resources", &p, err) < 0)
			goto fail;
		spec_apply_resources_patch(&res, &p);
		/* As Docker does: swap defaults to twice the memory. */
		if (res.memory > 0 && !p.has_swap && res.memory <= INT64_MAX / 2)
			res.memory_swap = 2 * res.memory;
	}
	if (values_check_resources(&res, &berr) < 0) {
		ditto_error_set(err, 400, "config.resources: %s", berr.message);
		goto fail;
	}
	spec_config_set_resources(o, &res);
	*out = o;
	return 0;
fail:
	json_object_put(o);
	return -1;
}

/* ---- backend spec ----------------------------------------------------------------- */

static const struct {
	const char *wire, *runtime;
} propagations[] = {
	{ "RPRIVATE", "rprivate" }, { "PRIVATE", "private" }, { "RSHARED", "rshared" },
	{ "SHARED", "shared" },     { "RSLAVE", "rslave" },   { "SLAVE", "slave" },
};

static const char **string_array(json_object *config, const char *key)
{
	json_object *v;
	const char **arr;
	size_t n;

	if (!json_object_object_get_ex(config, key, &v) || !json_object_is_type(v, json_type_array))
		return NULL;
	n = json_object_array_length(v);
	arr = calloc(n + 1, sizeof(*arr));
	if (!arr)
		return NULL;
	for (size_t i = 0; i < n; i++)
		arr[i] = json_object_get_string(json_object_array_get_idx(v, i));
	return arr;
}

static const char *string_member(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

int spec_build(struct spec_holder *h, const char *berth_id, const char *name,
	       const char *image, json_object *config)
{
	json_object *v;
	const char *mode;

	memset(h, 0, sizeof(*h));
	h->cmd = string_array(config, "cmd");
	h->env = string_array(config, "env");
	h->extra_hosts = string_array(config, "extraHosts");
	if (json_object_object_get_ex(config, "mountPoints", &v)) {
		size_t n = json_object_array_length(v);

		h->mounts = calloc(n ? n : 1, sizeof(*h->mounts));
		if (!h->mounts)
			return -1;
		for (size_t i = 0; i < n; i++) {
			json_object *m = json_object_array_get_idx(v, i);
			const char *pm = string_member(m, "propagationMode");

			h->mounts[i].source = string_member(m, "source");
			h->mounts[i].destination = string_member(m, "destination");
			h->mounts[i].propagation = "rprivate";
			for (size_t k = 0; pm && k < sizeof(propagations) / sizeof(propagations[0]); k++)
				if (strcmp(pm, propagations[k].wire) == 0)
					h->mounts[i].propagation = propagations[k].runtime;
		}
		h->spec.n_mounts = n;
	}
	if (json_object_object_get_ex(config, "portMappings", &v)) {
		size_t n = json_object_array_length(v);

		h->ports = calloc(n ? n : 1, sizeof(*h->ports));
		if (!h->ports)
			return -1;
		for (size_t i = 0; i < n; i++) {
			json_object *m = json_object_array_get_idx(v, i), *f;

			h->ports[i].proto = string_member(m, "proto");
			h->ports[i].host_ip = string_member(m, "hostIP");
			if (json_object_object_get_ex(m, "hostPort", &f))
				h->ports[i].host_port = (uint16_t)json_object_get_int(f);
			if (json_object_object_get_ex(m, "hostPortEnd", &f))
				h->ports[i].host_port_end = (uint16_t)json_object_get_int(f);
			if (json_object_object_get_ex(m, "containerPort", &f))
				h->ports[i].container_port = (uint16_t)json_object_get_int(f);
		}
		h->spec.n_ports = n;
	}
	mode = string_member(config, "networkMode");
	h->spec.size = sizeof(h->spec);
	h->spec.berth_id = berth_id;
	h->spec.name = name;
	h->spec.image = image;
	h->spec.cmd = h->cmd;
	h->spec.env = h->env;
	h->spec.hostname = string_member(config, "hostName");
	h->spec.domainname = string_member(config, "domainName");
	h->spec.privileged = json_object_object_get_ex(config, "privileged", &v) &&
			     json_object_get_boolean(v);
	h->spec.network_mode = mode && strcmp(mode, "HOST") == 0 ? "host" : "bridge";
	h->spec.mounts = h->mounts;
	h->spec.ports = h->ports;
	h->spec.extra_hosts = h->extra_hosts;
	spec_config_restart(config, &h->spec.restart);
	spec_config_resources(config, &h->spec.resources);
	return 0;
}

void spec_holder_release(struct spec_holder *h)
{
	free(h->cmd);
	free(h->env);
	free(h->extra_hosts);
	free(h->mounts);
	free(h->ports);
	memset(h, 0, sizeof(*h));
}
