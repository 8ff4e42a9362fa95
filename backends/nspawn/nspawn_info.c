/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd-nspawn backend: inspect and list. What a machine is comes from its record
 * (berth id, owner, name, image, limits); how it runs from its unit (ActiveState,
 * SubState, ExecMain*, Result) and machined (the container's init pid). A machine
 * without a unit was never started (CREATED) or its unit is gone with the systemd that
 * ran it (EXITED, exit status unknown).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nspawn.h"

static int dup_or_null(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

int nsp_fill_info(struct nspawn *n, sd_bus *bus, const struct nsp_record *r,
		  berth_container_info *info, berth_error *err)
{
	struct nsp_unit_state st;
	char *unit = nsp_unit_name(r->name);

	(void)n;
	if (!unit)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	if (nsp_unit_state(bus, unit, &st, err) < 0) {
		free(unit);
		return -1;
	}
	free(unit);
	if (dup_or_null(&info->native_id, r->name) < 0 || dup_or_null(&info->name, r->name) < 0 ||
	    dup_or_null(&info->berth_id, r->berth_id) < 0 ||
	    dup_or_null(&info->owner, r->owner) < 0 || dup_or_null(&info->image, r->image) < 0) {
		berth_container_info_release(info);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	info->resources = r->resources;
	info->created_ns = r->created_ns;
	info->started_ns = r->started_ns;
	if (!st.exists) {
		info->state = r->started_ns ? BERTH_RS_EXITED : BERTH_RS_CREATED;
		return 0;
	}
	if (st.start_us)
		info->started_ns = (int64_t)st.start_us * 1000;
	if (nsp_unit_running(&st)) {
		uint32_t leader = nsp_machine_leader(bus, r->name);

		info->state = BERTH_RS_RUNNING;
		info->pid = (int)(leader ? leader : st.main_pid);
		return 0;
	}
	info->state = BERTH_RS_EXITED;
	info->exit_code = nsp_unit_exit_code(&st);
	info->oom_killed = strcmp(st.result, "oom-kill") == 0;
	info->finished_ns = (int64_t)st.exit_us * 1000;
	if (strcmp(st.result, "success") != 0 && strcmp(st.result, "exit-code") != 0 &&
	    strcmp(st.result, "signal") != 0 && st.result[0] &&
	    (info->error = strdup(st.result)) == NULL) {
		berth_container_info_release(info);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	return 0;
}

int nsp_op_inspect(void *instance, const char *id, berth_container_info *info,
		   berth_error *err)
{
	struct nspawn *n = instance;
	struct nsp_record *r = NULL;
	sd_bus *bus = NULL;
	int ret;

	if (!nsp_name_valid(id))
		return berth_error_set(err, BERTH_E_NOT_FOUND, "no such machine: %s", id);
	if (nsp_record_load(n, id, &r, err) < 0)
		return -1;
	if (nsp_bus_open(n, &bus, err) < 0) {
		nsp_record_free(r);
		return -1;
	}
	ret = nsp_fill_info(n, bus, r, info, err);
	sd_bus_flush_close_unref(bus);
	nsp_record_free(r);
	return ret;
}

struct list_ctx {
	struct nspawn *n;
	sd_bus *bus;
	berth_list_cb cb;
	void *userdata;
	berth_error *err;
	bool failed;
};

static int list_one(void *ud, const char *name)
{
	struct list_ctx *l = ud;
	berth_container_info info;
	struct nsp_record *r = NULL;
	berth_error e;
	int ret;

	berth_error_clear(&e);
	if (nsp_record_load(l->n, name, &r, &e) < 0) {
		if (e.code == BERTH_E_NOT_FOUND)
			return 0; /* removed meanwhile */
		*l->err = e;
		l->failed = true;
		return -1;
	}
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	if (nsp_fill_info(l->n, l->bus, r, &info, l->err) < 0) {
		nsp_record_free(r);
		l->failed = true;
		return -1;
	}
	nsp_record_free(r);
	ret = l->cb(l->userdata, &info);
	berth_container_info_release(&info);
	return ret;
}

int nsp_op_list(void *instance, berth_list_cb cb, void *userdata, unsigned flags,
		berth_error *err)
{
	struct nspawn *n = instance;
	struct list_ctx l = { .n = n, .cb = cb, .userdata = userdata, .err = err };
	berth_error e;
	int ret;

	BERTH_CHECK_FLAGS(flags, 0, err);
	berth_error_clear(&e);
	if (nsp_bus_open(n, &l.bus, err) < 0)
		return -1;
	l.err = err ? err : &e;
	ret = nsp_record_each(n, list_one, &l, l.err);
	sd_bus_flush_close_unref(l.bus);
	if (l.failed)
		return -1;
	return ret;
}
