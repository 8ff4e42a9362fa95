/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd-nspawn backend: the transient service that runs a machine, through systemd's
 * and machined's D-Bus APIs (org.freedesktop.systemd1(5), org.freedesktop.machine1(5)).
 *
 * The unit berth-<name>.service runs `systemd-nspawn --keep-unit --register=yes` (nspawn
 * registers the machine with machined for the unit it runs in), with KillMode=mixed and
 * --kill-signal=SIGTERM (a StopUnit is Docker's stop: SIGTERM to the container's init,
 * SIGKILL to everything after TimeoutStopSec), RemainAfterExit=yes (the exit status stays
 * readable until the next start or the removal) and the memory limits as unit
 * properties. No Restart=: the core's restart manager enforces berth's policies.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nspawn.h"

#define CLEAR_POLL_US 20000

int nsp_subscribe(sd_bus *bus, berth_error *err)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &e, NULL, "");
	if (r < 0 && !sd_bus_error_has_name(&e, "org.freedesktop.systemd1.AlreadySubscribed")) {
		nsp_bus_error(err, r, &e, "subscribing to systemd's signals");
		sd_bus_error_free(&e);
		return -1;
	}
	sd_bus_error_free(&e);
	return 0;
}

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/* Reads one property of GetAll's a{sv} into st when it is one we use, else skips it. */
static int read_prop(sd_bus_message *m, const char *key, struct nsp_unit_state *st)
{
	static const struct {
		const char *key;
		size_t off, len;
	} strs[] = {
		{ "ActiveState", offsetof(struct nsp_unit_state, active), sizeof(st->active) },
		{ "SubState", offsetof(struct nsp_unit_state, sub), sizeof(st->sub) },
		{ "Result", offsetof(struct nsp_unit_state, result), sizeof(st->result) },
	};
	const char *s;
	int r;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strcmp(key, strs[i].key) == 0) {
			r = sd_bus_message_read(m, "v", "s", &s);
			if (r >= 0)
				copy_str((char *)st + strs[i].off, strs[i].len, s);
			return r;
		}
	if (strcmp(key, "ExecMainPID") == 0)
		return sd_bus_message_read(m, "v", "u", &st->main_pid);
	if (strcmp(key, "ExecMainCode") == 0)
		return sd_bus_message_read(m, "v", "i", &st->main_code);
	if (strcmp(key, "ExecMainStatus") == 0)
		return sd_bus_message_read(m, "v", "i", &st->main_status);
	if (strcmp(key, "ExecMainStartTimestamp") == 0)
		return sd_bus_message_read(m, "v", "t", &st->start_us);
	if (strcmp(key, "ExecMainExitTimestamp") == 0)
		return sd_bus_message_read(m, "v", "t", &st->exit_us);
	return sd_bus_message_skip(m, "v");
}

/* The properties of one interface of the unit at `path` (Properties.GetAll). */
static int read_props(sd_bus *bus, const char *path, const char *iface,
		      struct nsp_unit_state *st, sd_bus_error *e)
{
	sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, SD_DEST, path, "org.freedesktop.DBus.Properties", "GetAll",
			       e, &reply, "s", iface);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		const char *key;

		r = sd_bus_message_read(reply, "s", &key);
		if (r >= 0)
			r = read_prop(reply, key, st);
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
	}
	sd_bus_message_unref(reply);
	return r;
}

int nsp_unit_state(sd_bus *bus, const char *unit, struct nsp_unit_state *st,
		   berth_error *err)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path;
	char *p = NULL;
	int r;

	memset(st, 0, sizeof(*st));
	r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s",
			       unit);
	if (r < 0) {
		if (sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
			sd_bus_error_free(&e);
			return 0;
		}
		nsp_bus_error(err, r, &e, unit);
		sd_bus_error_free(&e);
		return -1;
	}
	r = sd_bus_message_read(reply, "o", &path);
	if (r >= 0 && !(p = strdup(path)))
		r = -ENOMEM;
	sd_bus_message_unref(reply);
	if (r < 0)
		return nsp_bus_error(err, r, NULL, unit);
	r = read_props(bus, p, SD_UNIT_IF, st, &e);
	if (r >= 0)
		r = read_props(bus, p, SD_SERVICE_IF, st, &e);
	free(p);
	if (r < 0) {
		/* unloaded between the two calls */
		if (sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
		    sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_INTERFACE)) {
			sd_bus_error_free(&e);
			memset(st, 0, sizeof(*st));
			return 0;
		}
		nsp_bus_error(err, r, &e, unit);
		sd_bus_error_free(&e);
		return -1;
	}
	st->exists = true;
	return 0;
}

bool nsp_unit_running(const struct nsp_unit_state *st)
{
	if (!st->exists)
		return false;
	if (strcmp(st->active, "activating") == 0 || strcmp(st->active, "deactivating") == 0 ||
	    strcmp(st->active, "reloading") == 0)
		return true;
	/* RemainAfterExit: "active" + "exited" once the payload has ended */
	return strcmp(st->active, "active") == 0 && strcmp(st->sub, "exited") != 0;
}

int nsp_unit_exit_code(const struct nsp_unit_state *st)
{
	if (st->main_code == CLD_KILLED || st->main_code == CLD_DUMPED)
		return 128 + st->main_status;
	return st->main_status;
}

static uint64_t mem_max(const berth_resources *r)
{
	return r->memory > 0 ? (uint64_t)r->memory : UINT64_MAX;
}

/* berth's memory_swap is memory + swap (Docker); systemd's MemorySwapMax is swap only. */
static uint64_t swap_max(const berth_resources *r)
{
	if (r->memory_swap > 0 && r->memory > 0)
		return r->memory_swap > r->memory ? (uint64_t)(r->memory_swap - r->memory) : 0;
	return UINT64_MAX;
}

int nsp_append_memory(sd_bus_message *m, const berth_resources *r, bool all)
{
	int ret = 0;

	if (all || r->memory > 0)
		ret = sd_bus_message_append(m, "(sv)", "MemoryMax", "t", mem_max(r));
	if (ret >= 0 && (all || r->memory_reservation > 0))
		ret = sd_bus_message_append(m, "(sv)", "MemoryLow", "t",
					    (uint64_t)(r->memory_reservation > 0 ?
							       r->memory_reservation : 0));
	if (ret >= 0 && (all || swap_max(r) != UINT64_MAX))
		ret = sd_bus_message_append(m, "(sv)", "MemorySwapMax", "t", swap_max(r));
	return ret;
}

int nsp_unit_set_memory(sd_bus *bus, const char *unit, const berth_resources *res,
			berth_error *err)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
					   "SetUnitProperties");
	if (r >= 0)
		r = sd_bus_message_append(m, "sb", unit, 1);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = nsp_append_memory(m, res, true);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, &e, NULL);
	sd_bus_message_unref(m);
	if (r < 0) {
		nsp_bus_error(err, r, &e, "setting the memory limits");
		sd_bus_error_free(&e);
		return -1;
	}
	return 0;
}

/* ---- jobs ---------------------------------------------------------------------------- */

struct job_wait {
	char *job;       /* the job's object path, once known */
	char result[32]; /* JobRemoved's result: done, failed, canceled, ... */
	bool done;
	/* JobRemoved signals that came before the job's path was known */
	char *early[8];
	char early_result[8][32];
	size_t n_early;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct job_wait *w = userdata;
	const char *path, *unit, *result;
	uint32_t id;

	(void)ret_error;
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (w->job) {
		if (strcmp(path, w->job) == 0) {
			copy_str(w->result, sizeof(w->result), result);
			w->done = true;
		}
	} else if (w->n_early < 8) {
		w->early[w->n_early] = strdup(path);
		copy_str(w->early_result[w->n_early], sizeof(w->early_result[0]), result);
		w->n_early++;
	}
	return 0;
}

static void job_known(struct job_wait *w, const char *job)
{
	w->job = strdup(job);
	for (size_t i = 0; i < w->n_early; i++) {
		if (w->job && w->early[i] && strcmp(w->early[i], w->job) == 0) {
			copy_str(w->result, sizeof(w->result), w->early_result[i]);
			w->done = true;
		}
		free(w->early[i]);
		w->early[i] = NULL;
	}
	w->n_early = 0;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

/* Processes the connection until the job has been removed or timeout_us passed. */
static int job_wait(sd_bus *bus, struct job_wait *w, uint64_t timeout_us, berth_error *err)
{
	uint64_t end = mono_us() + timeout_us;

	while (!w->done) {
		uint64_t now;
		int r = sd_bus_process(bus, NULL);

		if (r < 0)
			return nsp_bus_error(err, r, NULL, "waiting for systemd's job");
		if (w->done)
			break;
		if (r > 0)
			continue;
		now = mono_us();
		if (now >= end)
			return berth_error_set(err, BERTH_E_TIMEOUT,
					       "systemd's job %s did not finish in time", w->job);
		r = sd_bus_wait(bus, end - now);
		if (r < 0)
			return nsp_bus_error(err, r, NULL, "waiting for systemd's job");
	}
	return 0;
}

static void job_wait_free(struct job_wait *w)
{
	free(w->job);
	for (size_t i = 0; i < w->n_early; i++)
		free(w->early[i]);
}

/* ---- start ---------------------------------------------------------------------------- */

static int append_exec(sd_bus_message *m, const struct nspawn *n, const struct nsp_record *rec)
{
	char *rootfs = nsp_rootfs_path(n, rec->name);
	char *arg = NULL;
	int r;

	if (!rootfs)
		return -ENOMEM;
	r = sd_bus_message_open_container(m, 'r', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "ExecStart");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "a(sasb)");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sasb)");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'r', "sasb");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", NSP_NSPAWN_PATH);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "s");
	if (r >= 0)
		r = sd_bus_message_append(m, "sssss", NSP_NSPAWN_PATH, "--quiet", "--keep-unit",
					  "--register=yes", "--console=pipe");
#define APPEND_ARG(fmt, ...)                                                                \
	do {                                                                                \
		if (r < 0)                                                                  \
			break;                                                              \
		if (asprintf(&arg, fmt, __VA_ARGS__) < 0) {                                 \
			r = -ENOMEM;                                                        \
			break;                                                              \
		}                                                                           \
		r = sd_bus_message_append(m, "s", arg);                                     \
		free(arg);                                                                  \
	} while (0)
	APPEND_ARG("--machine=%s", rec->name);
	APPEND_ARG("--directory=%s", rootfs);
	APPEND_ARG("--kill-signal=%s", "SIGTERM");
	if (rec->hostname)
		APPEND_ARG("--hostname=%s", rec->hostname);
	for (char **e = rec->env; e && *e; e++)
		APPEND_ARG("--setenv=%s", *e);
	for (char **b = rec->binds; b && *b; b++)
		APPEND_ARG("--bind=%s", *b);
#undef APPEND_ARG
	if (r >= 0 && rec->privileged)
		r = sd_bus_message_append(m, "s", "--capability=all");
	if (r >= 0 && rec->cmd && rec->cmd[0]) {
		r = sd_bus_message_append(m, "s", "--");
		for (char **c = rec->cmd; r >= 0 && *c; c++)
			r = sd_bus_message_append(m, "s", *c);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m); /* as */
	if (r >= 0)
		r = sd_bus_message_append(m, "b", 0); /* a failure is the payload's exit code */
	if (r >= 0)
		r = sd_bus_message_close_container(m); /* (sasb) */
	if (r >= 0)
		r = sd_bus_message_close_container(m); /* a(sasb) */
	if (r >= 0)
		r = sd_bus_message_close_container(m); /* v */
	if (r >= 0)
		r = sd_bus_message_close_container(m); /* (sv) */
	free(rootfs);
	return r;
}

int nsp_unit_start(struct nspawn *n, sd_bus *bus, const struct nsp_record *rec,
		   berth_error *err)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_slot *slot = NULL;
	struct job_wait w = { 0 };
	char *unit = nsp_unit_name(rec->name), *desc = NULL;
	const char *job;
	int r, ret = -1;

	if (!unit || asprintf(&desc, "berth container %s (%s)", rec->name,
			      rec->image ? rec->image : "") < 0) {
		desc = NULL;
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	if (nsp_subscribe(bus, err) < 0)
		goto out;
	r = sd_bus_match_signal(bus, &slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
				on_job_removed, &w);
	if (r < 0) {
		nsp_bus_error(err, r, NULL, "watching systemd's jobs");
		goto out;
	}
	r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
					   "StartTransientUnit");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s", desc,
					  "KillMode", "s", "mixed", "KillSignal", "i", SIGTERM,
					  "RemainAfterExit", "b", 1);
	if (r >= 0)
		r = nsp_append_memory(m, &rec->resources, false);
	if (r >= 0)
		r = append_exec(m, n, rec);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "a(sa(sv))", 0);
	if (r < 0) {
		nsp_bus_error(err, r, NULL, "building StartTransientUnit");
		goto out;
	}
	r = sd_bus_call(bus, m, 0, &e, &reply);
	if (r < 0) {
		nsp_bus_error(err, r, &e, "starting the machine's unit");
		if (err && err->code == BERTH_E_CONFLICT)
			berth_error_set(err, BERTH_E_CONFLICT, "%s is already running: %s",
					rec->name, e.message ? e.message : "");
		goto out;
	}
	r = sd_bus_message_read(reply, "o", &job);
	if (r < 0) {
		nsp_bus_error(err, r, NULL, "StartTransientUnit's reply");
		goto out;
	}
	job_known(&w, job);
	if (!w.job) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	if (job_wait(bus, &w, nsp_timeout_us(n), err) < 0)
		goto out;
	if (strcmp(w.result, "done") != 0) {
		berth_error_set(err, BERTH_E_RUNTIME, "systemd could not start %s: job %s",
				unit, w.result);
		goto out;
	}
	ret = 0;
out:
	sd_bus_slot_unref(slot);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	job_wait_free(&w);
	free(unit);
	free(desc);
	return ret;
}

/* ---- clearing a unit that has ended ----------------------------------------------------- */

int nsp_unit_clear(struct nspawn *n, sd_bus *bus, const char *unit, berth_error *err)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	struct nsp_unit_state st;
	uint64_t end = mono_us() + nsp_timeout_us(n);
	int r;

	for (;;) {
		if (nsp_unit_state(bus, unit, &st, err) < 0)
			return -1;
		if (!st.exists)
			return 0;
		if (nsp_unit_running(&st))
			return berth_error_set(err, BERTH_E_CONFLICT, "%s is running", unit);
		/* active (exited) needs a stop, failed a reset; then systemd unloads it */
		if (strcmp(st.active, "active") == 0) {
			r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit", &e,
					       NULL, "ss", unit, "replace");
			if (r < 0 && !sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
				nsp_bus_error(err, r, &e, "stopping the ended unit");
				sd_bus_error_free(&e);
				return -1;
			}
			sd_bus_error_free(&e);
		} else if (strcmp(st.active, "failed") == 0) {
			r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "ResetFailedUnit",
					       &e, NULL, "s", unit);
			if (r < 0 && !sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
				nsp_bus_error(err, r, &e, "resetting the failed unit");
				sd_bus_error_free(&e);
				return -1;
			}
			sd_bus_error_free(&e);
		}
		if (mono_us() >= end)
			return berth_error_set(err, BERTH_E_TIMEOUT,
					       "systemd did not unload %s in time (%s/%s)", unit,
					       st.active, st.sub);
		usleep(CLEAR_POLL_US);
	}
}

uint32_t nsp_machine_leader(sd_bus *bus, const char *name)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path;
	uint32_t leader = 0;
	int r;

	r = sd_bus_call_method(bus, MD_DEST, MD_PATH, MD_MANAGER, "GetMachine", &e, &reply, "s",
			       name);
	if (r >= 0 && sd_bus_message_read(reply, "o", &path) >= 0) {
		r = sd_bus_get_property_trivial(bus, MD_DEST, path, "org.freedesktop.machine1.Machine",
						"Leader", &e, 'u', &leader);
		if (r < 0)
			leader = 0;
	}
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return leader;
}
