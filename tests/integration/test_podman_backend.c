/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration test of the Podman backend module against a real (private) podman service.
 *
 *   ./tests/integration/test_podman_backend BUILD/modules/podman.so
 *
 * Starts tests/integration/lib/podman.sh when no private service runs under
 * $BERTH_TEST_RUN and stops it at the end when it started it (77 = skipped when podman
 * or runc are not installed). Prints one "ok - ..." / "not ok - ..." line per case and
 * exits 0 only when every case passed.
 *
 * What the module does is checked independently: through the podman CLI on the same
 * store (`podman inspect`: labels, names, stored spec, state), through /proc (the
 * container's process) and the cgroup v1 memory files (limits). Every container it
 * creates is removed at the end with the CLI, also after failures.
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
static char sock[256], image[128];

#define label_of(info, key) jlabel(info, "Config.Labels", key)

/* ---- independent checks: podman CLI, /proc, cgroups ------------------------------------------- */

/* podman ARGS... (CONTAINERS_CONF/CONTAINERS_STORAGE_CONF from the peer's env file). */
static int podman(char **out, const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[] = { "podman", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };

	return run_capture(argv, out);
}

/* `podman inspect ID`'s only element, or NULL when the container is gone. */
static json_object *pm_info(const char *id)
{
	json_object *arr = NULL, *o = NULL;
	char *out = NULL;

	if (podman(&out, "container", "inspect", id, NULL) == 0)
		arr = json_tokener_parse(out);
	free(out);
	if (arr && json_object_is_type(arr, json_type_array) && json_object_array_length(arr))
		o = json_object_get(json_object_array_get_idx(arr, 0));
	json_object_put(arr);
	return o;
}

static const char *pm_status(const char *id, int *pid)
{
	static char status[32];
	json_object *o = pm_info(id);

	snprintf(status, sizeof(status), "%s", o ? jstr(o, "State.Status") : "");
	if (pid)
		*pid = o ? (int)jint(o, "State.Pid") : 0;
	json_object_put(o);
	return status;
}

static long long cgroup_value(const char *id, const char *file)
{
	return read_number("/sys/fs/cgroup/memory/libpod_parent/libpod-%s/%s", id, file);
}

static bool limits_are(const char *id, long long mem, long long soft, long long memsw)
{
	long long m = cgroup_value(id, "memory.limit_in_bytes");
	long long s = cgroup_value(id, "memory.soft_limit_in_bytes");
	long long w = cgroup_value(id, "memory.memsw.limit_in_bytes");

	if (m == mem && s == soft && w == memsw)
		return true;
	diag("cgroup of %.12s: memory %lld soft %lld memsw %lld; want %lld %lld %lld", id, m, s,
	     w, mem, soft, memsw);
	return false;
}

/* The peer's settings; exports CONTAINERS_* so that the podman CLI sees the service's
 * store. */
static bool read_peer_env(const char *path)
{
	const struct env_var vars[] = {
		{ "BERTH_TEST_PODMAN_SOCK", sock, sizeof(sock) },
		{ "BERTH_TEST_PODMAN_IMAGE", image, sizeof(image) },
		{ NULL, NULL, 0 },
	};

	return read_env(path, vars, "CONTAINERS_") && sock[0] && image[0] &&
	       getenv("CONTAINERS_CONF");
}

/* ---- module helpers ------------------------------------------------------------------- */

static void remove_container(const char *id)
{
	podman(NULL, "rm", "-f", "-t0", id);
}

/* ---- cases ---------------------------------------------------------------------------- */

static void case_settings(void)
{
	static const struct bad_setting bad[] = {
		{ "timeout = 0;", "timeout" },
		{ "socket = \"tcp://localhost:1234\";", "socket" },
		{ "socket = \"relative.sock\";", "socket" },
		{ "stop_grace = -1;", "stop_grace" },
		{ "bridge_network = \"bad name\";", "bridge_network" },
	};

	case_begin();
	expect_settings_refused(bad, sizeof(bad) / sizeof(bad[0]));
	case_end("settings are validated in open() and name the key");
}


static char settings[1024];

static void case_open(void)
{
	char *version = NULL;
	berth_error err;
	uint64_t caps, want = BERTH_CAP_RENAME | BERTH_CAP_LIVE_UPDATE | BERTH_CAP_PAUSE |
			      BERTH_CAP_LABELS | BERTH_CAP_EVENTS | BERTH_CAP_PULL;

	case_begin();
	snprintf(settings, sizeof(settings),
		 "socket = \"unix://%s\"; timeout = 30; bridge_network = \"none\";", sock);
	inst = open_instance(settings, &err);
	EXPECT(inst != NULL, "open: %s", err.message);
	if (!inst) {
		case_end("open, ping, capabilities, watch");
		return;
	}
	EXPECT(drv->ping(inst, &version, &err) == 0 && version &&
		       strncmp(version, "podman 4.", 9) == 0 && strstr(version, "(API 4."),
	       "ping: %s", version ? version : err.message);
	diag("ping: %s", version ? version : "-");
	free(version);
	caps = drv->capabilities(inst);
	EXPECT(caps == want, "capabilities 0x%llx, want 0x%llx (no RESTART_POLICY, no STOP_SIGNAL)",
	       (unsigned long long)caps, (unsigned long long)want);
	EXPECT(drv->watch(inst, &err) == 0, "watch: %s", err.message);
	usleep(400 * 1000);
	EXPECT(testhost_pending(th, TESTHOST_STATUS) == 0, "unexpected status records");
	drain();
	case_end("open, ping (podman 4.x), capabilities (live update, no restart policy), watch");
}

static char main_id[128], main_bid[64], main_name[96];
static char mnt_dir[128];

static void case_create(void)
{
	static const char *const env[] = { "FOO=bar", "EMPTY=", NULL };
	static const char *const hosts[] = { "berth-peer:10.1.2.3", NULL };
	berth_container_info info = { .size = sizeof(info) };
	berth_container_spec spec;
	struct testhost_record *r;
	berth_mount m;
	json_object *ci;
	berth_error err;
	char *id, *text;

	case_begin();
	drain();
	uuid(main_bid, sizeof(main_bid), 1);
	snprintf(main_name, sizeof(main_name), "pm-main-%d", (int)getpid());
	snprintf(mnt_dir, sizeof(mnt_dir), "/tmp/berth-pm-mnt-%d", (int)getpid());
	mkdir(mnt_dir, 0755);
	make_spec(&spec, main_bid, main_name, loop_cmd);
	spec.env = env;
	spec.hostname = "berth-host";
	spec.extra_hosts = hosts;
	m = (berth_mount){ .source = mnt_dir, .destination = "/data", .propagation = "rprivate" };
	spec.mounts = &m;
	spec.n_mounts = 1;
	spec.resources.memory = 64 * MB;
	spec.resources.memory_reservation = 32 * MB;
	spec.resources.memory_swap = 128 * MB;
	id = create(&spec, 0, &err);
	EXPECT(id != NULL, "create: %s", err.message);
	if (!id)
		goto out;
	snprintf(main_id, sizeof(main_id), "%s", id);
	EXPECT(strlen(id) == 64, "native id %s is not podman's 64-hex id", id);
	r = testhost_wait_event(th, BERTH_EV_CREATE, id, EVENT_WAIT_MS);
	EXPECT(r && r->berth_id && strcmp(r->berth_id, main_bid) == 0, "create event: %s",
	       r ? r->berth_id : "none");
	testhost_record_free(r);
	ci = pm_info(id);
	EXPECT(ci != NULL, "podman inspect %s failed", id);
	if (ci) {
		EXPECT(strcmp(label_of(ci, "berth.id"), main_bid) == 0, "berth.id label %s",
		       label_of(ci, "berth.id"));
		EXPECT(strcmp(label_of(ci, "berth.owner"), "test:podman") == 0,
		       "berth.owner label %s", label_of(ci, "berth.owner"));
		EXPECT(strcmp(jstr(ci, "Name"), main_name) == 0, "name %s", jstr(ci, "Name"));
		EXPECT(strcmp(jstr(ci, "ImageName"), image) == 0, "image %s",
		       jstr(ci, "ImageName"));
		EXPECT(strcmp(jstr(ci, "Config.Hostname"), "berth-host") == 0, "hostname %s",
		       jstr(ci, "Config.Hostname"));
		text = (char *)json_object_to_json_string(jpath(ci, "Config.Env"));
		EXPECT(strstr(text, "\"FOO=bar\"") && strstr(text, "\"EMPTY=\""), "env %s", text);
		text = (char *)json_object_to_json_string(jpath(ci, "Config.Cmd"));
		EXPECT(strstr(text, "hello-berth"), "cmd %s", text);
		EXPECT(jint(ci, "HostConfig.Memory") == 64 * MB &&
			       jint(ci, "HostConfig.MemoryReservation") == 32 * MB &&
			       jint(ci, "HostConfig.MemorySwap") == 128 * MB,
		       "memory %lld/%lld/%lld", (long long)jint(ci, "HostConfig.Memory"),
		       (long long)jint(ci, "HostConfig.MemoryReservation"),
		       (long long)jint(ci, "HostConfig.MemorySwap"));
		text = (char *)json_object_to_json_string_ext(jpath(ci, "Mounts"),
							      JSON_C_TO_STRING_NOSLASHESCAPE);
		EXPECT(strstr(text, "\"/data\"") && strstr(text, mnt_dir) &&
			       strstr(text, "\"rprivate\""),
		       "mounts %s", text);
		text = (char *)json_object_to_json_string(jpath(ci, "HostConfig.ExtraHosts"));
		EXPECT(strstr(text, "berth-peer:10.1.2.3"), "extra hosts %s", text);
		EXPECT(strcmp(jstr(ci, "HostConfig.NetworkMode"), "none") == 0,
		       "network mode %s (bridge_network = \"none\")",
		       jstr(ci, "HostConfig.NetworkMode"));
		EXPECT(jint(ci, "Config.StopSignal") == SIGTERM ||
			       strcmp(jstr(ci, "Config.StopSignal"), "SIGTERM") == 0 ||
			       strcmp(jstr(ci, "Config.StopSignal"), "15") == 0,
		       "stop signal %s", json_object_to_json_string(jpath(ci, "Config.StopSignal")));
		json_object_put(ci);
	}
	EXPECT(drv->inspect(inst, id, &info, &err) == 0, "inspect: %s", err.message);
	EXPECT(info.state == BERTH_RS_CREATED, "state %d", info.state);
	EXPECT(info.name && strcmp(info.name, main_name) == 0, "name %s", info.name);
	EXPECT(info.berth_id && strcmp(info.berth_id, main_bid) == 0, "berth id %s", info.berth_id);
	EXPECT(info.owner && strcmp(info.owner, "test:podman") == 0, "owner %s", info.owner);
	EXPECT(info.image && strcmp(info.image, image) == 0, "image %s", info.image);
	EXPECT(info.resources.memory == 64 * MB && info.resources.memory_swap == 128 * MB &&
		       info.resources.memory_reservation == 32 * MB,
	       "resources %lld/%lld", (long long)info.resources.memory,
	       (long long)info.resources.memory_swap);
	EXPECT(info.created_ns > 0 && info.started_ns == 0, "times %lld %lld",
	       (long long)info.created_ns, (long long)info.started_ns);
	berth_container_info_release(&info);
	free(id);
	/* the same name again: podman says it is in use */
	id = NULL;
	spec.berth_id = "00000000-0000-4000-8000-000000000099";
	EXPECT(drv->create(inst, &spec, 0, &id, &err) < 0 && err.code == BERTH_E_CONFLICT &&
		       strstr(err.message, "in use"),
	       "second create with the same name: code %d (%s)", err.code, err.message);
	track(id);
	free(id);
out:
	drain();
	case_end("create: labels, name, image, env, hostname, mounts, hosts, limits; name "
		 "in use is CONFLICT");
}

static void case_create_other(void)
{
	berth_container_spec spec;
	char bid[64], *id = NULL;
	berth_error err;
	json_object *ci;

	case_begin();
	uuid(bid, sizeof(bid), 2);
	make_spec(&spec, bid, "refused", loop_cmd);
	spec.image = "localhost/no-such-image:1";
	EXPECT(drv->create(inst, &spec, BERTH_CREATE_NO_PULL, &id, &err) < 0 &&
		       err.code == BERTH_E_NOT_FOUND && strstr(err.message, "no-such-image"),
	       "missing image, no pull: code %d (%s)", err.code, err.message);
	track(id);
	free(id);
	id = NULL;
	/* no registry is reachable: the pull fails and says why, in podman's words */
	EXPECT(drv->create(inst, &spec, 0, &id, &err) < 0 && err.code != BERTH_E_NOT_FOUND &&
		       strstr(err.message, "pull localhost/no-such-image:1"),
	       "missing image, pull: code %d (%s)", err.code, err.message);
	diag("pull: %s", err.message);
	track(id);
	free(id);
	/* a berth name podman refuses: berth-<id> */
	make_spec(&spec, bid, "_under", loop_cmd);
	spec.network_mode = "host";
	id = create(&spec, 0, &err);
	EXPECT(id != NULL, "create _under: %s", err.message);
	ci = id ? pm_info(id) : NULL;
	if (ci) {
		char want[96];

		snprintf(want, sizeof(want), "berth-%s", bid);
		EXPECT(strcmp(jstr(ci, "Name"), want) == 0, "name %s", jstr(ci, "Name"));
		EXPECT(strcmp(jstr(ci, "HostConfig.NetworkMode"), "host") == 0, "network %s",
		       jstr(ci, "HostConfig.NetworkMode"));
		json_object_put(ci);
	}
	if (id) {
		EXPECT(drv->remove(inst, id, 0, &err) == 0, "remove: %s", err.message);
		EXPECT(pm_info(id) == NULL, "still there after remove");
	}
	free(id);
	case_end("create: missing image NOT_FOUND without pull, pull failure in podman's words; "
		 "a name podman refuses becomes berth-<id>; host network");
}

static void case_start(void)
{
	berth_container_info info = { .size = sizeof(info) };
	berth_error err;
	int pid = 0;

	case_begin();
	drain();
	EXPECT(drv->start(inst, main_id, 0, &err) == 0, "start: %s", err.message);
	expect_event(BERTH_EV_START, main_id, NULL, "start");
	EXPECT(strcmp(pm_status(main_id, &pid), "running") == 0, "podman status %s",
	       pm_status(main_id, NULL));
	EXPECT(proc_alive(pid), "pid %d not alive", pid);
	EXPECT(limits_are(main_id, 64 * MB, 32 * MB, 128 * MB), "create-time limits");
	EXPECT(drv->inspect(inst, main_id, &info, &err) == 0, "inspect: %s", err.message);
	EXPECT(info.state == BERTH_RS_RUNNING && info.pid == pid && info.started_ns > 0,
	       "state %d pid %d/%d", info.state, info.pid, pid);
	berth_container_info_release(&info);
	EXPECT(drv->start(inst, main_id, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "second start: code %d (%s)", err.code, err.message);
	drain();
	case_end("start: START event, running in podman, pid; starting again is CONFLICT");
}

static void case_kill(void)
{
	berth_container_info info = { .size = sizeof(info) };
	berth_error err;
	int code;

	case_begin();
	drain();
	EXPECT(drv->kill(inst, main_id, SIGUSR1, BERTH_KILL_ALL, &err) < 0 &&
		       err.code == BERTH_E_UNSUPPORTED,
	       "kill all USR1: code %d", err.code);
	EXPECT(drv->kill(inst, main_id, 0, 0, &err) < 0 && err.code == BERTH_E_INVALID,
	       "signal 0: code %d", err.code);
	EXPECT(drv->kill(inst, main_id, SIGUSR1, 0, &err) == 0, "kill USR1: %s", err.message);
	code = expect_event(BERTH_EV_EXIT, main_id, NULL, "exit");
	EXPECT(code == 7, "exit code %d, want 7", code);
	EXPECT(strcmp(pm_status(main_id, NULL), "exited") == 0, "podman status %s",
	       pm_status(main_id, NULL));
	EXPECT(drv->inspect(inst, main_id, &info, &err) == 0 && info.state == BERTH_RS_EXITED &&
		       info.exit_code == 7 && info.finished_ns > 0 && info.pid == 0,
	       "inspect state %d exit %d", info.state, info.exit_code);
	berth_container_info_release(&info);
	EXPECT(drv->kill(inst, main_id, SIGTERM, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "kill exited: code %d (%s)", err.code, err.message);
	EXPECT(drv->start(inst, main_id, 0, &err) == 0, "restart: %s", err.message);
	expect_event(BERTH_EV_START, main_id, NULL, "start");
	usleep(200 * 1000);
	EXPECT(drv->kill(inst, main_id, SIGKILL, BERTH_KILL_ALL, &err) == 0, "kill all KILL: %s",
	       err.message);
	code = expect_event(BERTH_EV_EXIT, main_id, NULL, "exit");
	EXPECT(code == 137, "exit code %d, want 137", code);
	drain();
	case_end("kill: signal reaches the process (EXIT event with its code), exited is "
		 "CONFLICT, KILL_ALL only with SIGKILL");
}

static void case_stop(void)
{
	berth_error err;
	double t0;
	int code;

	case_begin();
	drain();
	EXPECT(drv->stop(inst, main_id, SIGTERM, 5, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "stop exited: code %d (%s)", err.code, err.message);
	EXPECT(drv->start(inst, main_id, 0, &err) == 0, "start: %s", err.message);
	expect_event(BERTH_EV_START, main_id, NULL, "start");
	usleep(200 * 1000);
	EXPECT(drv->stop(inst, main_id, SIGUSR1, 5, 0, &err) < 0 &&
		       err.code == BERTH_E_UNSUPPORTED,
	       "stop with USR1: code %d", err.code);
	t0 = mono_us();
	EXPECT(drv->stop(inst, main_id, SIGTERM, 5, 0, &err) == 0, "stop: %s", err.message);
	EXPECT(mono_us() - t0 < 4.5e6, "stop took %.0f ms (the TERM trap exits at once)",
	       (mono_us() - t0) / 1e3);
	code = expect_event(BERTH_EV_EXIT, main_id, NULL, "exit");
	EXPECT(code == 3, "exit code %d, want 3 (TERM trap)", code);
	EXPECT(strcmp(pm_status(main_id, NULL), "exited") == 0, "podman status %s",
	       pm_status(main_id, NULL));
	drain();
	case_end("stop: native SIGTERM + timeout, exit 3 from the trap; other signals are the "
		 "core's; stopping an exited container is CONFLICT");
}

static void case_pause(void)
{
	berth_error err;

	case_begin();
	drain();
	EXPECT(drv->pause(inst, main_id, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "pause exited: code %d (%s)", err.code, err.message);
	EXPECT(drv->start(inst, main_id, 0, &err) == 0, "start: %s", err.message);
	expect_event(BERTH_EV_START, main_id, NULL, "start");
	EXPECT(drv->pause(inst, main_id, 0, &err) == 0, "pause: %s", err.message);
	expect_event(BERTH_EV_PAUSE, main_id, NULL, "pause");
	EXPECT(strcmp(pm_status(main_id, NULL), "paused") == 0, "podman status %s",
	       pm_status(main_id, NULL));
	EXPECT(state_of(main_id) == BERTH_RS_PAUSED, "state %d", state_of(main_id));
	EXPECT(drv->pause(inst, main_id, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "second pause: code %d (%s)", err.code, err.message);
	EXPECT(drv->resume(inst, main_id, 0, &err) == 0, "resume: %s", err.message);
	expect_event(BERTH_EV_RESUME, main_id, NULL, "resume");
	EXPECT(strcmp(pm_status(main_id, NULL), "running") == 0, "podman status %s",
	       pm_status(main_id, NULL));
	EXPECT(drv->resume(inst, main_id, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "second resume: code %d (%s)", err.code, err.message);
	drain();
	case_end("pause/resume: events, podman state, repeated is CONFLICT");
}

static void case_rename(void)
{
	struct testhost_record *r;
	char newname[128];
	berth_error err;
	json_object *ci;

	case_begin();
	drain();
	snprintf(newname, sizeof(newname), "%s-renamed", main_name);
	EXPECT(drv->rename(inst, main_id, newname, 0, &err) == 0, "rename: %s", err.message);
	r = testhost_wait_event(th, BERTH_EV_RENAME, main_id, EVENT_WAIT_MS);
	EXPECT(r && r->name && strcmp(r->name, newname) == 0, "rename event name %s",
	       r ? r->name : "none");
	testhost_record_free(r);
	ci = pm_info(main_id);
	EXPECT(ci && strcmp(jstr(ci, "Name"), newname) == 0, "podman name %s",
	       ci ? jstr(ci, "Name") : "");
	json_object_put(ci);
	EXPECT(drv->rename(inst, "no-such-container-x", "x1", 0, &err) < 0 &&
		       err.code == BERTH_E_NOT_FOUND,
	       "rename unknown: code %d (%s)", err.code, err.message);
	snprintf(main_name, sizeof(main_name), "%.95s", newname);
	drain();
	case_end("rename: podman's name changes, RENAME event with the new name");
}

static void do_update(const char *id, berth_resources prev, berth_resources next, bool running,
		      berth_error *err, int *rc)
{
	berth_update u = { .size = sizeof(u), .mask = BERTH_UPDATE_RESOURCES };

	u.resources = next;
	u.previous = prev;
	u.running = running;
	*rc = drv->update(inst, id, &u, 0, err);
}

static void case_update(void)
{
	berth_resources a = { 64 * MB, 32 * MB, 128 * MB }, b = { 96 * MB, 48 * MB, 192 * MB },
			c = { 48 * MB, 0, 0 };
	berth_container_info info = { .size = sizeof(info) };
	berth_update ru = { .size = sizeof(ru), .mask = BERTH_UPDATE_RESTART, .running = true };
	berth_error err;
	int rc;

	case_begin();
	drain();
	do_update(main_id, a, b, true, &err, &rc);
	EXPECT(rc == 0, "update running: %s", err.message);
	EXPECT(limits_are(main_id, 96 * MB, 48 * MB, 192 * MB), "live update");
	EXPECT(drv->inspect(inst, main_id, &info, &err) == 0 && info.resources.memory == 96 * MB &&
		       info.resources.memory_reservation == 48 * MB &&
		       info.resources.memory_swap == 192 * MB,
	       "inspect after update %lld/%lld/%lld", (long long)info.resources.memory,
	       (long long)info.resources.memory_reservation, (long long)info.resources.memory_swap);
	berth_container_info_release(&info);
	/* podman 4.3 builds the next cgroup from the create-time limits: the backend re-applies */
	EXPECT(drv->stop(inst, main_id, SIGTERM, 5, 0, &err) == 0, "stop: %s", err.message);
	expect_event(BERTH_EV_EXIT, main_id, NULL, "exit");
	EXPECT(drv->start(inst, main_id, 0, &err) == 0, "start: %s", err.message);
	EXPECT(limits_are(main_id, 96 * MB, 48 * MB, 192 * MB), "limits after a restart");
	/* stopped: recorded, applied by the next start */
	EXPECT(drv->stop(inst, main_id, SIGTERM, 5, 0, &err) == 0, "stop: %s", err.message);
	do_update(main_id, b, c, false, &err, &rc);
	EXPECT(rc == 0, "update stopped: %s", err.message);
	EXPECT(drv->start(inst, main_id, 0, &err) == 0, "start: %s", err.message);
	EXPECT(limits_are(main_id, 48 * MB, UNLIMITED, 96 * MB),
	       "limits of a stopped update after start (no reservation, swap twice memory)");
	/* invalid: swap below memory */
	do_update(main_id, c, (berth_resources){ 64 * MB, 0, 32 * MB }, true, &err, &rc);
	EXPECT(rc < 0 && err.code == BERTH_E_INVALID, "swap < memory: code %d", err.code);
	/* a restart-policy change is the core's: nothing reaches podman */
	ru.restart.type = BERTH_RESTART_ALWAYS;
	EXPECT(drv->update(inst, main_id, &ru, 0, &err) == 0, "restart update: %s", err.message);
	do_update("no-such-container-x", a, b, true, &err, &rc);
	EXPECT(rc < 0 && err.code == BERTH_E_NOT_FOUND, "update unknown: code %d (%s)", err.code,
	       err.message);
	drain();
	case_end("update: live cgroup change, kept across stop/start (re-applied), a stopped "
		 "container's update applies at start, inspect reports berth's limits");
}

static void case_oom(void)
{
	static const char *const hog[] = {
		"/bin/sh", "-c", "x=0123456789abcdef; while :; do x=$x$x; done", NULL
	};
	berth_container_info info = { .size = sizeof(info) };
	berth_container_spec spec;
	char bid[64], *id;
	berth_error err;
	json_object *ci;
	int code;

	case_begin();
	drain();
	uuid(bid, sizeof(bid), 3);
	make_spec(&spec, bid, "pm-oom", hog);
	spec.resources.memory = 16 * MB;
	spec.resources.memory_swap = 16 * MB;
	id = create(&spec, 0, &err);
	EXPECT(id != NULL, "create: %s", err.message);
	if (!id)
		goto out;
	EXPECT(drv->start(inst, id, 0, &err) == 0, "start: %s", err.message);
	code = expect_event(BERTH_EV_EXIT, id, NULL, "exit");
	EXPECT(code == 137, "exit code %d, want 137 (killed)", code);
	/* conmon 2.1 on this kind of host (cgroup v1, no systemd) does not see the OOM kill:
	 * podman itself says OOMKilled false; berth must say what podman says */
	ci = pm_info(id);
	EXPECT(drv->inspect(inst, id, &info, &err) == 0 && ci &&
		       info.oom_killed == json_object_get_boolean(jpath(ci, "State.OOMKilled")) &&
		       info.state == BERTH_RS_EXITED && info.exit_code == 137,
	       "inspect: oom_killed %d state %d exit %d", info.oom_killed, info.state,
	       info.exit_code);
	diag("podman's OOMKilled: %d", ci ? json_object_get_boolean(jpath(ci, "State.OOMKilled")) : -1);
	json_object_put(ci);
	berth_container_info_release(&info);
	EXPECT(drv->remove(inst, id, 0, &err) == 0, "remove: %s", err.message);
	free(id);
out:
	drain();
	case_end("a container over its memory limit: EXIT 137, OOMKilled as podman reports it");
}

static void case_limits_after_reopen(void)
{
	berth_container_info info = { .size = sizeof(info) };
	berth_error err;

	case_begin();
	drain();
	EXPECT(drv->stop(inst, main_id, SIGTERM, 5, 0, &err) == 0, "stop: %s", err.message);
	expect_event(BERTH_EV_EXIT, main_id, NULL, "exit");
	/* berthd restarts: a new instance reads the table from the state directory */
	drv->close(inst);
	drain();
	inst = open_instance(settings, &err);
	EXPECT(inst != NULL, "open again: %s", err.message);
	if (!inst) {
		case_end("updated limits survive a new instance (berthd restart)");
		return;
	}
	EXPECT(drv->watch(inst, &err) == 0, "watch: %s", err.message);
	EXPECT(drv->inspect(inst, main_id, &info, &err) == 0 && info.resources.memory == 48 * MB,
	       "inspect after reopen: memory %lld", (long long)info.resources.memory);
	berth_container_info_release(&info);
	EXPECT(drv->start(inst, main_id, 0, &err) == 0, "start: %s", err.message);
	EXPECT(limits_are(main_id, 48 * MB, UNLIMITED, 96 * MB), "limits after reopen + start");
	expect_event(BERTH_EV_START, main_id, NULL, "start");
	drain();
	case_end("updated limits survive a new instance (berthd restart): kept in the state dir");
}

static int list_cb(void *ud, const berth_container_info *info)
{
	int *found = ud;

	if (info->berth_id && strcmp(info->berth_id, main_bid) == 0 &&
	    strcmp(info->native_id, main_id) == 0 && info->state == BERTH_RS_RUNNING)
		found[0]++;
	if (!info->berth_id)
		found[1]++;
	return 0;
}

static int list_stop_cb(void *ud, const berth_container_info *info)
{
	(void)info;
	(*(int *)ud)++;
	return 42;
}

static void case_list(void)
{
	char name[64], *out = NULL;
	int found[2] = { 0, 0 }, calls = 0;
	berth_error err;

	case_begin();
	snprintf(name, sizeof(name), "pm-unlabelled-%d", (int)getpid());
	{
		char *argv[] = { "podman", "create", "--name", name, image, "true", NULL };

		EXPECT(run_capture(argv, &out) == 0, "podman create %s", name);
		if (out) {
			out[strcspn(out, "\n")] = '\0';
			track(out);
		}
		free(out);
	}
	EXPECT(drv->list(inst, list_cb, found, 0, &err) == 0, "list: %s", err.message);
	EXPECT(found[0] == 1, "main container listed %d times", found[0]);
	EXPECT(found[1] == 0, "%d containers without a berth label listed", found[1]);
	EXPECT(drv->list(inst, list_stop_cb, &calls, 0, &err) == 42 && calls == 1,
	       "a non-zero callback stops the walk (calls %d)", calls);
	case_end("list: containers with a berth.id label only, callback can stop the walk");
}

static void case_not_found(void)
{
	berth_container_info info = { .size = sizeof(info) };
	berth_error err;

	case_begin();
	EXPECT(drv->inspect(inst, "no-such-container-x", &info, &err) < 0 &&
		       err.code == BERTH_E_NOT_FOUND && strstr(err.message, "no-such-container-x"),
	       "inspect: code %d (%s)", err.code, err.message);
	EXPECT(drv->start(inst, "no-such-container-x", 0, &err) < 0 &&
		       err.code == BERTH_E_NOT_FOUND,
	       "start: code %d", err.code);
	EXPECT(drv->kill(inst, "no-such-container-x", SIGTERM, 0, &err) < 0 &&
		       err.code == BERTH_E_NOT_FOUND,
	       "kill: code %d", err.code);
	EXPECT(drv->pause(inst, "no-such-container-x", 0, &err) < 0 &&
		       err.code == BERTH_E_NOT_FOUND,
	       "pause: code %d", err.code);
	EXPECT(drv->stop(inst, "no-such-container-x", SIGTERM, 1, 0, &err) < 0 &&
		       err.code == BERTH_E_NOT_FOUND,
	       "stop: code %d", err.code);
	EXPECT(drv->remove(inst, "no-such-container-x", BERTH_REMOVE_FORCE, &err) < 0 &&
		       err.code == BERTH_E_NOT_FOUND,
	       "remove: code %d", err.code);
	diag("inspect unknown: %s", err.message);
	case_end("an unknown container is NOT_FOUND for every op, in podman's words");
}

static void case_podman_restart(void)
{
	struct testhost_record *r;
	berth_error err;
	int code, pid;

	case_begin();
	drain();
	pm_status(main_id, &pid);
	EXPECT(run_peer(peer, "down") == 0, "podman.sh down failed");
	r = testhost_wait(th, TESTHOST_STATUS, NULL, NULL, 5000);
	EXPECT(r && !r->reachable, "no backend_status(false) after podman went down");
	if (r)
		diag("down: %s", r->text ? r->text : "");
	testhost_record_free(r);
	EXPECT(state_of(main_id) == -1, "inspect works with podman down?");
	EXPECT(drv->kill(inst, main_id, SIGUSR1, 0, &err) < 0 && err.code == BERTH_E_UNAVAILABLE,
	       "kill while down: code %d (%s)", err.code, err.message);
	EXPECT(proc_alive(pid), "the container died with the service");
	EXPECT(run_peer(peer, "start") == 0, "podman.sh start failed");
	r = testhost_wait(th, TESTHOST_STATUS, NULL, NULL, 10000);
	EXPECT(r && r->reachable, "no backend_status(true) after podman came back");
	testhost_record_free(r);
	EXPECT(state_of(main_id) == BERTH_RS_RUNNING, "state after restart %d", state_of(main_id));
	EXPECT(drv->kill(inst, main_id, SIGUSR1, 0, &err) == 0, "kill after restart: %s",
	       err.message);
	code = expect_event(BERTH_EV_EXIT, main_id, NULL, "exit after reconnect");
	EXPECT(code == 7, "exit code %d", code);
	drain();
	case_end("podman service down and up: status false/true, UNAVAILABLE between, the "
		 "container survives, events flow again");
}

static void case_remove(void)
{
	berth_error err;
	int pid;

	case_begin();
	drain();
	EXPECT(drv->start(inst, main_id, 0, &err) == 0, "start: %s", err.message);
	expect_event(BERTH_EV_START, main_id, NULL, "start");
	pm_status(main_id, &pid);
	EXPECT(drv->remove(inst, main_id, 0, &err) < 0 && err.code == BERTH_E_CONFLICT,
	       "remove running without force: code %d (%s)", err.code, err.message);
	EXPECT(drv->pause(inst, main_id, 0, &err) == 0, "pause: %s", err.message);
	EXPECT(drv->remove(inst, main_id, BERTH_REMOVE_FORCE, &err) == 0, "force remove: %s",
	       err.message);
	expect_event(BERTH_EV_DESTROY, main_id, NULL, "destroy");
	EXPECT(pm_info(main_id) == NULL, "container still in podman");
	usleep(100 * 1000);
	EXPECT(!proc_alive(pid), "process %d survived", pid);
	EXPECT(drv->remove(inst, main_id, 0, &err) < 0 && err.code == BERTH_E_NOT_FOUND,
	       "second remove: code %d", err.code);
	drain();
	case_end("remove: CONFLICT when running, force removes a paused one; NOT_FOUND after");
}

int main(int argc, char **argv)
{
	const char *run = test_run_dir();
	bool started_peer = false;
	char envfile[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: %s path/to/podman.so\n", argv[0]);
		return 2;
	}
	{
		char *which[] = { "sh", "-c", "command -v podman && command -v runc && "
					      "command -v curl", NULL };

		if (run_capture(which, NULL) != 0) {
			printf("# skipped: podman, runc or curl is not installed\n");
			return 77;
		}
	}
	snprintf(peer, sizeof(peer), "%s/tests/integration/lib/podman.sh", BERTH_TOP_SRCDIR);
	snprintf(envfile, sizeof(envfile), "%s/podman.env", run);
	/* rerun when up: its start is idempotent (images and env file) */
	if (start_peer(peer, "the podman peer", true, NULL, &started_peer) != 0)
		return 1;
	if (!read_peer_env(envfile)) {
		printf("not ok - %s lacks the peer's settings\n", envfile);
		return 1;
	}
	printf("# podman at %s, image %s\n", sock, image);

	spec_defaults = (struct spec_defaults){ image, "bridge", "test:podman" };
	if (!load_driver("test:podman", argv[1], "podman"))
		return 1;
	case_settings();
	case_runtime_down_at_open("podman");
	case_open();
	if (inst) {
		case_create();
		case_create_other();
		if (main_id[0]) {
			case_start();
			case_kill();
			case_stop();
			case_pause();
			case_rename();
			case_update();
			case_limits_after_reopen();
			if (inst)
				case_list();
		}
		if (inst) {
			case_oom();
			case_not_found();
		}
		if (main_id[0] && inst) {
			case_podman_restart();
			case_remove();
		}
		if (inst)
			drv->close(inst);
	}
	cleanup_tracked(remove_container);
	testhost_free(th);
	{
		char file[512], *p;

		/* the module keeps its table in the test host's state dir, /tmp */
		snprintf(file, sizeof(file), "/tmp/podman-limits-%s.json", sock);
		for (p = file + strlen("/tmp/podman-limits-"); *p; p++)
			if (*p == '/')
				*p = '_';
		unlink(file);
	}
	if (mnt_dir[0])
		rmdir(mnt_dir);
	if (started_peer)
		run_peer(peer, "stop");
	return report_summary();
}
