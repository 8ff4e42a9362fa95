/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Commands end to end (core/command.c, core/queue.c, core/host.c): answers to messages
 * that never become commands, reply addressing, the queue's limit (429, or released for
 * a redelivering transport), per-container order and cross-container parallelism (facts
 * from the fake runtime's call log, never durations), a learned identity, and commands
 * still queued at shutdown.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "command.h"
#include "harness.h"
#include "ops.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ERRORS_TOPIC "unknown/unknown/things/twin/errors"

static void up(void)
{
	CU_ASSERT_FATAL(harness_start(NULL));
}

static void down(void)
{
	CU_ASSERT_EQUAL(harness_stop(), 0);
}

static void make(bool run, char *id)
{
	CU_ASSERT_EQUAL_FATAL(h_create(run ? "{\"imageRef\":\"busybox\",\"start\":true}"
					   : "{\"imageRef\":\"busybox\"}", false, id), 200);
	h_settle();
}

/* The last reply (parsed) or NULL; rec filled. */
static json_object *last_reply(struct fake_record *rec)
{
	size_t n = FT->n_replies(H_FT);

	*rec = (struct fake_record){ 0 };
	if (n == 0 || FT->reply(H_FT, n - 1, rec) < 0)
		return NULL;
	return json_tokener_parse(rec->payload);
}

/* Injects `payload` (reply address `reply_to`), waits for quiet, returns the number of
 * new replies; *disposition set. */
static size_t inject(const char *payload, const char *reply_to, int *disposition)
{
	size_t before = FT->n_replies(H_FT);

	*disposition = h_inject(payload, reply_to, "start");
	h_settle();
	return FT->n_replies(H_FT) - before;
}

/* ---- answers to messages that never become commands ---------------------------------- */

static void test_early_errors(void)
{
	struct fake_record rec;
	json_object *o;
	int d;

	up();
	/* not JSON: answered on the errors topic, path "/", no correlation-id */
	CU_ASSERT_EQUAL(inject("hello", "r-1", &d), 1);
	CU_ASSERT_EQUAL(d, BERTH_DISPOSITION_ACCEPTED);
	o = last_reply(&rec);
	CU_ASSERT_EQUAL(rec.status, 400);
	H_ASSERT_STR(h_str(o, "topic"), ERRORS_TOPIC);
	H_ASSERT_STR(h_str(o, "path"), "/");
	CU_ASSERT_PTR_NULL(h_get(o, "headers/correlation-id"));
	H_ASSERT_STR(h_str(o, "value/error"), "messages:parameter.invalid");
	CU_ASSERT_EQUAL(h_int(o, "value/status", 0), 400);
	H_ASSERT_STR(rec.reply_to, "r-1");
	H_ASSERT_STR(rec.subject, "start");
	CU_ASSERT_PTR_NULL(rec.correlation_id);
	json_object_put(o);
	fake_record_release(&rec);

	/* the same without a reply address: refused outright, nothing sent */
	CU_ASSERT_EQUAL(inject("hello", NULL, &d), 0);
	CU_ASSERT_EQUAL(d, BERTH_DISPOSITION_REJECTED);
	CU_ASSERT_EQUAL(inject("", NULL, &d), 0);
	CU_ASSERT_EQUAL(d, BERTH_DISPOSITION_REJECTED);

	/* an envelope without correlation-id: the request's topic and (inbox) path */
	CU_ASSERT_EQUAL(inject("{\"topic\":\"" H_TOPIC_PREFIX "start\",\"headers\":{},\"path\":"
			       "\"/features/Container:x/inbox/messages/start\"}", "r-2", &d), 1);
	o = last_reply(&rec);
	CU_ASSERT_EQUAL(rec.status, 400);
	H_ASSERT_STR(h_str(o, "topic"), H_TOPIC_PREFIX "start");
	H_ASSERT_STR(h_str(o, "path"), "/features/Container:x/inbox/messages/start");
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(o, "value/message"), "correlation-id"));
	json_object_put(o);
	fake_record_release(&rec);

	/* routing errors after the path parsed: the outbox path, correlation-id echoed */
	CU_ASSERT_EQUAL(inject("{\"topic\":\"other/thing/things/live/messages/start\",\"headers\":"
			       "{\"correlation-id\":\"k-1\"},\"path\":\"/features/Container:x/inbox/"
			       "messages/start\"}", "r-3", &d), 1);
	o = last_reply(&rec);
	CU_ASSERT_EQUAL(rec.status, 404);
	H_ASSERT_STR(h_str(o, "path"), "/features/Container:x/outbox/messages/start");
	H_ASSERT_STR(h_str(o, "headers/correlation-id"), "k-1");
	H_ASSERT_STR(h_str(o, "value/error"), "messages:subject.notfound");
	H_ASSERT_STR(rec.correlation_id, "k-1");
	json_object_put(o);
	fake_record_release(&rec);

	/* a path that does not parse: the request path */
	CU_ASSERT_EQUAL(inject("{\"topic\":\"" H_TOPIC_PREFIX "start\",\"headers\":{\"correlation-id\":"
			       "\"k-2\"},\"path\":\"/features/Container:x/outbox/messages/start\"}",
			       "r-4", &d), 1);
	o = last_reply(&rec);
	CU_ASSERT_EQUAL(rec.status, 400);
	H_ASSERT_STR(h_str(o, "path"), "/features/Container:x/outbox/messages/start");
	json_object_put(o);
	fake_record_release(&rec);

	/* a thing-level operation */
	CU_ASSERT_EQUAL(inject("{\"topic\":\"" H_TOPIC_PREFIX "start\",\"headers\":{\"correlation-id\":"
			       "\"k-3\"},\"path\":\"/inbox/messages/start\"}", "r-5", &d), 1);
	o = last_reply(&rec);
	CU_ASSERT_EQUAL(rec.status, 404);
	H_ASSERT_STR(h_str(o, "path"), "/inbox/messages/start");
	json_object_put(o);
	fake_record_release(&rec);

	/* a bad value is judged before the container is looked up */
	CU_ASSERT_EQUAL(inject("{\"topic\":\"" H_TOPIC_PREFIX "stopWithOptions\",\"headers\":{"
			       "\"correlation-id\":\"k-4\",\"content-type\":\"application/json\"},"
			       "\"path\":\"/features/Container:nobody/inbox/messages/stopWithOptions\","
			       "\"value\":{\"signal\":\"SIGFOO\"}}", "r-6", &d), 1);
	o = last_reply(&rec);
	CU_ASSERT_EQUAL(rec.status, 400);
	H_ASSERT_STR(h_str(o, "path"),
			       "/features/Container:nobody/outbox/messages/stopWithOptions");
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(o, "value/message"), "SIGFOO"));
	json_object_put(o);
	fake_record_release(&rec);

	/* a one-way message with an error: not answered */
	CU_ASSERT_EQUAL(inject("{\"topic\":\"" H_TOPIC_PREFIX "start\",\"headers\":{\"correlation-id\":"
			       "\"k-5\",\"response-required\":false},\"path\":\"/features/Container:x/"
			       "inbox/messages/start\"}", "r-7", &d), 0);
	CU_ASSERT_EQUAL(d, BERTH_DISPOSITION_ACCEPTED);

	/* nothing reached the runtime */
	CU_ASSERT_EQUAL(FB->calls(H_FAKE, NULL, 0), 0);
	CU_ASSERT_EQUAL(containers_count(), 0);
	down();
}

static void test_payload_limit(void)
{
	struct harness_options o = { .agent = "max_payload = 1024; max_json_depth = 4;" };
	char big[2048], *payload;
	struct fake_record rec;
	json_object *reply;
	int d;

	CU_ASSERT_FATAL(harness_start(&o));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_FATAL(asprintf(&payload, "{\"topic\":\"%s\"}", big) > 0);
	CU_ASSERT_EQUAL(inject(payload, "r-1", &d), 1);
	free(payload);
	reply = last_reply(&rec);
	CU_ASSERT_EQUAL(rec.status, 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(reply, "value/message"), "more than the limit of 1024"));
	json_object_put(reply);
	fake_record_release(&rec);
	/* depth 4: the envelope, its value and two more levels */
	CU_ASSERT_EQUAL(inject("{\"topic\":\"" H_TOPIC_PREFIX "start\",\"headers\":{\"correlation-id\":"
			       "\"d\"},\"path\":\"/features/Container:x/inbox/messages/start\","
			       "\"value\":[[[1]]]}", "r-2", &d), 1);
	reply = last_reply(&rec);
	CU_ASSERT_EQUAL(rec.status, 404); /* decoded and routed: container x is unknown */
	json_object_put(reply);
	fake_record_release(&rec);
	CU_ASSERT_EQUAL(inject("{\"topic\":\"" H_TOPIC_PREFIX "start\",\"headers\":{\"correlation-id\":"
			       "\"d\"},\"path\":\"/features/Container:x/inbox/messages/start\","
			       "\"value\":[[[[1]]]]}", "r-3", &d), 1);
	reply = last_reply(&rec);
	CU_ASSERT_EQUAL(rec.status, 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(reply, "value/message"), "deeper than 4"));
	json_object_put(reply);
	fake_record_release(&rec);
	down();
}

/* ---- reply addressing --------------------------------------------------------------- */

static void test_reply_addressing(void)
{
	char id[CONTAINER_ID_LEN + 1], *payload;
	struct fake_message m = { 0 };
	struct fake_record rec;
	json_object *reply;

	up();
	make(false, id);
	FT->clear(H_FT);
	/* AMQP-style: a wire correlation id, a device id and a subject are echoed */
	payload = h_envelope(h_feature(id), "start", NULL, "ditto-corr");
	m.payload = payload;
	m.reply_to = "command_response/t1/req-9";
	m.correlation_id = "amqp-corr-7";
	m.subject = "start";
	m.device_id = "gw1";
	m.content_type = "application/vnd.eclipse.ditto+json";
	CU_ASSERT_EQUAL(FT->inject(H_FT, &m), BERTH_DISPOSITION_ACCEPTED);
	free(payload);
	CU_ASSERT_FATAL(FT->wait_replies(H_FT, 1, HARNESS_WAIT_MS));
	reply = last_reply(&rec);
	CU_ASSERT_EQUAL(rec.status, 204);
	H_ASSERT_STR(rec.reply_to, "command_response/t1/req-9");
	H_ASSERT_STR(rec.correlation_id, "amqp-corr-7");
	H_ASSERT_STR(rec.subject, "start");
	H_ASSERT_STR(rec.device_id, "gw1");
	H_ASSERT_STR(h_str(reply, "headers/correlation-id"), "ditto-corr");
	json_object_put(reply);
	fake_record_release(&rec);

	/* MQTT-style: no wire correlation id, no subject: Ditto's id and the operation */
	payload = h_envelope(h_feature(id), "stop", NULL, "ditto-corr-2");
	m = (struct fake_message){ .payload = payload, .reply_to = "" };
	CU_ASSERT_EQUAL(FT->inject(H_FT, &m), BERTH_DISPOSITION_ACCEPTED);
	free(payload);
	CU_ASSERT_FATAL(FT->wait_replies(H_FT, 2, HARNESS_WAIT_MS));
	reply = last_reply(&rec);
	CU_ASSERT_EQUAL(rec.status, 204);
	H_ASSERT_STR(rec.reply_to, "");
	H_ASSERT_STR(rec.correlation_id, "ditto-corr-2");
	H_ASSERT_STR(rec.subject, "stop");
	CU_ASSERT_PTR_NULL(rec.device_id);
	json_object_put(reply);
	fake_record_release(&rec);

	/* a reply the transport cannot send is logged; the next one goes out */
	FT->fail_next_reply(H_FT, BERTH_E_UNAVAILABLE, "not connected");
	CU_ASSERT_EQUAL(h_send(h_feature(id), "start", NULL, (char[32]){ 0 }), 0);
	h_settle();
	CU_ASSERT_EQUAL(FT->n_replies(H_FT), 2);
	CU_ASSERT_EQUAL(h_status(id), CS_RUNNING);
	CU_ASSERT_EQUAL(h_command(h_feature(id), "stop", NULL, NULL), 204);
	down();
}

/* ---- the queue's limit --------------------------------------------------------------- */

/* Two commands hold the queue's two places (both blocked in the runtime); a third one
 * finds it full. */
static void fill_queue(char ids[3][CONTAINER_ID_LEN + 1], char corr[2][32])
{
	for (int i = 0; i < 3; i++)
		make(false, ids[i]);
	FB->hold(H_FAKE, "start");
	CU_ASSERT_EQUAL(h_send(h_feature(ids[0]), "start", NULL, corr[0]), 0);
	CU_ASSERT_EQUAL(h_send(h_feature(ids[1]), "start", NULL, corr[1]), 0);
	CU_ASSERT_FATAL(FB->wait_held(H_FAKE, "start", 2, HARNESS_WAIT_MS));
}

static void test_queue_full_answered(void)
{
	struct harness_options o = { .agent = "queue_limit = 2;" };
	char ids[3][CONTAINER_ID_LEN + 1], corr[2][32], corr3[32];
	struct command_stats before, after;
	struct h_reply r;

	CU_ASSERT_FATAL(harness_start(&o));
	fill_queue(ids, corr);
	command_stats(&before);
	/* not redelivering: answered 429 at once, accepted (settled) */
	CU_ASSERT_EQUAL(h_send(h_feature(ids[2]), "start", NULL, corr3), BERTH_DISPOSITION_ACCEPTED);
	CU_ASSERT_EQUAL(h_wait_reply(corr3, &r), 429);
	H_ASSERT_STR(h_str(r.env, "value/error"), "messages:too.many.requests");
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(r.env, "value/message"), "limit"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(r.env, "path"), ids[2]));
	CU_ASSERT_PTR_NOT_NULL(strstr(h_str(r.env, "path"), "/outbox/messages/start"));
	h_reply_release(&r);
	command_stats(&after);
	CU_ASSERT_EQUAL(after.busy, before.busy + 1);
	FB->release(H_FAKE, "start");
	CU_ASSERT_EQUAL(h_wait_reply(corr[0], NULL), 204);
	CU_ASSERT_EQUAL(h_wait_reply(corr[1], NULL), 204);
	h_settle();
	/* the refused one never ran; with room again it does */
	CU_ASSERT_EQUAL(h_status(ids[2]), CS_CREATED);
	CU_ASSERT_EQUAL(h_command(h_feature(ids[2]), "start", NULL, NULL), 204);
	down();
}

static void test_queue_full_released(void)
{
	struct harness_options o = {
		.agent = "queue_limit = 2;",
		.transports = "{ module = \"fake_transport\"; name = \"" H_FT "\"; redelivery = true; }",
	};
	char ids[3][CONTAINER_ID_LEN + 1], corr[2][32], corr3[32];
	size_t replies;

	CU_ASSERT_FATAL(harness_start(&o));
	fill_queue(ids, corr);
	replies = FT->n_replies(H_FT);
	/* redelivering peer: released, not answered; the peer will send it again */
	CU_ASSERT_EQUAL(h_send(h_feature(ids[2]), "start", NULL, corr3), BERTH_DISPOSITION_RELEASED);
	FB->release(H_FAKE, "start");
	CU_ASSERT_EQUAL(h_wait_reply(corr[0], NULL), 204);
	CU_ASSERT_EQUAL(h_wait_reply(corr[1], NULL), 204);
	h_settle();
	CU_ASSERT_FALSE(h_has_reply(corr3));
	CU_ASSERT_EQUAL(FT->n_replies(H_FT), replies + 2);
	CU_ASSERT_EQUAL(h_status(ids[2]), CS_CREATED);
	/* redelivered */
	CU_ASSERT_EQUAL(h_command(h_feature(ids[2]), "start", NULL, NULL), 204);
	down();
}

/* ---- order within a container, parallelism across containers ------------------------- */

static bool overlap(const struct fake_call *a, const struct fake_call *b)
{
	return a->begin_ns < b->end_ns && b->begin_ns < a->end_ns;
}

static void test_order_and_parallelism(void)
{
	enum { ROUNDS = 4 };
	char a[CONTAINER_ID_LEN + 1], b[CONTAINER_ID_LEN + 1], corr[2 * ROUNDS + 2][32];
	char *na, *nb;
	struct fake_call *calls, *pa = NULL, *pb = NULL;
	size_t n;
	int k = 0;
	const char *expect[2] = { "pause", "resume" };
	int seen = 0;

	up();
	make(true, a);
	make(true, b);
	na = h_native(a);
	nb = h_native(b);
	FB->clear_calls(H_FAKE);

	/* pause A and pause B are both in the runtime at once: different lanes */
	FB->hold(H_FAKE, "pause");
	CU_ASSERT_EQUAL(h_send(h_feature(a), "pause", NULL, corr[k++]), 0);
	CU_ASSERT_EQUAL(h_send(h_feature(b), "pause", NULL, corr[k++]), 0);
	CU_ASSERT_FATAL(FB->wait_held(H_FAKE, "pause", 2, HARNESS_WAIT_MS));
	/* more commands for A queue behind its blocked pause, in order */
	for (int i = 0; i < ROUNDS; i++)
		CU_ASSERT_EQUAL(h_send(h_feature(a), i % 2 ? "pause" : "resume", NULL, corr[k++]), 0);
	CU_ASSERT_EQUAL(FB->count_calls(H_FAKE, "resume", na), 0);
	FB->set_delay(H_FAKE, "resume", 20); /* give an out-of-order call a chance to show */
	FB->release(H_FAKE, "pause");
	for (int i = 0; i < k; i++)
		CU_ASSERT_EQUAL(h_wait_reply(corr[i], NULL), 204);
	FB->set_delay(H_FAKE, "resume", 0);
	h_settle();

	n = FB->calls(H_FAKE, NULL, 0);
	calls = calloc(n, sizeof(*calls));
	n = h_min(FB->calls(H_FAKE, calls, n), n);
	/* A's operations ran in the order they were sent: pause, resume, pause, ... */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(calls[i].native_id, na) != 0 ||
		    (strcmp(calls[i].op, "pause") != 0 && strcmp(calls[i].op, "resume") != 0))
			continue;
		H_ASSERT_STR(calls[i].op, expect[seen % 2]);
		if (!pa)
			pa = &calls[i];
		seen++;
	}
	CU_ASSERT_EQUAL(seen, ROUNDS + 1);
	/* no two calls for one container overlap; A's and B's first pauses did */
	for (size_t i = 0; i < n; i++) {
		if (!pb && strcmp(calls[i].op, "pause") == 0 && strcmp(calls[i].native_id, nb) == 0)
			pb = &calls[i];
		for (size_t j = i + 1; j < n; j++) {
			if (strcmp(calls[i].native_id, calls[j].native_id) != 0 || !calls[i].native_id[0])
				continue;
			CU_ASSERT_FALSE(overlap(&calls[i], &calls[j]));
			if (overlap(&calls[i], &calls[j]))
				fprintf(stderr, "\n%s #%u and %s #%u on %s overlap\n", calls[i].op,
					calls[i].seq, calls[j].op, calls[j].seq, calls[i].native_id);
		}
	}
	CU_ASSERT_FATAL(pa && pb);
	CU_ASSERT_TRUE(overlap(pa, pb));
	free(calls);
	free(na);
	free(nb);
	down();
}

/* A long stop of one container does not hold up commands for another. */
static void test_long_stop_does_not_block(void)
{
	char a[CONTAINER_ID_LEN + 1], b[CONTAINER_ID_LEN + 1], corr[32], *na;
	struct h_reply r;

	up();
	make(true, a);
	make(false, b);
	na = h_native(a);
	FB->on_signal(H_FAKE, na, SIGTERM, FAKE_SIG_IGNORE, -1);
	FB->hold(H_FAKE, "kill");
	CU_ASSERT_EQUAL(h_send(h_feature(a), "stopWithOptions", "{\"timeout\":60}", corr), 0);
	CU_ASSERT_FATAL(FB->wait_held(H_FAKE, "kill", 1, HARNESS_WAIT_MS));
	/* while A's stop is in the runtime, B starts, stops and is removed */
	CU_ASSERT_EQUAL(h_command(h_feature(b), "start", NULL, NULL), 204);
	CU_ASSERT_EQUAL(h_command(h_feature(b), "remove", "true", NULL), 204);
	CU_ASSERT_FALSE(h_has_reply(corr));
	/* A's process now exits on its own: the stop is done */
	FB->on_signal(H_FAKE, na, SIGTERM, FAKE_SIG_EXIT, -1);
	FB->release(H_FAKE, "kill");
	CU_ASSERT_EQUAL(h_wait_reply(corr, &r), 204);
	h_reply_release(&r);
	CU_ASSERT_EQUAL(h_status(a), CS_STOPPED);
	free(na);
	down();
}

/* ---- identity ------------------------------------------------------------------------ */

static void test_learned_identity(void)
{
	struct harness_options o = {
		.transports = "{ module = \"fake_transport\"; name = \"" H_FT "\"; "
			      "thing_id = \"org.example:gw1:edge:containers\"; tenant = \"t9\"; }",
		.keep_records = true,
		.no_identity = true,
	};
	struct fake_record rec;
	char *payload;
	long i;
	int d;

	CU_ASSERT_FATAL(harness_start(&o));
	/* the resync after going online used the learned thing */
	i = h_find_event(0, "modify", "/features/ContainerFactory", NULL);
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL(FT->event(H_FT, (size_t)i, &rec), 0);
	H_ASSERT_STR(rec.thing_id, "org.example:gw1:edge:containers");
	H_ASSERT_STR(rec.tenant, "t9");
	fake_record_release(&rec);
	{
		json_object *ev = h_event_json((size_t)i);

		H_ASSERT_STR(h_str(ev, "topic"),
				       "org.example/gw1:edge:containers/things/twin/commands/modify");
		json_object_put(ev);
	}
	/* commands for another thing are someone else's */
	payload = h_envelope("ContainerFactory", "create", "{\"imageRef\":\"busybox\"}", "id-1");
	CU_ASSERT_EQUAL(inject(payload, "r-1", &d), 1);
	free(payload);
	CU_ASSERT_EQUAL(FT->reply(H_FT, FT->n_replies(H_FT) - 1, &rec), 0);
	CU_ASSERT_EQUAL(rec.status, 404);
	fake_record_release(&rec);
	/* and the learned one's are ours */
	CU_ASSERT_EQUAL(inject("{\"topic\":\"org.example/gw1:edge:containers/things/live/messages/"
			       "create\",\"headers\":{\"correlation-id\":\"id-2\"},\"path\":"
			       "\"/features/ContainerFactory/inbox/messages/create\",\"value\":"
			       "{\"imageRef\":\"busybox\"}}", "r-2", &d), 1);
	CU_ASSERT_EQUAL(FT->reply(H_FT, FT->n_replies(H_FT) - 1, &rec), 0);
	CU_ASSERT_EQUAL(rec.status, 200);
	fake_record_release(&rec);
	down();
}

/* A configured thing id wins over the one a transport reports. */
static void test_configured_identity_wins(void)
{
	struct harness_options o = {
		.transports = "{ module = \"fake_transport\"; name = \"" H_FT "\"; "
			      "thing_id = \"org.example:gw1:edge:containers\"; tenant = \"t9\"; }",
		.keep_records = true,
	};
	struct fake_record rec;
	char *payload;
	int d;

	CU_ASSERT_FATAL(harness_start(&o));
	payload = h_envelope("ContainerFactory", "create", "{\"imageRef\":\"busybox\"}", "id-1");
	CU_ASSERT_EQUAL(inject(payload, "r-1", &d), 1);
	free(payload);
	CU_ASSERT_EQUAL(FT->reply(H_FT, FT->n_replies(H_FT) - 1, &rec), 0);
	CU_ASSERT_EQUAL(rec.status, 200);
	fake_record_release(&rec);
	down();
}

/* ---- reload ------------------------------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_reload(void)
{
	struct harness_options o = { .agent = "stop_timeout = 7; queue_limit = 1;" };
	char a[CONTAINER_ID_LEN + 1], b[CONTAINER_ID_LEN + 1], corr[32], corr2[32], *na;
	struct fake_call calls[64];
	size_t n;
	int stop_timeout = -1;

	up();
	make(true, a);
	make(false, b);
	/* SIGHUP: the agent settings that can change without a restart are applied */
	CU_ASSERT_FATAL(harness_reload(&o));
	for (int waited = 0; ops_stop_timeout() != 7 && waited < HARNESS_WAIT_MS; waited += 10)
		sleep_ms(10);
	CU_ASSERT_EQUAL_FATAL(ops_stop_timeout(), 7);
	/* the stop timeout reaches the runtime */
	na = h_native(a);
	CU_ASSERT_EQUAL(h_command(h_feature(a), "stop", NULL, NULL), 204);
	n = h_min(FB->calls(H_FAKE, calls, N(calls)), N(calls));
	for (size_t i = 0; i < n; i++)
		if (strcmp(calls[i].op, "stop") == 0 && strcmp(calls[i].native_id, na) == 0)
			stop_timeout = calls[i].timeout;
	CU_ASSERT_EQUAL(stop_timeout, 7);
	free(na);
	h_settle(); /* the stop's job has ended, not only answered */
	/* the queue limit too: one command at a time now */
	FB->hold(H_FAKE, "start");
	CU_ASSERT_EQUAL(h_send(h_feature(a), "start", NULL, corr), 0);
	CU_ASSERT_FATAL(FB->wait_held(H_FAKE, "start", 1, HARNESS_WAIT_MS));
	CU_ASSERT_EQUAL(h_send(h_feature(b), "start", NULL, corr2), 0);
	CU_ASSERT_EQUAL(h_wait_reply(corr2, NULL), 429);
	FB->release(H_FAKE, "start");
	CU_ASSERT_EQUAL(h_wait_reply(corr, NULL), 204);
	/* a configuration that does not load changes nothing (and says so: berthd's log is
	 * read from a pipe until the refusal shows) */
	{
		int pipefd[2], saved = dup(2);
		char buf[4096] = "";
		size_t used = 0;

		CU_ASSERT_FATAL(saved >= 0 && pipe(pipefd) == 0);
		dup2(pipefd[1], 2);
		o.agent = "stop_timeout = \"soon\";";
		CU_ASSERT(harness_reload(&o));
		while (!strstr(buf, "reload refused") && used < sizeof(buf) - 1) {
			struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
			ssize_t r;

			if (poll(&p, 1, HARNESS_WAIT_MS) <= 0)
				break;
			r = read(pipefd[0], buf + used, sizeof(buf) - 1 - used);
			if (r <= 0)
				break;
			used += (size_t)r;
			buf[used] = '\0';
		}
		dup2(saved, 2);
		close(saved);
		close(pipefd[0]);
		close(pipefd[1]);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "reload refused"));
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "stop_timeout"));
		CU_ASSERT_EQUAL(ops_stop_timeout(), 7);
	}
	o.agent = "stop_timeout = 9;";
	CU_ASSERT_FATAL(harness_reload(&o));
	for (int waited = 0; ops_stop_timeout() != 9 && waited < HARNESS_WAIT_MS; waited += 10)
		sleep_ms(10);
	CU_ASSERT_EQUAL(ops_stop_timeout(), 9);
	down();
}

/* ---- shutdown with work queued -------------------------------------------------------- */

struct releaser {
	size_t replies;  /* release once this many replies were recorded */
	int status;      /* what the last of them said */
	char corr[64];
	char message[256];
};

static void *release_after_reply(void *arg)
{
	struct releaser *r = arg;
	struct fake_record rec;

	if (FT->wait_replies(H_FT, r->replies, HARNESS_WAIT_MS) &&
	    FT->reply(H_FT, r->replies - 1, &rec) == 0) {
		json_object *o = json_tokener_parse(rec.payload);
		const char *c = h_str(o, "headers/correlation-id"), *m = h_str(o, "value/message");

		r->status = rec.status;
		snprintf(r->corr, sizeof(r->corr), "%s", c ? c : "");
		snprintf(r->message, sizeof(r->message), "%s", m ? m : "");
		json_object_put(o);
		fake_record_release(&rec);
	}
	FB->release(H_FAKE, "start");
	return NULL;
}

static void test_shutdown_cancels_queued(void)
{
	char a[CONTAINER_ID_LEN + 1], corr1[32], corr2[32];
	struct releaser rel = { 0 };
	pthread_t t;

	up();
	make(false, a);
	FB->hold(H_FAKE, "start");
	CU_ASSERT_EQUAL(h_send(h_feature(a), "start", NULL, corr1), 0);
	CU_ASSERT_FATAL(FB->wait_held(H_FAKE, "start", 1, HARNESS_WAIT_MS));
	CU_ASSERT_EQUAL(h_send(h_feature(a), "stop", NULL, corr2), 0); /* queued behind */
	/* berthd stops: after its grace period the queued stop is answered 503; the running
	 * start then finishes (released once that answer is out) */
	rel.replies = FT->n_replies(H_FT) + 1;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, release_after_reply, &rel), 0);
	CU_ASSERT_EQUAL(harness_stop(), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(rel.status, 503);
	H_ASSERT_STR(rel.corr, corr2);
	CU_ASSERT_PTR_NOT_NULL(strstr(rel.message, "shut down before running"));
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "early errors and their answers", test_early_errors },
		{ "payload and depth limits from the configuration", test_payload_limit },
		{ "reply addressing", test_reply_addressing },
		{ "queue full: 429", test_queue_full_answered },
		{ "queue full: released to a redelivering peer", test_queue_full_released },
		{ "order per container, parallel across containers", test_order_and_parallelism },
		{ "a long stop does not block other containers", test_long_stop_does_not_block },
		{ "learned identity", test_learned_identity },
		{ "configured identity wins", test_configured_identity_wins },
		{ "reload (SIGHUP)", test_reload },
		{ "shutdown cancels queued commands", test_shutdown_cancels_queued },
	};

	return h_main("command", tests, N(tests));
}
