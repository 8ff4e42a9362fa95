/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Container API operations end to end in one process: commands injected through the
 * fake transport into berthd (daemon_run() on a thread, tests/unit/harness.c), run on
 * the real queue against the fake backend; the replies, the twin events and the fake
 * runtime's state are checked. Each test runs its own daemon with a fresh state dir.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "twin.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MiB (1024LL * 1024)

/* ---- helpers ------------------------------------------------------------------------- */

static void up(void)
{
	CU_ASSERT_FATAL(harness_start(NULL));
}

static void down(void)
{
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

/* createWithConfig on `backend` (NULL: the default), started or not; fills id. */
static void make(const char *backend, bool run, const char *config, char *id)
{
	char *value = NULL;
	int status;

	CU_ASSERT_FATAL(asprintf(&value, "{\"imageRef\":\"busybox\",\"start\":%s%s%s%s%s%s}",
				 run ? "true" : "false", backend ? ",\"backend\":\"" : "",
				 backend ? backend : "", backend ? "\"" : "",
				 config ? ",\"config\":" : "", config ? config : "") > 0);
	status = h_create(value, true, id);
	free(value);
	CU_ASSERT_EQUAL_FATAL(status, 200);
	h_settle();
}

/* Sends op to container id and checks the reply's status and (when given) that the
 * error message contains `needle`. */
static bool expect_at(int line, const char *id, const char *op, const char *value, int status,
		      const char *needle)
{
	struct h_reply r;
	int got = h_command(h_feature(id), op, value, &r);
	const char *msg = h_str(r.env, "value/message");
	bool ok = got == status && (!needle || (msg && strstr(msg, needle)));

	if (!ok)
		fprintf(stderr, "\nline %d: %s %s: %d '%s'; expected %d '%s'\n", line, op,
			value ? value : "", got, msg ? msg : "", status, needle ? needle : "");
	h_reply_release(&r);
	return ok;
}
#define EXPECT(id, op, value, status, needle)                                              \
	CU_ASSERT_TRUE(expect_at(__LINE__, id, op, value, status, needle))

/* The fake runtime's view of container id (on instance inst). */
static bool fake_of(const char *inst, const char *id, struct fake_container *fc)
{
	char *native = h_native(id);
	bool ok = native && fb(inst)->get(inst, native, fc) == 0;

	free(native);
	return ok;
}

/* A copy of the record's config (new reference). */
static json_object *config_of(const char *id)
{
	struct container *c = containers_get(id);
	json_object *copy = NULL;

	if (!c)
		return NULL;
	pthread_mutex_lock(&c->lock);
	copy = json_tokener_parse(json_object_to_json_string(c->config));
	pthread_mutex_unlock(&c->lock);
	container_unref(c);
	return copy;
}

static const char *state_path(const char *id)
{
	static char buf[4][128];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, 128, "/features/Container:%s/properties/status/state", id);
	return b;
}

static int calls(const char *inst, const char *op, const char *id)
{
	char *native = h_native(id);
	int n = fb(inst)->count_calls(inst, op, native);

	free(native);
	return n;
}

/* The last call of `op` on native id `native`, or a zeroed call. */
static struct fake_call last_call_native(const char *inst, const char *op, const char *native)
{
	struct fake_call found = { 0 }, *all;
	size_t n = fb(inst)->calls(inst, NULL, 0);

	all = calloc(n ? n : 1, sizeof(*all));
	n = h_min(fb(inst)->calls(inst, all, n), n); /* calls may have come meanwhile */
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].op, op) == 0 && native && strcmp(all[i].native_id, native) == 0)
			found = all[i];
	free(all);
	return found;
}

/* The last call of `op` on container id, or a zeroed call. */
static struct fake_call last_call(const char *inst, const char *op, const char *id)
{
	struct fake_call found = { 0 }, *all;
	char *native = h_native(id);
	size_t n = fb(inst)->calls(inst, NULL, 0);

	all = calloc(n ? n : 1, sizeof(*all));
	n = h_min(fb(inst)->calls(inst, all, n), n); /* calls may have come meanwhile */
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].op, op) == 0 && native && strcmp(all[i].native_id, native) == 0)
			found = all[i];
	free(all);
	free(native);
	return found;
}

/* ---- create ------------------------------------------------------------------------ */

static void test_create_defaults(void)
{
	struct fake_container fc;
	struct h_reply r;
	json_object *ev, *rec;
	char id[CONTAINER_ID_LEN + 1];
	long i;

	up();
	CU_ASSERT_EQUAL_FATAL(h_command("ContainerFactory", "create",
					"{\"imageRef\":\"docker.io/library/busybox:latest\"}", &r), 200);
	/* 200 with the new id: request topic, outbox path, content-type, correlation-id */
	CU_ASSERT_TRUE(r.value && json_object_is_type(r.value, json_type_string));
	snprintf(id, sizeof(id), "%s", json_object_get_string(r.value));
	CU_ASSERT_EQUAL(strlen(id), CONTAINER_ID_LEN);
	CU_ASSERT_EQUAL(id[14], '4'); /* UUID v4 */
	H_ASSERT_STR(h_str(r.env, "topic"), H_TOPIC_PREFIX "create");
	H_ASSERT_STR(h_str(r.env, "path"), "/features/ContainerFactory/outbox/messages/create");
	H_ASSERT_STR(h_str(r.env, "headers/content-type"), "application/json");
	CU_ASSERT_EQUAL(h_int(r.env, "status", 0), 200);
	H_ASSERT_STR(r.rec.subject, "create");
	H_ASSERT_STR(r.rec.content_type, "application/vnd.eclipse.ditto+json");
	CU_ASSERT_PTR_NOT_NULL(r.rec.reply_to);
	CU_ASSERT_TRUE(r.rec.reply_to && strncmp(r.rec.reply_to, "req-", 4) == 0);
	H_ASSERT_STR(r.rec.correlation_id, h_str(r.env, "headers/correlation-id"));
	h_reply_release(&r);
	h_settle();

	/* the twin: the whole feature, state CREATED, defaults in the config */
	i = h_wait_event(0, "modify", h_feature(id), "CREATED");
	CU_ASSERT_FATAL(i >= 0);
	ev = h_event_json((size_t)i);
	H_ASSERT_STR(h_str(ev, "topic"), "edge/device/things/twin/commands/modify");
	CU_ASSERT_EQUAL(h_get(ev, "headers/response-required") &&
			!json_object_get_boolean(h_get(ev, "headers/response-required")), 1);
	H_ASSERT_STR(json_object_get_string(json_object_array_get_idx(
				       h_get(ev, "value/definition"), 0)), TWIN_CONTAINER_DEFINITION);
	H_ASSERT_STR(h_str(ev, "value/properties/status/name"), id);
	H_ASSERT_STR(h_str(ev, "value/properties/status/imageRef"),
			       "docker.io/library/busybox:latest");
	H_ASSERT_STR(h_str(ev, "value/properties/status/config/restartPolicy/type"),
			       "UNLESS_STOPPED");
	H_ASSERT_STR(h_str(ev, "value/properties/status/config/networkMode"), "BRIDGE");
	CU_ASSERT_PTR_NOT_NULL(h_str(ev, "value/properties/status/createdAt"));
	CU_ASSERT_EQUAL(h_int(ev, "value/properties/status/state/pid", 0), -1);
	json_object_put(ev);
	{
		struct fake_record rec_ev;

		CU_ASSERT_EQUAL(FT->event(H_FT, (size_t)i, &rec_ev), 0);
		H_ASSERT_STR(rec_ev.thing_id, H_THING);
		H_ASSERT_STR(rec_ev.tenant, "t1");
		fake_record_release(&rec_ev);
	}

	/* the runtime: created (not started), labelled, named after the id */
	CU_ASSERT_FATAL(fake_of(H_FAKE, id, &fc));
	CU_ASSERT_EQUAL(fc.state, BERTH_RS_CREATED);
	H_ASSERT_STR(fc.berth_id, id);
	H_ASSERT_STR(fc.name, id);
	H_ASSERT_STR(fc.image, "docker.io/library/busybox:latest");
	CU_ASSERT_EQUAL(fc.restart.type, BERTH_RESTART_UNLESS_STOPPED);
	CU_ASSERT_EQUAL(calls(H_FAKE, "start", id), 0);

	/* the record */
	CU_ASSERT_EQUAL(h_status(id), CS_CREATED);
	rec = h_record(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	H_ASSERT_STR(h_str(rec, "id"), id);
	H_ASSERT_STR(h_str(rec, "backend"), H_FAKE);
	H_ASSERT_STR(h_str(rec, "nativeId"), fc.native_id);
	H_ASSERT_STR(h_str(rec, "state/status"), "CREATED");
	json_object_put(rec);
	down();
}

static void test_create_with_config(void)
{
	struct fake_container fc;
	char id[CONTAINER_ID_LEN + 1];
	long created, running;

	up();
	make(NULL, true,
	     "{\"restartPolicy\":{\"type\":\"on-failure\",\"maxRetryCount\":2},"
	     "\"resources\":{\"memory\":\"200m\"},\"env\":[\"A=1\"],\"hostName\":\"web\"}", id);
	CU_ASSERT_FATAL(fake_of(H_FAKE, id, &fc));
	CU_ASSERT_EQUAL(fc.state, BERTH_RS_RUNNING);
	CU_ASSERT_EQUAL(fc.restart.type, BERTH_RESTART_ON_FAILURE);
	CU_ASSERT_EQUAL(fc.restart.max_retry_count, 2);
	CU_ASSERT_EQUAL(fc.resources.memory, 200 * MiB);
	CU_ASSERT_EQUAL(fc.resources.memory_swap, 400 * MiB);
	/* feature (CREATED) first, then the state RUNNING */
	created = h_wait_event(0, "modify", h_feature(id), "CREATED");
	running = h_wait_event(0, "modify", state_path(id), "RUNNING");
	CU_ASSERT_TRUE(created >= 0 && running > created);
	CU_ASSERT_EQUAL(h_status(id), CS_RUNNING);

	/* a name, on the other backend */
	CU_ASSERT_EQUAL(h_create("{\"imageRef\":\"busybox\",\"name\":\"web\",\"backend\":\"mini\"}",
				 true, id), 200);
	CU_ASSERT_FATAL(fake_of(H_MINI, id, &fc));
	H_ASSERT_STR(fc.name, "web");
	CU_ASSERT_EQUAL(fc.state, BERTH_RS_CREATED);
	down();
}

static void test_create_name_taken(void)
{
	char id[CONTAINER_ID_LEN + 1], corr_a[32], corr_b[32];
	struct h_reply ra, rb;

	up();
	CU_ASSERT_EQUAL(h_create("{\"imageRef\":\"busybox\",\"name\":\"dup\"}", true, id), 200);
	CU_ASSERT_EQUAL(h_create("{\"imageRef\":\"busybox\",\"name\":\"dup\"}", true, id), 409);
	CU_ASSERT_EQUAL(FB->count(H_FAKE), 1);
	/* names are unique across backends too */
	CU_ASSERT_EQUAL(h_create("{\"imageRef\":\"busybox\",\"name\":\"dup\",\"backend\":\"mini\"}",
				 true, id), 409);
	CU_ASSERT_EQUAL(FBM->count(H_MINI), 0);

	/* two creates racing for one name: the name is taken before the runtime is asked */
	FB->hold(H_FAKE, "create");
	CU_ASSERT_EQUAL(h_send("ContainerFactory", "createWithConfig",
			       "{\"imageRef\":\"busybox\",\"name\":\"race\"}", corr_a), 0);
	CU_ASSERT_FATAL(FB->wait_held(H_FAKE, "create", 1, HARNESS_WAIT_MS));
	CU_ASSERT_EQUAL(h_send("ContainerFactory", "createWithConfig",
			       "{\"imageRef\":\"busybox\",\"name\":\"race\"}", corr_b), 0);
	CU_ASSERT_EQUAL(h_wait_reply(corr_b, &rb), 409);
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(rb.env, "value/message"), "already used"));
	H_ASSERT_STR(h_str(rb.env, "value/error"), "messages:execution.conflict");
	FB->release(H_FAKE, "create");
	CU_ASSERT_EQUAL(h_wait_reply(corr_a, &ra), 200);
	h_reply_release(&ra);
	h_reply_release(&rb);
	CU_ASSERT_EQUAL(FB->count(H_FAKE), 2);
	down();
}

static void test_create_refused(void)
{
	struct h_reply r;
	char id[CONTAINER_ID_LEN + 1];

	up();
	/* unknown backend: 400, nothing created */
	CU_ASSERT_EQUAL(h_command("ContainerFactory", "createWithConfig",
				  "{\"imageRef\":\"busybox\",\"backend\":\"nope\"}", &r), 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(r.env, "value/message"), "no backend named nope"));
	h_reply_release(&r);
	/* imageRef missing: 400 at intake */
	CU_ASSERT_EQUAL(h_command("ContainerFactory", "create", "{\"start\":true}", &r), 400);
	H_ASSERT_STR(h_str(r.env, "value/error"), "messages:parameter.invalid");
	H_ASSERT_STR(h_str(r.env, "path"), "/features/ContainerFactory/outbox/messages/create");
	h_reply_release(&r);
	/* an image the runtime does not have: 404 with the runtime's words */
	CU_ASSERT_EQUAL(h_command("ContainerFactory", "create", "{\"imageRef\":\"missing/image:1\"}",
				  &r), 404);
	H_ASSERT_STR(h_str(r.env, "value/message"), "No such image: missing/image:1");
	h_reply_release(&r);
	/* the runtime fails: 500 with its words; 503 when it is unreachable */
	FB->fail_next(H_FAKE, "create", BERTH_E_RUNTIME, "no space left on device (runtime words)");
	CU_ASSERT_EQUAL(h_create("{\"imageRef\":\"busybox\"}", false, id), 500);
	FB->fail_next(H_FAKE, "create", BERTH_E_UNAVAILABLE, "cannot connect to the runtime");
	CU_ASSERT_EQUAL(h_command("ContainerFactory", "create", "{\"imageRef\":\"busybox\"}", &r), 503);
	H_ASSERT_STR(h_str(r.env, "value/message"), "cannot connect to the runtime");
	h_reply_release(&r);
	FB->fail_next(H_FAKE, "create", BERTH_E_RUNTIME, "no space left on device (runtime words)");
	CU_ASSERT_EQUAL(h_command("ContainerFactory", "create", "{\"imageRef\":\"busybox\"}", &r), 500);
	H_ASSERT_STR(h_str(r.env, "value/message"), "no space left on device (runtime words)");
	H_ASSERT_STR(h_str(r.env, "value/error"), "messages:execution.failed");
	h_reply_release(&r);
	h_settle();
	/* nothing is left: no record, no runtime object, no twin feature */
	CU_ASSERT_EQUAL(containers_count(), 0);
	CU_ASSERT_EQUAL(FB->count(H_FAKE), 0);
	CU_ASSERT_EQUAL(h_events_mark(), 0);
	down();
}

/* Commands sent for a container while it is being created wait for the create; if the
 * create fails they find no container (404), not one "still being created". */
static void test_commands_behind_failed_create(void)
{
	char corr_create[32], corr_start[32], id[CONTAINER_ID_LEN + 1];
	struct container **list;
	struct h_reply r;
	size_t n;

	up();
	FB->hold(H_FAKE, "create");
	FB->fail_next(H_FAKE, "create", BERTH_E_RUNTIME, "pull access denied");
	CU_ASSERT_EQUAL(h_send("ContainerFactory", "create", "{\"imageRef\":\"busybox\"}",
			       corr_create), 0);
	CU_ASSERT_FATAL(FB->wait_held(H_FAKE, "create", 1, HARNESS_WAIT_MS));
	list = containers_list(&n);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	snprintf(id, sizeof(id), "%s", list[0]->id);
	containers_list_free(list, n);
	CU_ASSERT_EQUAL(h_send(h_feature(id), "start", NULL, corr_start), 0);
	FB->release(H_FAKE, "create");
	CU_ASSERT_EQUAL(h_wait_reply(corr_create, NULL), 500);
	CU_ASSERT_EQUAL(h_wait_reply(corr_start, &r), 404);
	h_reply_release(&r);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "start", NULL), 0);
	down();
}

static void test_create_start_fails(void)
{
	struct fake_container fc;
	struct h_reply r;
	char id[CONTAINER_ID_LEN + 1];
	long feature, stopped;
	json_object *ev;

	up();
	FB->fail_next(H_FAKE, "start", BERTH_E_RUNTIME, "exec: \"nosuch\": not found");
	CU_ASSERT_EQUAL(h_command("ContainerFactory", "create",
				  "{\"imageRef\":\"busybox\",\"start\":true}", &r), 500);
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(r.env, "value/message"), "was created but did not start"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(r.env, "value/message"), "exec: \"nosuch\": not found"));
	h_reply_release(&r);
	h_settle();
	/* the container exists, stopped, with the runtime's reason; the twin knows */
	CU_ASSERT_EQUAL_FATAL(containers_count(), 1);
	{
		struct container **list;
		size_t n;

		list = containers_list(&n);
		snprintf(id, sizeof(id), "%s", list[0]->id);
		containers_list_free(list, n);
	}
	CU_ASSERT_EQUAL(h_status(id), CS_STOPPED);
	CU_ASSERT_FATAL(fake_of(H_FAKE, id, &fc));
	CU_ASSERT_EQUAL(fc.state, BERTH_RS_CREATED);
	feature = h_find_event(0, "modify", h_feature(id), "CREATED");
	stopped = h_find_event(0, "modify", state_path(id), "STOPPED");
	CU_ASSERT_TRUE(feature >= 0 && stopped > feature);
	ev = h_event_json((size_t)stopped);
	H_ASSERT_STR(h_str(ev, "value/error"), "exec: \"nosuch\": not found");
	json_object_put(ev);
	CU_ASSERT_TRUE(h_record_exists(id));
	/* and it can be started now */
	EXPECT(id, "start", NULL, 204, NULL);
	down();
}

/* ---- start, stop, stopWithOptions --------------------------------------------------- */

static void test_start_stop(void)
{
	struct fake_container fc;
	struct fake_call call;
	struct h_reply r;
	char id[CONTAINER_ID_LEN + 1];
	size_t mark;
	long i;
	json_object *ev;

	up();
	make(NULL, false, NULL, id);
	mark = h_events_mark();
	CU_ASSERT_EQUAL(h_command(h_feature(id), "start", "{}", &r), 204);
	/* 204: no value, no content-type, request topic, outbox path, correlation-id */
	CU_ASSERT_PTR_NULL(r.value);
	CU_ASSERT_PTR_NULL(h_get(r.env, "headers/content-type"));
	CU_ASSERT_EQUAL(json_object_object_length(h_get(r.env, "headers")), 1);
	H_ASSERT_STR(h_str(r.env, "topic"), H_TOPIC_PREFIX "start");
	h_reply_release(&r);
	i = h_wait_event(mark, "modify", state_path(id), "RUNNING");
	CU_ASSERT_FATAL(i >= 0);
	ev = h_event_json((size_t)i);
	CU_ASSERT_TRUE(h_int(ev, "value/pid", 0) > 0);
	CU_ASSERT_PTR_NOT_NULL(h_str(ev, "value/startedAt"));
	json_object_put(ev);
	CU_ASSERT_FATAL(fake_of(H_FAKE, id, &fc));
	CU_ASSERT_EQUAL(fc.state, BERTH_RS_RUNNING);

	EXPECT(id, "start", NULL, 409, "already running");

	/* plain stop: SIGTERM then SIGKILL after the timeout; the fake stops natively */
	mark = h_events_mark();
	EXPECT(id, "stop", NULL, 204, NULL);
	call = last_call(H_FAKE, "stop", id);
	CU_ASSERT_EQUAL(call.signal, SIGTERM);
	CU_ASSERT_EQUAL(call.timeout, 2); /* the agent's stop_timeout */
	i = h_wait_event(mark, "modify", state_path(id), "STOPPED");
	CU_ASSERT_FATAL(i >= 0);
	ev = h_event_json((size_t)i);
	CU_ASSERT_EQUAL(h_int(ev, "value/exitCode", 0), 128 + SIGTERM);
	CU_ASSERT_EQUAL(h_int(ev, "value/pid", 0), -1);
	CU_ASSERT_PTR_NOT_NULL(h_str(ev, "value/finishedAt"));
	json_object_put(ev);
	CU_ASSERT_EQUAL(h_status(id), CS_STOPPED);
	EXPECT(id, "stop", NULL, 409, "not running");
	EXPECT(id, "stopWithOptions", "{\"force\":true}", 409, "not running");
	/* started again */
	EXPECT(id, "start", NULL, 204, NULL);
	CU_ASSERT_EQUAL(h_status(id), CS_RUNNING);
	down();
}

static void test_reply_paths(void)
{
	char id[CONTAINER_ID_LEN + 1], outbox[128];
	struct h_reply r;

	up();
	make(NULL, false, NULL, id);
	snprintf(outbox, sizeof(outbox), "/features/Container:%s/outbox/messages/start", id);
	CU_ASSERT_EQUAL(h_command(h_feature(id), "start", NULL, &r), 204);
	H_ASSERT_STR(h_str(r.env, "path"), outbox);
	CU_ASSERT_EQUAL(h_int(r.env, "status", 0), 204);
	CU_ASSERT_EQUAL(r.rec.status, 204);
	h_reply_release(&r);
	/* an error inside the operation is answered on the outbox path too */
	CU_ASSERT_EQUAL(h_command(h_feature(id), "start", NULL, &r), 409);
	H_ASSERT_STR(h_str(r.env, "path"), outbox);
	CU_ASSERT_EQUAL(h_int(r.env, "value/status", 0), 409);
	H_ASSERT_STR(h_str(r.env, "headers/content-type"), "application/json");
	h_reply_release(&r);
	down();
}

static void test_stop_core_state_machine(void)
{
	struct fake_container fc;
	struct fake_call call;
	char id[CONTAINER_ID_LEN + 1];

	up();
	/* a backend without a native stop: the core signals and waits for the exit */
	make(H_MINI, true, NULL, id);
	EXPECT(id, "stop", NULL, 204, NULL);
	call = last_call(H_MINI, "kill", id);
	CU_ASSERT_EQUAL(call.signal, SIGTERM);
	CU_ASSERT_EQUAL(calls(H_MINI, "kill", id), 1); /* no SIGKILL needed */
	CU_ASSERT_FATAL(fake_of(H_MINI, id, &fc));
	CU_ASSERT_EQUAL(fc.state, BERTH_RS_EXITED);
	CU_ASSERT_EQUAL(h_status(id), CS_STOPPED);

	/* stopWithOptions: the signal asked for */
	EXPECT(id, "start", NULL, 204, NULL);
	EXPECT(id, "stopWithOptions", "{\"signal\":\"SIGINT\",\"timeout\":30,\"force\":true}", 204, NULL);
	call = last_call(H_MINI, "kill", id);
	CU_ASSERT_EQUAL(call.signal, SIGINT);
	CU_ASSERT_FATAL(fake_of(H_MINI, id, &fc));
	CU_ASSERT_EQUAL(fc.exit_code, 128 + SIGINT);
	CU_ASSERT_EQUAL(h_status(id), CS_STOPPED);

	/* by number */
	EXPECT(id, "start", NULL, 204, NULL);
	EXPECT(id, "stopWithOptions", "{\"signal\":\"10\"}", 204, NULL);
	CU_ASSERT_EQUAL(last_call(H_MINI, "kill", id).signal, 10);

	/* SIGKILL: every process, at once */
	EXPECT(id, "start", NULL, 204, NULL);
	EXPECT(id, "stopWithOptions", "{\"signal\":\"SIGKILL\"}", 204, NULL);
	call = last_call(H_MINI, "kill", id);
	CU_ASSERT_EQUAL(call.signal, SIGKILL);
	CU_ASSERT_EQUAL(call.flags, BERTH_KILL_ALL);
	down();
}

static void test_stop_with_options_native(void)
{
	struct fake_call call;
	char id[CONTAINER_ID_LEN + 1];
	long i;
	json_object *ev;
	size_t mark;

	up();
	/* the page's example: SIGINT, 30 s, force; the fake takes any signal natively */
	make(NULL, true, NULL, id);
	mark = h_events_mark();
	EXPECT(id, "stopWithOptions", "{\"signal\":\"SIGINT\",\"timeout\": 30,\"force\": true}", 204,
	       NULL);
	call = last_call(H_FAKE, "stop", id);
	CU_ASSERT_EQUAL(call.signal, SIGINT);
	CU_ASSERT_EQUAL(call.timeout, 30);
	i = h_wait_event(mark, "modify", state_path(id), "STOPPED");
	CU_ASSERT_FATAL(i >= 0);
	ev = h_event_json((size_t)i);
	CU_ASSERT_EQUAL(h_int(ev, "value/exitCode", 0), 128 + SIGINT);
	json_object_put(ev);

	/* without force the native stop is never used: it would kill */
	EXPECT(id, "start", NULL, 204, NULL);
	FB->clear_calls(H_FAKE);
	EXPECT(id, "stopWithOptions", "{\"signal\":\"SIGTERM\",\"timeout\":5}", 204, NULL);
	CU_ASSERT_EQUAL(calls(H_FAKE, "stop", id), 0);
	CU_ASSERT_EQUAL(last_call(H_FAKE, "kill", id).signal, SIGTERM);
	down();
}

static void test_stop_ignored_without_force(void)
{
	struct fake_container fc;
	char id[CONTAINER_ID_LEN + 1], *native;
	size_t mark;
	json_object *rec;

	up();
	make(NULL, true, NULL, id);
	native = h_native(id);
	FB->on_signal(H_FAKE, native, SIGINT, FAKE_SIG_IGNORE, -1);
	mark = h_events_mark();
	EXPECT(id, "stopWithOptions", "{\"signal\":\"SIGINT\",\"timeout\":1}", 500,
	       "did not stop within 1 s after SIGINT");
	h_settle();
	/* still running, for the runtime, the record and the twin */
	CU_ASSERT_FATAL(FB->get(H_FAKE, native, &fc) == 0);
	CU_ASSERT_EQUAL(fc.state, BERTH_RS_RUNNING);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "kill", native), 1);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "stop", native), 0);
	CU_ASSERT_EQUAL(h_status(id), CS_RUNNING);
	CU_ASSERT_EQUAL(h_count_events(mark, NULL, NULL, NULL), 0);
	rec = h_record(id);
	H_ASSERT_STR(h_str(rec, "state/status"), "RUNNING");
	CU_ASSERT_FALSE(json_object_get_boolean(h_get(rec, "manuallyStopped")));
	json_object_put(rec);
	/* force: SIGKILL after the timeout */
	EXPECT(id, "stopWithOptions", "{\"signal\":\"SIGINT\",\"timeout\":1,\"force\":true}", 204, NULL);
	CU_ASSERT_FATAL(FB->get(H_FAKE, native, &fc) == 0);
	CU_ASSERT_EQUAL(fc.state, BERTH_RS_EXITED);
	CU_ASSERT_EQUAL(fc.exit_code, 128 + SIGKILL);
	CU_ASSERT_EQUAL(h_status(id), CS_STOPPED);
	free(native);
	down();
}

static void test_stop_ignored_with_force(void)
{
	struct fake_call all[64];
	char id[CONTAINER_ID_LEN + 1], *native;
	size_t n, kills = 0;
	long i;
	json_object *ev;
	size_t mark;

	up();
	/* the core's state machine (no native stop): SIGTERM ignored, SIGKILL to all */
	make(H_MINI, true, NULL, id);
	native = h_native(id);
	FBM->on_signal(H_MINI, native, SIGTERM, FAKE_SIG_IGNORE, -1);
	FBM->clear_calls(H_MINI);
	mark = h_events_mark();
	EXPECT(id, "stopWithOptions", "{\"timeout\":1,\"force\":true}", 204, NULL);
	n = FBM->calls(H_MINI, all, N(all));
	for (size_t k = 0; k < n && k < N(all); k++) {
		if (strcmp(all[k].op, "kill") != 0)
			continue;
		if (kills == 0) {
			CU_ASSERT_EQUAL(all[k].signal, SIGTERM);
		} else {
			CU_ASSERT_EQUAL(all[k].signal, SIGKILL);
			CU_ASSERT_EQUAL(all[k].flags, BERTH_KILL_ALL);
		}
		kills++;
	}
	CU_ASSERT_EQUAL(kills, 2);
	i = h_wait_event(mark, "modify", state_path(id), "STOPPED");
	CU_ASSERT_FATAL(i >= 0);
	ev = h_event_json((size_t)i);
	CU_ASSERT_EQUAL(h_int(ev, "value/exitCode", 0), 128 + SIGKILL);
	json_object_put(ev);

	/* plain stop on the native path: the runtime kills what ignores SIGTERM */
	make(NULL, true, NULL, id);
	free(native);
	native = h_native(id);
	FB->on_signal(H_FAKE, native, SIGTERM, FAKE_SIG_IGNORE, -1);
	EXPECT(id, "stop", NULL, 204, NULL);
	CU_ASSERT_EQUAL(h_status(id), CS_STOPPED);
	free(native);
	down();
}

static void test_stop_paused(void)
{
	struct fake_call all[64];
	char id[CONTAINER_ID_LEN + 1];
	size_t n;
	int kill_at = -1, resume_at = -1;

	up();
	make(NULL, true, NULL, id);
	EXPECT(id, "pause", NULL, 204, NULL);
	CU_ASSERT_EQUAL(h_status(id), CS_PAUSED);
	FB->clear_calls(H_FAKE);
	/* a paused container gets the signal, then is resumed so it can act on it */
	EXPECT(id, "stop", NULL, 204, NULL);
	n = FB->calls(H_FAKE, all, N(all));
	for (size_t k = 0; k < n && k < N(all); k++) {
		if (strcmp(all[k].op, "kill") == 0 && kill_at < 0)
			kill_at = (int)k;
		if (strcmp(all[k].op, "resume") == 0 && resume_at < 0)
			resume_at = (int)k;
	}
	CU_ASSERT_TRUE(kill_at >= 0 && resume_at > kill_at);
	CU_ASSERT_EQUAL(h_status(id), CS_STOPPED);

	/* the same with the core's machine on a backend without pause is 501 anyway */
	make(H_MINI, true, NULL, id);
	EXPECT(id, "pause", NULL, 501, "cannot pause");
	down();
}

/* ---- pause, resume -------------------------------------------------------------------- */

static void test_pause_resume(void)
{
	char id[CONTAINER_ID_LEN + 1];
	struct fake_container fc;
	size_t mark;

	up();
	make(NULL, false, NULL, id);
	EXPECT(id, "pause", NULL, 409, "not running");
	EXPECT(id, "resume", NULL, 409, "not paused");
	EXPECT(id, "start", NULL, 204, NULL);
	mark = h_events_mark();
	EXPECT(id, "pause", NULL, 204, NULL);
	CU_ASSERT_TRUE(h_wait_event(mark, "modify", state_path(id), "PAUSED") >= 0);
	CU_ASSERT_FATAL(fake_of(H_FAKE, id, &fc));
	CU_ASSERT_EQUAL(fc.state, BERTH_RS_PAUSED);
	EXPECT(id, "pause", NULL, 409, "not running");
	EXPECT(id, "start", NULL, 409, "paused");
	mark = h_events_mark();
	EXPECT(id, "resume", NULL, 204, NULL);
	CU_ASSERT_TRUE(h_wait_event(mark, "modify", state_path(id), "RUNNING") >= 0);
	EXPECT(id, "resume", NULL, 409, "not paused");
	/* the runtime refuses: its words, and the state caught up */
	FB->fail_next(H_FAKE, "pause", BERTH_E_RUNTIME, "cgroup freezer: permission denied");
	EXPECT(id, "pause", NULL, 500, "cgroup freezer: permission denied");
	CU_ASSERT_EQUAL(h_status(id), CS_RUNNING);

	/* a backend without pause */
	make(H_MINI, true, NULL, id);
	EXPECT(id, "pause", NULL, 501, "cannot pause containers");
	EXPECT(id, "resume", NULL, 501, "cannot pause containers");
	down();
}

/* ---- rename ------------------------------------------------------------------------- */

static void test_rename(void)
{
	struct harness_options keep = { .keep_state = true };
	char id[CONTAINER_ID_LEN + 1], other[CONTAINER_ID_LEN + 1];
	struct fake_container fc;
	struct container *c;
	json_object *ev, *rec;
	size_t mark;
	long i;

	CU_ASSERT_FATAL(harness_start(NULL));
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\",\"name\":\"alpha\"}", true, id), 200);
	CU_ASSERT_EQUAL_FATAL(h_create("{\"imageRef\":\"busybox\",\"name\":\"gamma\"}", true, other), 200);
	h_settle();
	FB->clear_calls(H_FAKE);
	mark = h_events_mark();
	/* the same name, or none: nothing happens */
	EXPECT(id, "rename", "\"alpha\"", 204, NULL);
	EXPECT(id, "rename", "\"\"", 204, NULL);
	EXPECT(id, "rename", NULL, 204, NULL);
	CU_ASSERT_EQUAL(h_count_events(mark, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "rename", NULL), 0);
	/* a name in use */
	EXPECT(id, "rename", "\"gamma\"", 409, "already used by container");
	/* bad names: 400 at intake */
	EXPECT(id, "rename", "\"no spaces\"", 400, "name");
	/* the page's example */
	EXPECT(id, "rename", "\"new_container_name\"", 204, NULL);
	i = h_wait_event(mark, "modify", "/properties/status/name", NULL);
	CU_ASSERT_FATAL(i >= 0);
	ev = h_event_json((size_t)i);
	H_ASSERT_STR(h_str(ev, "value"), "new_container_name");
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(ev, "path"), id));
	json_object_put(ev);
	CU_ASSERT_FATAL(fake_of(H_FAKE, id, &fc));
	H_ASSERT_STR(fc.name, "new_container_name"); /* BERTH_CAP_RENAME */
	/* the old name is free again */
	EXPECT(other, "rename", "\"alpha\"", 204, NULL);
	/* the runtime refuses */
	FB->fail_next(H_FAKE, "rename", BERTH_E_CONFLICT, "name in use by a container berth does not manage");
	EXPECT(id, "rename", "\"delta\"", 409, "does not manage");
	rec = h_record(id);
	H_ASSERT_STR(h_str(rec, "name"), "new_container_name");
	json_object_put(rec);

	/* persisted: a restarted agent knows the name */
	CU_ASSERT_EQUAL(harness_stop(), 0);
	CU_ASSERT_FATAL(harness_start(&keep));
	c = containers_get(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	H_ASSERT_STR(c->name, "new_container_name");
	container_unref(c);
	EXPECT(other, "rename", "\"new_container_name\"", 409, "already used");

	/* a backend that cannot rename: the core keeps the name */
	make(H_MINI, false, NULL, id);
	EXPECT(id, "rename", "\"mini_name\"", 204, NULL);
	CU_ASSERT_FATAL(fake_of(H_MINI, id, &fc));
	H_ASSERT_STR(fc.name, id);
	c = containers_get(id);
	H_ASSERT_STR(c->name, "mini_name");
	container_unref(c);
	down();
}

/* ---- update ------------------------------------------------------------------------- */

static const char *cfg(json_object *config, const char *path)
{
	return h_str(config, path);
}

static void test_update_merge(void)
{
	char id[CONTAINER_ID_LEN + 1];
	struct fake_container fc;
	struct fake_call call;
	json_object *config, *ev;
	size_t mark;
	long i;

	up();
	make(NULL, true,
	     "{\"restartPolicy\":{\"type\":\"on-failure\",\"maxRetryCount\":3,\"timeout\":10},"
	     "\"resources\":{\"memory\":\"200m\"}}", id);
	config = config_of(id);
	H_ASSERT_STR(cfg(config, "resources/memorySwap"), "400m");
	json_object_put(config);

	/* a field present replaces that field; the others keep their values */
	mark = h_events_mark();
	EXPECT(id, "update", "{\"resources\":{\"memoryReservation\":\"100m\"}}", 204, NULL);
	config = config_of(id);
	H_ASSERT_STR(cfg(config, "resources/memory"), "200m");
	H_ASSERT_STR(cfg(config, "resources/memoryReservation"), "100m");
	H_ASSERT_STR(cfg(config, "resources/memorySwap"), "400m");
	H_ASSERT_STR(cfg(config, "restartPolicy/type"), "ON_FAILURE");
	CU_ASSERT_EQUAL(h_int(config, "restartPolicy/maxRetryCount", 0), 3);
	CU_ASSERT_EQUAL(h_int(config, "restartPolicy/retryTimeout", 0), 10);
	json_object_put(config);
	/* the twin: the whole config */
	i = h_wait_event(mark, "modify", "/properties/status/config", NULL);
	CU_ASSERT_FATAL(i >= 0);
	ev = h_event_json((size_t)i);
	H_ASSERT_STR(h_str(ev, "value/resources/memoryReservation"), "100m");
	H_ASSERT_STR(h_str(ev, "value/networkMode"), "BRIDGE");
	json_object_put(ev);
	/* the runtime: complete desired limits, live */
	call = last_call(H_FAKE, "update", id);
	CU_ASSERT_EQUAL(call.mask, BERTH_UPDATE_RESOURCES);
	CU_ASSERT_FATAL(fake_of(H_FAKE, id, &fc));
	CU_ASSERT_EQUAL(fc.resources.memory, 200 * MiB);
	CU_ASSERT_EQUAL(fc.resources.memory_reservation, 100 * MiB);
	CU_ASSERT_EQUAL(fc.resources.memory_swap, 400 * MiB);

	EXPECT(id, "update", "{\"restartPolicy\":{\"maxRetryCount\":5}}", 204, NULL);
	config = config_of(id);
	H_ASSERT_STR(cfg(config, "restartPolicy/type"), "ON_FAILURE");
	CU_ASSERT_EQUAL(h_int(config, "restartPolicy/maxRetryCount", 0), 5);
	CU_ASSERT_EQUAL(h_int(config, "restartPolicy/retryTimeout", 0), 10);
	json_object_put(config);
	CU_ASSERT_EQUAL(last_call(H_FAKE, "update", id).mask, BERTH_UPDATE_RESTART);

	/* the merged result is judged: memory above the existing swap is refused, and
	 * nothing changes (no runtime call, no event, same config) */
	FB->clear_calls(H_FAKE);
	mark = h_events_mark();
	EXPECT(id, "update", "{\"resources\":{\"memory\":\"500m\"}}", 400, "resources");
	EXPECT(id, "update", "{\"resources\":{\"memoryReservation\":\"300m\"}}", 400, "resources");
	EXPECT(id, "update", "{\"restartPolicy\":{\"type\":\"always\",\"maxRetryCount\":2}}", 400,
	       "restartPolicy");
	EXPECT(id, "update", "{\"resources\":{\"memory\":\"500m\",\"memorySwap\":\"bad\"}}", 400,
	       "memorySwap");
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "update", NULL), 0);
	CU_ASSERT_EQUAL(h_count_events(mark, NULL, NULL, NULL), 0);
	config = config_of(id);
	H_ASSERT_STR(cfg(config, "resources/memory"), "200m");
	json_object_put(config);

	/* both together are fine */
	EXPECT(id, "update", "{\"resources\":{\"memory\":\"500m\",\"memorySwap\":\"1g\"}}", 204, NULL);
	config = config_of(id);
	H_ASSERT_STR(cfg(config, "resources/memory"), "500m");
	H_ASSERT_STR(cfg(config, "resources/memorySwap"), "1g");
	H_ASSERT_STR(cfg(config, "resources/memoryReservation"), "100m");
	json_object_put(config);

	/* a type change to always drops the retry settings */
	EXPECT(id, "update", "{\"restartPolicy\":{\"type\":\"always\"}}", 204, NULL);
	config = config_of(id);
	H_ASSERT_STR(cfg(config, "restartPolicy/type"), "ALWAYS");
	CU_ASSERT_PTR_NULL(h_get(config, "restartPolicy/maxRetryCount"));
	CU_ASSERT_PTR_NULL(h_get(config, "restartPolicy/retryTimeout"));
	json_object_put(config);
	CU_ASSERT_FATAL(fake_of(H_FAKE, id, &fc));
	CU_ASSERT_EQUAL(fc.restart.type, BERTH_RESTART_ALWAYS);
	CU_ASSERT_EQUAL(fc.restart.max_retry_count, 0);

	/* nothing changes: 204, no event, no runtime call */
	FB->clear_calls(H_FAKE);
	mark = h_events_mark();
	EXPECT(id, "update", "{\"restartPolicy\":{\"type\":\"ALWAYS\"},\"resources\":{\"memory\":\"500m\"}}",
	       204, NULL);
	EXPECT(id, "update", "{}", 204, NULL);
	CU_ASSERT_EQUAL(h_count_events(mark, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "update", NULL), 0);

	/* "" removes a limit */
	EXPECT(id, "update", "{\"resources\":{\"memoryReservation\":\"\"}}", 204, NULL);
	config = config_of(id);
	CU_ASSERT_PTR_NULL(h_get(config, "resources/memoryReservation"));
	json_object_put(config);

	/* the runtime refuses: its words, nothing stored */
	FB->fail_next(H_FAKE, "update", BERTH_E_RUNTIME, "Cannot update: kernel memory limits");
	EXPECT(id, "update", "{\"resources\":{\"memory\":\"600m\",\"memorySwap\":\"2g\"}}", 500,
	       "kernel memory limits");
	config = config_of(id);
	H_ASSERT_STR(cfg(config, "resources/memory"), "500m");
	json_object_put(config);
	down();
}

static void test_update_page_example(void)
{
	char id[CONTAINER_ID_LEN + 1];
	json_object *config;
	struct fake_container fc;

	up();
	make(NULL, false, NULL, id);
	/* the page's value, trailing comma and all */
	EXPECT(id, "update",
	       "{\n\t\t\"restartPolicy\":{\n\t\t\t\"type\":\"on-failure\",\n\t\t\t\"maxRetryCount\":3,\n"
	       "\t\t\t\"timeout\":10\n\t\t},\n\t\t\"resources\":{\n\t\t\t\"memory\":\"500M\",\n"
	       "\t\t\t\"memoryReservation\":\"300M\",\n\t\t\t\"memorySwap\":\"1G\",\n\t\t}\n\t}",
	       204, NULL);
	config = config_of(id);
	H_ASSERT_STR(cfg(config, "restartPolicy/type"), "ON_FAILURE");
	CU_ASSERT_EQUAL(h_int(config, "restartPolicy/maxRetryCount", 0), 3);
	CU_ASSERT_EQUAL(h_int(config, "restartPolicy/retryTimeout", 0), 10);
	H_ASSERT_STR(cfg(config, "resources/memory"), "500m");
	H_ASSERT_STR(cfg(config, "resources/memoryReservation"), "300m");
	H_ASSERT_STR(cfg(config, "resources/memorySwap"), "1g");
	json_object_put(config);
	CU_ASSERT_FATAL(fake_of(H_FAKE, id, &fc));
	CU_ASSERT_EQUAL(fc.resources.memory, 524288000LL);
	CU_ASSERT_EQUAL(fc.resources.memory_reservation, 300 * MiB);
	CU_ASSERT_EQUAL(fc.resources.memory_swap, 1024 * MiB);
	CU_ASSERT_EQUAL(fc.restart.type, BERTH_RESTART_ON_FAILURE);
	CU_ASSERT_EQUAL(fc.restart.max_retry_count, 3);
	CU_ASSERT_EQUAL(fc.restart.retry_timeout_s, 10);

	/* a backend without update: stored for the next create only */
	make(H_MINI, false, NULL, id);
	EXPECT(id, "update", "{\"resources\":{\"memory\":\"64m\"}}", 204, NULL);
	config = config_of(id);
	H_ASSERT_STR(cfg(config, "resources/memory"), "64m");
	json_object_put(config);
	CU_ASSERT_FATAL(fake_of(H_MINI, id, &fc));
	CU_ASSERT_EQUAL(fc.resources.memory, 0);
	down();
}

/* ---- remove ------------------------------------------------------------------------- */

static void test_remove(void)
{
	char id[CONTAINER_ID_LEN + 1], *native;
	struct fake_container fc;
	size_t mark;
	long dead, deleted;
	json_object *announced;

	up();
	make(NULL, true, NULL, id);
	native = h_native(id);
	EXPECT(id, "remove", NULL, 409, "is running");
	EXPECT(id, "remove", "false", 409, "is running");
	CU_ASSERT_EQUAL(FB->get(H_FAKE, native, &fc), 0);
	CU_ASSERT_EQUAL(fc.state, BERTH_RS_RUNNING);
	CU_ASSERT_EQUAL(h_status(id), CS_RUNNING);

	mark = h_events_mark();
	EXPECT(id, "remove", "true", 204, NULL);
	/* DEAD, then the feature's deletion */
	dead = h_wait_event(mark, "modify", state_path(id), "DEAD");
	deleted = h_wait_event(mark, "delete", h_feature(id), NULL);
	CU_ASSERT_TRUE(dead >= 0 && deleted > dead);
	CU_ASSERT_EQUAL(last_call_native(H_FAKE, "remove", native).flags, BERTH_REMOVE_FORCE);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "remove", native), 1);
	CU_ASSERT_EQUAL(FB->get(H_FAKE, native, &fc), -1);
	CU_ASSERT_EQUAL(h_status(id), -1);
	CU_ASSERT_FALSE(h_record_exists(id));
	/* forgotten in the announced list */
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/features.json", harness_state_dir());
		announced = json_object_from_file(path);
		CU_ASSERT_PTR_NOT_NULL(announced);
		CU_ASSERT_EQUAL(json_object_array_length(announced), 0);
		json_object_put(announced);
	}
	/* the id is unknown now */
	EXPECT(id, "start", NULL, 404, "not found");
	free(native);

	/* a stopped container needs no force; a paused one does */
	make(NULL, false, NULL, id);
	EXPECT(id, "remove", NULL, 204, NULL);
	make(NULL, true, NULL, id);
	EXPECT(id, "pause", NULL, 204, NULL);
	EXPECT(id, "remove", NULL, 409, "paused");
	EXPECT(id, "remove", "true", 204, NULL);
	/* the runtime lost it already: removal still succeeds */
	make(NULL, false, NULL, id);
	FB->fail_next(H_FAKE, "remove", BERTH_E_NOT_FOUND, "No such container");
	EXPECT(id, "remove", NULL, 204, NULL);
	CU_ASSERT_EQUAL(h_status(id), -1);
	/* commands queued behind a removal find the container gone */
	make(NULL, false, NULL, id);
	{
		char corr_rm[32], corr_start[32];
		struct h_reply r;

		FB->hold(H_FAKE, "remove");
		CU_ASSERT_EQUAL(h_send(h_feature(id), "remove", NULL, corr_rm), 0);
		CU_ASSERT_FATAL(FB->wait_held(H_FAKE, "remove", 1, HARNESS_WAIT_MS));
		CU_ASSERT_EQUAL(h_send(h_feature(id), "start", NULL, corr_start), 0);
		FB->release(H_FAKE, "remove");
		CU_ASSERT_EQUAL(h_wait_reply(corr_rm, NULL), 204);
		CU_ASSERT_EQUAL(h_wait_reply(corr_start, &r), 404);
		CU_ASSERT_PTR_NOT_NULL(strstr(h_str(r.env, "value/message"), "does not exist any more"));
		h_reply_release(&r);
	}
	/* the runtime refuses: its words, record kept */
	make(NULL, false, NULL, id);
	FB->fail_next(H_FAKE, "remove", BERTH_E_RUNTIME, "device or resource busy");
	EXPECT(id, "remove", NULL, 500, "device or resource busy");
	CU_ASSERT_EQUAL(h_status(id), CS_CREATED);
	CU_ASSERT_TRUE(h_record_exists(id));
	down();
}

/* ---- unknown containers, one-way commands -------------------------------------------- */

static void test_unknown_container(void)
{
	static const char *const ops[] = { "start", "stop", "stopWithOptions", "pause", "resume",
					   "rename", "update", "remove" };
	const char *ghost = "3b8f0f6e-7a0a-4c55-9f1e-5b1f2f9d0c11";
	struct h_reply r;

	up();
	for (size_t i = 0; i < N(ops); i++) {
		char outbox[160];

		CU_ASSERT_EQUAL(h_command(h_feature(ghost), ops[i], NULL, &r), 404);
		H_ASSERT_STR(h_str(r.env, "value/error"), "messages:subject.notfound");
		CU_ASSERT_PTR_NOT_NULL(strstr(h_str(r.env, "value/message"), ghost));
		snprintf(outbox, sizeof(outbox), "/features/Container:%s/outbox/messages/%s", ghost,
			 ops[i]);
		H_ASSERT_STR(h_str(r.env, "path"), outbox);
		h_reply_release(&r);
	}
	CU_ASSERT_EQUAL(FB->calls(H_FAKE, NULL, 0), 0);
	down();
}

static void test_one_way(void)
{
	char id[CONTAINER_ID_LEN + 1], *payload = NULL;
	struct fake_message m = { 0 };

	up();
	make(NULL, false, NULL, id);
	FT->clear(H_FT);
	/* response-required false: executed, not answered */
	CU_ASSERT_FATAL(asprintf(&payload,
				 "{\"topic\":\"" H_TOPIC_PREFIX "start\",\"headers\":{\"correlation-id\":"
				 "\"ow-1\",\"response-required\":false},\"path\":\"/features/Container:"
				 "%s/inbox/messages/start\"}", id) > 0);
	CU_ASSERT_EQUAL(h_inject(payload, "req-ow-1", "start"), BERTH_DISPOSITION_ACCEPTED);
	free(payload);
	h_settle();
	CU_ASSERT_EQUAL(h_status(id), CS_RUNNING);
	CU_ASSERT_EQUAL(FT->n_replies(H_FT), 0);
	CU_ASSERT_TRUE(h_find_event(0, "modify", state_path(id), "RUNNING") >= 0);

	/* no reply address (AMQP without reply-to): executed, not answered */
	payload = h_envelope(h_feature(id), "stop", NULL, "ow-2");
	m.payload = payload;
	m.subject = "stop";
	CU_ASSERT_EQUAL(FT->inject(H_FT, &m), BERTH_DISPOSITION_ACCEPTED);
	free(payload);
	h_settle();
	CU_ASSERT_EQUAL(h_status(id), CS_STOPPED);
	CU_ASSERT_EQUAL(FT->n_replies(H_FT), 0);

	/* an error for a one-way command is not answered either */
	CU_ASSERT_FATAL(asprintf(&payload,
				 "{\"topic\":\"" H_TOPIC_PREFIX "stop\",\"headers\":{\"correlation-id\":"
				 "\"ow-3\",\"response-required\":false},\"path\":\"/features/Container:"
				 "%s/inbox/messages/stop\"}", id) > 0);
	CU_ASSERT_EQUAL(h_inject(payload, "req-ow-3", "stop"), BERTH_DISPOSITION_ACCEPTED);
	free(payload);
	h_settle();
	CU_ASSERT_EQUAL(FT->n_replies(H_FT), 0);
	down();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "create: defaults, reply, twin, runtime, record", test_create_defaults },
		{ "createWithConfig: config, start, name, backend", test_create_with_config },
		{ "create: name uniqueness (409), also racing", test_create_name_taken },
		{ "create: refused (unknown backend, image, runtime failures)", test_create_refused },
		{ "create: start failure after create", test_create_start_fails },
		{ "create: commands behind a failing create", test_commands_behind_failed_create },
		{ "start and stop", test_start_stop },
		{ "reply paths", test_reply_paths },
		{ "stop: the core's state machine", test_stop_core_state_machine },
		{ "stopWithOptions: native stop", test_stop_with_options_native },
		{ "stop: ignored signal without force", test_stop_ignored_without_force },
		{ "stop: ignored signal with force", test_stop_ignored_with_force },
		{ "stop: paused container", test_stop_paused },
		{ "pause and resume", test_pause_resume },
		{ "rename", test_rename },
		{ "update: merge semantics", test_update_merge },
		{ "update: the page's example", test_update_page_example },
		{ "remove", test_remove },
		{ "unknown container", test_unknown_container },
		{ "one-way commands", test_one_way },
	};

	return h_main("ops", tests, N(tests));
}
