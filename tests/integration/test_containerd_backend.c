/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration test of the containerd backend module against a real (private) containerd.
 *
 *   ./tests/integration/test_containerd_backend BUILD/modules/containerd.so
 *
 * Starts tests/integration/lib/containerd.sh when no private containerd runs under
 * $BERTH_TEST_RUN and stops it at the end when it started it (77 = skipped when
 * containerd, ctr or runc are not installed). Prints one "ok - ..." / "not ok - ..." line
 * per case and exits 0 only when every case passed.
 *
 * What the module does is checked independently: through `ctr` (container records,
 * labels, stored spec, tasks, snapshots), through /proc (the task's processes) and the
 * cgroup v1 files (memory limits, freezer). Every container it creates is removed at the
 * end, with ctr, also after failures.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include <berth/berth.h>

#include "itest.h"
#include "itest_json.h"

#ifndef BERTH_TOP_SRCDIR
#define BERTH_TOP_SRCDIR "."
#endif

#define MB (1024LL * 1024LL)
#define UNLIMITED 9223372036854771712LL /* cgroup v1 "no limit" on 4 KiB pages */

static char peer[512];
static char sock[256], ns[64], image[128], image_index[128], image_layers[128];
static char log_dir[256];

#define label_of(info, key) jlabel(info, "Labels", key)

/* ---- independent checks: ctr, /proc, cgroups ------------------------------------------- */

/* ctr -a SOCK -n NS args...; returns its exit status, *out its stdout. */
static int ctr(char **out, const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[] = { "ctr", "--address", sock, "--namespace", ns, (char *)a1, (char *)a2,
			 (char *)a3, (char *)a4, NULL };

	return run_capture(argv, out);
}

/* `ctr containers info ID` as JSON, or NULL when the container is gone. */
static json_object *ctr_info(const char *id)
{
	char *out = NULL;
	json_object *o = NULL;

	if (ctr(&out, "containers", "info", id, NULL) == 0)
		o = json_tokener_parse(out);
	free(out);
	return o;
}

/* The task's status word in `ctr tasks ls` ("RUNNING", "STOPPED", "PAUSED"), or "" when
 * the container has no task. Writes its pid to *pid when non-NULL. */
static void ctr_task(const char *id, char *status, size_t len, int *pid)
{
	char *out = NULL, *line, *save = NULL;

	status[0] = '\0';
	if (pid)
		*pid = 0;
	if (ctr(&out, "tasks", "ls", NULL, NULL) != 0 || !out) {
		free(out);
		return;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char tid[128], st[32];
		int p;

		if (sscanf(line, "%127s %d %31s", tid, &p, st) == 3 && strcmp(tid, id) == 0) {
			snprintf(status, len, "%s", st);
			if (pid)
				*pid = p;
		}
	}
	free(out);
}

static bool ctr_has_snapshot(const char *key)
{
	char *out = NULL;
	bool yes = ctr(&out, "snapshots", "info", key, NULL) == 0;

	free(out);
	return yes;
}

static long long cgroup_value(const char *controller, const char *id, const char *file)
{
	return read_number("/sys/fs/cgroup/%s/%s/%s/%s", controller, ns, id, file);
}

static void cgroup_text(const char *controller, const char *id, const char *file, char *buf,
			size_t len)
{
	char path[512];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s/%s/%s", controller, ns, id, file);
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static bool read_peer_env(const char *path)
{
	const struct env_var vars[] = {
		{ "BERTH_TEST_CONTAINERD_SOCK", sock, sizeof(sock) },
		{ "BERTH_TEST_CONTAINERD_NS", ns, sizeof(ns) },
		{ "BERTH_TEST_CONTAINERD_IMAGE", image, sizeof(image) },
		{ "BERTH_TEST_CONTAINERD_IMAGE_INDEX", image_index, sizeof(image_index) },
		{ "BERTH_TEST_CONTAINERD_IMAGE_LAYERS", image_layers, sizeof(image_layers) },
		{ NULL, NULL, 0 },
	};

	return read_env(path, vars, NULL) && sock[0] && ns[0] && image[0];
}

/* ---- module helpers ------------------------------------------------------------------- */

static void remove_container(const char *id)
{
	ctr(NULL, "tasks", "kill", "-a", id);
	ctr(NULL, "tasks", "delete", "-f", id);
	ctr(NULL, "containers", "delete", id, NULL);
}

/* ---- cases ---------------------------------------------------------------------------- */

static void case_settings(void)
{
	static const struct bad_setting bad[] = {
		{ "timeout = 0;", "timeout" },
		{ "socket = \"tcp://localhost:1234\";", "socket" },
		{ "socket = \"relative.sock\";", "socket" },
		{ "namespace = \"bad name\";", "namespace" },
		{ "snapshotter = \"\";", "snapshotter" },
		{ "runtime = \"io containerd\";", "runtime" },
		{ "log_dir = \"logs\";", "log_dir" },
	};

	case_begin();
	expect_settings_refused(bad, sizeof(bad) / sizeof(bad[0]));
	case_end("settings are validated in open() and name the key");
}


static void case_open(void)
{
	char settings[1024], *version = NULL;
	berth_error err;
	uint64_t caps, want = BERTH_CAP_RENAME | BERTH_CAP_LIVE_UPDATE | BERTH_CAP_PAUSE |
			      BERTH_CAP_LABELS | BERTH_CAP_EVENTS;

	case_begin();
	snprintf(settings, sizeof(settings),
		 "socket = \"unix://%s\"; namespace = \"%s\"; log_dir = \"%s\"; timeout = 30;",
		 sock, ns, log_dir);
	inst = open_instance(settings, &err);
	EXPECT(inst != NULL, "open: %s", err.message);
	if (!inst) {
		case_end("open, ping, capabilities, watch");
		return;
	}
	EXPECT(drv->ping(inst, &version, &err) == 0 && version && strstr(version, "containerd"),
	       "ping: %s", version ? version : err.message);
	diag("ping: %s", version ? version : "-");
	free(version);
	caps = drv->capabilities(inst);
	EXPECT(caps == want, "capabilities 0x%llx, want 0x%llx (no RESTART_POLICY, no PULL)",
	       (unsigned long long)caps, (unsigned long long)want);
	EXPECT(drv->stop == NULL, "stop is the core's (kill + wait + kill)");
	EXPECT(drv->watch(inst, &err) == 0, "watch: %s", err.message);
	usleep(400 * 1000);
	EXPECT(testhost_pending(th, TESTHOST_STATUS) == 0, "unexpected status records");
	drain();
	case_end("open, ping, capabilities (no restart policy, no pull), watch");
}

static char main_id[64], main_name[64];
static char mnt_dir[128];

static void case_create(void)
{
	static const char *const env[] = { "FOO=bar", "PATH=/bin:/usr/bin", NULL };
	berth_container_info info = { .size = sizeof(info) };
	berth_container_spec spec;
	berth_mount m;
	json_object *ci, *args, *envs;
	berth_error err;
	char *id, *envtext;

	case_begin();
	uuid(main_id, sizeof(main_id), 1);
	snprintf(main_name, sizeof(main_name), "ctrd-main-%d", (int)getpid());
	snprintf(mnt_dir, sizeof(mnt_dir), "/tmp/berth-ctrd-mnt-%d", (int)getpid());
	mkdir(mnt_dir, 0755);
	make_spec(&spec, main_id, main_name, loop_cmd);
	spec.env = env;
	spec.hostname = "berth-host";
	m = (berth_mount){ .source = mnt_dir, .destination = "/data", .propagation = "rprivate" };
	spec.mounts = &m;
	spec.n_mounts = 1;
	spec.resources.memory = 64 * MB;
	spec.resources.memory_swap = 128 * MB;
	id = create(&spec, 0, &err);
	EXPECT(id != NULL, "create: %s", err.message);
	if (!id)
		goto out;
	EXPECT(strcmp(id, main_id) == 0, "native id %s is not the berth id", id);
	ci = ctr_info(main_id);
	EXPECT(ci != NULL, "ctr containers info %s failed", main_id);
	if (ci) {
		EXPECT(strcmp(label_of(ci, "berth.id"), main_id) == 0, "berth.id label %s",
		       label_of(ci, "berth.id"));
		EXPECT(strcmp(label_of(ci, "berth.owner"), "test:containerd") == 0,
		       "berth.owner label %s", label_of(ci, "berth.owner"));
		EXPECT(strcmp(label_of(ci, "berth.name"), main_name) == 0, "berth.name %s",
		       label_of(ci, "berth.name"));
		EXPECT(strcmp(jstr(ci, "Image"), image) == 0, "image %s", jstr(ci, "Image"));
		EXPECT(strcmp(jstr(ci, "Runtime.Name"), "io.containerd.runc.v2") == 0,
		       "runtime %s", jstr(ci, "Runtime.Name"));
		EXPECT(strcmp(jstr(ci, "Snapshotter"), "overlayfs") == 0 &&
			       strcmp(jstr(ci, "SnapshotKey"), main_id) == 0,
		       "snapshot %s/%s", jstr(ci, "Snapshotter"), jstr(ci, "SnapshotKey"));
		args = jpath(ci, "Spec.process.args");
		EXPECT(args && json_object_array_length(args) == 3 &&
			       strcmp(json_object_get_string(json_object_array_get_idx(args, 2)),
				      loop_cmd[2]) == 0,
		       "args %s", json_object_to_json_string(args));
		envs = jpath(ci, "Spec.process.env");
		envtext = (char *)json_object_to_json_string_ext(envs, JSON_C_TO_STRING_NOSLASHESCAPE);
		EXPECT(strstr(envtext, "FOO=bar") && strstr(envtext, "PATH=/bin:/usr/bin") &&
			       !strstr(envtext, "/usr/local/sbin"),
		       "env (berth's PATH replaces the image's): %s", envtext);
		EXPECT(strcmp(jstr(ci, "Spec.hostname"), "berth-host") == 0, "hostname %s",
		       jstr(ci, "Spec.hostname"));
		EXPECT(jint(ci, "Spec.linux.resources.memory.limit") == 64 * MB &&
			       jint(ci, "Spec.linux.resources.memory.swap") == 128 * MB,
		       "stored memory %lld / swap %lld",
		       (long long)jint(ci, "Spec.linux.resources.memory.limit"),
		       (long long)jint(ci, "Spec.linux.resources.memory.swap"));
		EXPECT(strstr(json_object_to_json_string(jpath(ci, "Spec.mounts")), "/data"),
		       "no /data mount");
		json_object_put(ci);
	}
	EXPECT(ctr_has_snapshot(main_id), "no snapshot %s", main_id);
	EXPECT(drv->inspect(inst, main_id, &info, &err) == 0, "inspect: %s", err.message);
	EXPECT(info.state == BERTH_RS_CREATED, "state %d", info.state);
	EXPECT(info.name && strcmp(info.name, main_name) == 0, "name %s", info.name);
	EXPECT(info.berth_id && strcmp(info.berth_id, main_id) == 0, "berth id %s", info.berth_id);
	EXPECT(info.owner && strcmp(info.owner, "test:containerd") == 0, "owner %s", info.owner);
	EXPECT(info.image && strcmp(info.image, image) == 0, "image %s", info.image);
	EXPECT(info.resources.memory == 64 * MB && info.resources.memory_swap == 128 * MB,
	       "resources %lld/%lld", (long long)info.resources.memory,
	       (long long)info.resources.memory_swap);
	EXPECT(info.created_ns > 0, "no created time");
	berth_container_info_release(&info);
	free(id);
	/* the same id again: containerd says it exists */
	id = NULL;
	EXPECT(drv->create(inst, &spec, 0, &id, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "second create with the same id: code %d (%s)", err.code, err.message);
	free(id);
out:
	drain();
	case_end("create: container record, labels, spec from image + berth spec, snapshot");
}

static void case_create_refused(void)
{
	static const berth_port_mapping port = { .proto = "tcp", .host_port = 8080,
						 .container_port = 80 };
	berth_container_spec spec;
	char bid[64], *id = NULL;
	berth_error err;

	case_begin();
	uuid(bid, sizeof(bid), 2);
	make_spec(&spec, bid, "refused", loop_cmd);
	spec.image = "localhost/no-such-image:1";
	EXPECT(drv->create(inst, &spec, 0, &id, &err) < 0 && err.code == BERTH_E_NOT_FOUND &&
		       strstr(err.message, "import"),
	       "missing image: code %d (%s)", err.code, err.message);
	diag("missing image: %s", err.message);
	make_spec(&spec, bid, "refused", loop_cmd);
	spec.ports = &port;
	spec.n_ports = 1;
	EXPECT(drv->create(inst, &spec, 0, &id, &err) < 0 && err.code == BERTH_E_UNSUPPORTED &&
		       strstr(err.message, "port"),
	       "ports: code %d (%s)", err.code, err.message);
	make_spec(&spec, bid, "refused", loop_cmd);
	spec.network_mode = "container:other";
	EXPECT(drv->create(inst, &spec, 0, &id, &err) < 0 && err.code == BERTH_E_UNSUPPORTED,
	       "network container:other: code %d (%s)", err.code, err.message);
	EXPECT(ctr_info(bid) == NULL, "a refused create left a container");
	EXPECT(!ctr_has_snapshot(bid), "a refused create left a snapshot");
	case_end("create refuses a missing image (NOT_FOUND, how to import), ports, networks");
}

static void case_start(void)
{
	berth_container_info info = { .size = sizeof(info) };
	char status[32], path[512], buf[256] = "";
	berth_error err;
	FILE *f;
	int pid;

	case_begin();
	drain();
	EXPECT(drv->start(inst, main_id, 0, &err) == 0, "start: %s", err.message);
	expect_event(BERTH_EV_START, main_id, NULL, "start");
	ctr_task(main_id, status, sizeof(status), &pid);
	EXPECT(strcmp(status, "RUNNING") == 0, "ctr task status %s", status);
	EXPECT(proc_alive(pid), "task pid %d not in /proc", pid);
	EXPECT(drv->inspect(inst, main_id, &info, &err) == 0, "inspect: %s", err.message);
	EXPECT(info.state == BERTH_RS_RUNNING && info.pid == pid, "state %d pid %d (ctr: %d)",
	       info.state, info.pid, pid);
	EXPECT(info.started_ns > 0, "no start time");
	berth_container_info_release(&info);
	EXPECT(cgroup_value("memory", main_id, "memory.limit_in_bytes") == 64 * MB,
	       "memory.limit_in_bytes %lld", cgroup_value("memory", main_id, "memory.limit_in_bytes"));
	EXPECT(cgroup_value("memory", main_id, "memory.memsw.limit_in_bytes") == 128 * MB,
	       "memsw %lld", cgroup_value("memory", main_id, "memory.memsw.limit_in_bytes"));
	snprintf(path, sizeof(path), "/proc/%d/root/data", pid);
	EXPECT(access(path, F_OK) == 0, "bind mount /data missing in the container");
	usleep(200 * 1000);
	snprintf(path, sizeof(path), "%s/%s.log", log_dir, main_id);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	EXPECT(strstr(buf, "hello-berth"), "log file %s: \"%s\"", path, buf);
	EXPECT(drv->start(inst, main_id, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "second start: code %d (%s)", err.code, err.message);
	drain();
	case_end("start: task RUNNING (ctr, /proc), START event, limits and mounts, log file");
}

static void case_kill(void)
{
	berth_container_info info = { .size = sizeof(info) };
	char status[32];
	berth_error err;
	int code, pid;

	case_begin();
	drain();
	ctr_task(main_id, status, sizeof(status), &pid);
	EXPECT(drv->kill(inst, main_id, SIGUSR1, 0, &err) == 0, "kill USR1: %s", err.message);
	code = expect_event(BERTH_EV_EXIT, main_id, NULL, "exit");
	EXPECT(code == 7, "exit event code %d, want 7", code);
	ctr_task(main_id, status, sizeof(status), NULL);
	EXPECT(strcmp(status, "STOPPED") == 0, "ctr task status %s", status);
	EXPECT(!proc_alive(pid) || usleep(200000) || !proc_alive(pid), "pid %d still alive", pid);
	EXPECT(drv->inspect(inst, main_id, &info, &err) == 0, "inspect: %s", err.message);
	EXPECT(info.state == BERTH_RS_EXITED && info.exit_code == 7 && info.finished_ns > 0,
	       "state %d exit %d finished %lld", info.state, info.exit_code,
	       (long long)info.finished_ns);
	berth_container_info_release(&info);
	EXPECT(drv->kill(inst, main_id, SIGTERM, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "kill of a stopped container: code %d (%s)", err.code, err.message);
	EXPECT(drv->kill(inst, "no-such-container", SIGTERM, 0, &err) < 0 &&
		       err.code == BERTH_E_NOT_FOUND,
	       "kill of a missing container: code %d (%s)", err.code, err.message);
	/* a new start deletes the old task and runs again */
	EXPECT(drv->start(inst, main_id, 0, &err) == 0, "restart: %s", err.message);
	expect_event(BERTH_EV_START, main_id, NULL, "start");
	EXPECT(state_of(main_id) == BERTH_RS_RUNNING, "state after restart %d", state_of(main_id));
	EXPECT(drv->kill(inst, main_id, SIGTERM, 0, &err) == 0, "kill TERM: %s", err.message);
	code = expect_event(BERTH_EV_EXIT, main_id, NULL, "exit");
	EXPECT(code == 3, "exit code %d after TERM, want 3", code);
	EXPECT(drv->start(inst, main_id, 0, &err) == 0, "start: %s", err.message);
	expect_event(BERTH_EV_START, main_id, NULL, "start");
	drain();
	case_end("kill: signal reaches the process, EXIT event with the exit code, CONFLICT when "
		 "stopped, start again");
}

static void case_pause(void)
{
	char st[64];
	berth_error err;

	case_begin();
	drain();
	EXPECT(drv->pause(inst, main_id, 0, &err) == 0, "pause: %s", err.message);
	expect_event(BERTH_EV_PAUSE, main_id, NULL, "pause");
	cgroup_text("freezer", main_id, "freezer.state", st, sizeof(st));
	EXPECT(strcmp(st, "FROZEN") == 0, "freezer.state %s", st);
	EXPECT(state_of(main_id) == BERTH_RS_PAUSED, "state %d", state_of(main_id));
	EXPECT(drv->pause(inst, main_id, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "second pause: code %d (%s)", err.code, err.message);
	EXPECT(drv->resume(inst, main_id, 0, &err) == 0, "resume: %s", err.message);
	expect_event(BERTH_EV_RESUME, main_id, NULL, "resume");
	cgroup_text("freezer", main_id, "freezer.state", st, sizeof(st));
	EXPECT(strcmp(st, "THAWED") == 0, "freezer.state %s", st);
	EXPECT(state_of(main_id) == BERTH_RS_RUNNING, "state %d", state_of(main_id));
	EXPECT(drv->resume(inst, main_id, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "resume of a running one: code %d (%s)", err.code, err.message);
	drain();
	case_end("pause/resume: freezer FROZEN/THAWED, events, CONFLICT when repeated");
}

static void case_rename(void)
{
	berth_container_info info = { .size = sizeof(info) };
	char newname[80];
	json_object *ci;
	berth_error err;

	case_begin();
	snprintf(newname, sizeof(newname), "%s-renamed", main_name);
	EXPECT(drv->rename(inst, main_id, newname, 0, &err) == 0, "rename: %s", err.message);
	ci = ctr_info(main_id);
	EXPECT(ci && strcmp(label_of(ci, "berth.name"), newname) == 0, "berth.name %s",
	       ci ? label_of(ci, "berth.name") : "(gone)");
	EXPECT(ci && strcmp(label_of(ci, "berth.id"), main_id) == 0, "berth.id lost");
	json_object_put(ci);
	EXPECT(drv->inspect(inst, main_id, &info, &err) == 0 && info.name &&
		       strcmp(info.name, newname) == 0,
	       "inspect name %s", info.name);
	berth_container_info_release(&info);
	EXPECT(drv->rename(inst, "no-such-container", "x", 0, &err) < 0 &&
		       err.code == BERTH_E_NOT_FOUND,
	       "rename missing: code %d", err.code);
	snprintf(main_name, sizeof(main_name), "%.60s", newname);
	case_end("rename: the berth.name label, other labels kept");
}

static bool limits_are(const char *id, long long mem, long long soft, long long memsw)
{
	long long m = cgroup_value("memory", id, "memory.limit_in_bytes");
	long long s = cgroup_value("memory", id, "memory.soft_limit_in_bytes");
	long long w = cgroup_value("memory", id, "memory.memsw.limit_in_bytes");

	if (m != mem || s != soft || w != memsw) {
		diag("cgroup: memory %lld soft %lld memsw %lld; want %lld %lld %lld", m, s, w, mem,
		     soft, memsw);
		return false;
	}
	return true;
}

static void do_update(const char *id, berth_resources prev, berth_resources next, bool running,
		      berth_error *err, int *rc)
{
	berth_update u = { .size = sizeof(u), .mask = BERTH_UPDATE_RESOURCES, .resources = next,
			   .previous = prev, .running = running };

	*rc = drv->update(inst, id, &u, 0, err);
}

static void case_update(void)
{
	berth_resources a = { 64 * MB, 0, 128 * MB }, b = { 256 * MB, 32 * MB, 512 * MB };
	berth_resources c = { 100 * MB, 16 * MB, 150 * MB }, none = { 0, 0, 0 };
	berth_container_info info = { .size = sizeof(info) };
	json_object *ci;
	berth_error err;
	int rc;

	case_begin();
	/* up: the new memory (256M) is above the old memsw (128M): memsw must go first */
	do_update(main_id, a, b, true, &err, &rc);
	EXPECT(rc == 0, "update up: %s", err.message);
	EXPECT(limits_are(main_id, 256 * MB, 32 * MB, 512 * MB), "after raising");
	/* down: the new memsw (150M) is below the old memory (256M): memory must go first */
	do_update(main_id, b, c, true, &err, &rc);
	EXPECT(rc == 0, "update down: %s", err.message);
	EXPECT(limits_are(main_id, 100 * MB, 16 * MB, 150 * MB), "after lowering");
	ci = ctr_info(main_id);
	EXPECT(ci && jint(ci, "Spec.linux.resources.memory.limit") == 100 * MB &&
		       jint(ci, "Spec.linux.resources.memory.reservation") == 16 * MB &&
		       jint(ci, "Spec.linux.resources.memory.swap") == 150 * MB,
	       "stored spec: %s",
	       ci ? json_object_to_json_string(jpath(ci, "Spec.linux.resources")) : "(gone)");
	json_object_put(ci);
	EXPECT(drv->inspect(inst, main_id, &info, &err) == 0 && info.resources.memory == 100 * MB &&
		       info.resources.memory_reservation == 16 * MB &&
		       info.resources.memory_swap == 150 * MB,
	       "inspect resources %lld/%lld/%lld", (long long)info.resources.memory,
	       (long long)info.resources.memory_reservation, (long long)info.resources.memory_swap);
	berth_container_info_release(&info);
	/* removed: every limit back to unlimited */
	do_update(main_id, c, none, true, &err, &rc);
	EXPECT(rc == 0, "update to none: %s", err.message);
	EXPECT(limits_are(main_id, UNLIMITED, UNLIMITED, UNLIMITED), "after removing");
	ci = ctr_info(main_id);
	EXPECT(ci && !jpath(ci, "Spec.linux.resources.memory"), "stored spec keeps memory: %s",
	       ci ? json_object_to_json_string(jpath(ci, "Spec.linux.resources")) : "(gone)");
	json_object_put(ci);
	/* bad values are refused before anything changes */
	do_update(main_id, none, (berth_resources){ 0, 0, 64 * MB }, true, &err, &rc);
	EXPECT(rc < 0 && err.code == BERTH_E_INVALID, "swap without memory: code %d", err.code);
	do_update(main_id, none, a, true, &err, &rc);
	EXPECT(rc == 0 && limits_are(main_id, 64 * MB, UNLIMITED, 128 * MB), "back to a: %s",
	       err.message);
	case_end("update: Tasks.Update orders memory/memsw writes both ways (cgroup v1 files), "
		 "stored spec, removal");
}

static void case_kill_all_and_stopped_update(void)
{
	berth_container_spec spec;
	static const char *const tree_cmd[] = {
		"/bin/sh", "-c", "trap '' TERM; sh -c \"trap '' TERM; sleep 1000\" & wait", NULL
	};
	berth_resources r = { 32 * MB, 0, 64 * MB }, none = { 0, 0, 0 };
	char bid[64], name[64], status[32], *id;
	berth_error err;
	int code, rc, pid;

	case_begin();
	drain();
	uuid(bid, sizeof(bid), 3);
	snprintf(name, sizeof(name), "ctrd-tree-%d", (int)getpid());
	make_spec(&spec, bid, name, tree_cmd);
	spec.image = image_layers; /* two layers: the chain id is computed, not a diff id */
	id = create(&spec, 0, &err);
	EXPECT(id != NULL, "create from %s: %s", image_layers, err.message);
	if (!id)
		goto out;
	/* not running: only the stored spec changes, and the next start uses it */
	do_update(bid, none, r, false, &err, &rc);
	EXPECT(rc == 0, "update of a created container: %s", err.message);
	EXPECT(drv->start(inst, bid, 0, &err) == 0, "start: %s", err.message);
	expect_event(BERTH_EV_START, bid, NULL, "start");
	EXPECT(limits_are(bid, 32 * MB, UNLIMITED, 64 * MB), "limits stored before start");
	ctr_task(bid, status, sizeof(status), &pid);
	{
		char path[256];

		snprintf(path, sizeof(path), "/proc/%d/root/berth-layer2", pid);
		EXPECT(access(path, F_OK) == 0, "the second layer's file is missing");
	}
	EXPECT(drv->kill(inst, bid, SIGTERM, 0, &err) == 0, "TERM: %s", err.message);
	EXPECT(testhost_wait_event(th, BERTH_EV_EXIT, bid, 700) == NULL, "TERM ended it");
	EXPECT(drv->kill(inst, bid, SIGKILL, BERTH_KILL_ALL, &err) == 0, "KILL all: %s",
	       err.message);
	code = expect_event(BERTH_EV_EXIT, bid, NULL, "exit");
	EXPECT(code == 137, "exit code %d, want 137", code);
	EXPECT(drv->remove(inst, bid, 0, &err) == 0, "remove: %s", err.message);
	EXPECT(ctr_info(bid) == NULL && !ctr_has_snapshot(bid), "remove left container/snapshot");
	free(id);
out:
	drain();
	case_end("two-layer image (chain id), update while created, KILL_ALL ends the tree");
}

static void case_oom(void)
{
	berth_container_info info = { .size = sizeof(info) };
	berth_container_spec spec;
	static const char *const oom_cmd[] = {
		"/bin/sh", "-c", "tail /dev/zero; exit 42", NULL
	};
	struct testhost_record *r;
	char bid[64], name[64], *id;
	berth_error err;
	int code;

	case_begin();
	drain();
	uuid(bid, sizeof(bid), 4);
	snprintf(name, sizeof(name), "ctrd-oom-%d", (int)getpid());
	make_spec(&spec, bid, name, oom_cmd);
	spec.image = image_index; /* its target is an index: the amd64 entry is picked */
	spec.resources.memory = 8 * MB;
	spec.resources.memory_swap = 8 * MB;
	id = create(&spec, 0, &err);
	EXPECT(id != NULL, "create from %s: %s", image_index, err.message);
	if (!id)
		goto out;
	EXPECT(drv->start(inst, bid, 0, &err) == 0, "start: %s", err.message);
	code = expect_event(BERTH_EV_EXIT, bid, NULL, "exit");
	EXPECT(code == 42, "exit code %d, want 42", code);
	r = testhost_wait_event(th, BERTH_EV_OOM, bid, 2000);
	EXPECT(r != NULL, "no OOM event");
	testhost_record_free(r);
	EXPECT(drv->inspect(inst, bid, &info, &err) == 0 && info.oom_killed &&
		       info.state == BERTH_RS_EXITED,
	       "inspect: oom %d state %d", info.oom_killed, info.state);
	berth_container_info_release(&info);
	free(id);
out:
	drain();
	case_end("OOM: event and oom_killed after a process of the container is OOM-killed "
		 "(image whose target is an index)");
}

static void case_start_fails(void)
{
	static const char *const bad_cmd[] = { "/no/such/program", NULL };
	berth_container_spec spec;
	char bid[64], name[64], status[32], *id;
	berth_error err;
	int st;

	case_begin();
	drain();
	uuid(bid, sizeof(bid), 5);
	snprintf(name, sizeof(name), "ctrd-bad-%d", (int)getpid());
	make_spec(&spec, bid, name, bad_cmd);
	id = create(&spec, 0, &err);
	EXPECT(id != NULL, "create: %s", err.message);
	if (!id)
		goto out;
	EXPECT(drv->start(inst, bid, 0, &err) < 0 && err.code == BERTH_E_RUNTIME &&
		       strstr(err.message, "/no/such/program"),
	       "start of a missing program: code %d (%s)", err.code, err.message);
	diag("start of a missing program: %s", err.message);
	ctr_task(bid, status, sizeof(status), NULL);
	EXPECT(status[0] == '\0', "a failed start left a task: %s", status);
	st = state_of(bid);
	EXPECT(st == BERTH_RS_CREATED, "state after the failed start %d", st);
	EXPECT(drv->remove(inst, bid, 0, &err) == 0, "remove: %s", err.message);
	free(id);
out:
	drain();
	case_end("start of a program that does not exist: RUNTIME with runc's words, no task "
		 "left");
}

static int list_cb(void *ud, const berth_container_info *info)
{
	int *found = ud;

	if (info->berth_id && strcmp(info->berth_id, main_id) == 0 && info->name &&
	    strcmp(info->name, main_name) == 0 && info->state == BERTH_RS_RUNNING)
		found[0]++;
	if (info->native_id && strstr(info->native_id, "foreign"))
		found[1]++;
	/* the OOM case's container: exited with 42, its task kept */
	if (info->native_id && strstr(info->native_id, "-000000000004") &&
	    info->state == BERTH_RS_EXITED && info->exit_code == 42 && info->finished_ns > 0)
		found[2]++;
	return 0;
}

static int list_stop_cb(void *ud, const berth_container_info *info)
{
	return 42;
}

static void case_list(void)
{
	char foreign[64], *out = NULL;
	int found[3] = { 0, 0, 0 };
	berth_error err;

	case_begin();
	snprintf(foreign, sizeof(foreign), "foreign-%d", (int)getpid());
	EXPECT(ctr(&out, "containers", "create", image, foreign) == 0, "ctr create %s", foreign);
	free(out);
	track(foreign);
	EXPECT(drv->list(inst, list_cb, found, 0, &err) == 0, "list: %s", err.message);
	EXPECT(found[0] == 1, "main container listed %d times", found[0]);
	EXPECT(found[1] == 0, "a container without berth.id was listed");
	EXPECT(found[2] == 1, "the exited container was not listed with exit code 42");
	EXPECT(drv->list(inst, list_stop_cb, NULL, 0, &err) == 42, "callback's stop not returned");
	case_end("list: containers with the berth.id label only, with their state");
}

#define WORKER_CALLS 50

static void *inspect_worker(void *arg)
{
	int *fails = arg;

	for (int i = 0; i < WORKER_CALLS; i++)
		if (state_of(main_id) != BERTH_RS_RUNNING)
			(*fails)++;
	return NULL;
}

static void case_concurrency(void)
{
	enum { THREADS = 4 };
	pthread_t t[THREADS];
	int fails[THREADS] = { 0 }, total = 0;
	double t0, us;

	case_begin();
	t0 = mono_us();
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, inspect_worker, &fails[i]);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		total += fails[i];
	}
	us = (mono_us() - t0) / (THREADS * WORKER_CALLS);
	EXPECT(total == 0, "%d inspects failed", total);
	printf("# measured: containerd inspect (Containers.Get + Tasks.Get, a connection each) "
	       "%.0f us per call, %d threads x %d calls\n", us, THREADS, WORKER_CALLS);
	t0 = mono_us();
	for (int i = 0; i < WORKER_CALLS; i++)
		drv->ping(inst, NULL, NULL);
	printf("# measured: ping (Version, one unary call on a new connection) %.0f us\n",
	       (mono_us() - t0) / WORKER_CALLS);
	case_end("concurrent inspects from 4 threads, one connection per call");
}

static void case_containerd_restart(void)
{
	struct testhost_record *r;
	berth_error err;
	char status[32];
	int code, pid;

	case_begin();
	drain();
	ctr_task(main_id, status, sizeof(status), &pid);
	EXPECT(run_peer(peer, "down") == 0, "containerd.sh down failed");
	r = testhost_wait(th, TESTHOST_STATUS, NULL, NULL, 5000);
	EXPECT(r && !r->reachable, "no backend_status(false) after containerd went down");
	if (r)
		diag("down: %s", r->text ? r->text : "");
	testhost_record_free(r);
	EXPECT(state_of(main_id) == -1, "inspect works with containerd down?");
	EXPECT(drv->kill(inst, main_id, SIGUSR1, 0, &err) < 0 && err.code == BERTH_E_UNAVAILABLE,
	       "kill while down: code %d (%s)", err.code, err.message);
	EXPECT(proc_alive(pid), "the task died with containerd");
	EXPECT(run_peer(peer, "start") == 0, "containerd.sh start failed");
	r = testhost_wait(th, TESTHOST_STATUS, NULL, NULL, 10000);
	EXPECT(r && r->reachable, "no backend_status(true) after containerd came back");
	testhost_record_free(r);
	EXPECT(state_of(main_id) == BERTH_RS_RUNNING, "state after restart %d", state_of(main_id));
	EXPECT(drv->kill(inst, main_id, SIGUSR1, 0, &err) == 0, "kill after restart: %s",
	       err.message);
	code = expect_event(BERTH_EV_EXIT, main_id, NULL, "exit after reconnect");
	EXPECT(code == 7, "exit code %d", code);
	drain();
	case_end("containerd down and up: status false/true, UNAVAILABLE between, the task "
		 "survives, events flow again");
}

static void case_remove(void)
{
	berth_error err;
	char status[32];
	int pid;

	case_begin();
	drain();
	EXPECT(drv->start(inst, main_id, 0, &err) == 0, "start: %s", err.message);
	expect_event(BERTH_EV_START, main_id, NULL, "start");
	ctr_task(main_id, status, sizeof(status), &pid);
	EXPECT(drv->remove(inst, main_id, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "remove running without force: code %d (%s)", err.code, err.message);
	EXPECT(drv->pause(inst, main_id, 0, &err) == 0, "pause: %s", err.message);
	EXPECT(drv->remove(inst, main_id, BERTH_REMOVE_FORCE, &err) == 0, "force remove: %s",
	       err.message);
	expect_event(BERTH_EV_DESTROY, main_id, NULL, "destroy");
	EXPECT(ctr_info(main_id) == NULL, "container still in containerd");
	EXPECT(!ctr_has_snapshot(main_id), "snapshot left");
	ctr_task(main_id, status, sizeof(status), NULL);
	EXPECT(status[0] == '\0', "task left: %s", status);
	usleep(100 * 1000);
	EXPECT(!proc_alive(pid), "process %d survived", pid);
	EXPECT(cgroup_value("memory", main_id, "memory.limit_in_bytes") == -1, "cgroup left");
	EXPECT(drv->remove(inst, main_id, 0, &err) < 0 && err.code == BERTH_E_NOT_FOUND,
	       "second remove: code %d", err.code);
	EXPECT(drv->inspect(inst, main_id, &(berth_container_info){ .size = sizeof(
							     berth_container_info) },
			    &err) < 0 &&
		       err.code == BERTH_E_NOT_FOUND,
	       "inspect after remove: code %d", err.code);
	drain();
	case_end("remove: CONFLICT when running, force removes a paused one with its task, "
		 "snapshot and cgroup; NOT_FOUND after");
}

int main(int argc, char **argv)
{
	const char *run = test_run_dir();
	bool started_peer = false;
	char envfile[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: %s path/to/containerd.so\n", argv[0]);
		return 2;
	}
	{
		char *which[] = { "sh", "-c", "command -v containerd && command -v ctr && "
					      "command -v runc", NULL };

		if (run_capture(which, NULL) != 0) {
			printf("# skipped: containerd, ctr or runc is not installed\n");
			return 77;
		}
	}
	snprintf(peer, sizeof(peer), "%s/tests/integration/lib/containerd.sh", BERTH_TOP_SRCDIR);
	snprintf(envfile, sizeof(envfile), "%s/containerd.env", run);
	/* rerun when up: its start is idempotent (images and env file) */
	if (start_peer(peer, "the containerd peer", true, NULL, &started_peer) != 0)
		return 1;
	if (!read_peer_env(envfile)) {
		printf("not ok - %s lacks the peer's settings\n", envfile);
		return 1;
	}
	snprintf(log_dir, sizeof(log_dir), "%s/containerd-logs-%d", run, (int)getpid());
	printf("# containerd at %s, namespace %s, image %s\n", sock, ns, image);

	spec_defaults = (struct spec_defaults){ image, "bridge", "test:containerd" };
	if (!load_driver("test:containerd", argv[1], "containerd"))
		return 1;
	case_settings();
	case_runtime_down_at_open("containerd");
	case_open();
	if (inst) {
		case_create();
		case_create_refused();
		case_start();
		case_kill();
		case_pause();
		case_rename();
		case_update();
		case_kill_all_and_stopped_update();
		case_oom();
		case_start_fails();
		case_list();
		case_concurrency();
		case_containerd_restart();
		case_remove();
		drv->close(inst);
	}
	cleanup_tracked(remove_container);
	testhost_free(th);
	if (mnt_dir[0])
		rmdir(mnt_dir);
	{
		char *rm[] = { "rm", "-rf", log_dir, NULL };

		run_capture(rm, NULL);
	}
	if (started_peer)
		run_peer(peer, "stop");
	return report_summary();
}
