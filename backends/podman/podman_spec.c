/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Podman backend: request bodies built from berth's structures, and names.
 *
 *  - berth_container_spec -> SpecGenerator for POST /libpod/containers/create. The stop
 *    signal is pinned to SIGTERM (an image's STOPSIGNAL would otherwise change what a
 *    native stop sends); no restart policy is given to podman (berth's restart manager
 *    enforces it). domainname goes in as the sysctl kernel.domainname (SpecGenerator
 *    has no field for it), as Docker's runtime does.
 *  - berth_resources -> LinuxResources for POST /libpod/containers/{id}/update. runc
 *    takes -1 as "no limit"; a swap of 0 ("runtime default") is twice the memory, the
 *    default podman gives at create.
 *  - Container names: podman accepts ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$; a berth name may
 *    start with '_', and becomes "berth-<berth_id>" then (the core keeps the berth name).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podman.h"

static bool name_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '_' || c == '.' || c == '-');
}

bool podman_name_valid(const char *name)
{
	if (!name || !name[0] || !name_char(name[0], true))
		return false;
	for (const char *s = name + 1; *s; s++)
		if (!name_char(*s, false))
			return false;
	return true;
}

char *podman_name_for(const char *berth_name, const char *berth_id)
{
	char *out = NULL;

	if (podman_name_valid(berth_name))
		return strdup(berth_name);
	if (!berth_id || asprintf(&out, "berth-%s", berth_id) < 0)
		return NULL;
	return out;
}

/* json-c setters fail only when out of memory; collect that in *ok. */
static void put(json_object *o, const char *key, json_object *v, bool *ok)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		*ok = false;
	}
}

static void put_string(json_object *o, const char *key, const char *s, bool *ok)
{
	if (s)
		put(o, key, json_object_new_string(s), ok);
}

static void append(json_object *arr, json_object *v, bool *ok)
{
	if (!v || json_object_array_add(arr, v) < 0) {
		json_object_put(v);
		*ok = false;
	}
}

static json_object *string_array(const char *const *v, bool *ok)
{
	json_object *arr = json_object_new_array();

	if (!arr) {
		*ok = false;
		return NULL;
	}
	for (; v && *v; v++)
		append(arr, json_object_new_string(*v), ok);
	return arr;
}

/* "KEY=value" list -> {"KEY": "value"} (SpecGenerator's env is a map). */
static int add_env(json_object *root, const char *const *env, berth_error *err)
{
	json_object *map = json_object_new_object();
	bool ok = map != NULL;

	for (; ok && env && *env; env++) {
		const char *eq = strchr(*env, '=');
		size_t klen = eq ? (size_t)(eq - *env) : strlen(*env);
		char *key;

		if (!klen) {
			json_object_put(map);
			return berth_error_set(err, BERTH_E_INVALID,
					       "environment entry \"%s\" has no name", *env);
		}
		key = strndup(*env, klen);
		if (!key) {
			ok = false;
			break;
		}
		put(map, key, json_object_new_string(eq ? eq + 1 : ""), &ok);
		free(key);
	}
	put(root, "env", map, &ok);
	return ok ? 0 : berth_error_set(err, BERTH_E_NOMEM, "out of memory");
}

static int add_mounts(json_object *root, const berth_container_spec *spec, berth_error *err)
{
	json_object *mounts;
	bool ok = true;

	if (!spec->n_mounts)
		return 0;
	mounts = json_object_new_array();
	put(root, "mounts", mounts, &ok);
	for (size_t i = 0; ok && i < spec->n_mounts; i++) {
		const berth_mount *m = &spec->mounts[i];
		json_object *o, *opts;

		if (!m->source || !m->destination || m->source[0] != '/' ||
		    m->destination[0] != '/')
			return berth_error_set(err, BERTH_E_INVALID,
					       "mount %zu: source and destination must be "
					       "absolute paths", i);
		o = json_object_new_object();
		opts = json_object_new_array();
		if (!o || !opts) {
			json_object_put(o);
			json_object_put(opts);
			ok = false;
			break;
		}
		put_string(o, "type", "bind", &ok);
		put_string(o, "source", m->source, &ok);
		put_string(o, "destination", m->destination, &ok);
		append(opts, json_object_new_string("rbind"), &ok);
		if (m->propagation)
			append(opts, json_object_new_string(m->propagation), &ok);
		put(o, "options", opts, &ok);
		append(mounts, o, &ok);
	}
	return ok ? 0 : berth_error_set(err, BERTH_E_NOMEM, "out of memory");
}

/* portmappings: [{container_port, host_port, host_ip, protocol, range}]; a host port
 * range maps as many consecutive container ports, as podman's -p a-b:c-d does. */
static int add_ports(json_object *root, const berth_container_spec *spec, berth_error *err)
{
	json_object *list;
	bool ok = true;

	if (!spec->n_ports)
		return 0;
	list = json_object_new_array();
	put(root, "portmappings", list, &ok);
	for (size_t i = 0; ok && i < spec->n_ports; i++) {
		const berth_port_mapping *pm = &spec->ports[i];
		const char *proto = pm->proto ? pm->proto : "tcp";
		json_object *o;

		if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
			return berth_error_set(err, BERTH_E_INVALID,
					       "port mapping %zu: protocol \"%s\" is not tcp or "
					       "udp", i, proto);
		if (pm->host_port_end && pm->host_port_end < pm->host_port)
			return berth_error_set(err, BERTH_E_INVALID,
					       "port mapping %zu: host port range %u-%u is "
					       "reversed", i, pm->host_port, pm->host_port_end);
		o = json_object_new_object();
		if (!o) {
			ok = false;
			break;
		}
		put(o, "container_port", json_object_new_int(pm->container_port), &ok);
		put(o, "host_port", json_object_new_int(pm->host_port), &ok);
		if (pm->host_ip && *pm->host_ip && strcmp(pm->host_ip, "0.0.0.0") != 0)
			put_string(o, "host_ip", pm->host_ip, &ok);
		put_string(o, "protocol", proto, &ok);
		if (pm->host_port && pm->host_port_end > pm->host_port)
			put(o, "range", json_object_new_int(pm->host_port_end - pm->host_port + 1),
			    &ok);
		append(list, o, &ok);
	}
	return ok ? 0 : berth_error_set(err, BERTH_E_NOMEM, "out of memory");
}

static int add_network(json_object *root, const berth_container_spec *spec,
		       const char *bridge_network, berth_error *err)
{
	json_object *netns;
	bool ok = true;

	if (!spec->network_mode)
		return 0;
	netns = json_object_new_object();
	put(root, "netns", netns, &ok);
	if (!ok)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	if (strcmp(spec->network_mode, "host") == 0) {
		put_string(netns, "nsmode", "host", &ok);
	} else if (strcmp(spec->network_mode, "bridge") == 0) {
		if (bridge_network && strcmp(bridge_network, "none") == 0) {
			put_string(netns, "nsmode", "none", &ok);
		} else {
			put_string(netns, "nsmode", "bridge", &ok);
			if (bridge_network) {
				json_object *nets = json_object_new_object();

				put(root, "networks", nets, &ok);
				if (ok)
					put(nets, bridge_network, json_object_new_object(), &ok);
			}
		}
	} else {
		return berth_error_set(err, BERTH_E_INVALID, "unknown network mode \"%s\"",
				       spec->network_mode);
	}
	return ok ? 0 : berth_error_set(err, BERTH_E_NOMEM, "out of memory");
}

static int check_resources(const berth_resources *r, berth_error *err)
{
	if (r->memory < 0 || r->memory_reservation < 0 || r->memory_swap < -1)
		return berth_error_set(err, BERTH_E_INVALID,
				       "memory limits must be positive (memory swap: -1 for "
				       "unlimited)");
	if (r->memory_swap > 0 && r->memory == 0)
		return berth_error_set(err, BERTH_E_INVALID,
				       "a memory swap limit needs a memory limit");
	if (r->memory_swap > 0 && r->memory_swap < r->memory)
		return berth_error_set(err, BERTH_E_INVALID,
				       "memory swap (memory + swap, %lld) is below the memory "
				       "limit (%lld)", (long long)r->memory_swap,
				       (long long)r->memory);
	return 0;
}

json_object *podman_spec_create_body(const berth_container_spec *spec,
				     const char *bridge_network, berth_error *err)
{
	json_object *root, *labels, *mem = NULL;
	bool ok = true;

	if (spec->size < offsetof(berth_container_spec, resources) + sizeof(spec->resources)) {
		berth_error_set(err, BERTH_E_INVALID, "container spec too small (%u bytes)",
				spec->size);
		return NULL;
	}
	if (!spec->image || !*spec->image || !spec->berth_id || !*spec->berth_id) {
		berth_error_set(err, BERTH_E_INVALID, "a container needs an image and a berth id");
		return NULL;
	}
	if (check_resources(&spec->resources, err) < 0)
		return NULL;
	root = json_object_new_object();
	labels = json_object_new_object();
	if (!root || !labels) {
		json_object_put(root);
		json_object_put(labels);
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		return NULL;
	}
	put(root, "labels", labels, &ok);
	put_string(labels, BERTH_LABEL_ID, spec->berth_id, &ok);
	if (BERTH_HAS_FIELD(spec, berth_container_spec, owner))
		put_string(labels, BERTH_LABEL_OWNER, spec->owner, &ok);
	put_string(root, "image", spec->image, &ok);
	if (spec->cmd)
		put(root, "command", string_array(spec->cmd, &ok), &ok);
	put_string(root, "hostname", spec->hostname, &ok);
	if (spec->domainname) {
		json_object *sysctl = json_object_new_object();

		put(root, "sysctl", sysctl, &ok);
		if (ok)
			put_string(sysctl, "kernel.domainname", spec->domainname, &ok);
	}
	put(root, "stop_signal", json_object_new_int(SIGTERM), &ok);
	put(root, "privileged", json_object_new_boolean(spec->privileged), &ok);
	if (spec->extra_hosts)
		put(root, "hostadd", string_array(spec->extra_hosts, &ok), &ok);
	if (spec->resources.memory || spec->resources.memory_reservation ||
	    spec->resources.memory_swap) {
		json_object *rl = json_object_new_object();

		mem = json_object_new_object();
		put(root, "resource_limits", rl, &ok);
		if (ok)
			put(rl, "memory", mem, &ok);
		else
			json_object_put(mem);
		if (ok && spec->resources.memory)
			put(mem, "limit", json_object_new_int64(spec->resources.memory), &ok);
		if (ok && spec->resources.memory_reservation)
			put(mem, "reservation",
			    json_object_new_int64(spec->resources.memory_reservation), &ok);
		if (ok && spec->resources.memory_swap)
			put(mem, "swap", json_object_new_int64(spec->resources.memory_swap), &ok);
	}
	if (!ok) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto fail;
	}
	if ((spec->env && add_env(root, spec->env, err) < 0) || add_mounts(root, spec, err) < 0 ||
	    add_ports(root, spec, err) < 0 || add_network(root, spec, bridge_network, err) < 0)
		goto fail;
	return root;
fail:
	json_object_put(root);
	return NULL;
}

json_object *podman_spec_resources_body(const berth_resources *r, berth_error *err)
{
	json_object *root, *mem;
	int64_t swap = r->memory_swap;
	bool ok = true;

	if (check_resources(r, err) < 0)
		return NULL;
	if (swap == 0)
		swap = r->memory > 0 && r->memory <= INT64_MAX / 2 ? r->memory * 2 : -1;
	root = json_object_new_object();
	mem = json_object_new_object();
	if (!root || !mem) {
		json_object_put(root);
		json_object_put(mem);
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		return NULL;
	}
	put(root, "memory", mem, &ok);
	put(mem, "limit", json_object_new_int64(r->memory ? r->memory : -1), &ok);
	put(mem, "reservation",
	    json_object_new_int64(r->memory_reservation ? r->memory_reservation : -1), &ok);
	put(mem, "swap", json_object_new_int64(swap), &ok);
	if (ok)
		return root;
	json_object_put(root);
	berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	return NULL;
}
