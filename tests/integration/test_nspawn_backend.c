/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration test of the systemd-nspawn backend module against a real (private) systemd
 * with its system bus and systemd-machined.
 *
 *   ./tests/integration/test_nspawn_backend BUILD/modules/nspawn.so
 *
 * Starts tests/integration/lib/systemd.sh when no private systemd runs under
 * $BERTH_TEST_RUN and stops it at the end when it started it (77 = skipped when systemd,
 * systemd-nspawn or dbus are not installed). Prints one "ok - ..." / "not ok - ..." line
 * per case and exits 0 only when every case passed.
 *
 * What the module does is checked independently: through systemctl and machinectl inside
 * the private systemd (units, properties, machines and their init's pid), the cgroup v1
 * files on the host (memory limits) and on disk (root file systems,
 * records). Every machine it creates is removed at the end, also after failures.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <berth/berth.h>

#include "itest.h"

#ifndef BERTH_TOP_SRCDIR
#define BERTH_TOP_SRCDIR "."
#endif

#define MB (1024LL * 1024LL)

static char peer[512];
static char bus[256], cgroup[256], images[256], image[64];
static char machines_dir[256], state_dir[256];

/* ---- independent checks ---------------------------------------------------------------- */

/* run_capture(), without the trailing newline of a one-line answer. */
static int run_line(char *const argv[], char **out)
{
	int rc = run_capture(argv, out);
	size_t len = *out ? strlen(*out) : 0;

	if (len && (*out)[len - 1] == '\n')
		(*out)[len - 1] = '\0';
	return rc;
}

/* A property of a unit, as systemctl inside the private systemd shows it; malloc()ed. */
static char *unit_prop(const char *name, const char *prop)
{
	char unit[128], p[64], *out = NULL;
	char *argv[] = { "/bin/sh", peer, "exec", "systemctl", "show", "--value", p, unit, NULL };

	snprintf(unit, sizeof(unit), "berth-%s.service", name);
	snprintf(p, sizeof(p), "--property=%s", prop);
	if (run_line(argv, &out) != 0) {
		free(out);
		return strdup("(systemctl failed)");
	}
	return out;
}

static bool unit_prop_is(const char *name, const char *prop, const char *want)
{
	char *v = unit_prop(name, prop);
	bool ok = v && strcmp(v, want) == 0;

	if (!ok)
		diag("berth-%s.service %s=%s, want %s", name, prop, v ? v : "?", want);
	free(v);
	return ok;
}

/* machinectl show NAME -p PROP --value; NULL when machined does not know it. */
static char *machine_prop(const char *name, const char *prop)
{
	char p[64], *out = NULL;
	char *argv[] = { "/bin/sh", peer, "exec", "machinectl", "show", "--value", p,
			 (char *)name, NULL };

	snprintf(p, sizeof(p), "--property=%s", prop);
	if (run_line(argv, &out) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static long long cgroup_limit(const char *name)
{
	return read_number("%s/system.slice/berth-%s.service/memory.limit_in_bytes", cgroup,
			   name);
}

static bool path_exists(const char *dir, const char *name, const char *suffix)
{
	char path[1024];
	int len = snprintf(path, sizeof(path), "%s/%s%s", dir, name, suffix);

	return len > 0 && (size_t)len < sizeof(path) && access(path, F_OK) == 0;
}

static bool reachable_is(const struct testhost_record *r, const void *arg)
{
	return r->reachable == *(const bool *)arg;
}

static bool read_peer_env(const char *path)
{
	const struct env_var vars[] = {
		{ "BERTH_TEST_SYSTEMD_BUS", bus, sizeof(bus) },
		{ "BERTH_TEST_SYSTEMD_CGROUP", cgroup, sizeof(cgroup) },
		{ "BERTH_TEST_NSPAWN_IMAGES", images, sizeof(images) },
		{ "BERTH_TEST_NSPAWN_IMAGE", image, sizeof(image) },
		{ NULL, NULL, 0 },
	};

	return read_env(path, vars, NULL) && bus[0] && cgroup[0] && images[0] && image[0];
}

/* ---- module helpers ------------------------------------------------------------------- */

static void remove_machine(const char *id)
{
	berth_error err;

	if (inst)
		drv->remove(inst, id, BERTH_REMOVE_FORCE, &err);
}

static int info_of(const char *id, berth_container_info *info)
{
	berth_error err;

	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return drv->inspect(inst, id, info, &err);
}

static void *open_real(berth_error *err)
{
	char settings[1200];

	snprintf(settings, sizeof(settings),
		 "bus = \"%s\"; machines_dir = \"%s\"; images_dir = \"%s\"; state_dir = \"%s\"; "
		 "timeout = 20;",
		 bus, machines_dir, images, state_dir);
	return open_instance(settings, err);
}

/* ---- cases ---------------------------------------------------------------------------- */

static void case_settings(void)
{
	static const struct bad_setting bad[] = {
		{ "timeout = 0;", "timeout" },
		{ "machines_dir = \"machines\";", "machines_dir" },
		{ "images_dir = \"\";", "images_dir" },
		{ "state_dir = \"rel/state\";", "state_dir" },
		{ "bus = \"\";", "bus" },
	};

	case_begin();
	expect_settings_refused(bad, sizeof(bad) / sizeof(bad[0]));
	case_end("settings are validated in open() and name the key");
}

static void case_down_at_open(void)
{
	struct testhost_record *r;
	char settings[1200], missing[256], sd[300];
	berth_error err;
	double t0;
	void *i;

	case_begin();
	drain();
	snprintf(missing, sizeof(missing), "/tmp/berth-test-no-bus-%d.sock", (int)getpid());
	snprintf(sd, sizeof(sd), "%s-down", state_dir);
	snprintf(settings, sizeof(settings),
		 "bus = \"unix:path=%s\"; machines_dir = \"%s\"; images_dir = \"%s\"; "
		 "state_dir = \"%s\"; timeout = 2;", missing, machines_dir, images, sd);
	i = open_instance(settings, &err);
	EXPECT(i != NULL, "open with the bus down failed: %s", err.message);
	if (!i)
		goto out;
	r = testhost_wait(th, TESTHOST_STATUS, NULL, NULL, 1000);
	EXPECT(r && !r->reachable, "no backend_status(false) from open()");
	if (r) {
		EXPECT(r->text && strstr(r->text, missing), "status text: %s", r->text);
		testhost_record_free(r);
	}
	EXPECT(drv->watch(i, &err) == 0, "watch: %s", err.message);
	EXPECT(drv->ping(i, NULL, &err) < 0 && err.code == BERTH_E_UNAVAILABLE, "ping: %d %s",
	       err.code, err.message);
	diag("ping while down: %s", err.message);
	{
		berth_container_info info = { .size = sizeof(info) };

		/* no record: NOT_FOUND comes before the bus is needed */
		EXPECT(drv->inspect(i, "nothing", &info, &err) < 0 &&
			       err.code == BERTH_E_NOT_FOUND, "inspect: %d", err.code);
	}
	EXPECT(drv->list(i, NULL, NULL, 0, &err) < 0 && err.code == BERTH_E_UNAVAILABLE,
	       "list while down: %d", err.code);
	usleep(300 * 1000);
	t0 = mono_ms();
	drv->close(i);
	EXPECT(mono_ms() - t0 < 500, "close() took %.0f ms", mono_ms() - t0);
out:
	drain();
	case_end("open() succeeds with the bus down: backend_status(false), ops UNAVAILABLE");
}

static void case_open(void)
{
	char *version = NULL;
	berth_error err;
	uint64_t caps;

	case_begin();
	inst = open_real(&err);
	EXPECT(inst != NULL, "open: %s", err.message);
	if (!inst) {
		case_end("open, ping, capabilities, watch");
		return;
	}
	EXPECT(drv->ping(inst, &version, &err) == 0 && version && strstr(version, "systemd 2") &&
		       strstr(version, "(nspawn)"),
	       "ping: %s", version ? version : err.message);
	diag("ping: %s", version ? version : "-");
	free(version);
	caps = drv->capabilities(inst);
	EXPECT(caps == (BERTH_CAP_LIVE_UPDATE | BERTH_CAP_EVENTS), "capabilities 0x%llx",
	       (unsigned long long)caps);
	EXPECT(!drv->stop && !drv->pause && !drv->resume && !drv->rename,
	       "stop, pause, resume and rename are the core's (or unsupported)");
	EXPECT(drv->watch(inst, &err) == 0, "watch: %s", err.message);
	usleep(300 * 1000);
	EXPECT(testhost_pending(th, TESTHOST_STATUS) == 0, "unexpected status records");
	drain();
	case_end("open, ping, capabilities (live update, events), watch");
}

static const char *const main_name = "bt-main";

static void case_create(void)
{
	static const char *const env[] = { "FOO=bar", NULL };
	berth_container_info info;
	berth_container_spec spec;
	berth_error err;
	char *id;

	case_begin();
	make_spec(&spec, "10000000-0000-4000-8000-000000000001", main_name, loop_cmd);
	spec.env = env;
	spec.hostname = "bthost";
	spec.resources.memory = 64 * MB;
	spec.resources.memory_reservation = 32 * MB;
	spec.resources.memory_swap = 128 * MB;
	id = create(&spec, 0, &err);
	EXPECT(id && strcmp(id, main_name) == 0, "create: %s", id ? id : err.message);
	free(id);
	EXPECT(path_exists(machines_dir, main_name, "/bin/busybox"),
	       "no root file system in %s/%s", machines_dir, main_name);
	EXPECT(path_exists(machines_dir, main_name, "/usr/lib/os-release"), "no os-release");
	EXPECT(path_exists(state_dir, main_name, ".json"), "no record in %s", state_dir);
	EXPECT(unit_prop_is(main_name, "LoadState", "not-found"), "a unit exists before start");
	EXPECT(info_of(main_name, &info) == 0, "inspect failed");
	EXPECT(info.state == BERTH_RS_CREATED, "state %d", info.state);
	EXPECT(info.berth_id && strcmp(info.berth_id, spec.berth_id) == 0, "berth_id %s",
	       info.berth_id ? info.berth_id : "(null)");
	EXPECT(info.owner && strcmp(info.owner, "test:nspawn") == 0, "owner");
	EXPECT(info.name && strcmp(info.name, main_name) == 0, "name");
	EXPECT(info.image && strcmp(info.image, image) == 0, "image");
	EXPECT(info.resources.memory == 64 * MB && info.resources.memory_reservation == 32 * MB &&
		       info.resources.memory_swap == 128 * MB, "resources");
	EXPECT(info.created_ns > 0 && info.started_ns == 0, "times");
	berth_container_info_release(&info);
	case_end("create: root file system from the image tree, record, no unit, CREATED");
}

static void case_create_refused(void)
{
	berth_port_mapping port = { "tcp", "0.0.0.0", 8080, 8080, 80 };
	berth_container_spec spec;
	berth_error err;
	char *id;

	case_begin();
	make_spec(&spec, "10000000-0000-4000-8000-000000000002", "bad_name", loop_cmd);
	id = create(&spec, 0, &err);
	EXPECT(!id && err.code == BERTH_E_INVALID && strstr(err.message, "machine name"),
	       "underscore: %s", id ? "accepted" : err.message);
	free(id);
	make_spec(&spec, "10000000-0000-4000-8000-000000000002", main_name, loop_cmd);
	id = create(&spec, 0, &err);
	EXPECT(!id && err.code == BERTH_E_CONFLICT, "duplicate: %s", id ? "accepted" : err.message);
	free(id);
	make_spec(&spec, "10000000-0000-4000-8000-000000000002", "bt-noimage", loop_cmd);
	spec.image = "localhost/no-such-image:1";
	id = create(&spec, 0, &err);
	EXPECT(!id && err.code == BERTH_E_NOT_FOUND && strstr(err.message, "no-such-image"),
	       "missing image: %s", id ? "accepted" : err.message);
	diag("missing image: %s", err.message);
	free(id);
	EXPECT(!path_exists(machines_dir, "bt-noimage", "") &&
		       !path_exists(state_dir, "bt-noimage", ".json"), "left-overs of a failed create");
	make_spec(&spec, "10000000-0000-4000-8000-000000000002", "bt-ports", loop_cmd);
	spec.ports = &port;
	spec.n_ports = 1;
	id = create(&spec, 0, &err);
	EXPECT(!id && err.code == BERTH_E_UNSUPPORTED, "ports: %s", id ? "accepted" : err.message);
	free(id);
	case_end("create refuses bad names (INVALID), duplicates (CONFLICT), missing images "
		 "(NOT_FOUND), ports (UNSUPPORTED)");
}

static void case_start(void)
{
	berth_container_info info;
	berth_error err;
	char *leader, *v;

	case_begin();
	drain();
	EXPECT(drv->start(inst, main_name, 0, &err) == 0, "start: %s", err.message);
	expect_event(BERTH_EV_START, main_name, NULL, "start");
	EXPECT(info_of(main_name, &info) == 0, "inspect");
	EXPECT(info.state == BERTH_RS_RUNNING, "state %d", info.state);
	EXPECT(info.started_ns > 0, "started_ns");
	/* machined's pid namespace is the private systemd's: compare with what it says */
	leader = machine_prop(main_name, "Leader");
	EXPECT(leader && atoi(leader) > 0 && atoi(leader) == info.pid,
	       "machine leader %s, inspect pid %d", leader ? leader : "(unknown)", info.pid);
	free(leader);
	v = machine_prop(main_name, "Unit");
	EXPECT(v && strcmp(v, "berth-bt-main.service") == 0, "machine's unit %s", v ? v : "-");
	free(v);
	berth_container_info_release(&info);
	EXPECT(unit_prop_is(main_name, "ActiveState", "active"), "unit not active");
	EXPECT(unit_prop_is(main_name, "Restart", "no"), "Restart= must stay the core's");
	EXPECT(unit_prop_is(main_name, "MemoryMax", "67108864"), "MemoryMax");
	EXPECT(unit_prop_is(main_name, "MemoryLow", "33554432"), "MemoryLow");
	EXPECT(unit_prop_is(main_name, "MemorySwapMax", "67108864"), "MemorySwapMax = swap only");
	EXPECT(cgroup_limit(main_name) == 64 * MB, "memory.limit_in_bytes %lld",
	       cgroup_limit(main_name));
	v = unit_prop(main_name, "ExecStart");
	EXPECT(v && strstr(v, "--setenv=FOO=bar") && strstr(v, "--hostname=bthost") &&
		       strstr(v, "--register=yes") && strstr(v, "--keep-unit"),
	       "ExecStart %s", v ? v : "-");
	free(v);
	EXPECT(drv->start(inst, main_name, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "second start: %d %s", err.code, err.message);
	case_end("start: transient unit running systemd-nspawn, machine registered, limits in "
		 "the unit and its cgroup, START event, second start CONFLICT");
}

static void case_update_live(void)
{
	berth_update up;
	berth_error err;

	case_begin();
	memset(&up, 0, sizeof(up));
	up.size = sizeof(up);
	up.mask = BERTH_UPDATE_RESOURCES;
	up.resources.memory = 96 * MB;
	up.resources.memory_reservation = 48 * MB;
	up.resources.memory_swap = -1;
	up.previous.memory = 64 * MB;
	up.running = true;
	EXPECT(drv->update(inst, main_name, &up, 0, &err) == 0, "update: %s", err.message);
	EXPECT(cgroup_limit(main_name) == 96 * MB, "memory.limit_in_bytes %lld",
	       cgroup_limit(main_name));
	EXPECT(unit_prop_is(main_name, "MemoryMax", "100663296"), "MemoryMax");
	EXPECT(unit_prop_is(main_name, "MemoryLow", "50331648"), "MemoryLow");
	EXPECT(unit_prop_is(main_name, "MemorySwapMax", "infinity"), "MemorySwapMax");
	{
		berth_container_info info;

		EXPECT(info_of(main_name, &info) == 0 && info.resources.memory == 96 * MB &&
			       info.resources.memory_swap == -1, "stored limits");
		berth_container_info_release(&info);
	}
	case_end("update of a running machine: SetUnitProperties, visible in its cgroup");
}

static void case_kill(void)
{
	berth_container_info info;
	berth_error err;
	int code;

	case_begin();
	drain();
	EXPECT(drv->kill(inst, main_name, SIGUSR1, 0, &err) == 0, "kill: %s", err.message);
	code = expect_event(BERTH_EV_EXIT, main_name, NULL, "exit");
	EXPECT(code == 7, "exit code %d, want 7 (the payload's USR1 trap)", code);
	EXPECT(info_of(main_name, &info) == 0, "inspect");
	EXPECT(info.state == BERTH_RS_EXITED && info.exit_code == 7 && !info.oom_killed &&
		       info.pid == 0 && info.finished_ns >= info.started_ns,
	       "state %d exit %d", info.state, info.exit_code);
	berth_container_info_release(&info);
	EXPECT(drv->kill(inst, main_name, SIGTERM, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "kill of an exited machine: %d %s", err.code, err.message);
	EXPECT(drv->kill(inst, "bt-unknown", SIGTERM, 0, &err) < 0 &&
		       err.code == BERTH_E_NOT_FOUND, "kill unknown: %d", err.code);
	case_end("kill(SIGUSR1) reaches the machine's init: EXIT 7, EXITED; then CONFLICT");
}

static void case_restart_kill_all(void)
{
	berth_update up;
	berth_error err;
	int code;

	case_begin();
	drain();
	memset(&up, 0, sizeof(up));
	up.size = sizeof(up);
	up.mask = BERTH_UPDATE_RESOURCES;
	up.resources.memory = 80 * MB;
	EXPECT(drv->update(inst, main_name, &up, 0, &err) == 0, "stopped update: %s", err.message);
	EXPECT(drv->start(inst, main_name, 0, &err) == 0, "start again: %s", err.message);
	expect_event(BERTH_EV_START, main_name, NULL, "start");
	EXPECT(state_of(main_name) == BERTH_RS_RUNNING, "not running");
	EXPECT(cgroup_limit(main_name) == 80 * MB, "stored limit not applied: %lld",
	       cgroup_limit(main_name));
	EXPECT(drv->kill(inst, main_name, SIGKILL, BERTH_KILL_ALL, &err) == 0, "kill all: %s",
	       err.message);
	code = expect_event(BERTH_EV_EXIT, main_name, NULL, "exit");
	EXPECT(code == 137, "exit code %d, want 137", code);
	EXPECT(state_of(main_name) == BERTH_RS_EXITED, "not exited");
	case_end("update of a stopped machine applies at the next start; kill(ALL, SIGKILL) "
		 "-> EXIT 137");
}

static void case_own_exit_and_tar(void)
{
	static const char *const cmd[] = { "/bin/sh", "-c", "exit 5", NULL };
	berth_container_info info;
	berth_container_spec spec;
	berth_error err;
	char *id;
	int code;

	case_begin();
	drain();
	make_spec(&spec, "10000000-0000-4000-8000-000000000003", "bt-tar", cmd);
	spec.image = "localhost/busybox-tar:latest"; /* images_dir/busybox-tar.tar */
	id = create(&spec, 0, &err);
	EXPECT(id != NULL, "create from the tar: %s", err.message);
	free(id);
	EXPECT(path_exists(machines_dir, "bt-tar", "/bin/busybox"), "tar not unpacked");
	EXPECT(drv->start(inst, "bt-tar", 0, &err) == 0, "start: %s", err.message);
	code = expect_event(BERTH_EV_EXIT, "bt-tar", NULL, "exit");
	EXPECT(code == 5, "exit code %d", code);
	EXPECT(info_of("bt-tar", &info) == 0 && info.state == BERTH_RS_EXITED &&
		       info.exit_code == 5, "inspect: state %d code %d", info.state, info.exit_code);
	berth_container_info_release(&info);
	EXPECT(unit_prop_is("bt-tar", "ExecMainStatus", "5"), "ExecMainStatus");
	case_end("a machine from a tar image that exits by itself: EXIT 5, EXITED 5");
}

static int list_cb(void *ud, const berth_container_info *info)
{
	int *count = ud;

	if (info->berth_id && strncmp(info->berth_id, "10000000-", 9) == 0 && info->native_id)
		(*count)++;
	return 0;
}

static void case_list_reopen(void)
{
	berth_container_info info = { .size = sizeof(info) };
	berth_error err;
	void *again;
	int count = 0;

	case_begin();
	EXPECT(drv->list(inst, list_cb, &count, 0, &err) == 0, "list: %s", err.message);
	EXPECT(count == 2, "listed %d of ours, want 2", count);
	/* another instance on the same state dir: what a restarted berthd sees */
	again = open_real(&err);
	EXPECT(again != NULL, "re-open: %s", err.message);
	if (again) {
		count = 0;
		EXPECT(drv->list(again, list_cb, &count, 0, &err) == 0, "list: %s", err.message);
		EXPECT(count == 2, "after re-open: %d", count);
		EXPECT(drv->inspect(again, "bt-tar", &info, &err) == 0 &&
			       info.state == BERTH_RS_EXITED && info.exit_code == 5 &&
			       info.berth_id &&
			       strcmp(info.berth_id, "10000000-0000-4000-8000-000000000003") == 0,
		       "inspect after re-open");
		berth_container_info_release(&info);
		drv->close(again);
	}
	EXPECT(drv->inspect(inst, "bt-unknown", &info, &err) < 0 && err.code == BERTH_E_NOT_FOUND,
	       "inspect unknown: %d", err.code);
	case_end("list reports every record with its berth id, also from a new instance");
}

static void case_remove(void)
{
	struct testhost_record *r;
	berth_error err;

	case_begin();
	drain();
	EXPECT(drv->start(inst, main_name, 0, &err) == 0, "start: %s", err.message);
	expect_event(BERTH_EV_START, main_name, NULL, "start");
	EXPECT(drv->remove(inst, main_name, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "remove running without force: %d %s", err.code, err.message);
	EXPECT(state_of(main_name) == BERTH_RS_RUNNING, "not running after a refused remove");
	EXPECT(drv->remove(inst, main_name, BERTH_REMOVE_FORCE, &err) == 0, "force remove: %s",
	       err.message);
	EXPECT(state_of(main_name) == -1, "still inspectable");
	EXPECT(!path_exists(machines_dir, main_name, ""), "root file system left");
	EXPECT(!path_exists(state_dir, main_name, ".json"), "record left");
	EXPECT(unit_prop_is(main_name, "LoadState", "not-found"), "unit left");
	{
		char *m = machine_prop(main_name, "State");

		EXPECT(!m, "machine still registered: %s", m);
		free(m);
	}
	r = testhost_wait_event(th, BERTH_EV_DESTROY, main_name, EVENT_WAIT_MS);
	EXPECT(r != NULL, "no DESTROY event");
	testhost_record_free(r);
	EXPECT(drv->remove(inst, "bt-tar", 0, &err) == 0, "remove exited: %s", err.message);
	EXPECT(drv->remove(inst, "bt-tar", 0, &err) < 0 && err.code == BERTH_E_NOT_FOUND,
	       "remove again: %d", err.code);
	case_end("remove: CONFLICT when running, force kills; unit, machine, rootfs, record gone; "
		 "DESTROY; then NOT_FOUND");
}

#define N_PAR 4

struct par {
	char name[32];
	int op; /* 0 start, 1 inspect until running, 2 remove with force */
	int rc;
	berth_error err;
};

static void *par_worker(void *arg)
{
	struct par *p = arg;

	if (p->op == 0) {
		p->rc = drv->start(inst, p->name, 0, &p->err);
	} else if (p->op == 1) {
		p->rc = state_of(p->name) == BERTH_RS_RUNNING ? 0 : -1;
	} else {
		p->rc = drv->remove(inst, p->name, BERTH_REMOVE_FORCE, &p->err);
	}
	return NULL;
}

static bool run_par(struct par *ps, int op)
{
	pthread_t t[N_PAR];
	bool ok = true;

	for (int i = 0; i < N_PAR; i++) {
		ps[i].op = op;
		ps[i].rc = -1;
		berth_error_clear(&ps[i].err);
		if (pthread_create(&t[i], NULL, par_worker, &ps[i]) != 0)
			return false;
	}
	for (int i = 0; i < N_PAR; i++) {
		pthread_join(t[i], NULL);
		if (ps[i].rc != 0) {
			diag("%s op %d: %s", ps[i].name, op, ps[i].err.message);
			ok = false;
		}
	}
	return ok;
}

static void case_concurrency(void)
{
	struct par ps[N_PAR];
	berth_container_spec spec;
	berth_error err;
	char bid[64];
	double t0;

	case_begin();
	drain();
	for (int i = 0; i < N_PAR; i++) {
		char *id;

		memset(&ps[i], 0, sizeof(ps[i]));
		snprintf(ps[i].name, sizeof(ps[i].name), "bt-par%d", i);
		snprintf(bid, sizeof(bid), "10000000-0000-4000-8000-00000000010%d", i);
		make_spec(&spec, bid, ps[i].name, loop_cmd);
		id = create(&spec, 0, &err);
		EXPECT(id != NULL, "create %s: %s", ps[i].name, err.message);
		free(id);
	}
	t0 = mono_ms();
	EXPECT(run_par(ps, 0), "parallel starts failed");
	printf("# measured: %d nspawn starts in parallel: %.0f ms\n", N_PAR, mono_ms() - t0);
	EXPECT(run_par(ps, 1), "not all running (parallel inspect)");
	for (int i = 0; i < N_PAR; i++) {
		EXPECT(unit_prop_is(ps[i].name, "ActiveState", "active"), "%s", ps[i].name);
		expect_event(BERTH_EV_START, ps[i].name, NULL, "start");
	}
	t0 = mono_ms();
	EXPECT(run_par(ps, 2), "parallel forced removals failed");
	printf("# measured: %d forced removals in parallel: %.0f ms\n", N_PAR, mono_ms() - t0);
	for (int i = 0; i < N_PAR; i++) {
		EXPECT(unit_prop_is(ps[i].name, "LoadState", "not-found"), "%s", ps[i].name);
		EXPECT(!path_exists(machines_dir, ps[i].name, ""), "%s rootfs left", ps[i].name);
	}
	case_end("operations on different machines run in parallel (own bus connection each)");
}

static void case_bus_loss(void)
{
	struct testhost_record *r;
	char *version = NULL;
	const bool yes = true;
	berth_error err;

	case_begin();
	drain();
	EXPECT(run_peer(peer, "stop") == 0, "peer stop");
	r = testhost_wait(th, TESTHOST_STATUS, NULL, NULL, 10000);
	EXPECT(r && !r->reachable, "no backend_status(false) on bus loss");
	if (r)
		diag("bus lost: %s", r->text ? r->text : "");
	testhost_record_free(r);
	EXPECT(drv->ping(inst, NULL, &err) < 0 && err.code == BERTH_E_UNAVAILABLE, "ping: %d",
	       err.code);
	EXPECT(run_peer(peer, "start") == 0, "peer start");
	r = testhost_wait(th, TESTHOST_STATUS, reachable_is, &yes, 15000);
	EXPECT(r, "no backend_status(true) after the bus came back");
	testhost_record_free(r);
	EXPECT(drv->ping(inst, &version, &err) == 0, "ping after: %s", err.message);
	free(version);
	case_end("bus loss: backend_status(false), UNAVAILABLE; reconnect: backend_status(true)");
}

int main(int argc, char **argv)
{
	const char *run = test_run_dir();
	bool started_peer = false;
	char envfile[512];
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: %s path/to/nspawn.so\n", argv[0]);
		return 2;
	}
	snprintf(peer, sizeof(peer), "%s/tests/integration/lib/systemd.sh", BERTH_TOP_SRCDIR);
	snprintf(envfile, sizeof(envfile), "%s/systemd.env", run);
	rc = start_peer(peer, "the systemd peer", false,
			"systemd, systemd-nspawn or dbus is not installed", &started_peer);
	if (rc != 0)
		return rc;
	if (!read_peer_env(envfile)) {
		printf("not ok - %s lacks the peer's settings\n", envfile);
		return 1;
	}
	snprintf(machines_dir, sizeof(machines_dir), "%s/nspawn-machines-%d", run, (int)getpid());
	snprintf(state_dir, sizeof(state_dir), "%s/nspawn-state-%d", run, (int)getpid());
	printf("# systemd at %s, images %s, machines %s\n", bus, images, machines_dir);

	spec_defaults = (struct spec_defaults){ image, "host", "test:nspawn" };
	if (!load_driver("test:nspawn", argv[1], "nspawn"))
		return 1;
	case_settings();
	case_down_at_open();
	case_open();
	if (inst) {
		case_create();
		case_create_refused();
		case_start();
		case_update_live();
		case_kill();
		case_restart_kill_all();
		case_own_exit_and_tar();
		case_list_reopen();
		case_remove();
		case_concurrency();
		case_bus_loss();
		cleanup_tracked(remove_machine);
		drv->close(inst);
		inst = NULL;
	}
	cleanup_tracked(remove_machine);
	testhost_free(th);
	{
		char *rm[] = { "rm", "-rf", machines_dir, state_dir, NULL };

		run_capture(rm, NULL);
	}
	if (started_peer)
		run_peer(peer, "stop");
	return report_summary();
}
