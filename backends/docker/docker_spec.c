/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Engine backend: request bodies built from berth's structures.
 *
 *  - berth_container_spec -> POST /containers/create body (Config + HostConfig).
 *  - berth_update -> POST /containers/{id}/update body (Resources + RestartPolicy).
 *
 * Memory on update (Docker's rules, checked against Docker 20.10 on cgroup v1 with
 * memsw): a 0 means "unchanged" to Docker, so a limit cannot be removed (we answer
 * UNSUPPORTED); Memory, MemorySwap and MemoryReservation are always sent together, and
 * runc then orders the cgroup writes itself (raising memory above the old swap limit and
 * lowering swap below the old memory limit both succeed in one request). Docker refuses
 * a new Memory without MemorySwap when a swap limit is stored, so a swap of 0 ("runtime
 * default") is sent as Docker's create-time default, twice the memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

const char *docker_restart_name(int type)
{
	switch (type) {
	case BERTH_RESTART_ALWAYS: return "always";
	case BERTH_RESTART_UNLESS_STOPPED: return "unless-stopped";
	case BERTH_RESTART_ON_FAILURE: return "on-failure";
	case BERTH_RESTART_NO: return "no";
	default: return NULL;
	}
}

/* json-c setters return -1 only when out of memory; collect that in *ok. */
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

static json_object *restart_policy(const berth_restart_policy *r, berth_error *err)
{
	const char *name = docker_restart_name(r->type);
	json_object *o;
	bool ok = true;

	if (!name) {
		berth_error_set(err, BERTH_E_INVALID, "unknown restart policy type %d", r->type);
		return NULL;
	}
	if (r->max_retry_count < 0) {
		berth_error_set(err, BERTH_E_INVALID, "negative restart retry count %d",
				r->max_retry_count);
		return NULL;
	}
	o = json_object_new_object();
	if (!o)
		goto nomem;
	put_string(o, "Name", name, &ok);
	put(o, "MaximumRetryCount",
	    json_object_new_int(r->type == BERTH_RESTART_ON_FAILURE ? r->max_retry_count : 0),
	    &ok);
	if (ok)
		return o;
	json_object_put(o);
nomem:
	berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	return NULL;
}

static bool needs_mount_form(const berth_mount *m)
{
	return strpbrk(m->source, ":,") || strpbrk(m->destination, ":,");
}

/* Binds ("src:dst[:propagation]", Docker creates a missing source directory), or Mounts
 * entries for paths a Binds string cannot carry. */
static int add_mounts(json_object *hc, const berth_container_spec *spec, berth_error *err)
{
	json_object *binds = NULL, *mounts = NULL;
	bool ok = true;

	for (size_t i = 0; i < spec->n_mounts; i++) {
		const berth_mount *m = &spec->mounts[i];

		if (!m->source || !m->destination || m->source[0] != '/' ||
		    m->destination[0] != '/')
			return berth_error_set(err, BERTH_E_INVALID,
					       "mount %zu: source and destination must be "
					       "absolute paths", i);
		if (needs_mount_form(m)) {
			json_object *o = json_object_new_object(), *bo;

			if (!mounts)
				mounts = json_object_new_array();
			if (!o || !mounts) {
				json_object_put(o);
				ok = false;
				break;
			}
			put_string(o, "Type", "bind", &ok);
			put_string(o, "Source", m->source, &ok);
			put_string(o, "Target", m->destination, &ok);
			if (m->propagation) {
				bo = json_object_new_object();
				if (bo)
					put_string(bo, "Propagation", m->propagation, &ok);
				put(o, "BindOptions", bo, &ok);
			}
			append(mounts, o, &ok);
		} else {
			char *bind = NULL;

			if (!binds)
				binds = json_object_new_array();
			if (!binds || asprintf(&bind, "%s:%s%s%s", m->source, m->destination,
					       m->propagation ? ":" : "",
					       m->propagation ? m->propagation : "") < 0) {
				ok = false;
				break;
			}
			append(binds, json_object_new_string(bind), &ok);
			free(bind);
		}
	}
	if (binds)
		put(hc, "Binds", binds, &ok);
	if (mounts)
		put(hc, "Mounts", mounts, &ok);
	return ok ? 0 : berth_error_set(err, BERTH_E_NOMEM, "out of memory");
}

/* PortBindings {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} and the matching
 * ExposedPorts {"80/tcp": {}}; a host port range lets Docker pick one of its ports. */
static int add_ports(json_object *root, json_object *hc, const berth_container_spec *spec,
		     berth_error *err)
{
	json_object *bindings, *exposed;
	bool ok = true;

	if (!spec->n_ports)
		return 0;
	bindings = json_object_new_object();
	exposed = json_object_new_object();
	put(hc, "PortBindings", bindings, &ok);
	put(root, "ExposedPorts", exposed, &ok);
	if (!ok)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	for (size_t i = 0; i < spec->n_ports; i++) {
		const berth_port_mapping *p = &spec->ports[i];
		const char *proto = p->proto ? p->proto : "tcp";
		char key[32], hostport[16];
		json_object *list, *b;
		int n;

		if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
			return berth_error_set(err, BERTH_E_INVALID,
					       "port mapping %zu: protocol \"%s\" is not tcp or "
					       "udp", i, proto);
		if (p->host_port_end && p->host_port_end < p->host_port)
			return berth_error_set(err, BERTH_E_INVALID,
					       "port mapping %zu: host port range %u-%u is "
					       "reversed", i, p->host_port, p->host_port_end);
		n = snprintf(key, sizeof(key), "%u/%s", p->container_port, proto);
		if (n < 0 || (size_t)n >= sizeof(key))
			return berth_error_set(err, BERTH_E_INTERNAL, "port key too long");
		if (!p->host_port)
			n = snprintf(hostport, sizeof(hostport), "%s", "");
		else if (p->host_port_end > p->host_port)
			n = snprintf(hostport, sizeof(hostport), "%u-%u", p->host_port,
				     p->host_port_end);
		else
			n = snprintf(hostport, sizeof(hostport), "%u", p->host_port);
		if (n < 0 || (size_t)n >= sizeof(hostport))
			return berth_error_set(err, BERTH_E_INTERNAL, "host port too long");
		if (!json_object_object_get_ex(bindings, key, &list)) {
			list = json_object_new_array();
			put(bindings, key, list, &ok);
			put(exposed, key, json_object_new_object(), &ok);
			if (!ok)
				return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		}
		b = json_object_new_object();
		if (b) {
			put_string(b, "HostIp", p->host_ip ? p->host_ip : "", &ok);
			put_string(b, "HostPort", hostport, &ok);
		}
		append(list, b, &ok);
		if (!ok)
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	return 0;
}

static int check_resources(const berth_resources *r, berth_error *err)
{
	if (r->memory < 0 || r->memory_reservation < 0 || r->memory_swap < -1)
		return berth_error_set(err, BERTH_E_INVALID,
				       "memory limits must be positive (memory swap: -1 for "
				       "unlimited)");
	return 0;
}

json_object *docker_spec_create_body(const berth_container_spec *spec, berth_error *err)
{
	json_object *root, *hc, *labels, *rp;
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
	hc = json_object_new_object();
	labels = json_object_new_object();
	if (!root || !hc || !labels) {
		json_object_put(root);
		json_object_put(hc);
		json_object_put(labels);
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		return NULL;
	}
	put(root, "HostConfig", hc, &ok);
	put(root, "Labels", labels, &ok);
	put_string(labels, BERTH_LABEL_ID, spec->berth_id, &ok);
	if (BERTH_HAS_FIELD(spec, berth_container_spec, owner))
		put_string(labels, BERTH_LABEL_OWNER, spec->owner, &ok);
	put_string(root, "Image", spec->image, &ok);
	if (spec->cmd)
		put(root, "Cmd", string_array(spec->cmd, &ok), &ok);
	if (spec->env)
		put(root, "Env", string_array(spec->env, &ok), &ok);
	put_string(root, "Hostname", spec->hostname, &ok);
	put_string(root, "Domainname", spec->domainname, &ok);
	if (!ok)
		goto nomem;

	rp = restart_policy(&spec->restart, err);
	if (!rp)
		goto fail;
	put(hc, "RestartPolicy", rp, &ok);
	if (spec->resources.memory)
		put(hc, "Memory", json_object_new_int64(spec->resources.memory), &ok);
	if (spec->resources.memory_reservation)
		put(hc, "MemoryReservation",
		    json_object_new_int64(spec->resources.memory_reservation), &ok);
	if (spec->resources.memory_swap)
		put(hc, "MemorySwap", json_object_new_int64(spec->resources.memory_swap), &ok);
	put(hc, "Privileged", json_object_new_boolean(spec->privileged), &ok);
	put_string(hc, "NetworkMode", spec->network_mode, &ok);
	if (spec->extra_hosts)
		put(hc, "ExtraHosts", string_array(spec->extra_hosts, &ok), &ok);
	if (!ok)
		goto nomem;
	if (add_mounts(hc, spec, err) < 0 || add_ports(root, hc, spec, err) < 0)
		goto fail;
	return root;
nomem:
	berth_error_set(err, BERTH_E_NOMEM, "out of memory");
fail:
	json_object_put(root);
	return NULL;
}

json_object *docker_spec_update_body(const berth_update *u, berth_error *err)
{
	json_object *root;
	bool ok = true;

	if (u->size < offsetof(berth_update, running) + sizeof(u->running)) {
		berth_error_set(err, BERTH_E_INVALID, "update too small (%u bytes)", u->size);
		return NULL;
	}
	if (u->mask & ~(unsigned)(BERTH_UPDATE_RESTART | BERTH_UPDATE_RESOURCES)) {
		berth_error_set(err, BERTH_E_UNSUPPORTED, "unsupported update mask 0x%x", u->mask);
		return NULL;
	}
	root = json_object_new_object();
	if (!root) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		return NULL;
	}
	if (u->mask & BERTH_UPDATE_RESTART) {
		json_object *rp = restart_policy(&u->restart, err);

		if (!rp)
			goto fail;
		put(root, "RestartPolicy", rp, &ok);
	}
	if (u->mask & BERTH_UPDATE_RESOURCES) {
		const berth_resources *r = &u->resources, *prev = &u->previous;
		int64_t swap = r->memory_swap;

		if (check_resources(r, err) < 0)
			goto fail;
		if (prev->memory > 0 && r->memory == 0) {
			berth_error_set(err, BERTH_E_UNSUPPORTED,
					"Docker cannot remove the memory limit of an existing "
					"container (it reads 0 as \"unchanged\"); recreate the "
					"container without a limit");
			goto fail;
		}
		if (prev->memory_reservation > 0 && r->memory_reservation == 0) {
			berth_error_set(err, BERTH_E_UNSUPPORTED,
					"Docker cannot remove the memory reservation of an "
					"existing container (it reads 0 as \"unchanged\"); "
					"recreate the container without one");
			goto fail;
		}
		if (r->memory_swap > 0 && r->memory == 0) {
			berth_error_set(err, BERTH_E_INVALID,
					"a memory swap limit needs a memory limit");
			goto fail;
		}
		if (swap == 0 && r->memory > 0)
			swap = r->memory > INT64_MAX / 2 ? -1 : r->memory * 2;
		if (r->memory)
			put(root, "Memory", json_object_new_int64(r->memory), &ok);
		if (swap)
			put(root, "MemorySwap", json_object_new_int64(swap), &ok);
		if (r->memory_reservation)
			put(root, "MemoryReservation",
			    json_object_new_int64(r->memory_reservation), &ok);
	}
	if (ok)
		return root;
	berth_error_set(err, BERTH_E_NOMEM, "out of memory");
fail:
	json_object_put(root);
	return NULL;
}
