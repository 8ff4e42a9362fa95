/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Podman backend's pure code, without a podman: error answers -> berth codes,
 * version strings, container names, SpecGenerator and update bodies, inspect JSON ->
 * berth_container_info (podman 4.3.1's own answers, trimmed).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "podman.h"
#include "unit_main.h"

#define MB (1024LL * 1024LL)

/* podman.c is not linked: the log goes nowhere */
void podman_log(const struct podman *p, int level, const char *fmt, ...)
{
	(void)p;
	(void)level;
	(void)fmt;
}

static json_object *jget(json_object *o, const char *path)
{
	char key[64];

	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = jsonutil_get(o, key);
		path += n + (dot ? 1 : 0);
	}
	return o;
}

static void test_error_codes(void)
{
	CU_ASSERT_EQUAL(podman_error_code(404, "no such container", "no container with name or "
				"ID \"x\" found: no such container"), BERTH_E_NOT_FOUND);
	CU_ASSERT_EQUAL(podman_error_code(304, NULL, NULL), BERTH_E_CONFLICT);
	CU_ASSERT_EQUAL(podman_error_code(409, NULL, NULL), BERTH_E_CONFLICT);
	CU_ASSERT_EQUAL(podman_error_code(500, "container state improper",
					  "\"abc\" is already paused: container state improper"),
			BERTH_E_CONFLICT);
	CU_ASSERT_EQUAL(podman_error_code(500, "container state improper",
					  "can only kill running containers. abc is in state "
					  "exited: container state improper"),
			BERTH_E_CONFLICT);
	CU_ASSERT_EQUAL(podman_error_code(500, "that name is already in use",
					  "creating container storage: the container name \"p1\" "
					  "is already in use by abc"),
			BERTH_E_CONFLICT);
	CU_ASSERT_EQUAL(podman_error_code(500, "invalid argument",
					  "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid "
					  "argument"),
			BERTH_E_INVALID);
	CU_ASSERT_EQUAL(podman_error_code(500, "image not known", "x: image not known"),
			BERTH_E_RUNTIME);
	CU_ASSERT_EQUAL(podman_error_code(500, NULL, "`/usr/bin/runc update` failed: exit "
					  "status 1"),
			BERTH_E_RUNTIME);
	CU_ASSERT_EQUAL(podman_error_code(400, NULL, NULL), BERTH_E_INVALID);
	CU_ASSERT_EQUAL(podman_error_code(503, NULL, NULL), BERTH_E_UNAVAILABLE);
	CU_ASSERT_EQUAL(podman_error_code(502, NULL, NULL), BERTH_E_RUNTIME);
}

static void test_http_error_message(void)
{
	static char body[] = "{\"cause\":\"no such container\",\"message\":\"no container with "
			     "name or ID \\\"x\\\" found: no such container\",\"response\":404}";
	struct unixhttp_response resp = { .status = 404, .body = body, .body_len = sizeof(body) - 1 };
	struct unixhttp_response empty = { .status = 502, .body = NULL, .body_len = 0 };
	berth_error err;

	CU_ASSERT_EQUAL(podman_http_error(&resp, "inspect", &err), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(err.message, "no container with name or ID \"x\" found: no such "
					    "container");
	podman_http_error(&empty, "inspect", &err);
	CU_ASSERT_EQUAL(err.code, BERTH_E_RUNTIME);
	CU_ASSERT_STRING_EQUAL(err.message, "inspect: Podman answered HTTP 502");
}

static void test_versions(void)
{
	int a = -1, b = -1;

	CU_ASSERT_EQUAL(podman_parse_version("4.3.1", &a, &b), 0);
	CU_ASSERT_EQUAL(a, 4);
	CU_ASSERT_EQUAL(b, 3);
	CU_ASSERT_EQUAL(podman_parse_version("5.0.0-dev", &a, &b), 0);
	CU_ASSERT_EQUAL(a, 5);
	CU_ASSERT_EQUAL(b, 0);
	CU_ASSERT_EQUAL(podman_parse_version("4", &a, &b), -1);
	CU_ASSERT_EQUAL(podman_parse_version("v4.3", &a, &b), -1);
	CU_ASSERT_EQUAL(podman_parse_version("", &a, &b), -1);
	CU_ASSERT_EQUAL(podman_parse_version(NULL, &a, &b), -1);
}

static void test_names(void)
{
	char *n;

	CU_ASSERT_TRUE(podman_name_valid("a"));
	CU_ASSERT_TRUE(podman_name_valid("web-1.x_y"));
	CU_ASSERT_FALSE(podman_name_valid("_x"));
	CU_ASSERT_FALSE(podman_name_valid("-x"));
	CU_ASSERT_FALSE(podman_name_valid("a b"));
	CU_ASSERT_FALSE(podman_name_valid(""));
	n = podman_name_for("web", "id1");
	CU_ASSERT_STRING_EQUAL(n, "web");
	free(n);
	n = podman_name_for("_web", "id1");
	CU_ASSERT_STRING_EQUAL(n, "berth-id1");
	free(n);
}

static void spec_base(berth_container_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->berth_id = "uuid-1";
	s->owner = "dev:edge";
	s->name = "web";
	s->image = "localhost/busybox:latest";
	s->network_mode = "bridge";
}

static void test_spec_create(void)
{
	static const char *const cmd[] = { "/bin/sh", "-c", "true", NULL };
	static const char *const env[] = { "A=1", "B=x=y", "C", NULL };
	static const char *const hosts[] = { "peer:10.0.0.1", NULL };
	static const berth_port_mapping ports[] = {
		{ .proto = "udp", .host_ip = "127.0.0.1", .host_port = 5000, .host_port_end = 5002,
		  .container_port = 50 },
		{ .proto = "tcp", .host_port = 8080, .container_port = 80 },
	};
	static const berth_mount mounts[] = {
		{ .source = "/srv", .destination = "/data", .propagation = "rslave" },
	};
	berth_container_spec s;
	berth_error err;
	json_object *b, *pm;

	spec_base(&s);
	s.cmd = cmd;
	s.env = env;
	s.extra_hosts = hosts;
	s.ports = ports;
	s.n_ports = 2;
	s.mounts = mounts;
	s.n_mounts = 1;
	s.hostname = "h";
	s.domainname = "example.org";
	s.privileged = true;
	s.resources = (berth_resources){ 64 * MB, 32 * MB, -1 };
	b = podman_spec_create_body(&s, NULL, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_STRING_EQUAL(jsonutil_string(jsonutil_get(b, "labels"), "berth.id"), "uuid-1");
	CU_ASSERT_STRING_EQUAL(jsonutil_string(jsonutil_get(b, "labels"), "berth.owner"),
			       "dev:edge");
	CU_ASSERT_STRING_EQUAL(jsonutil_string(b, "image"), "localhost/busybox:latest");
	CU_ASSERT_EQUAL(json_object_array_length(jget(b, "command")), 3);
	CU_ASSERT_STRING_EQUAL(jsonutil_string(jget(b, "env"), "A"), "1");
	CU_ASSERT_STRING_EQUAL(jsonutil_string(jget(b, "env"), "B"), "x=y");
	CU_ASSERT_STRING_EQUAL(jsonutil_string(jget(b, "env"), "C"), "");
	CU_ASSERT_STRING_EQUAL(jsonutil_string(b, "hostname"), "h");
	CU_ASSERT_STRING_EQUAL(jsonutil_string(jget(b, "sysctl"), "kernel.domainname"),
			       "example.org");
	CU_ASSERT_EQUAL(json_object_get_int(jget(b, "stop_signal")), SIGTERM);
	CU_ASSERT_TRUE(json_object_get_boolean(jget(b, "privileged")));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(
				       jget(b, "hostadd"), 0)), "peer:10.0.0.1");
	CU_ASSERT_EQUAL(json_object_get_int64(jget(b, "resource_limits.memory.limit")), 64 * MB);
	CU_ASSERT_EQUAL(json_object_get_int64(jget(b, "resource_limits.memory.reservation")),
			32 * MB);
	CU_ASSERT_EQUAL(json_object_get_int64(jget(b, "resource_limits.memory.swap")), -1);
	CU_ASSERT_STRING_EQUAL(jsonutil_string(jget(b, "netns"), "nsmode"), "bridge");
	CU_ASSERT_PTR_NULL(jget(b, "networks"));
	CU_ASSERT_PTR_NULL(jget(b, "restart_policy"));
	pm = json_object_array_get_idx(jget(b, "portmappings"), 0);
	CU_ASSERT_EQUAL(json_object_get_int(jget(pm, "container_port")), 50);
	CU_ASSERT_EQUAL(json_object_get_int(jget(pm, "host_port")), 5000);
	CU_ASSERT_EQUAL(json_object_get_int(jget(pm, "range")), 3);
	CU_ASSERT_STRING_EQUAL(jsonutil_string(pm, "host_ip"), "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(jsonutil_string(pm, "protocol"), "udp");
	pm = json_object_array_get_idx(jget(b, "portmappings"), 1);
	CU_ASSERT_PTR_NULL(jget(pm, "range"));
	CU_ASSERT_PTR_NULL(jget(pm, "host_ip"));
	pm = json_object_array_get_idx(jget(b, "mounts"), 0);
	CU_ASSERT_STRING_EQUAL(jsonutil_string(pm, "type"), "bind");
	CU_ASSERT_STRING_EQUAL(jsonutil_string(pm, "source"), "/srv");
	CU_ASSERT_STRING_EQUAL(jsonutil_string(pm, "destination"), "/data");
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(jget(pm, "options"),
							      JSON_C_TO_STRING_PLAIN),
			       "[\"rbind\",\"rslave\"]");
	json_object_put(b);
}

static void test_spec_network(void)
{
	berth_container_spec s;
	berth_error err;
	json_object *b;

	spec_base(&s);
	b = podman_spec_create_body(&s, "none", &err);
	CU_ASSERT_STRING_EQUAL(jsonutil_string(jget(b, "netns"), "nsmode"), "none");
	json_object_put(b);
	b = podman_spec_create_body(&s, "edge", &err);
	CU_ASSERT_STRING_EQUAL(jsonutil_string(jget(b, "netns"), "nsmode"), "bridge");
	CU_ASSERT_PTR_NOT_NULL(jget(b, "networks.edge"));
	json_object_put(b);
	s.network_mode = "host";
	b = podman_spec_create_body(&s, "none", &err);
	CU_ASSERT_STRING_EQUAL(jsonutil_string(jget(b, "netns"), "nsmode"), "host");
	CU_ASSERT_PTR_NULL(jget(b, "resource_limits"));
	json_object_put(b);
	s.network_mode = "container:x";
	CU_ASSERT_PTR_NULL(podman_spec_create_body(&s, NULL, &err));
	CU_ASSERT_EQUAL(err.code, BERTH_E_INVALID);
}

static void test_spec_refused(void)
{
	static const char *const env[] = { "=x", NULL };
	static const berth_mount rel = { .source = "srv", .destination = "/data" };
	static const berth_port_mapping sctp = { .proto = "sctp", .container_port = 1 };
	berth_container_spec s;
	berth_error err;

	spec_base(&s);
	s.image = "";
	CU_ASSERT_PTR_NULL(podman_spec_create_body(&s, NULL, &err));
	CU_ASSERT_EQUAL(err.code, BERTH_E_INVALID);
	spec_base(&s);
	s.env = env;
	CU_ASSERT_PTR_NULL(podman_spec_create_body(&s, NULL, &err));
	CU_ASSERT_EQUAL(err.code, BERTH_E_INVALID);
	spec_base(&s);
	s.mounts = &rel;
	s.n_mounts = 1;
	CU_ASSERT_PTR_NULL(podman_spec_create_body(&s, NULL, &err));
	CU_ASSERT_EQUAL(err.code, BERTH_E_INVALID);
	spec_base(&s);
	s.ports = &sctp;
	s.n_ports = 1;
	CU_ASSERT_PTR_NULL(podman_spec_create_body(&s, NULL, &err));
	CU_ASSERT_EQUAL(err.code, BERTH_E_INVALID);
	spec_base(&s);
	s.resources = (berth_resources){ 64 * MB, 0, 32 * MB };
	CU_ASSERT_PTR_NULL(podman_spec_create_body(&s, NULL, &err));
	CU_ASSERT_EQUAL(err.code, BERTH_E_INVALID);
	spec_base(&s);
	s.size = 8;
	CU_ASSERT_PTR_NULL(podman_spec_create_body(&s, NULL, &err));
}

static void test_resources_body(void)
{
	berth_resources r = { 48 * MB, 0, 0 };
	berth_error err;
	json_object *b = podman_spec_resources_body(&r, &err);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(json_object_get_int64(jget(b, "memory.limit")), 48 * MB);
	CU_ASSERT_EQUAL(json_object_get_int64(jget(b, "memory.reservation")), -1);
	CU_ASSERT_EQUAL(json_object_get_int64(jget(b, "memory.swap")), 96 * MB);
	json_object_put(b);
	r = (berth_resources){ 0, 0, 0 };
	b = podman_spec_resources_body(&r, &err);
	CU_ASSERT_EQUAL(json_object_get_int64(jget(b, "memory.limit")), -1);
	CU_ASSERT_EQUAL(json_object_get_int64(jget(b, "memory.swap")), -1);
	json_object_put(b);
	r = (berth_resources){ 0, 0, 64 * MB };
	CU_ASSERT_PTR_NULL(podman_spec_resources_body(&r, &err));
	CU_ASSERT_EQUAL(err.code, BERTH_E_INVALID);
}

static const char inspect_json[] =
	"{\"Id\":\"9fce7277b8146f38249fa0b72aa08d48079890455d5abdf8a8b82f7fb00176a3\","
	"\"Created\":\"2026-12-03T13:53:47.225151491Z\",\"Name\":\"p1\","
	"\"ImageName\":\"localhost/busybox:latest\",\"RestartCount\":2,"
	"\"State\":{\"Status\":\"running\",\"Running\":true,\"OOMKilled\":false,\"Pid\":5462,"
	"\"ExitCode\":0,\"Error\":\"\",\"StartedAt\":\"2026-12-03T13:53:47.430103074Z\","
	"\"FinishedAt\":\"0001-01-01T00:00:00Z\"},"
	"\"Config\":{\"Labels\":{\"berth.id\":\"abc\",\"berth.owner\":\"dev:edge\"},"
	"\"Image\":\"localhost/busybox:latest\"},"
	"\"HostConfig\":{\"Memory\":67108864,\"MemoryReservation\":33554432,"
	"\"MemorySwap\":134217728,\"RestartPolicy\":{\"Name\":\"\",\"MaximumRetryCount\":0}}}";

static void test_info(void)
{
	berth_container_info info = { .size = sizeof(info) };
	json_object *root = json_tokener_parse(inspect_json);
	berth_error err;

	CU_ASSERT_EQUAL_FATAL(podman_info_from_json(root, &info, &err), 0);
	CU_ASSERT_STRING_EQUAL(info.native_id,
			       "9fce7277b8146f38249fa0b72aa08d48079890455d5abdf8a8b82f7fb00176a3");
	CU_ASSERT_STRING_EQUAL(info.name, "p1");
	CU_ASSERT_STRING_EQUAL(info.image, "localhost/busybox:latest");
	CU_ASSERT_STRING_EQUAL(info.berth_id, "abc");
	CU_ASSERT_STRING_EQUAL(info.owner, "dev:edge");
	CU_ASSERT_PTR_NULL(info.error);
	CU_ASSERT_EQUAL(info.state, BERTH_RS_RUNNING);
	CU_ASSERT_EQUAL(info.pid, 5462);
	CU_ASSERT_EQUAL(info.restart_count, 2);
	CU_ASSERT_EQUAL(info.created_ns, 1796306027225151491LL);
	CU_ASSERT_EQUAL(info.started_ns, 1796306027430103074LL);
	CU_ASSERT_EQUAL(info.finished_ns, 0);
	CU_ASSERT_EQUAL(info.resources.memory, 64 * MB);
	CU_ASSERT_EQUAL(info.resources.memory_reservation, 32 * MB);
	CU_ASSERT_EQUAL(info.resources.memory_swap, 128 * MB);
	berth_container_info_release(&info);
	json_object_put(root);
	CU_ASSERT_EQUAL(podman_info_from_json(NULL, &info, &err), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_RUNTIME);
}

static void test_info_states(void)
{
	static const struct {
		const char *status;
		int state;
	} cases[] = {
		{ "configured", BERTH_RS_CREATED }, { "created", BERTH_RS_CREATED },
		{ "initialized", BERTH_RS_CREATED }, { "paused", BERTH_RS_PAUSED },
		{ "stopped", BERTH_RS_EXITED },     { "exited", BERTH_RS_EXITED },
		{ "stopping", BERTH_RS_RUNNING },   { "removing", BERTH_RS_REMOVING },
		{ "weird", BERTH_RS_UNKNOWN },
	};

	for (size_t i = 0; i < N(cases); i++) {
		char text[256];
		berth_container_info info = { .size = sizeof(info) };
		json_object *root;
		berth_error err;

		snprintf(text, sizeof(text), "{\"Id\":\"x\",\"State\":{\"Status\":\"%s\"}}",
			 cases[i].status);
		root = json_tokener_parse(text);
		CU_ASSERT_EQUAL(podman_info_from_json(root, &info, &err), 0);
		CU_ASSERT_EQUAL(info.state, cases[i].state);
		berth_container_info_release(&info);
		json_object_put(root);
	}
}

static void test_event_types(void)
{
	CU_ASSERT_EQUAL(podman_event_type("died"), BERTH_EV_EXIT);
	CU_ASSERT_EQUAL(podman_event_type("start"), BERTH_EV_START);
	CU_ASSERT_EQUAL(podman_event_type("remove"), BERTH_EV_DESTROY);
	CU_ASSERT_EQUAL(podman_event_type("unpause"), BERTH_EV_RESUME);
	CU_ASSERT_EQUAL(podman_event_type("rename"), BERTH_EV_RENAME);
	CU_ASSERT_EQUAL(podman_event_type("cleanup"), 0);
	CU_ASSERT_EQUAL(podman_event_type("init"), 0);
	CU_ASSERT_EQUAL(podman_event_type(NULL), 0);
}

static void test_limits(void)
{
	struct podman p = { 0 };
	berth_resources a = { 1, 2, 3 }, b = { 4, 5, 6 }, out;

	pthread_mutex_init(&p.lock, NULL);
	CU_ASSERT_FALSE(podman_limits_get(&p, "x", &out));
	CU_ASSERT_EQUAL(podman_limits_set(&p, "x", &a, NULL), 0);
	CU_ASSERT_EQUAL(podman_limits_set(&p, "y", &b, NULL), 0);
	CU_ASSERT_TRUE(podman_limits_get(&p, "x", &out));
	CU_ASSERT_EQUAL(out.memory_swap, 3);
	CU_ASSERT_EQUAL(podman_limits_set(&p, "x", &b, NULL), 0);
	CU_ASSERT_TRUE(podman_limits_get(&p, "x", &out));
	CU_ASSERT_EQUAL(out.memory, 4);
	podman_limits_forget(&p, "x");
	CU_ASSERT_FALSE(podman_limits_get(&p, "x", &out));
	CU_ASSERT_TRUE(podman_limits_get(&p, "y", &out));
	podman_limits_free(&p);
	CU_ASSERT_PTR_NULL(p.limits);
	pthread_mutex_destroy(&p.lock);
}

/* The table survives a restart of berthd: kept in the state directory. */
static void test_limits_kept(void)
{
	char dir[] = "/tmp/berth-test-podman-limits-XXXXXX", path[256];
	struct podman p = { .socket = "/run/podman/podman.sock" }, q = { .socket = p.socket };
	berth_resources a = { 64 << 20, 32 << 20, -1 }, out = { 0 };
	berth_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	pthread_mutex_init(&p.lock, NULL);
	pthread_mutex_init(&q.lock, NULL);
	CU_ASSERT_EQUAL(podman_limits_open(&p, dir, &err), 0);
	CU_ASSERT_EQUAL(podman_limits_set(&p, "abc", &a, &err), 0);
	CU_ASSERT_EQUAL(podman_limits_set(&p, "def", &a, &err), 0);
	podman_limits_forget(&p, "def");
	snprintf(path, sizeof(path), "%s/podman-limits-_run_podman_podman.sock.json", dir);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	podman_limits_free(&p);
	CU_ASSERT_EQUAL(podman_limits_open(&q, dir, &err), 0);
	CU_ASSERT_TRUE(podman_limits_get(&q, "abc", &out));
	CU_ASSERT_EQUAL(out.memory, 64 << 20);
	CU_ASSERT_EQUAL(out.memory_reservation, 32 << 20);
	CU_ASSERT_EQUAL(out.memory_swap, -1);
	CU_ASSERT_FALSE(podman_limits_get(&q, "def", &out));
	podman_limits_forget(&q, "abc");
	podman_limits_free(&q);
	unlink(path);
	rmdir(dir);
	pthread_mutex_destroy(&p.lock);
	pthread_mutex_destroy(&q.lock);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "error codes", test_error_codes },
		{ "http error message", test_http_error_message },
		{ "versions", test_versions },
		{ "names", test_names },
		{ "spec create", test_spec_create },
		{ "spec network", test_spec_network },
		{ "spec refused", test_spec_refused },
		{ "resources body", test_resources_body },
		{ "inspect", test_info },
		{ "inspect states", test_info_states },
		{ "event types", test_event_types },
		{ "limits table", test_limits },
		{ "limits kept in the state dir", test_limits_kept },
	};

	return unit_run("podman", NULL, NULL, tests, N(tests));
}
