/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for core/ditto.c: the envelope decoder (with the Container API page's six
 * request examples verbatim, routed and parsed), the response, error and twin command
 * encoders, and the small helpers.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "ditto.h"
#include "ops.h"
#include "router.h"
#include "unit_main.h"


static const struct ditto_limits limits = { .max_payload = 65536, .max_depth = 16 };

/* ---- the Container API page's request examples, verbatim (tabs and newlines as there).
 * Thing edge:device; Hono topic command//edge:device/req//<op>. "<UUID>" is literal. */

static const char page_start[] =
	"{\n"
	"\t\"topic\":\"edge/device/things/live/messages/start\",\n"
	"\t\"headers\":{\n"
	"\t\t\"response-required\":true,\n"
	"\t\t\"content-type\":\"application/json\",\n"
	"\t\t\"correlation-id\":\"<UUID>\"\n"
	"\t},\n"
	"\t\"path\":\"/features/Container:<UUID>/inbox/messages/start\",\n"
	"\t\"value\":{}\n"
	"}";

static const char page_stop[] =
	"{\n"
	"\t\"topic\":\"edge/device/things/live/messages/stop\",\n"
	"\t\"headers\":{\n"
	"\t\t\"response-required\":true,\n"
	"\t\t\"content-type\":\"application/json\",\n"
	"\t\t\"correlation-id\":\"<UUID>\"\n"
	"\t},\n"
	"\t\"path\":\"/features/Container:<UUID>/inbox/messages/stop\",\n"
	"\t\"value\":{}\n"
	"}";

static const char page_stop_with_options[] =
	"{\n"
	"\t\"topic\":\"edge/device/things/live/messages/stopWithOptions\",\n"
	"\t\"headers\":{\n"
	"\t\t\"response-required\":true,\n"
	"\t\t\"content-type\":\"application/json\",\n"
	"\t\t\"correlation-id\":\"<UUID>\"\n"
	"\t},\n"
	"\t\"path\":\"/features/Container:<UUID>/inbox/messages/stopWithOptions\",\n"
	"\t\"value\":{\n"
	"\t\t\"signal\":\"SIGINT\",\n"
	"\t\t\"timeout\": 30,\n"
	"\t\t\"force\": true\n"
	"\t}\n"
	"}";

static const char page_rename[] =
	"{\n"
	"\t\"topic\":\"edge/device/things/live/messages/rename\",\n"
	"\t\"headers\":{\n"
	"\t\t\"response-required\":true,\n"
	"\t\t\"content-type\":\"application/json\",\n"
	"\t\t\"correlation-id\":\"<UUID>\"\n"
	"\t},\n"
	"\t\"path\":\"/features/Container:<UUID>/inbox/messages/rename\",\n"
	"\t\"value\":\"new_container_name\"\n"
	"}";

/* Note the trailing comma after "memorySwap": the page's JSON is not strict JSON. */
static const char page_update[] =
	"{\n"
	"\t\"topic\":\"edge/device/things/live/messages/update\",\n"
	"\t\"headers\":{\n"
	"\t\t\"response-required\":true,\n"
	"\t\t\"content-type\":\"application/json\",\n"
	"\t\t\"correlation-id\":\"<UUID>\"\n"
	"\t},\n"
	"\t\"path\":\"/features/Container:<UUID>/inbox/messages/update\",\n"
	"\t\"value\":{\n"
	"\t\t\"restartPolicy\":{\n"
	"\t\t\t\"type\":\"on-failure\",\n"
	"\t\t\t\"maxRetryCount\":3,\n"
	"\t\t\t\"timeout\":10\n"
	"\t\t},\n"
	"\t\t\"resources\":{\n"
	"\t\t\t\"memory\":\"500M\",\n"
	"\t\t\t\"memoryReservation\":\"300M\",\n"
	"\t\t\t\"memorySwap\":\"1G\",\n"
	"\t\t}\n"
	"\t}\n"
	"}";

static const char page_remove[] =
	"{\n"
	"\t\"topic\":\"edge/device/things/live/messages/remove\",\n"
	"\t\"headers\":{\n"
	"\t\t\"response-required\":true,\n"
	"\t\t\"content-type\":\"application/json\",\n"
	"\t\t\"correlation-id\":\"<UUID>\"\n"
	"\t},\n"
	"\t\"path\":\"/features/Container:<UUID>/inbox/messages/remove\",\n"
	"\t\"value\":true\n"
	"}";

/* The page's 204 response example for start (the shape berth must produce). */
static const char page_start_response[] =
	"{\n"
	"\t\"topic\":\"edge/device/things/live/messages/start\",\n"
	"\t\"headers\":{\n"
	"\t\t\"content-type\":\"application/json\",\n"
	"\t\t\"correlation-id\":\"<UUID>\"\n"
	"\t},\n"
	"\t\"path\":\"/features/Container:<UUID>/outbox/messages/start\",\n"
	"\t\"status\": 204\n"
	"}";

/* ---- helpers ------------------------------------------------------------------------- */

static int decode(const char *text, struct ditto_envelope *env, struct ditto_error *err)
{
	memset(err, 0, sizeof(*err));
	return ditto_decode(text, strlen(text), &limits, env, err);
}

/* Decodes, routes for edge:device and parses a page example; checks the common parts. */
static void page_example(const char *text, const char *op_name, int op, struct op_args *args)
{
	struct ditto_envelope env;
	struct ditto_error err;
	struct route r;
	char topic[128], path[128], outbox[128];

	snprintf(topic, sizeof(topic), "edge/device/things/live/messages/%s", op_name);
	snprintf(path, sizeof(path), "/features/Container:<UUID>/inbox/messages/%s", op_name);
	snprintf(outbox, sizeof(outbox), "/features/Container:<UUID>/outbox/messages/%s", op_name);

	CU_ASSERT_EQUAL_FATAL(decode(text, &env, &err), 0);
	CU_ASSERT_STRING_EQUAL(env.topic, topic);
	CU_ASSERT_STRING_EQUAL(env.path, path);
	CU_ASSERT_STRING_EQUAL(env.correlation_id, "<UUID>");
	CU_ASSERT_STRING_EQUAL(env.content_type, "application/json");
	CU_ASSERT_TRUE(env.response_required);
	CU_ASSERT_TRUE(env.has_value);
	CU_ASSERT_PTR_NOT_NULL(env.value);

	CU_ASSERT_EQUAL_FATAL(router_route(&env, "edge:device", &r, &err), 0);
	CU_ASSERT_EQUAL(r.feature, FEATURE_CONTAINER);
	CU_ASSERT_EQUAL(r.op, op);
	CU_ASSERT_STRING_EQUAL(r.op_name, op_name);
	CU_ASSERT_STRING_EQUAL(r.feature_id, "Container:<UUID>");
	CU_ASSERT_STRING_EQUAL(r.container_id, "<UUID>");
	CU_ASSERT_STRING_EQUAL(r.outbox_path, outbox);
	CU_ASSERT_STRING_EQUAL(router_op_name(op), op_name);

	CU_ASSERT_EQUAL(ops_parse(r.op, &env, args, &err), 0);
	if (err.message[0])
		fprintf(stderr, "\nops_parse: %s\n", err.message);
	ditto_envelope_release(&env);
	CU_ASSERT_PTR_NULL(env.root);
}

/* ---- the page's examples --------------------------------------------------------------- */

static void test_page_start(void)
{
	struct op_args a;

	page_example(page_start, "start", OP_START, &a);
	ops_args_release(&a);
}

static void test_page_stop(void)
{
	struct op_args a;

	page_example(page_stop, "stop", OP_STOP, &a);
	/* plain stop always ends stopped: SIGTERM, the agent's timeout, then SIGKILL */
	CU_ASSERT_EQUAL(a.stop.signal, SIGTERM);
	CU_ASSERT_EQUAL(a.stop.timeout, 0);
	CU_ASSERT_TRUE(a.stop.force);
	ops_args_release(&a);
}

static void test_page_stop_with_options(void)
{
	struct op_args a;

	page_example(page_stop_with_options, "stopWithOptions", OP_STOP_WITH_OPTIONS, &a);
	CU_ASSERT_EQUAL(a.stop.signal, 2);
	CU_ASSERT_EQUAL(a.stop.signal, SIGINT);
	CU_ASSERT_EQUAL(a.stop.timeout, 30);
	CU_ASSERT_TRUE(a.stop.force);
	ops_args_release(&a);
}

static void test_page_rename(void)
{
	struct op_args a;

	page_example(page_rename, "rename", OP_RENAME, &a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.name);
	CU_ASSERT_STRING_EQUAL(a.name, "new_container_name");
	ops_args_release(&a);
	CU_ASSERT_PTR_NULL(a.name);
}

static void test_page_update(void)
{
	struct op_args a;

	page_example(page_update, "update", OP_UPDATE, &a);
	CU_ASSERT_TRUE(a.update.has_restart);
	CU_ASSERT_TRUE(a.update.restart.has_type);
	CU_ASSERT_EQUAL(a.update.restart.type, BERTH_RESTART_ON_FAILURE);
	CU_ASSERT_TRUE(a.update.restart.has_max_retry);
	CU_ASSERT_EQUAL(a.update.restart.max_retry_count, 3);
	CU_ASSERT_TRUE(a.update.restart.has_timeout);
	CU_ASSERT_EQUAL(a.update.restart.retry_timeout_s, 10);
	CU_ASSERT_TRUE(a.update.has_resources);
	CU_ASSERT_TRUE(a.update.resources.has_memory);
	CU_ASSERT_EQUAL(a.update.resources.memory, 500LL * 1024 * 1024);
	CU_ASSERT_EQUAL(a.update.resources.memory, 524288000LL);
	CU_ASSERT_TRUE(a.update.resources.has_reservation);
	CU_ASSERT_EQUAL(a.update.resources.reservation, 300LL * 1024 * 1024);
	CU_ASSERT_TRUE(a.update.resources.has_swap);
	CU_ASSERT_EQUAL(a.update.resources.swap, 1024LL * 1024 * 1024);
	ops_args_release(&a);
}

static void test_page_remove(void)
{
	struct op_args a;

	page_example(page_remove, "remove", OP_REMOVE, &a);
	CU_ASSERT_TRUE(a.force);
	ops_args_release(&a);
}

/* The page's examples stay valid when the Hono layer gives no content-type, when the
 * value is absent (start/stop), and whatever the header spelling. */
static void test_page_variants(void)
{
	static const char *const no_value =
		"{\"topic\":\"edge/device/things/live/messages/start\",\"headers\":{"
		"\"correlation-id\":\"<UUID>\"},\"path\":\"/features/Container:<UUID>/inbox/messages/start\"}";
	struct ditto_envelope env;
	struct ditto_error err;
	struct op_args a;
	struct route r;

	CU_ASSERT_EQUAL_FATAL(decode(no_value, &env, &err), 0);
	CU_ASSERT_FALSE(env.has_value);
	CU_ASSERT_PTR_NULL(env.value);
	CU_ASSERT_PTR_NULL(env.content_type);
	CU_ASSERT_TRUE(env.response_required); /* Ditto's default */
	CU_ASSERT_EQUAL(router_route(&env, "edge:device", &r, &err), 0);
	CU_ASSERT_EQUAL(ops_parse(r.op, &env, &a, &err), 0);
	ops_args_release(&a);
	ditto_envelope_release(&env);
}

/* ---- decode errors --------------------------------------------------------------------- */

struct bad_case {
	const char *name;
	const char *text;
	const char *message; /* substring */
	/* what must still be readable for the error response */
	const char *topic, *path, *correlation_id;
};

#define GOOD_TOPIC "\"topic\":\"edge/device/things/live/messages/start\""
#define GOOD_PATH "\"path\":\"/features/Container:x/inbox/messages/start\""
#define GOOD_HEADERS "\"headers\":{\"correlation-id\":\"c1\"}"
#define T "edge/device/things/live/messages/start"
#define P "/features/Container:x/inbox/messages/start"

static const struct bad_case bad_cases[] = {
	{ "empty", "", "empty" },
	{ "blank", " \n\t ", "empty" },
	{ "not json", "hello", "not valid JSON" },
	{ "truncated", "{\"topic\":\"a", "ends too early" },
	{ "unbalanced", "{\"topic\":\"a\"]", "not valid JSON" },
	{ "trailing garbage", "{" GOOD_TOPIC "," GOOD_HEADERS "," GOOD_PATH "} x", "unexpected data" },
	{ "two objects", "{" GOOD_TOPIC "," GOOD_HEADERS "," GOOD_PATH "}{}", "unexpected data" },
	{ "array", "[1,2]", "not a Ditto envelope" },
	{ "string", "\"envelope\"", "not a Ditto envelope" },
	{ "number", "42 ", "not a Ditto envelope" },
	{ "null", "null ", "not a Ditto envelope" },
	{ "literal at the end", "true", "JSON" },
	{ "missing topic", "{" GOOD_HEADERS "," GOOD_PATH "}", "topic", NULL, P, "c1" },
	{ "topic not a string", "{\"topic\":7," GOOD_HEADERS "," GOOD_PATH "}", "topic", NULL, P, "c1" },
	{ "empty topic", "{\"topic\":\"\"," GOOD_HEADERS "," GOOD_PATH "}", "topic", NULL, P, "c1" },
	{ "missing path", "{" GOOD_TOPIC "," GOOD_HEADERS "}", "path", T, NULL, "c1" },
	{ "path not a string", "{" GOOD_TOPIC "," GOOD_HEADERS ",\"path\":{}}", "path", T, NULL, "c1" },
	{ "headers not an object", "{" GOOD_TOPIC ",\"headers\":[\"correlation-id\"]," GOOD_PATH "}",
	  "headers must be a JSON object", T, P, NULL },
	{ "headers a string", "{" GOOD_TOPIC ",\"headers\":\"x\"," GOOD_PATH "}",
	  "headers must be a JSON object", T, P, NULL },
	{ "no headers", "{" GOOD_TOPIC "," GOOD_PATH "}", "correlation-id header is missing", T, P },
	{ "correlation-id missing", "{" GOOD_TOPIC ",\"headers\":{}," GOOD_PATH "}",
	  "correlation-id header is missing", T, P },
	{ "correlation-id empty", "{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":\"\"}," GOOD_PATH "}",
	  "correlation-id", T, P },
	{ "correlation-id number", "{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":5}," GOOD_PATH "}",
	  "correlation-id", T, P },
	{ "correlation-id null", "{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":null}," GOOD_PATH "}",
	  "correlation-id", T, P },
	{ "response-required number",
	  "{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":\"c1\",\"response-required\":1}," GOOD_PATH "}",
	  "response-required", T, P, "c1" },
	{ "response-required word",
	  "{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":\"c1\",\"response-required\":\"yes\"}," GOOD_PATH "}",
	  "response-required", T, P, "c1" },
	{ "content-type not json",
	  "{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":\"c1\",\"content-type\":\"text/plain\"},"
	  GOOD_PATH ",\"value\":{}}", "unsupported content-type 'text/plain'", T, P, "c1" },
	{ "content-type octet-stream",
	  "{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":\"c1\",\"content-type\":"
	  "\"application/octet-stream\"}," GOOD_PATH ",\"value\":\"x\"}", "content-type", T, P, "c1" },
	{ "content-type +json lookalike",
	  "{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":\"c1\",\"content-type\":\"text/+json\"},"
	  GOOD_PATH ",\"value\":1}", "content-type", T, P, "c1" },
	{ "content-type not a string",
	  "{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":\"c1\",\"content-type\":1}," GOOD_PATH "}",
	  "content-type", T, P, "c1" },
};

static void test_decode_errors(void)
{
	for (size_t i = 0; i < N(bad_cases); i++) {
		const struct bad_case *b = &bad_cases[i];
		struct ditto_envelope env;
		struct ditto_error err;
		bool ok;

		CU_ASSERT_EQUAL(decode(b->text, &env, &err), -1);
		CU_ASSERT_EQUAL(err.status, 400);
		ok = strstr(err.message, b->message) != NULL;
		CU_ASSERT_TRUE(ok);
		if (!ok)
			fprintf(stderr, "\n%s: message '%s', expected '%s'\n", b->name, err.message,
				b->message);
		/* what an error response can use */
		if (b->topic)
			CU_ASSERT_TRUE(env.topic && strcmp(env.topic, b->topic) == 0);
		if (b->path)
			CU_ASSERT_TRUE(env.path && strcmp(env.path, b->path) == 0);
		if (b->correlation_id) {
			CU_ASSERT_TRUE(env.correlation_id &&
				       strcmp(env.correlation_id, b->correlation_id) == 0);
		} else {
			CU_ASSERT_PTR_NULL(env.correlation_id);
		}
		ditto_envelope_release(&env);
	}
}

static void test_decode_size_limit(void)
{
	struct ditto_limits small = { .max_payload = sizeof(page_start) - 1, .max_depth = 16 };
	struct ditto_envelope env;
	struct ditto_error err;

	/* exactly the limit: fine; one byte more: refused before parsing */
	CU_ASSERT_EQUAL(ditto_decode(page_start, strlen(page_start), &small, &env, &err), 0);
	ditto_envelope_release(&env);
	small.max_payload--;
	CU_ASSERT_EQUAL(ditto_decode(page_start, strlen(page_start), &small, &env, &err), -1);
	CU_ASSERT_EQUAL(err.status, 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "more than the limit"));
	CU_ASSERT_PTR_NULL(env.root);
	CU_ASSERT_PTR_NULL(env.topic);
	CU_ASSERT_TRUE(env.response_required);
	ditto_envelope_release(&env);
}

/* A value nested `levels` deep (the envelope itself is level 1). */
static char *nested(int levels)
{
	size_t cap = 256 + 4 * (size_t)levels;
	char *s = malloc(cap);
	size_t n;

	n = (size_t)snprintf(s, cap, "{" GOOD_TOPIC "," GOOD_HEADERS "," GOOD_PATH ",\"value\":");
	for (int i = 1; i < levels; i++)
		s[n++] = '[';
	s[n++] = '1';
	for (int i = 1; i < levels; i++)
		s[n++] = ']';
	s[n++] = '}';
	s[n] = '\0';
	return s;
}

static void test_decode_depth_limit(void)
{
	struct ditto_envelope env;
	struct ditto_error err;
	char *ok = nested(limits.max_depth), *deep = nested(limits.max_depth + 1);

	/* nesting of exactly max_depth levels is allowed; one more is not */
	CU_ASSERT_EQUAL(decode(ok, &env, &err), 0);
	if (err.message[0])
		fprintf(stderr, "\ndepth %d: %s\n", limits.max_depth, err.message);
	ditto_envelope_release(&env);
	CU_ASSERT_EQUAL(decode(deep, &env, &err), -1);
	CU_ASSERT_EQUAL(err.status, 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "deeper than 16 levels"));
	ditto_envelope_release(&env);
	free(ok);
	free(deep);
}

static void test_decode_nul_bytes(void)
{
	static const char with_nul[] = "{" GOOD_TOPIC "," GOOD_HEADERS "," GOOD_PATH "}\0{}";
	struct ditto_envelope env;
	struct ditto_error err;

	/* a NUL after the envelope is trailing data, not the end of the message */
	CU_ASSERT_EQUAL(ditto_decode(with_nul, sizeof(with_nul) - 1, &limits, &env, &err), -1);
	CU_ASSERT_EQUAL(err.status, 400);
	ditto_envelope_release(&env);
	/* the envelope alone, without a terminating NUL in the buffer's length */
	CU_ASSERT_EQUAL(ditto_decode(with_nul, strlen(with_nul), &limits, &env, &err), 0);
	ditto_envelope_release(&env);
}

static void test_decode_headers(void)
{
	static const char mixed_case[] =
		"{" GOOD_TOPIC ",\"headers\":{\"Correlation-ID\":\"abc\",\"RESPONSE-REQUIRED\":false,"
		"\"Content-Type\":\"application/vnd.eclipse.ditto+json\"}," GOOD_PATH ",\"value\":{}}";
	static const char string_bools[] =
		"{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":\"abc\",\"response-required\":\"false\"},"
		GOOD_PATH "}";
	static const char string_true[] =
		"{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":\"abc\",\"response-required\":\"true\"},"
		GOOD_PATH "}";
	static const char params[] =
		"{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":\"abc\",\"content-type\":"
		"\"application/json; charset=utf-8\"}," GOOD_PATH ",\"value\":[1,2,]}";
	static const char ct_without_value[] =
		"{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":\"abc\",\"content-type\":\"text/plain\"},"
		GOOD_PATH "}";
	static const char null_value[] =
		"{" GOOD_TOPIC "," GOOD_HEADERS "," GOOD_PATH ",\"value\":null,\"extra\":{\"x\":1},"
		"\"revision\":3}";
	static const char null_header[] =
		"{" GOOD_TOPIC ",\"headers\":{\"correlation-id\":\"abc\",\"response-required\":null,"
		"\"content-type\":null}," GOOD_PATH ",\"value\":1}";
	struct ditto_envelope env;
	struct ditto_error err;

	CU_ASSERT_EQUAL_FATAL(decode(mixed_case, &env, &err), 0);
	CU_ASSERT_STRING_EQUAL(env.correlation_id, "abc");
	CU_ASSERT_FALSE(env.response_required);
	CU_ASSERT_STRING_EQUAL(env.content_type, "application/vnd.eclipse.ditto+json");
	ditto_envelope_release(&env);

	CU_ASSERT_EQUAL_FATAL(decode(string_bools, &env, &err), 0);
	CU_ASSERT_FALSE(env.response_required);
	ditto_envelope_release(&env);
	CU_ASSERT_EQUAL_FATAL(decode(string_true, &env, &err), 0);
	CU_ASSERT_TRUE(env.response_required);
	ditto_envelope_release(&env);

	CU_ASSERT_EQUAL_FATAL(decode(params, &env, &err), 0);
	CU_ASSERT_TRUE(json_object_is_type(env.value, json_type_array));
	CU_ASSERT_EQUAL(json_object_array_length(env.value), 2); /* trailing comma */
	ditto_envelope_release(&env);

	/* without a value the content-type does not matter */
	CU_ASSERT_EQUAL(decode(ct_without_value, &env, &err), 0);
	ditto_envelope_release(&env);

	/* a JSON null header is an absent header: response-required keeps Ditto's default */
	CU_ASSERT_EQUAL_FATAL(decode(null_header, &env, &err), 0);
	CU_ASSERT_TRUE(env.response_required);
	CU_ASSERT_PTR_NULL(env.content_type);
	ditto_envelope_release(&env);

	CU_ASSERT_EQUAL_FATAL(decode(null_value, &env, &err), 0);
	CU_ASSERT_TRUE(env.has_value);
	CU_ASSERT_PTR_NULL(env.value);
	ditto_envelope_release(&env);
}

static void test_object_get_ci(void)
{
	json_object *o = json_tokener_parse("{\"Alpha\":1,\"beta\":2}");
	json_object *arr = json_tokener_parse("[1]");

	CU_ASSERT_EQUAL(json_object_get_int(ditto_object_get_ci(o, "alpha")), 1);
	CU_ASSERT_EQUAL(json_object_get_int(ditto_object_get_ci(o, "BETA")), 2);
	CU_ASSERT_PTR_NULL(ditto_object_get_ci(o, "gamma"));
	CU_ASSERT_PTR_NULL(ditto_object_get_ci(arr, "alpha"));
	CU_ASSERT_PTR_NULL(ditto_object_get_ci(NULL, "alpha"));
	json_object_put(o);
	json_object_put(arr);
}

/* ---- encoders -------------------------------------------------------------------------- */

static void test_encode_response(void)
{
	json_object *resp, *page, *value = json_object_new_string("3b8f0f6e");
	char *text;

	/* 204: request topic, outbox path, correlation-id echoed, no content-type, no value */
	text = ditto_encode_response("edge/device/things/live/messages/start",
				     "/features/Container:<UUID>/outbox/messages/start", "<UUID>", 204,
				     NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	resp = json_tokener_parse(text);
	page = json_tokener_parse(page_start_response);
	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(page);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(resp, "topic")),
			       json_object_get_string(json_object_object_get(page, "topic")));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(resp, "path")),
			       json_object_get_string(json_object_object_get(page, "path")));
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(resp, "status")),
			json_object_get_int(json_object_object_get(page, "status")));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(
				       json_object_object_get(resp, "headers"), "correlation-id")),
			       "<UUID>");
	CU_ASSERT_EQUAL(json_object_object_length(json_object_object_get(resp, "headers")), 1);
	CU_ASSERT_FALSE(json_object_object_get_ex(resp, "value", NULL));
	CU_ASSERT_EQUAL(json_object_object_length(resp), 4);
	json_object_put(resp);
	json_object_put(page);
	free(text);

	/* 200 with a value: content-type application/json; the value is borrowed */
	text = ditto_encode_response("t/n/things/live/messages/create",
				     "/features/ContainerFactory/outbox/messages/create", "c-9", 200, value);
	CU_ASSERT_STRING_EQUAL(text,
			       "{\"topic\":\"t/n/things/live/messages/create\",\"headers\":{"
			       "\"correlation-id\":\"c-9\",\"content-type\":\"application/json\"},"
			       "\"path\":\"/features/ContainerFactory/outbox/messages/create\","
			       "\"value\":\"3b8f0f6e\",\"status\":200}");
	free(text);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(value), "3b8f0f6e");
	json_object_put(value);

	/* no correlation-id to echo: headers empty, still an object */
	text = ditto_encode_response("t/n/things/live/messages/x", "/", NULL, 204, NULL);
	CU_ASSERT_STRING_EQUAL(text, "{\"topic\":\"t/n/things/live/messages/x\",\"headers\":{},"
				     "\"path\":\"/\",\"status\":204}");
	free(text);
}

static void test_encode_error(void)
{
	struct ditto_error err;
	json_object *o, *v;
	char *text;

	ditto_error_set(&err, 404, "container %s is not found", "abc");
	CU_ASSERT_EQUAL(err.description[0], '\0');
	text = ditto_encode_error("edge/device/things/live/messages/start",
				  "/features/Container:abc/outbox/messages/start", "c-1", &err);
	CU_ASSERT_STRING_EQUAL(text,
			       "{\"topic\":\"edge/device/things/live/messages/start\",\"headers\":{"
			       "\"correlation-id\":\"c-1\",\"content-type\":\"application/json\"},"
			       "\"path\":\"/features/Container:abc/outbox/messages/start\",\"value\":{"
			       "\"status\":404,\"error\":\"messages:subject.notfound\",\"message\":"
			       "\"container abc is not found\"},\"status\":404}");
	free(text);

	/* description only when there is one; JSON-escaped message */
	ditto_error_set(&err, 400, "bad \"value\"\n");
	snprintf(err.description, sizeof(err.description), "see the Container API page");
	text = ditto_encode_error("a/b/things/live/messages/x", "/", NULL, &err);
	o = json_tokener_parse(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	v = json_object_object_get(o, "value");
	CU_ASSERT_EQUAL(json_object_object_length(v), 4);
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(v, "status")), 400);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(v, "error")),
			       "messages:parameter.invalid");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(v, "message")),
			       "bad \"value\"\n");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(v, "description")),
			       "see the Container API page");
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(o, "status")), 400);
	CU_ASSERT_FALSE(json_object_object_get_ex(json_object_object_get(o, "headers"),
						  "correlation-id", NULL));
	json_object_put(o);
	free(text);
}

static void test_error_codes(void)
{
	static const struct {
		int status;
		const char *code;
	} codes[] = {
		{ 400, "messages:parameter.invalid" }, { 404, "messages:subject.notfound" },
		{ 409, "messages:execution.conflict" }, { 413, "messages:payload.toolarge" },
		{ 429, "messages:too.many.requests" }, { 500, "messages:execution.failed" },
		{ 501, "messages:operation.unsupported" }, { 503, "messages:runtime.unavailable" },
		{ 502, "messages:execution.failed" },
	};
	static const struct {
		int code, status;
	} map[] = {
		{ BERTH_OK, 500 },          { BERTH_E_INVALID, 400 },   { BERTH_E_NOT_FOUND, 404 },
		{ BERTH_E_CONFLICT, 409 },  { BERTH_E_UNSUPPORTED, 501 }, { BERTH_E_UNAVAILABLE, 503 },
		{ BERTH_E_RUNTIME, 500 },   { BERTH_E_TIMEOUT, 500 },   { BERTH_E_NOMEM, 500 },
		{ BERTH_E_BUSY, 429 },      { BERTH_E_INTERNAL, 500 },  { BERTH_E_SHUTDOWN, 503 },
		{ 12, 500 },                { -1, 500 },                { 1000, 500 },
	};
	struct ditto_error e;
	berth_error b;

	for (size_t i = 0; i < N(codes); i++)
		CU_ASSERT_STRING_EQUAL(ditto_error_code(codes[i].status), codes[i].code);
	for (size_t i = 0; i < N(map); i++) {
		b.code = map[i].code;
		snprintf(b.message, sizeof(b.message), "runtime says %d", map[i].code);
		CU_ASSERT_EQUAL(ditto_error_from_berth(&e, &b), -1);
		CU_ASSERT_EQUAL(e.status, map[i].status);
		CU_ASSERT_STRING_EQUAL(e.message, b.message); /* the runtime's words */
	}
	/* no message: the code's name rather than an empty message */
	berth_error_set(&b, BERTH_E_CONFLICT, "%s", "");
	ditto_error_from_berth(&e, &b);
	CU_ASSERT_STRING_EQUAL(e.message, "conflict");
}

static void test_encode_twin_command(void)
{
	json_object *value = json_tokener_parse("{\"status\":\"RUNNING\",\"pid\":12}");
	char *text;

	text = ditto_encode_twin_command("edge:device", "modify",
					 "/features/Container:x/properties/status/state", value);
	CU_ASSERT_STRING_EQUAL(text,
			       "{\"topic\":\"edge/device/things/twin/commands/modify\",\"headers\":{"
			       "\"response-required\":false,\"content-type\":\"application/json\"},"
			       "\"path\":\"/features/Container:x/properties/status/state\","
			       "\"value\":{\"status\":\"RUNNING\",\"pid\":12}}");
	free(text);
	CU_ASSERT_EQUAL(json_object_object_length(value), 2); /* borrowed, untouched */
	json_object_put(value);

	/* delete: no value, no content-type, no correlation-id, no status */
	text = ditto_encode_twin_command("org.eclipse.kanto:my-gw:edge:containers", "delete",
					 "/features/Container:x", NULL);
	CU_ASSERT_STRING_EQUAL(text,
			       "{\"topic\":\"org.eclipse.kanto/my-gw:edge:containers/things/twin/"
			       "commands/delete\",\"headers\":{\"response-required\":false},"
			       "\"path\":\"/features/Container:x\"}");
	free(text);

	/* a thing id that is not namespace:name */
	CU_ASSERT_PTR_NULL(ditto_encode_twin_command("nocolon", "modify", "/features/X", NULL));
	CU_ASSERT_PTR_NULL(ditto_encode_twin_command(":name", "modify", "/features/X", NULL));
	CU_ASSERT_PTR_NULL(ditto_encode_twin_command(NULL, "modify", "/features/X", NULL));
}

static void test_thing_to_topic_prefix(void)
{
	char buf[64], small[12];

	CU_ASSERT_EQUAL(ditto_thing_to_topic_prefix("edge:device", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "edge/device");
	CU_ASSERT_EQUAL(ditto_thing_to_topic_prefix("org.eclipse.kanto:my-gw:edge:containers", buf,
						    sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "org.eclipse.kanto/my-gw:edge:containers");
	CU_ASSERT_EQUAL(ditto_thing_to_topic_prefix("nocolon", buf, sizeof(buf)), -1);
	CU_ASSERT_EQUAL(ditto_thing_to_topic_prefix(":name", buf, sizeof(buf)), -1);
	CU_ASSERT_EQUAL(ditto_thing_to_topic_prefix("ns:", buf, sizeof(buf)), -1);
	CU_ASSERT_EQUAL(ditto_thing_to_topic_prefix("", buf, sizeof(buf)), -1);
	CU_ASSERT_EQUAL(ditto_thing_to_topic_prefix(NULL, buf, sizeof(buf)), -1);
	/* "edge/device" is 11 characters: needs 12 bytes */
	CU_ASSERT_EQUAL(ditto_thing_to_topic_prefix("edge:device", small, sizeof(small)), 0);
	CU_ASSERT_STRING_EQUAL(small, "edge/device");
	CU_ASSERT_EQUAL(ditto_thing_to_topic_prefix("edge:device1", small, sizeof(small)), -1);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "page example start", test_page_start },
		{ "page example stop", test_page_stop },
		{ "page example stopWithOptions", test_page_stop_with_options },
		{ "page example rename", test_page_rename },
		{ "page example update (trailing comma)", test_page_update },
		{ "page example remove", test_page_remove },
		{ "page examples without value", test_page_variants },
		{ "decode errors", test_decode_errors },
		{ "decode size limit", test_decode_size_limit },
		{ "decode depth limit", test_decode_depth_limit },
		{ "decode NUL bytes", test_decode_nul_bytes },
		{ "decode headers", test_decode_headers },
		{ "case-insensitive lookup", test_object_get_ci },
		{ "encode response", test_encode_response },
		{ "encode error", test_encode_error },
		{ "error codes", test_error_codes },
		{ "encode twin command", test_encode_twin_command },
		{ "thing to topic prefix", test_thing_to_topic_prefix },
	};
	int failed;

	failed = unit_run("ditto", NULL, NULL, tests, N(tests));
	return failed;
}
