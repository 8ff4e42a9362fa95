/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd-nspawn backend: the container operations.
 *
 *   create   the root file system from the local image, and the record; nothing in
 *            systemd until the start
 *   start    clears what is left of the previous run, StartTransientUnit
 *   kill     machined's KillMachine(leader) for the container's init, systemd's
 *            KillUnit(all) for every process (BERTH_KILL_ALL)
 *   update   SetUnitProperties(runtime) of a running unit; the record for the next start
 *   remove   (force: SIGKILL to the unit) the unit's remains, the root file system, the
 *            record; DESTROY is reported from here (systemd knows nothing of the record)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nspawn.h"

#define KILL_WAIT_POLL_US 20000

static int check_spec(const berth_container_spec *spec, berth_error *err)
{
	if (!nsp_name_valid(spec->name))
		return berth_error_set(err, BERTH_E_INVALID,
				       "\"%s\" is not a valid machine name (letters, digits and "
				       "'-', dot-separated, at most %d characters)",
				       spec->name, NSP_NAME_MAX);
	if (spec->n_ports > 0)
		return berth_error_set(err, BERTH_E_UNSUPPORTED,
				       "port mappings are not supported by the nspawn backend "
				       "(machines share the host's network)");
	if (spec->network_mode && strcmp(spec->network_mode, "host") != 0 &&
	    strcmp(spec->network_mode, "bridge") != 0)
		return berth_error_set(err, BERTH_E_UNSUPPORTED,
				       "network mode \"%s\" is not supported by the nspawn backend",
				       spec->network_mode);
	if (spec->extra_hosts && spec->extra_hosts[0])
		return berth_error_set(err, BERTH_E_UNSUPPORTED,
				       "extra hosts are not supported by the nspawn backend");
	if (spec->hostname && (!*spec->hostname || strchr(spec->hostname, '/')))
		return berth_error_set(err, BERTH_E_INVALID, "invalid hostname \"%s\"",
				       spec->hostname);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const berth_mount *mt = &spec->mounts[i];

		if (!mt->source || mt->source[0] != '/' || !mt->destination ||
		    mt->destination[0] != '/' || strchr(mt->source, ':') ||
		    strchr(mt->destination, ':'))
			return berth_error_set(err, BERTH_E_INVALID,
					       "mount %s:%s: both paths must be absolute and "
					       "without ':'",
					       mt->source ? mt->source : "",
					       mt->destination ? mt->destination : "");
	}
	for (const char *const *e = spec->env; e && *e; e++)
		if (!strchr(*e, '=') || **e == '=')
			return berth_error_set(err, BERTH_E_INVALID,
					       "environment entry \"%s\" is not KEY=value", *e);
	return 0;
}

static struct nsp_record *record_from_spec(const berth_container_spec *spec)
{
	struct nsp_record *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->name = strdup(spec->name);
	r->berth_id = spec->berth_id ? strdup(spec->berth_id) : NULL;
	r->owner = spec->owner ? strdup(spec->owner) : NULL;
	r->image = strdup(spec->image ? spec->image : "");
	r->hostname = spec->hostname ? strdup(spec->hostname) : NULL;
	if (!r->name || (spec->berth_id && !r->berth_id) || (spec->owner && !r->owner) ||
	    !r->image || (spec->hostname && !r->hostname) ||
	    nsp_strv_dup(spec->cmd, &r->cmd) < 0 || (spec->cmd && !r->cmd) ||
	    nsp_strv_dup(spec->env, &r->env) < 0 || (spec->env && !r->env))
		goto fail;
	if (spec->n_mounts > 0) {
		r->binds = calloc(spec->n_mounts + 1, sizeof(*r->binds));
		if (!r->binds)
			goto fail;
		for (size_t i = 0; i < spec->n_mounts; i++)
			if (asprintf(&r->binds[i], "%s:%s", spec->mounts[i].source,
				     spec->mounts[i].destination) < 0) {
				r->binds[i] = NULL;
				goto fail;
			}
	}
	r->privileged = spec->privileged;
	r->resources = spec->resources;
	r->created_ns = nsp_now_ns();
	return r;
fail:
	nsp_record_free(r);
	return NULL;
}

int nsp_op_create(void *instance, const berth_container_spec *spec, unsigned flags,
		  char **native_id_out, berth_error *err)
{
	struct nspawn *n = instance;
	struct nsp_record *r = NULL, *old = NULL;
	berth_error e;
	char *id;

	BERTH_CHECK_FLAGS(flags, BERTH_CREATE_NO_PULL, err); /* never pulls anyway */
	if (check_spec(spec, err) < 0)
		return -1;
	berth_error_clear(&e);
	if (nsp_record_load(n, spec->name, &old, &e) == 0) {
		nsp_record_free(old);
		return berth_error_set(err, BERTH_E_CONFLICT, "the machine name %s is in use",
				       spec->name);
	}
	if (e.code != BERTH_E_NOT_FOUND) {
		*err = e;
		return -1;
	}
	r = record_from_spec(spec);
	id = strdup(spec->name);
	if (!r || !id) {
		nsp_record_free(r);
		free(id);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	if (nsp_rootfs_create(n, spec->name, r->image, err) < 0)
		goto fail;
	if (nsp_record_save(n, r, err) < 0) {
		nsp_rootfs_remove(n, spec->name, &e);
		goto fail;
	}
	nsp_record_free(r);
	*native_id_out = id;
	return 0;
fail:
	nsp_record_free(r);
	free(id);
	return -1;
}

/* The record, a bus connection and the unit's name for an op on an existing machine. */
struct op_ctx {
	struct nsp_record *rec;
	sd_bus *bus;
	char *unit;
};

static int op_begin(struct nspawn *n, const char *id, struct op_ctx *c, berth_error *err)
{
	memset(c, 0, sizeof(*c));
	if (!nsp_name_valid(id))
		return berth_error_set(err, BERTH_E_NOT_FOUND, "no such machine: %s", id);
	if (nsp_record_load(n, id, &c->rec, err) < 0)
		return -1;
	c->unit = nsp_unit_name(id);
	if (!c->unit) {
		nsp_record_free(c->rec);
		c->rec = NULL;
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	if (nsp_bus_open(n, &c->bus, err) < 0) {
		nsp_record_free(c->rec);
		free(c->unit);
		memset(c, 0, sizeof(*c));
		return -1;
	}
	return 0;
}

static void op_end(struct op_ctx *c)
{
	nsp_record_free(c->rec);
	sd_bus_flush_close_unref(c->bus);
	free(c->unit);
}

/* The start job ends when systemd has forked nspawn; the machine's init exists once
 * nspawn has registered it with machined. Waiting for that makes a start that returned
 * mean a running payload (and the pid inspect reports its init's). */
static void wait_registered(struct nspawn *n, struct op_ctx *c)
{
	struct nsp_unit_state st;
	berth_error e;

	for (int i = 0; i < n->timeout_s * 1000000 / KILL_WAIT_POLL_US; i++) {
		if (nsp_machine_leader(c->bus, c->rec->name) > 0)
			return;
		if (nsp_unit_state(c->bus, c->unit, &st, &e) < 0 || !nsp_unit_running(&st))
			return; /* ended already: its exit is reported as such */
		usleep(KILL_WAIT_POLL_US);
	}
}

int nsp_op_start(void *instance, const char *id, unsigned flags, berth_error *err)
{
	struct nspawn *n = instance;
	struct nsp_unit_state st;
	struct op_ctx c;
	int ret = -1;

	BERTH_CHECK_FLAGS(flags, 0, err);
	if (op_begin(n, id, &c, err) < 0)
		return -1;
	if (nsp_unit_state(c.bus, c.unit, &st, err) < 0)
		goto out;
	if (nsp_unit_running(&st)) {
		berth_error_set(err, BERTH_E_CONFLICT, "machine %s is already running (%s/%s)", id,
				st.active, st.sub);
		goto out;
	}
	if (nsp_unit_clear(n, c.bus, c.unit, err) < 0)
		goto out;
	c.rec->started_ns = nsp_now_ns();
	if (nsp_record_save(n, c.rec, err) < 0)
		goto out;
	if (nsp_unit_start(n, c.bus, c.rec, err) < 0)
		goto out;
	wait_registered(n, &c);
	ret = 0;
out:
	op_end(&c);
	return ret;
}

int nsp_op_kill(void *instance, const char *id, int signal, unsigned flags, berth_error *err)
{
	struct nspawn *n = instance;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	struct nsp_unit_state st;
	struct op_ctx c;
	int r, ret = -1;

	BERTH_CHECK_FLAGS(flags, BERTH_KILL_ALL, err);
	if (signal <= 0 || signal >= _NSIG)
		return berth_error_set(err, BERTH_E_INVALID, "invalid signal %d", signal);
	if (op_begin(n, id, &c, err) < 0)
		return -1;
	if (nsp_unit_state(c.bus, c.unit, &st, err) < 0)
		goto out;
	if (!nsp_unit_running(&st)) {
		berth_error_set(err, BERTH_E_CONFLICT, "machine %s is not running", id);
		goto out;
	}
	if (flags & BERTH_KILL_ALL)
		r = sd_bus_call_method(c.bus, SD_DEST, SD_PATH, SD_MANAGER, "KillUnit", &e, NULL,
				       "ssi", c.unit, "all", signal);
	else
		r = sd_bus_call_method(c.bus, MD_DEST, MD_PATH, MD_MANAGER, "KillMachine", &e, NULL,
				       "ssi", id, "leader", signal);
	if (r < 0) {
		nsp_bus_error(err, r, &e, flags & BERTH_KILL_ALL ? "KillUnit" : "KillMachine");
		/* the machine ended between the check and the call */
		if (err && err->code == BERTH_E_NOT_FOUND)
			berth_error_set(err, BERTH_E_CONFLICT, "machine %s is not running: %s", id,
					e.message ? e.message : "");
		goto out;
	}
	ret = 0;
out:
	sd_bus_error_free(&e);
	op_end(&c);
	return ret;
}

int nsp_op_update(void *instance, const char *id, const berth_update *update, unsigned flags,
		  berth_error *err)
{
	struct nspawn *n = instance;
	struct nsp_unit_state st;
	struct op_ctx c;
	int ret = -1;

	BERTH_CHECK_FLAGS(flags, 0, err);
	/* restart policies are the core's; only resources concern systemd */
	if (!(update->mask & BERTH_UPDATE_RESOURCES))
		return 0;
	if (op_begin(n, id, &c, err) < 0)
		return -1;
	if (nsp_unit_state(c.bus, c.unit, &st, err) < 0)
		goto out;
	if (nsp_unit_running(&st) && nsp_unit_set_memory(c.bus, c.unit, &update->resources, err) < 0)
		goto out;
	c.rec->resources = update->resources;
	ret = nsp_record_save(n, c.rec, err);
out:
	op_end(&c);
	return ret;
}

/* SIGKILL to every process of the unit, then waits until it no longer runs. */
static int kill_and_wait(struct nspawn *n, struct op_ctx *c, berth_error *err)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	struct nsp_unit_state st;
	int r;

	r = sd_bus_call_method(c->bus, SD_DEST, SD_PATH, SD_MANAGER, "KillUnit", &e, NULL, "ssi",
			       c->unit, "all", SIGKILL);
	if (r < 0 && !sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit") &&
	    !sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchProcess")) {
		nsp_bus_error(err, r, &e, "KillUnit");
		sd_bus_error_free(&e);
		return -1;
	}
	sd_bus_error_free(&e);
	for (int i = 0; i < n->timeout_s * 1000000 / KILL_WAIT_POLL_US; i++) {
		if (nsp_unit_state(c->bus, c->unit, &st, err) < 0)
			return -1;
		if (!nsp_unit_running(&st))
			return 0;
		usleep(KILL_WAIT_POLL_US);
	}
	return berth_error_set(err, BERTH_E_TIMEOUT, "machine %s did not end after SIGKILL",
			       c->rec->name);
}

int nsp_op_remove(void *instance, const char *id, unsigned flags, berth_error *err)
{
	struct nspawn *n = instance;
	struct nsp_unit_state st;
	struct op_ctx c;
	int ret = -1;

	BERTH_CHECK_FLAGS(flags, BERTH_REMOVE_FORCE, err);
	if (op_begin(n, id, &c, err) < 0)
		return -1;
	if (nsp_unit_state(c.bus, c.unit, &st, err) < 0)
		goto out;
	if (nsp_unit_running(&st)) {
		if (!(flags & BERTH_REMOVE_FORCE)) {
			berth_error_set(err, BERTH_E_CONFLICT,
					"machine %s is running: stop it first or force the removal",
					id);
			goto out;
		}
		if (kill_and_wait(n, &c, err) < 0)
			goto out;
	}
	if (nsp_unit_clear(n, c.bus, c.unit, err) < 0 || nsp_rootfs_remove(n, id, err) < 0 ||
	    nsp_record_delete(n, id, err) < 0)
		goto out;
	/* systemd has nothing left that could tell: the machine is gone now */
	{
		berth_event ev = { .size = sizeof(ev), .type = BERTH_EV_DESTROY, .native_id = id,
				   .berth_id = c.rec->berth_id, .time_ns = nsp_now_ns() };

		n->host->backend_event(n->handle, &ev);
	}
	ret = 0;
out:
	op_end(&c);
	return ret;
}
