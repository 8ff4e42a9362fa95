/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for core/ctl_args.c, berthctl's pure part: the command line, and the Ditto
 * envelopes it builds. Every envelope is also run through the core's own decoder, router
 * and value parser (ditto_decode, router_route, ops_parse), so that "as the cloud would
 * send it" is checked against what berthd accepts, not against a copy of our beliefs.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "ctl_args.h"
#include "ditto.h"
#include "ops.h"
#include "router.h"
#include "unit_main.h"

#define THING "org.example:gw1:edge:containers"
#define TOPIC_PREFIX "org.example/gw1:edge:containers/things/live/messages/"
#define ID "3b8f0f6e-7a0a-4c55-9f1e-5b1f2f9d0c11"

static char err[512];

/* Parses a NULL-terminated argument list (argv[0] is added). */
static int parse(struct ctl_cmd *cmd, ...)
{
	char *argv[64] = { "berthctl" };
	int argc = 1;
	va_list ap;
	char *a;

	va_start(ap, cmd);
	while ((a = va_arg(ap, char *)) && argc < 63)
		argv[argc++] = a;
	va_end(ap);
	return ctl_parse_args(argc, argv, cmd, err, sizeof(err));
}

static bool json_is(json_object *o, const char *expected)
{
	json_object *e = json_tokener_parse(expected);
	bool same = e && json_object_equal(o, e);

	if (!same)
		fprintf(stderr, "\n got:      %s\n expected: %s\n",
			o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : "NULL",
			expected);
	json_object_put(e);
	return same;
}

static const char *member(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* Builds cmd's envelope for THING / ID and checks it as the core would: decoded, routed
 * to `op`, its value parsed. Returns the envelope (caller frees) and fills args. */
static json_object *envelope_through_core(const struct ctl_cmd *cmd, int op, struct op_args *args)
{
	struct ditto_limits limits = { .max_payload = 65536, .max_depth = 16 };
	struct ditto_envelope env;
	struct ditto_error derr = { 0 };
	struct route route;
	json_object *o = ctl_envelope(cmd, THING, ID, "cid-1", err, sizeof(err));
	const char *text;

	memset(args, 0, sizeof(*args));
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	CU_ASSERT_EQUAL_FATAL(ditto_decode(text, strlen(text), &limits, &env, &derr), 0);
	CU_ASSERT_TRUE(env.response_required);
	CU_ASSERT_STRING_EQUAL(env.correlation_id, "cid-1");
	if (router_route(&env, THING, &route, &derr) < 0) {
		fprintf(stderr, "\nroute: %d %s\n", derr.status, derr.message);
		CU_FAIL("the core does not route berthctl's envelope");
	} else {
		CU_ASSERT_EQUAL(route.op, op);
		if (route.feature == FEATURE_CONTAINER)
			CU_ASSERT_STRING_EQUAL(route.container_id, ID);
		if (ops_parse(route.op, &env, args, &derr) < 0) {
			fprintf(stderr, "\nops_parse: %d %s\n", derr.status, derr.message);
			CU_FAIL("the core refuses berthctl's value");
		}
	}
	ditto_envelope_release(&env);
	return o;
}

/* ---- the command line --------------------------------------------------------------- */

static void test_global_options(void)
{
	struct ctl_cmd c;

	CU_ASSERT_EQUAL(parse(&c, "list", NULL), 0);
	CU_ASSERT_EQUAL(c.verb, CTL_LIST);
	CU_ASSERT_PTR_NULL(c.socket);
	CU_ASSERT_FALSE(c.json);
	CU_ASSERT_EQUAL(c.timeout_s, CTL_DEFAULT_TIMEOUT);
	CU_ASSERT_EQUAL(parse(&c, "--socket", "/tmp/s", "--json", "--timeout", "7", "ps", NULL), 0);
	CU_ASSERT_EQUAL(c.verb, CTL_LIST);
	CU_ASSERT_STRING_EQUAL(c.socket, "/tmp/s");
	CU_ASSERT_TRUE(c.json);
	CU_ASSERT_EQUAL(c.timeout_s, 7);
	/* --json and --socket may follow the command; = forms */
	CU_ASSERT_EQUAL(parse(&c, "--timeout=0", "status", "--socket=/x", "-j", NULL), 0);
	CU_ASSERT_EQUAL(c.verb, CTL_STATUS);
	CU_ASSERT_STRING_EQUAL(c.socket, "/x");
	CU_ASSERT_TRUE(c.json);
	CU_ASSERT_EQUAL(c.timeout_s, 0);
	CU_ASSERT_EQUAL(parse(&c, "-s", "/y", "show", "web", NULL), 0);
	CU_ASSERT_EQUAL(c.verb, CTL_SHOW);
	CU_ASSERT_STRING_EQUAL(c.socket, "/y");
	CU_ASSERT_STRING_EQUAL(c.target, "web");
	CU_ASSERT_PTR_NULL(c.op);
	CU_ASSERT_EQUAL(parse(&c, "--help", NULL), 0);
	CU_ASSERT_EQUAL(c.verb, CTL_HELP);
	CU_ASSERT_EQUAL(parse(&c, "stop", "x", "-h", NULL), 0);
	CU_ASSERT_EQUAL(c.verb, CTL_HELP);
	CU_ASSERT_EQUAL(parse(&c, "-V", NULL), 0);
	CU_ASSERT_EQUAL(c.verb, CTL_VERSION);
	CU_ASSERT_EQUAL(parse(&c, "raw", "{\"a\":1}", NULL), 0);
	CU_ASSERT_EQUAL(c.verb, CTL_RAW);
	CU_ASSERT_STRING_EQUAL(c.raw, "{\"a\":1}");
	/* "--" lets a name start with a dash */
	CU_ASSERT_EQUAL(parse(&c, "start", "--", "-odd", NULL), 0);
	CU_ASSERT_STRING_EQUAL(c.target, "-odd");
	ctl_cmd_release(&c);
}

static void test_usage_errors(void)
{
	static const struct {
		const char *args[8];
		const char *needle;
	} cases[] = {
		{ { NULL }, "no command given" },
		{ { "frobnicate", NULL }, "unknown command 'frobnicate'" },
		{ { "--verbose", "list", NULL }, "unknown option '--verbose'" },
		{ { "--timeout", "soon", "list", NULL },
		  "--timeout 'soon': expected whole seconds" },
		{ { "--timeout", NULL }, "--timeout needs a value" },
		{ { "list", "extra", NULL }, "list: unexpected argument 'extra'" },
		{ { "show", NULL }, "show needs ID|NAME" },
		{ { "rename", "a", NULL }, "rename needs ID|NAME NEWNAME" },
		{ { "create", NULL }, "create needs IMAGE" },
		{ { "create", "img", "--name", NULL }, "create: --name needs a value" },
		{ { "create", "img", "--restart", "sometimes", NULL },
		  "invalid restart policy 'sometimes'" },
		{ { "create", "img", "--restart", "always:3", NULL },
		  "invalid restart policy 'always:3'" },
		{ { "create", "img", "--restart", "on-failure:x", NULL },
		  "invalid restart policy" },
		{ { "create", "img", "--env", "=1", NULL }, "--env '=1': expected NAME=VALUE" },
		{ { "create", "img", "--start=yes", NULL }, "create: --start takes no value" },
		{ { "start", "a", "--force", NULL }, "start: unknown option '--force'" },
		{ { "stop", "a", "--timeout", "-1", NULL }, "stop: --timeout '-1'" },
		{ { "stop", "a", "--signal=", NULL }, "--signal needs a signal" },
		{ { "update", "a", NULL }, "update: give at least one of --restart" },
		{ { "remove", "a", "b", NULL }, "remove: unexpected argument 'b'" },
		{ { "start", "", NULL }, "the container id or name is empty" },
		{ { "stop", "a", "--", "b", NULL }, "stop: unexpected argument 'b'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[10] = { "berthctl" };
		struct ctl_cmd c;
		int argc = 1;

		for (int k = 0; cases[i].args[k]; k++)
			argv[argc++] = (char *)cases[i].args[k];
		CU_ASSERT_EQUAL(ctl_parse_args(argc, argv, &c, err, sizeof(err)), -1);
		if (!strstr(err, cases[i].needle)) {
			fprintf(stderr, "\ncase %zu: message '%s' lacks '%s'\n", i, err,
				cases[i].needle);
			CU_FAIL("usage message");
		}
		CU_ASSERT_PTR_NULL(c.value);
	}
}

/* ---- envelopes ---------------------------------------------------------------------- */

static void test_create(void)
{
	struct ctl_cmd c;
	struct op_args a;
	json_object *env;

	CU_ASSERT_EQUAL_FATAL(parse(&c, "create", "localhost/busybox:latest", "--name", "web",
				    "--start", "--env", "A=1", "--env=B=two words", "--restart",
				    "on-failure:3", "--memory", "200m", "--memory-reservation",
				    "100m", "--memory-swap=-1", "--backend", "docker", "--", "sh",
				    "-c", "echo hi; sleep 9", NULL), 0);
	CU_ASSERT_EQUAL(c.verb, CTL_CREATE);
	CU_ASSERT_TRUE(c.factory);
	CU_ASSERT_STRING_EQUAL(c.op, "createWithConfig");
	env = envelope_through_core(&c, OP_CREATE_WITH_CONFIG, &a);
	CU_ASSERT_TRUE(json_is(env,
		"{\"topic\":\"" TOPIC_PREFIX "createWithConfig\","
		"\"headers\":{\"correlation-id\":\"cid-1\",\"response-required\":true,"
		"\"content-type\":\"application/json\"},"
		"\"path\":\"/features/ContainerFactory/inbox/messages/createWithConfig\","
		"\"value\":{\"imageRef\":\"localhost/busybox:latest\",\"start\":true,"
		"\"name\":\"web\","
		"\"backend\":\"docker\",\"config\":{\"env\":[\"A=1\",\"B=two words\"],"
		"\"cmd\":[\"sh\",\"-c\",\"echo hi; sleep 9\"],"
		"\"restartPolicy\":{\"type\":\"ON_FAILURE\",\"maxRetryCount\":3},"
		"\"resources\":{\"memory\":\"200m\",\"memoryReservation\":\"100m\","
		"\"memorySwap\":\"-1\"}}}}"));
	/* what the core made of it */
	CU_ASSERT_STRING_EQUAL(a.create.image, "localhost/busybox:latest");
	CU_ASSERT_STRING_EQUAL(a.create.name, "web");
	CU_ASSERT_STRING_EQUAL(a.create.backend, "docker");
	CU_ASSERT_TRUE(a.create.start);
	CU_ASSERT_PTR_NOT_NULL(a.create.config);
	ops_args_release(&a);
	json_object_put(env);
	ctl_cmd_release(&c);

	/* the smallest create: no config at all, start false */
	CU_ASSERT_EQUAL_FATAL(parse(&c, "create", "img", NULL), 0);
	env = envelope_through_core(&c, OP_CREATE_WITH_CONFIG, &a);
	CU_ASSERT_TRUE(json_is(json_object_object_get(env, "value"),
			       "{\"imageRef\":\"img\",\"start\":false}"));
	CU_ASSERT_FALSE(a.create.start);
	CU_ASSERT_PTR_NULL(a.create.name);
	ops_args_release(&a);
	json_object_put(env);
	ctl_cmd_release(&c);

	/* every restart spelling */
	{
		static const char *const in[] = { "no", "always", "unless-stopped", "on-failure",
						  "UNLESS_STOPPED" };
		static const char *const wire[] = { "NO", "ALWAYS", "UNLESS_STOPPED", "ON_FAILURE",
						    "UNLESS_STOPPED" };

		for (int i = 0; i < 5; i++) {
			json_object *rp;

			CU_ASSERT_EQUAL_FATAL(parse(&c, "create", "img", "--restart", in[i], NULL),
					      0);
			rp = json_object_object_get(json_object_object_get(c.value, "config"),
						    "restartPolicy");
			CU_ASSERT_STRING_EQUAL(member(rp, "type"), wire[i]);
			CU_ASSERT_FALSE(json_object_object_get_ex(rp, "maxRetryCount", NULL));
			ctl_cmd_release(&c);
		}
	}
}

static void test_no_value_ops(void)
{
	static const struct {
		const char *verb, *op;
		int router_op;
	} cases[] = {
		{ "start", "start", OP_START },
		{ "pause", "pause", OP_PAUSE },
		{ "resume", "resume", OP_RESUME },
		{ "stop", "stop", OP_STOP },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctl_cmd c;
		struct op_args a;
		json_object *env, *headers;
		char expected[512];

		CU_ASSERT_EQUAL_FATAL(parse(&c, cases[i].verb, "web", NULL), 0);
		CU_ASSERT_STRING_EQUAL(c.target, "web");
		CU_ASSERT_TRUE(ctl_verb_is_container_op(c.verb));
		env = envelope_through_core(&c, cases[i].router_op, &a);
		snprintf(expected, sizeof(expected),
			 "{\"topic\":\"" TOPIC_PREFIX "%s\",\"headers\":{"
			 "\"correlation-id\":\"cid-1\",\"response-required\":true},"
			 "\"path\":\"/features/Container:" ID "/inbox/messages/%s\"}",
			 cases[i].op, cases[i].op);
		CU_ASSERT_TRUE(json_is(env, expected));
		/* no value, so no content type */
		headers = json_object_object_get(env, "headers");
		CU_ASSERT_FALSE(json_object_object_get_ex(headers, "content-type", NULL));
		if (cases[i].router_op == OP_STOP) {
			/* plain stop: SIGTERM, the agent's timeout, then SIGKILL */
			CU_ASSERT_EQUAL(a.stop.signal, SIGTERM);
			CU_ASSERT_TRUE(a.stop.force);
		}
		ops_args_release(&a);
		json_object_put(env);
		ctl_cmd_release(&c);
	}
}

static void test_stop_with_options(void)
{
	struct ctl_cmd c;
	struct op_args a;
	json_object *env;

	CU_ASSERT_EQUAL_FATAL(parse(&c, "stop", "web", "--signal", "SIGINT", "--timeout", "5",
				    "--force", NULL), 0);
	CU_ASSERT_STRING_EQUAL(c.op, "stopWithOptions");
	env = envelope_through_core(&c, OP_STOP_WITH_OPTIONS, &a);
	CU_ASSERT_STRING_EQUAL(member(env, "topic"), TOPIC_PREFIX "stopWithOptions");
	CU_ASSERT_STRING_EQUAL(member(env, "path"),
			       "/features/Container:" ID "/inbox/messages/stopWithOptions");
	CU_ASSERT_STRING_EQUAL(member(json_object_object_get(env, "headers"), "content-type"),
			       "application/json");
	CU_ASSERT_TRUE(json_is(json_object_object_get(env, "value"),
			       "{\"signal\":\"SIGINT\",\"timeout\":5,\"force\":true}"));
	CU_ASSERT_EQUAL(a.stop.signal, SIGINT);
	CU_ASSERT_EQUAL(a.stop.timeout, 5);
	CU_ASSERT_TRUE(a.stop.force);
	ops_args_release(&a);
	json_object_put(env);
	ctl_cmd_release(&c);

	/* one option is enough; force then stays false (the Container API's default) */
	CU_ASSERT_EQUAL_FATAL(parse(&c, "stop", "--timeout=0", "web", NULL), 0);
	env = envelope_through_core(&c, OP_STOP_WITH_OPTIONS, &a);
	CU_ASSERT_TRUE(json_is(json_object_object_get(env, "value"),
			       "{\"timeout\":0,\"force\":false}"));
	CU_ASSERT_FALSE(a.stop.force);
	ops_args_release(&a);
	json_object_put(env);
	ctl_cmd_release(&c);
}

static void test_rename_update_remove(void)
{
	struct ctl_cmd c;
	struct op_args a;
	json_object *env;

	CU_ASSERT_EQUAL_FATAL(parse(&c, "rename", "web", "web2", NULL), 0);
	CU_ASSERT_STRING_EQUAL(c.target, "web");
	env = envelope_through_core(&c, OP_RENAME, &a);
	CU_ASSERT_TRUE(json_is(json_object_object_get(env, "value"), "\"web2\""));
	CU_ASSERT_STRING_EQUAL(a.name, "web2");
	ops_args_release(&a);
	json_object_put(env);
	ctl_cmd_release(&c);

	CU_ASSERT_EQUAL_FATAL(parse(&c, "update", "web", "--memory", "64m", "--restart",
				    "always", NULL), 0);
	env = envelope_through_core(&c, OP_UPDATE, &a);
	CU_ASSERT_TRUE(json_is(json_object_object_get(env, "value"),
			       "{\"restartPolicy\":{\"type\":\"ALWAYS\"},"
			       "\"resources\":{\"memory\":\"64m\"}}"));
	CU_ASSERT_TRUE(a.update.has_resources);
	CU_ASSERT_TRUE(a.update.resources.has_memory);
	CU_ASSERT_EQUAL(a.update.resources.memory, 64LL << 20);
	CU_ASSERT_FALSE(a.update.resources.has_swap);
	CU_ASSERT_TRUE(a.update.has_restart);
	ops_args_release(&a);
	json_object_put(env);
	ctl_cmd_release(&c);

	CU_ASSERT_EQUAL_FATAL(parse(&c, "update", "web", "--memory-swap", "1g", NULL), 0);
	CU_ASSERT_TRUE(json_is(c.value, "{\"resources\":{\"memorySwap\":\"1g\"}}"));
	ctl_cmd_release(&c);

	CU_ASSERT_EQUAL_FATAL(parse(&c, "rm", "web", "-f", NULL), 0);
	CU_ASSERT_EQUAL(c.verb, CTL_REMOVE);
	env = envelope_through_core(&c, OP_REMOVE, &a);
	CU_ASSERT_TRUE(json_is(json_object_object_get(env, "value"), "true"));
	CU_ASSERT_TRUE(a.force);
	ops_args_release(&a);
	json_object_put(env);
	ctl_cmd_release(&c);

	CU_ASSERT_EQUAL_FATAL(parse(&c, "remove", "web", NULL), 0);
	env = envelope_through_core(&c, OP_REMOVE, &a);
	CU_ASSERT_TRUE(json_is(json_object_object_get(env, "value"), "false"));
	CU_ASSERT_FALSE(a.force);
	ops_args_release(&a);
	json_object_put(env);
	ctl_cmd_release(&c);
}

static void test_topic_and_envelope_errors(void)
{
	struct ctl_cmd c;
	char buf[128];

	CU_ASSERT_EQUAL(ctl_topic("edge:device", "start", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "edge/device/things/live/messages/start");
	CU_ASSERT_EQUAL(ctl_topic(THING, "stop", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, TOPIC_PREFIX "stop");
	CU_ASSERT_EQUAL(ctl_topic("nocolon", "stop", buf, sizeof(buf)), -1);
	CU_ASSERT_EQUAL(ctl_topic(":x", "stop", buf, sizeof(buf)), -1);
	CU_ASSERT_EQUAL(ctl_topic("x:", "stop", buf, sizeof(buf)), -1);
	CU_ASSERT_EQUAL(ctl_topic(NULL, "stop", buf, sizeof(buf)), -1);
	CU_ASSERT_EQUAL(ctl_topic(THING, "stop", buf, 10), -1);

	CU_ASSERT_EQUAL_FATAL(parse(&c, "start", "web", NULL), 0);
	CU_ASSERT_PTR_NULL(ctl_envelope(&c, "nocolon", ID, "c", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is not <namespace>:<name>"));
	CU_ASSERT_PTR_NULL(ctl_envelope(&c, THING, NULL, "c", err, sizeof(err)));
	CU_ASSERT_PTR_NULL(ctl_envelope(&c, THING, "", "c", err, sizeof(err)));
	ctl_cmd_release(&c);
	CU_ASSERT_EQUAL_FATAL(parse(&c, "list", NULL), 0);
	CU_ASSERT_PTR_NULL(ctl_envelope(&c, THING, ID, "c", err, sizeof(err)));
	CU_ASSERT_FALSE(ctl_verb_is_container_op(c.verb));
	ctl_cmd_release(&c);
}

/* ---- answers -------------------------------------------------------------------------- */

static void test_resolve(void)
{
	json_object *list = json_tokener_parse(
		"[{\"id\":\"aaaa1111-0000-4000-8000-000000000001\",\"name\":\"web\"},"
		" {\"id\":\"aaaa2222-0000-4000-8000-000000000002\",\"name\":\"db\"},"
		" {\"id\":\"bbbb3333-0000-4000-8000-000000000003\","
		"  \"name\":\"aaaa1111-0000-4000-8000-000000000002\"},"
		" {\"name\":\"noid\"}]");
	bool ambiguous;

	CU_ASSERT_PTR_NOT_NULL_FATAL(list);
	CU_ASSERT_STRING_EQUAL(ctl_resolve(list, "web", &ambiguous),
			       "aaaa1111-0000-4000-8000-000000000001");
	CU_ASSERT_STRING_EQUAL(ctl_resolve(list, "aaaa2222-0000-4000-8000-000000000002",
					   &ambiguous), "aaaa2222-0000-4000-8000-000000000002");
	/* a name that looks like an id: the name wins over an id prefix */
	CU_ASSERT_STRING_EQUAL(ctl_resolve(list, "aaaa1111-0000-4000-8000-000000000002",
					   &ambiguous), "bbbb3333-0000-4000-8000-000000000003");
	CU_ASSERT_STRING_EQUAL(ctl_resolve(list, "bbbb", &ambiguous),
			       "bbbb3333-0000-4000-8000-000000000003");
	CU_ASSERT_FALSE(ambiguous);
	CU_ASSERT_PTR_NULL(ctl_resolve(list, "aaaa", &ambiguous));
	CU_ASSERT_TRUE(ambiguous);
	CU_ASSERT_PTR_NULL(ctl_resolve(list, "bbb", &ambiguous)); /* too short for a prefix */
	CU_ASSERT_FALSE(ambiguous);
	CU_ASSERT_PTR_NULL(ctl_resolve(list, "noid", &ambiguous));
	CU_ASSERT_PTR_NULL(ctl_resolve(list, "nothing", &ambiguous));
	CU_ASSERT_FALSE(ambiguous);
	CU_ASSERT_PTR_NULL(ctl_resolve(NULL, "web", &ambiguous));
	json_object_put(list);
}

static void test_error_text_and_exit_codes(void)
{
	char buf[256];
	json_object *a;

	a = json_tokener_parse("{\"status\":409,\"response\":{\"topic\":\"t\",\"status\":409,"
			       "\"value\":{\"status\":409,\"error\":\"messages:execution.failed\","
			       "\"message\":\"is running\",\"description\":\"stop it first\"}}}");
	CU_ASSERT_STRING_EQUAL(ctl_error_text(a, buf, sizeof(buf)), "is running (stop it first)");
	json_object_put(a);
	a = json_tokener_parse("{\"status\":404,\"response\":{\"value\":{\"message\":\"gone\"}}}");
	CU_ASSERT_STRING_EQUAL(ctl_error_text(a, buf, sizeof(buf)), "gone");
	json_object_put(a);
	a = json_tokener_parse("{\"status\":400,\"error\":\"unknown request\"}");
	CU_ASSERT_STRING_EQUAL(ctl_error_text(a, buf, sizeof(buf)), "unknown request");
	json_object_put(a);
	a = json_tokener_parse("{\"status\":500,\"response\":null}");
	CU_ASSERT_STRING_EQUAL(ctl_error_text(a, buf, sizeof(buf)), "status 500");
	json_object_put(a);
	CU_ASSERT_STRING_EQUAL(ctl_error_text(NULL, buf, sizeof(buf)), "no answer");

	CU_ASSERT_EQUAL(ctl_exit_for_status(200), CTL_EXIT_OK);
	CU_ASSERT_EQUAL(ctl_exit_for_status(202), CTL_EXIT_OK);
	CU_ASSERT_EQUAL(ctl_exit_for_status(204), CTL_EXIT_OK);
	CU_ASSERT_EQUAL(ctl_exit_for_status(400), CTL_EXIT_FAILED);
	CU_ASSERT_EQUAL(ctl_exit_for_status(404), CTL_EXIT_FAILED);
	CU_ASSERT_EQUAL(ctl_exit_for_status(503), CTL_EXIT_FAILED);
	CU_ASSERT_EQUAL(ctl_exit_for_status(0), CTL_EXIT_FAILED);
	CU_ASSERT_EQUAL(CTL_EXIT_USAGE, 2);
	CU_ASSERT_EQUAL(CTL_EXIT_UNREACHABLE, 3);
	CU_ASSERT_EQUAL(CTL_EXIT_TIMEOUT, 4);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "global options", test_global_options },
		{ "usage errors", test_usage_errors },
		{ "create -> createWithConfig", test_create },
		{ "start, pause, resume, stop: no value", test_no_value_ops },
		{ "stop with options -> stopWithOptions", test_stop_with_options },
		{ "rename, update, remove", test_rename_update_remove },
		{ "topic and envelope errors", test_topic_and_envelope_errors },
		{ "ID|NAME resolution", test_resolve },
		{ "error text and exit codes", test_error_text_and_exit_codes },
	};
	int failures;

	failures = unit_run("berthctl", NULL, NULL, tests, N(tests));
	return failures ? 1 : 0;
}
