/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration test of the AMQP 1.0 transport against a real broker: RabbitMQ 3.10 with
 * the rabbitmq_amqp1_0 plugin (no ANONYMOUS-RELAY; it ends the session on a null target).
 * The application side of Hono is played by tests/integration/amqp/rabbit_client.py.
 *
 * Uses $BERTH_TEST_RABBITMQ_PORT / _TLS_PORT (or $BERTH_TEST_RUN/rabbitmq.env); when
 * neither is there it runs lib/rabbitmq.sh start itself and stops it at the end.
 *
 * usage: test_amqp_rabbitmq PATH/TO/amqp.so
 * CI packages (Debian): rabbitmq-server python3-qpid-proton openssl libjson-c-dev
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amqp/testlib.h"

#define T_WAIT 10000

static const char *so_path;
static int port, tls_port;
static char certs[512];
static char q_cmd[64], q_reply[64], q_event[64];

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static bool has(const char *s, const char *needle)
{
	return s && strstr(s, needle);
}

/* Reads `export NAME=value` lines of the env file into the environment. */
static void source_env(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *eq;

		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(p, "export ", 7) == 0)
			p += 7;
		eq = strchr(p, '=');
		if (!eq)
			continue;
		*eq = '\0';
		setenv(p, eq + 1, 0);
	}
	fclose(f);
}

/* Runs rabbit_client.py; returns its output process (stopped by the caller). */
static int client(struct proc *p, const char *mode, const char *address, int count,
		  const char *const *messages)
{
	char script[PATH_MAX], url[64], n[16];
	char *argv[32];
	int i = 0;

	snprintf(script, sizeof(script), "%s/tests/integration/amqp/rabbit_client.py",
		 test_srcdir());
	snprintf(url, sizeof(url), "amqp://127.0.0.1:%d", port);
	snprintf(n, sizeof(n), "%d", count);
	argv[i++] = "/usr/bin/python3";
	argv[i++] = script;
	argv[i++] = (char *)mode;
	argv[i++] = "--url";
	argv[i++] = url;
	argv[i++] = "--address";
	argv[i++] = (char *)address;
	argv[i++] = "--count";
	argv[i++] = n;
	for (; messages && *messages && i < 28; messages++) {
		argv[i++] = "--message";
		argv[i++] = (char *)*messages;
	}
	argv[i] = NULL;
	return proc_start(p, mode, argv);
}

static void test_broker(void)
{
	struct mod m;
	struct proc cl;
	struct testhost_record *r = NULL, *r2 = NULL;
	json_object *o = NULL;
	berth_error err = { 0 };
	char why[1024] = "", cfg[1024], m1[512], m2[512];
	bool mod_up = false, cl_up = false;
	const char *msgs[3] = { m1, m2, NULL };

	snprintf(cfg, sizeof(cfg),
		 "url = \"amqp://127.0.0.1:%d\"; username = \"guest\"; password = \"guest\"; "
		 "command_source = \"%s\"; event_address = \"%s\"; reconnect_min = 0.2;",
		 port, q_cmd, q_event);
	CHECK(mod_open(&m, so_path, cfg, &err) == 0 && mod_start(&m, &err) == 0, "open/start: %s",
	      err.message);
	mod_up = true;
	r = mod_wait(&m, TESTHOST_ONLINE, T_WAIT);
	if (!r) {
		r = mod_wait(&m, TESTHOST_OFFLINE, 0);
		CHECK(false, "not online: %s", r ? r->text : "no report");
	}
	testhost_record_free(r);
	r = NULL;
	test_report(true, "RabbitMQ: PLAIN guest, receiver on /queue/<name>, online", NULL);

	/* commands from the application side */
	snprintf(m1, sizeof(m1), "{\"id\": \"a\", \"subject\": \"start\", \"reply_to\": \"%s\", "
		 "\"correlation_id\": \"rabbit-1\", \"cid_type\": \"string\", \"device_id\": "
		 "\"dev1\", \"body\": \"{\\\"n\\\":1}\", \"content_type\": "
		 "\"application/vnd.eclipse.ditto+json\"}", q_reply);
	snprintf(m2, sizeof(m2), "{\"id\": \"b\", \"subject\": \"stop\", \"reply_to\": \"%s\", "
		 "\"correlation_id\": \"8c4b3e2a-1d5f-4a6b-9c7d-0e1f2a3b4c5d\", \"cid_type\": "
		 "\"uuid\", \"body\": \"{\\\"n\\\":2}\"}", q_reply);
	CHECK(client(&cl, "send", q_cmd, 2, msgs) == 0, "client did not start");
	cl_up = true;
	o = proc_wait(&cl, T_WAIT, "done", "ok", "true", NULL);
	CHECK(o, "the broker did not accept the commands");
	json_object_put(o);
	o = NULL;
	proc_stop(&cl, 0, 5000);
	cl_up = false;

	r = mod_wait(&m, TESTHOST_INBOUND, T_WAIT);
	r2 = mod_wait(&m, TESTHOST_INBOUND, T_WAIT);
	CHECK(r && r2, "commands did not arrive");
	CHECK(same(r->payload, "{\"n\":1}") && same(r->subject, "start") &&
	      same(r->correlation_id, "rabbit-1") && same(r->device_id, "dev1") &&
	      same(r->content_type, "application/vnd.eclipse.ditto+json") &&
	      has(r->reply_to, q_reply),
	      "first command: %s %s %s %s %s %s", r->payload, r->subject, r->correlation_id,
	      r->device_id, r->content_type, r->reply_to);
	CHECK(same(r2->correlation_id, "8c4b3e2a-1d5f-4a6b-9c7d-0e1f2a3b4c5d"),
	      "second command correlation-id %s", r2->correlation_id);
	test_report(true, "RabbitMQ: commands with subject, typed correlation-id, reply-to, "
		    "device_id, content-type", NULL);

	/* replies and an event, per-address sender links */
	CHECK(mod_reply(&m, r, 200, "{\"reply\":1}", &err) == 0, "send_reply: %s", err.message);
	CHECK(mod_reply(&m, r2, 204, "{\"reply\":2}", &err) == 0, "send_reply: %s", err.message);
	CHECK(mod_event(&m, "{\"event\":1}", &err) == 0, "send_event: %s", err.message);
	CHECK(client(&cl, "receive", q_reply, 2, NULL) == 0, "client did not start");
	cl_up = true;
	o = proc_wait(&cl, T_WAIT, "message", "correlation_id", "rabbit-1", NULL);
	CHECK(o && same(jstr(o, "to"), q_reply) && same(jstr(o, "cid_type"), "string") &&
	      same(jstr2(o, "properties", "status"), "200") &&
	      same(jstr2(o, "property_types", "status"), "int32") &&
	      same(jstr(o, "body"), "{\"reply\":1}"),
	      "reply 1: %s", o ? json_object_to_json_string(o) : "missing");
	json_object_put(o);
	o = proc_wait(&cl, T_WAIT, "message", "correlation_id",
		      "8c4b3e2a-1d5f-4a6b-9c7d-0e1f2a3b4c5d", NULL);
	CHECK(o && same(jstr(o, "cid_type"), "uuid") &&
	      same(jstr2(o, "properties", "status"), "204"),
	      "reply 2: %s", o ? json_object_to_json_string(o) : "missing");
	json_object_put(o);
	o = NULL;
	proc_stop(&cl, 0, 5000);
	cl_up = false;
	CHECK(client(&cl, "receive", q_event, 1, NULL) == 0, "client did not start");
	cl_up = true;
	o = proc_wait(&cl, T_WAIT, "message", "body", "{\"event\":1}", NULL);
	CHECK(o && same(jstr(o, "to"), q_event), "event: %s",
	      o ? json_object_to_json_string(o) : "missing");
	json_object_put(o);
	o = NULL;
	proc_stop(&cl, 0, 5000);
	cl_up = false;
	test_report(true, "RabbitMQ: replies to the reply-to queue (typed correlation-id, int "
		    "status) and the event to event_address, without anonymous relay", NULL);
	testhost_record_free(r);
	testhost_record_free(r2);
	r = r2 = NULL;

	/* released by the core: the broker delivers it again */
	testhost_set_disposition(m.th, BERTH_DISPOSITION_RELEASED);
	snprintf(m1, sizeof(m1), "{\"id\": \"c\", \"subject\": \"start\", \"reply_to\": \"%s\", "
		 "\"correlation_id\": \"again-1\", \"body\": \"{}\"}", q_reply);
	msgs[1] = NULL;
	CHECK(client(&cl, "send", q_cmd, 1, msgs) == 0, "client did not start");
	cl_up = true;
	r = mod_wait(&m, TESTHOST_INBOUND, T_WAIT);
	CHECK(r && same(r->correlation_id, "again-1"), "no command");
	testhost_set_disposition(m.th, BERTH_DISPOSITION_ACCEPTED);
	for (int i = 0; i < 50; i++) { /* the ones released meanwhile come again too */
		r2 = mod_wait(&m, TESTHOST_INBOUND, T_WAIT);
		if (!r2 || testhost_pending(m.th, TESTHOST_INBOUND) == 0)
			break;
		testhost_record_free(r2);
		r2 = NULL;
	}
	CHECK(r2 && same(r2->correlation_id, "again-1"), "the released command did not come again");
	proc_stop(&cl, 0, 5000);
	cl_up = false;
	test_report(true, "RabbitMQ: a command the core RELEASED is delivered again", NULL);
	testhost_record_free(r);
	testhost_record_free(r2);
	r = r2 = NULL;
	mod_close(&m);
	return;
out:
	test_report(false, "RabbitMQ round trip", why);
	json_object_put(o);
	testhost_record_free(r);
	testhost_record_free(r2);
	if (cl_up)
		proc_stop(&cl, SIGTERM, 3000);
	if (mod_up)
		mod_close(&m);
}

static void test_tls(void)
{
	struct mod m;
	struct testhost_record *r = NULL;
	berth_error err = { 0 };
	char why[1024] = "", cfg[1024];
	bool up = false;

	snprintf(cfg, sizeof(cfg),
		 "url = \"amqps://localhost:%d\"; ca_file = \"%s/ca.crt\"; username = \"guest\"; "
		 "password = \"guest\"; command_source = \"%s\"; reconnect_min = 0.2;",
		 tls_port, certs, q_cmd);
	CHECK(mod_open(&m, so_path, cfg, &err) == 0 && mod_start(&m, &err) == 0, "open/start: %s",
	      err.message);
	up = true;
	r = mod_wait(&m, TESTHOST_ONLINE, T_WAIT);
	if (!r) {
		r = mod_wait(&m, TESTHOST_OFFLINE, 0);
		CHECK(false, "not online: %s", r ? r->text : "no report");
	}
	test_report(true, "RabbitMQ: TLS (verified) + PLAIN", NULL);
	testhost_record_free(r);
	mod_close(&m);
	return;
out:
	test_report(false, "RabbitMQ TLS", why);
	testhost_record_free(r);
	if (up)
		mod_close(&m);
}

static void test_bad_source(void)
{
	struct mod m;
	struct testhost_record *r = NULL;
	berth_error err = { 0 };
	char why[1024] = "", cfg[1024];
	bool up = false;

	snprintf(cfg, sizeof(cfg),
		 "url = \"amqp://127.0.0.1:%d\"; username = \"guest\"; password = \"guest\"; "
		 "command_source = \"/amq/queue/berth-no-such-queue\"; reconnect_min = 0.2;", port);
	CHECK(mod_open(&m, so_path, cfg, &err) == 0 && mod_start(&m, &err) == 0, "open/start: %s",
	      err.message);
	up = true;
	r = mod_wait(&m, TESTHOST_OFFLINE, T_WAIT);
	CHECK(r && has(r->text, "not-found"), "offline: %s", r ? r->text : "not reported");
	CHECK(testhost_pending(m.th, TESTHOST_ONLINE) == 0, "went online");
	test_report(true, "RabbitMQ: a missing /amq/queue/ source -> offline with amqp:not-found",
		    NULL);
	testhost_record_free(r);
	mod_close(&m);
	return;
out:
	test_report(false, "RabbitMQ missing source", why);
	testhost_record_free(r);
	if (up)
		mod_close(&m);
}

/* A reply address the broker refuses by ending the session must not block the others. */
static void test_poison(void)
{
	struct mod m;
	struct proc cl;
	struct testhost_record *r = NULL;
	json_object *o = NULL;
	berth_error err = { 0 };
	char why[1024] = "", cfg[1024], bad[96];
	bool up = false, cl_up = false;
	int offline = 0;
	berth_reply rep = { .size = sizeof(rep), .status = 200, .payload = "{}", .payload_len = 2 };
	char good[96];

	snprintf(cfg, sizeof(cfg),
		 "url = \"amqp://127.0.0.1:%d\"; username = \"guest\"; password = \"guest\"; "
		 "command_source = \"%s\"; event_address = \"%s\"; reconnect_min = 0.2; "
		 "reconnect_max = 0.5;", port, q_cmd, q_event);
	CHECK(mod_open(&m, so_path, cfg, &err) == 0 && mod_start(&m, &err) == 0, "open/start: %s",
	      err.message);
	up = true;
	r = mod_wait(&m, TESTHOST_ONLINE, T_WAIT);
	CHECK(r, "not online");
	testhost_record_free(r);
	r = NULL;
	snprintf(bad, sizeof(bad), "s:/exchange/berth-missing-%d", (int)getpid());
	snprintf(good, sizeof(good), "s:%s", q_reply);
	rep.reply_to = bad;
	rep.correlation_id = "poison";
	CHECK(m.drv->send_reply(m.inst, &rep, &err) == 0, "send_reply: %s", err.message);
	rep.reply_to = good;
	rep.correlation_id = "after-poison";
	CHECK(m.drv->send_reply(m.inst, &rep, &err) == 0, "send_reply: %s", err.message);
	CHECK(client(&cl, "receive", q_reply, 1, NULL) == 0, "client did not start");
	cl_up = true;
	o = proc_wait(&cl, 20000, "message", "correlation_id", "after-poison", NULL);
	CHECK(o, "the good reply did not arrive");
	json_object_put(o);
	o = NULL;
	proc_stop(&cl, 0, 5000);
	cl_up = false;
	while ((r = mod_wait(&m, TESTHOST_OFFLINE, 0))) {
		CHECK(strstr(r->text, "not-found"), "offline: %s", r->text);
		offline++;
		testhost_record_free(r);
	}
	r = NULL;
	CHECK(offline >= 1, "the broker did not refuse the bad address");
	sleep_ms(1500);
	CHECK(testhost_pending(m.th, TESTHOST_OFFLINE) == 0, "still cycling after the drop");
	test_report(true, "RabbitMQ: a reply address the broker refuses (session ended) is dropped "
		    "after 3 tries; later replies are delivered", NULL);
	mod_close(&m);
	return;
out:
	test_report(false, "RabbitMQ poison reply address", why);
	json_object_put(o);
	testhost_record_free(r);
	if (cl_up)
		proc_stop(&cl, SIGTERM, 3000);
	if (up)
		mod_close(&m);
}

int main(int argc, char **argv)
{
	char envf[PATH_MAX], script[PATH_MAX];
	bool started = false;
	const char *p;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH/TO/amqp.so\n", argv[0]);
		return 2;
	}
	so_path = argv[1];
	if (access("/usr/bin/python3", X_OK) != 0 ||
	    access("/usr/lib/python3/dist-packages/proton/__init__.py", R_OK) != 0) {
		printf("# SKIP: python3-qpid-proton is not installed\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(envf, sizeof(envf), "%s/rabbitmq.env", test_rundir());
	snprintf(script, sizeof(script), "%s/tests/integration/lib/rabbitmq.sh", test_srcdir());
	source_env(envf);
	if (!getenv("BERTH_TEST_RABBITMQ_PORT")) {
		char *start[] = { "/bin/sh", script, "start", NULL };

		if (access("/usr/lib/rabbitmq/bin/rabbitmq-server", X_OK) != 0) {
			printf("# SKIP: rabbitmq-server is not installed\n");
			return 77;
		}

		if (run_wait(start, 120000) != 0) {
			printf("not ok - RabbitMQ did not start (%s start)\n", script);
			return 1;
		}
		started = true;
		source_env(envf);
	}
	p = getenv("BERTH_TEST_RABBITMQ_PORT");
	port = p ? atoi(p) : 0;
	p = getenv("BERTH_TEST_RABBITMQ_TLS_PORT");
	tls_port = p ? atoi(p) : 0;
	p = getenv("BERTH_TEST_RABBITMQ_CERTS");
	snprintf(certs, sizeof(certs), "%s", p ? p : "");
	if (!port || !tls_port || !certs[0]) {
		printf("not ok - no RabbitMQ environment in %s\n", envf);
		return 1;
	}
	snprintf(q_cmd, sizeof(q_cmd), "/queue/berth-cmd-%d", (int)getpid());
	snprintf(q_reply, sizeof(q_reply), "/queue/berth-reply-%d", (int)getpid());
	snprintf(q_event, sizeof(q_event), "/queue/berth-event-%d", (int)getpid());

	test_broker();
	test_tls();
	test_bad_source();
	test_poison();

	if (started) {
		char *stop[] = { "/bin/sh", script, "stop", NULL };

		run_wait(stop, 60000);
	}
	printf("# %d of %d passed\n", test_count - test_failures, test_count);
	return test_failures ? 1 : 0;
}
