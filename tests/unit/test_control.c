/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for core/control.c, the control socket, in a core without backends or cloud
 * transports: the socket file (mode, directory, stale and foreign files), the
 * line protocol (list, show, status, bad requests, order, size limit), commands through
 * command_inbound() answered at once (404, 400) and later by a worker (create without a
 * backend: 503), one-way commands (202), readiness and twin events not counting the
 * control transport, and shutdown (503 after stop, socket removed at close).
 * No backends, no cloud transport: the command paths that reach a worker end in 503.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "command.h"
#include "config.h"
#include "control.h"
#include "identity.h"
#include "log.h"
#include "queue.h"
#include "transports.h"
#include "unit_main.h"

#define THING "test:ctl"

static char tmp_dir[64], sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Opens and starts the control transport alone; 0 or -1 (message in err). */
static int start_control(berth_error *err)
{
	struct berth_config cfg = { 0 };
	struct agent_config a = { .control_socket = sock_path, .max_payload = 4096 };

	berth_error_clear(err);
	if (transports_open_all(&cfg, NULL, err) < 0 || control_open(&a, err) < 0)
		return -1;
	return transports_start_all(err);
}

static void stop_control(void)
{
	transports_stop_all();
	queue_wait_idle(60000);
	transports_close_all();
}

static int connect_control(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_text(int fd, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

/* Reads one line (blocking); NULL at EOF. Caller frees. */
static json_object *read_line(int fd)
{
	char buf[65536];
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, 1);

		if (n <= 0)
			return NULL;
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = '\0';
	return json_tokener_parse(buf);
}

/* One request on a fresh connection; the answer (caller frees). */
static json_object *ask(const char *line)
{
	int fd = connect_control();
	json_object *o;

	CU_ASSERT_TRUE_FATAL(fd >= 0);
	send_text(fd, line);
	o = read_line(fd);
	close(fd);
	CU_ASSERT_PTR_NOT_NULL(o);
	return o;
}

static int status_of(json_object *o)
{
	json_object *v;

	return o && json_object_object_get_ex(o, "status", &v) ? json_object_get_int(v) : -1;
}

static const char *path_string(json_object *o, const char *a, const char *b, const char *c)
{
	json_object *v = o;

	if (a && !json_object_object_get_ex(v, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	if (c && !json_object_object_get_ex(v, c, &v))
		return NULL;
	return json_object_get_string(v);
}

static const char *error_of(json_object *o)
{
	return path_string(o, "error", NULL, NULL);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_socket_file(void)
{
	struct stat st;
	char dir[128];

	CU_ASSERT_EQUAL_FATAL(lstat(sock_path, &st), 0);
	CU_ASSERT_TRUE(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0660);
	CU_ASSERT_EQUAL(st.st_uid, geteuid());
	snprintf(dir, sizeof(dir), "%s/run/berth", tmp_dir); /* created, as its parent */
	CU_ASSERT_EQUAL_FATAL(stat(dir, &st), 0);
	CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
}

static void test_list_show_status(void)
{
	json_object *o, *a, *v;

	o = ask("{\"request\":\"list\"}\n");
	CU_ASSERT_EQUAL(status_of(o), 200);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "containers", &v) &&
		       json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0);
	json_object_put(o);

	o = ask("{\"request\":\"show\",\"id\":\"web\"}\n");
	CU_ASSERT_EQUAL(status_of(o), 404);
	CU_ASSERT_PTR_NOT_NULL(strstr(error_of(o), "no container has the id or name 'web'"));
	json_object_put(o);

	o = ask("{\"request\":\"status\"}\n");
	CU_ASSERT_EQUAL(status_of(o), 200);
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(o, "agent", &a));
	CU_ASSERT_STRING_EQUAL(path_string(a, "thingId", NULL, NULL), THING);
	CU_ASSERT_STRING_EQUAL(path_string(a, "version", NULL, NULL), PACKAGE_VERSION);
	/* the control transport is not a cloud link: not listed */
	CU_ASSERT_TRUE(json_object_object_get_ex(a, "transports", &v) &&
		       json_object_array_length(v) == 0);
	CU_ASSERT_TRUE(json_object_object_get_ex(a, "containers", &v) &&
		       json_object_get_int(v) == 0);
	CU_ASSERT_TRUE(json_object_object_get_ex(a, "queuePending", &v));
	json_object_put(o);
}

static void test_bad_requests(void)
{
	static const struct {
		const char *line, *needle;
	} cases[] = {
		{ "not json\n", "one JSON object on one line" },
		{ "[1,2]\n", "one JSON object on one line" },
		{ "{\"a\":1} trailing\n", "one JSON object on one line" },
		{ "{}\n", "no \"request\" member" },
		{ "{\"request\":7}\n", "no \"request\" member" },
		{ "{\"request\":\"reboot\"}\n", "unknown request 'reboot'" },
		{ "{\"request\":\"show\"}\n", "show needs \"id\"" },
		{ "{\"request\":\"command\"}\n", "command needs \"envelope\"" },
		{ "{\"request\":\"command\",\"envelope\":5}\n", "command needs \"envelope\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *o = ask(cases[i].line);

		CU_ASSERT_EQUAL(status_of(o), 400);
		if (!error_of(o) || !strstr(error_of(o), cases[i].needle)) {
			fprintf(stderr, "\ncase %zu: '%s' lacks '%s'\n", i, error_of(o),
				cases[i].needle);
			CU_FAIL("error text");
		}
		json_object_put(o);
	}
}

static void test_order_and_eof(void)
{
	int fd = connect_control();
	json_object *o;

	CU_ASSERT_TRUE_FATAL(fd >= 0);
	/* pipelined, blank lines skipped, the last line without its newline, then EOF */
	send_text(fd, "{\"request\":\"status\"}\n\n   \n{\"request\":\"nope\"}\r\n"
		      "{\"request\":\"command\",\"envelope\":{\"topic\":\"" "test/ctl/things/live/"
		      "messages/start\",\"headers\":{\"correlation-id\":\"c-1\"},\"path\":"
		      "\"/features/Container:gone/inbox/messages/start\"}}\n"
		      "{\"request\":\"list\"}");
	shutdown(fd, SHUT_WR);
	o = read_line(fd);
	CU_ASSERT_EQUAL(status_of(o), 200);
	CU_ASSERT_PTR_NOT_NULL(path_string(o, "agent", "thingId", NULL));
	json_object_put(o);
	o = read_line(fd);
	CU_ASSERT_EQUAL(status_of(o), 400);
	json_object_put(o);
	o = read_line(fd);
	CU_ASSERT_EQUAL(status_of(o), 404);
	json_object_put(o);
	o = read_line(fd);
	CU_ASSERT_EQUAL(status_of(o), 200);
	CU_ASSERT_PTR_NOT_NULL(path_string(o, "containers", NULL, NULL));
	json_object_put(o);
	CU_ASSERT_PTR_NULL(read_line(fd)); /* and then it hangs up */
	close(fd);
}

static void test_too_long(void)
{
	char *big = malloc(20000);
	int fd = connect_control();
	json_object *o;

	CU_ASSERT_TRUE_FATAL(fd >= 0 && big);
	memset(big, 'x', 19999);
	big[19999] = '\0';
	send_text(fd, big);
	o = read_line(fd);
	CU_ASSERT_EQUAL(status_of(o), 413);
	CU_ASSERT_PTR_NOT_NULL(strstr(error_of(o), "at most 8192 bytes")); /* 4096 + slack */
	json_object_put(o);
	CU_ASSERT_PTR_NULL(read_line(fd));
	close(fd);

	/* over the limit by a little, newline included: still refused */
	fd = connect_control();
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	big[8193] = '\n';
	big[8194] = '\0';
	send_text(fd, big);
	o = read_line(fd);
	CU_ASSERT_EQUAL(status_of(o), 413);
	json_object_put(o);
	close(fd);
	free(big);
}

/* Commands the core answers at once, on the control thread: the Ditto response. */
static void test_command_answered_at_once(void)
{
	json_object *o, *r;

	o = ask("{\"request\":\"command\",\"envelope\":{\"topic\":\"test/ctl/things/live/messages/"
		"start\",\"headers\":{\"correlation-id\":\"c-404\",\"response-required\":true},"
		"\"path\":\"/features/Container:nope/inbox/messages/start\"}}\n");
	CU_ASSERT_EQUAL(status_of(o), 404);
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(o, "response", &r));
	CU_ASSERT_STRING_EQUAL(path_string(r, "topic", NULL, NULL),
			       "test/ctl/things/live/messages/start");
	CU_ASSERT_STRING_EQUAL(path_string(r, "headers", "correlation-id", NULL), "c-404");
	CU_ASSERT_STRING_EQUAL(path_string(r, "path", NULL, NULL),
			       "/features/Container:nope/outbox/messages/start");
	CU_ASSERT_STRING_EQUAL(path_string(r, "value", "message", NULL),
			       "container nope is not found");
	json_object_put(o);

	/* another thing */
	o = ask("{\"request\":\"command\",\"envelope\":{\"topic\":\"other/thing/things/live/"
		"messages/start\",\"headers\":{\"correlation-id\":\"c\"},"
		"\"path\":\"/features/Container:x/inbox/messages/start\"}}\n");
	CU_ASSERT_EQUAL(status_of(o), 404);
	CU_ASSERT_PTR_NOT_NULL(strstr(path_string(o, "response", "value", "message"),
				      "this agent serves " THING));
	json_object_put(o);

	/* the envelope as text, passed as is: a trailing comma is fine (the decoder's
	 * leniency), garbage is the decoder's 400 */
	o = ask("{\"request\":\"command\",\"envelope\":\"{\\\"topic\\\":\\\"test/ctl/things/live/"
		"messages/pause\\\",\\\"headers\\\":{\\\"correlation-id\\\":\\\"c\\\"},"
		"\\\"path\\\":"
		"\\\"/features/Container:y/inbox/messages/pause\\\",}\"}\n");
	CU_ASSERT_EQUAL(status_of(o), 404);
	json_object_put(o);
	o = ask("{\"request\":\"command\",\"envelope\":\"garbage\"}\n");
	CU_ASSERT_EQUAL(status_of(o), 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(path_string(o, "response", "value", "message"), "JSON"));
	json_object_put(o);
}

/* A command that runs: answered later by a worker through send_reply(). */
static void test_command_answered_by_worker(void)
{
	struct command_stats before, after;
	json_object *o;

	command_stats(&before);
	o = ask("{\"request\":\"command\",\"envelope\":{\"topic\":\"test/ctl/things/live/messages/"
		"createWithConfig\",\"headers\":{\"correlation-id\":\"c-create\",\"content-type\":"
		"\"application/json\"},\"path\":\"/features/ContainerFactory/inbox/messages/"
		"createWithConfig\",\"value\":{\"imageRef\":\"busybox\"}}}\n");
	CU_ASSERT_EQUAL(status_of(o), 503);
	CU_ASSERT_STRING_EQUAL(path_string(o, "response", "value", "message"),
			       "no backend is configured");
	CU_ASSERT_STRING_EQUAL(path_string(o, "response", "headers", "correlation-id"), "c-create");
	json_object_put(o);
	queue_wait_idle(60000); /* the worker counts the answer after handing it over */
	command_stats(&after);
	CU_ASSERT_EQUAL(after.received, before.received + 1);
	CU_ASSERT_EQUAL(after.answered, before.answered + 1);
	CU_ASSERT_EQUAL(after.rejected_early, before.rejected_early); /* it was queued and ran */
}

static void test_one_way(void)
{
	struct command_stats before, after;
	json_object *o;

	command_stats(&before);
	o = ask("{\"request\":\"command\",\"envelope\":{\"topic\":\"test/ctl/things/live/messages/"
		"start\",\"headers\":{\"correlation-id\":\"c\",\"Response-Required\":false},"
		"\"path\":\"/features/Container:nope/inbox/messages/start\"}}\n");
	CU_ASSERT_EQUAL(status_of(o), 202);
	CU_ASSERT_FALSE(json_object_object_get_ex(o, "response", NULL));
	json_object_put(o);
	/* "false" as a string means the same to the decoder */
	o = ask("{\"request\":\"command\",\"envelope\":{\"topic\":\"test/ctl/things/live/messages/"
		"start\",\"headers\":{\"correlation-id\":\"c\",\"response-required\":\"false\"},"
		"\"path\":\"/features/Container:nope/inbox/messages/start\"}}\n");
	CU_ASSERT_EQUAL(status_of(o), 202);
	json_object_put(o);
	command_stats(&after);
	CU_ASSERT_EQUAL(after.received, before.received + 2);
	CU_ASSERT_EQUAL(after.answered, before.answered);
}

/* The 16 connections are all usable; the 17th is told why it is refused. */
static void test_connection_limit(void)
{
	int fds[CONTROL_MAX_CLIENTS + 1];
	json_object *o;

	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		fds[i] = connect_control();
		CU_ASSERT_TRUE_FATAL(fds[i] >= 0);
		send_text(fds[i], "{\"request\":\"list\"}\n");
		o = read_line(fds[i]);
		CU_ASSERT_EQUAL(status_of(o), 200);
		json_object_put(o);
	}
	fds[CONTROL_MAX_CLIENTS] = connect_control();
	CU_ASSERT_TRUE_FATAL(fds[CONTROL_MAX_CLIENTS] >= 0);
	o = read_line(fds[CONTROL_MAX_CLIENTS]);
	CU_ASSERT_EQUAL(status_of(o), 503);
	CU_ASSERT_PTR_NOT_NULL(strstr(error_of(o), "too many control connections"));
	json_object_put(o);
	for (int i = 0; i <= CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);
	/* slots come back */
	o = ask("{\"request\":\"list\"}\n");
	CU_ASSERT_EQUAL(status_of(o), 200);
	json_object_put(o);
}

static void test_builtin_not_a_cloud_link(void)
{
	CU_ASSERT_EQUAL_FATAL(transports_count(), 1);
	CU_ASSERT_TRUE(transports_at(0)->builtin);
	CU_ASSERT_STRING_EQUAL(transports_at(0)->name, "control");
	CU_ASSERT_FALSE(transport_is_online(transports_at(0)));
	/* never online, yet the agent is ready: readiness counts cloud transports only */
	CU_ASSERT_TRUE(transports_all_online());
	/* even when marked online, twin events are not sent to it (send_event is a no-op
	 * anyway; this is about the table) */
	transport_set_online(transports_at(0), true);
	transports_send_event(NULL, THING, NULL, "{}");
	transport_set_online(transports_at(0), false);
}

/* Last: stop, then close. */
static void test_shutdown(void)
{
	json_object *o;
	struct stat st;

	transports_stop_all();
	o = ask("{\"request\":\"command\",\"envelope\":{\"topic\":\"test/ctl/things/live/messages/"
		"start\",\"headers\":{\"correlation-id\":\"c\"},\"path\":"
		"\"/features/Container:x/inbox/messages/start\"}}\n");
	CU_ASSERT_EQUAL(status_of(o), 503);
	CU_ASSERT_PTR_NOT_NULL(strstr(error_of(o), "shutting down"));
	json_object_put(o);
	o = ask("{\"request\":\"list\"}\n"); /* reading still works */
	CU_ASSERT_EQUAL(status_of(o), 200);
	json_object_put(o);
	queue_wait_idle(60000);
	transports_close_all();
	CU_ASSERT_EQUAL(lstat(sock_path, &st), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
}

/* Start-up around files at the socket's path (runs after test_shutdown). A control
 * socket that cannot be had is not fatal: berthd serves the cloud without it. */
static void test_files_at_the_path(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	berth_error err;
	struct stat st, before;
	json_object *o;
	int fd;
	FILE *f;

	/* a stale socket (nobody listens) is replaced */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(start_control(&err), 0);
	CU_ASSERT_EQUAL(lstat(sock_path, &before), 0);
	CU_ASSERT_EQUAL(before.st_mode & 07777, 0660);
	o = ask("{\"request\":\"list\"}\n");
	CU_ASSERT_EQUAL(status_of(o), 200);
	json_object_put(o);

	/* a second agent on the same path goes on without a socket and leaves the first's
	 * alone (one process has one transport table: a second instance in it stands in
	 * for the second berthd) */
	{
		struct agent_config a = { .control_socket = sock_path, .max_payload = 4096 };

		berth_error_clear(&err);
		CU_ASSERT_EQUAL_FATAL(control_open(&a, &err), 0);
		CU_ASSERT_EQUAL_FATAL(transports_count(), 2);
		CU_ASSERT_EQUAL(transports_at(1)->drv->start(transports_at(1)->inst, &err), 0);
		CU_ASSERT_EQUAL(lstat(sock_path, &st), 0);
		CU_ASSERT_EQUAL(st.st_ino, before.st_ino);
		o = ask("{\"request\":\"list\"}\n");
		CU_ASSERT_EQUAL(status_of(o), 200);
		json_object_put(o);
	}
	stop_control(); /* closes both; only the first's socket file is removed */
	CU_ASSERT_EQUAL(lstat(sock_path, &st), -1);

	/* not a socket: no control socket, and the file stays */
	f = fopen(sock_path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	CU_ASSERT_EQUAL(start_control(&err), 0);
	CU_ASSERT_EQUAL(connect_control(), -1);
	stop_control();
	CU_ASSERT_EQUAL(lstat(sock_path, &st), 0);
	CU_ASSERT_TRUE(S_ISREG(st.st_mode));
	unlink(sock_path);

	/* "" is no control socket at all */
	{
		struct agent_config a = { .control_socket = "", .max_payload = 4096 };
		struct berth_config cfg = { 0 };

		berth_error_clear(&err);
		CU_ASSERT_EQUAL(transports_open_all(&cfg, NULL, &err), 0);
		CU_ASSERT_EQUAL(control_open(&a, &err), 0);
		CU_ASSERT_EQUAL(transports_count(), 0);
		transports_close_all();
	}
}

static int suite_init(void)
{
	berth_error err;

	if (start_control(&err) < 0) {
		fprintf(stderr, "cannot start the control socket: %s\n", err.message);
		return -1;
	}
	return 0;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "socket file: mode, owner, directory", test_socket_file },
		{ "list, show, status", test_list_show_status },
		{ "bad requests: 400", test_bad_requests },
		{ "one connection: in order, blank lines, EOF", test_order_and_eof },
		{ "request size limit: 413", test_too_long },
		{ "commands answered at intake", test_command_answered_at_once },
		{ "commands answered by a worker", test_command_answered_by_worker },
		{ "one-way commands: 202", test_one_way },
		{ "connection limit", test_connection_limit },
		{ "built in: no readiness, no twin events", test_builtin_not_a_cloud_link },
		{ "stop and close", test_shutdown },
		{ "stale socket, another listener, a file, none", test_files_at_the_path },
	};
	int failures;

	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/berth-test-control-XXXXXX");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/run/berth/berthd.sock", tmp_dir);
	/* quiet: a refused 17th connection and the unavailable sockets warn */
	log_setup(LOG_TARGET_STDERR, BERTH_LOG_ERR);
	identity_set(THING, NULL);
	if (queue_init(4, 64) < 0)
		return 1;
	failures = unit_run("control", suite_init, NULL, tests, N(tests));
	queue_shutdown(10000);
	nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failures ? 1 : 0;
}
