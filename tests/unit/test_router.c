/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for core/router.c: topic and path rules, every 400/404, the outbox path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "router.h"
#include "unit_main.h"

#define THING "edge:device"
#define TOPIC(op) "edge/device/things/live/messages/" op

static int route(const char *topic, const char *path, const char *thing, struct route *r,
		 struct ditto_error *err)
{
	struct ditto_envelope env = { .topic = topic, .path = path };

	memset(err, 0, sizeof(*err));
	return router_route(&env, thing, r, err);
}

static void test_every_operation(void)
{
	static const struct {
		const char *feature, *op;
		int f, o;
	} ok[] = {
		{ "ContainerFactory", "create", FEATURE_FACTORY, OP_CREATE },
		{ "ContainerFactory", "createWithConfig", FEATURE_FACTORY, OP_CREATE_WITH_CONFIG },
		{ "Container:3b8f0f6e-7a0a-4c55-9f1e-5b1f2f9d0c11", "start", FEATURE_CONTAINER, OP_START },
		{ "Container:3b8f0f6e-7a0a-4c55-9f1e-5b1f2f9d0c11", "stop", FEATURE_CONTAINER, OP_STOP },
		{ "Container:abc", "stopWithOptions", FEATURE_CONTAINER, OP_STOP_WITH_OPTIONS },
		{ "Container:abc", "pause", FEATURE_CONTAINER, OP_PAUSE },
		{ "Container:abc", "resume", FEATURE_CONTAINER, OP_RESUME },
		{ "Container:abc", "rename", FEATURE_CONTAINER, OP_RENAME },
		{ "Container:abc", "update", FEATURE_CONTAINER, OP_UPDATE },
		{ "Container:abc", "remove", FEATURE_CONTAINER, OP_REMOVE },
	};

	for (size_t i = 0; i < N(ok); i++) {
		char topic[128], path[128], outbox[128];
		struct ditto_error err;
		struct route r;

		snprintf(topic, sizeof(topic), TOPIC("%s"), ok[i].op);
		snprintf(path, sizeof(path), "/features/%s/inbox/messages/%s", ok[i].feature, ok[i].op);
		snprintf(outbox, sizeof(outbox), "/features/%s/outbox/messages/%s", ok[i].feature,
			 ok[i].op);
		CU_ASSERT_EQUAL(route(topic, path, THING, &r, &err), 0);
		CU_ASSERT_EQUAL(r.feature, ok[i].f);
		CU_ASSERT_EQUAL(r.op, ok[i].o);
		CU_ASSERT_STRING_EQUAL(r.op_name, ok[i].op);
		CU_ASSERT_STRING_EQUAL(r.feature_id, ok[i].feature);
		CU_ASSERT_STRING_EQUAL(r.outbox_path, outbox);
		CU_ASSERT_STRING_EQUAL(router_op_name(ok[i].o), ok[i].op);
		if (ok[i].f == FEATURE_CONTAINER) {
			CU_ASSERT_STRING_EQUAL(r.container_id, ok[i].feature + strlen("Container:"));
		} else {
			CU_ASSERT_STRING_EQUAL(r.container_id, "");
		}
	}
	CU_ASSERT_STRING_EQUAL(router_op_name(0), "unknown");
	CU_ASSERT_STRING_EQUAL(router_op_name(99), "unknown");
}

static void test_thing_forms(void)
{
	struct ditto_error err;
	struct route r;

	/* a Kanto-style thing id with colons in its name */
	CU_ASSERT_EQUAL(route("org.eclipse.kanto/my-gw:edge:containers/things/live/messages/start",
			      "/features/Container:x/inbox/messages/start",
			      "org.eclipse.kanto:my-gw:edge:containers", &r, &err), 0);
	/* the topic's subject is not cross-checked against the path's operation */
	CU_ASSERT_EQUAL(route(TOPIC("stop"), "/features/Container:x/inbox/messages/start", THING, &r,
			      &err), 0);
	CU_ASSERT_EQUAL(r.op, OP_START);
}

struct bad_route {
	const char *name;
	const char *topic, *path, *thing;
	int status;
	const char *message;
	const char *outbox; /* expected r.outbox_path ("" when the path did not parse) */
};

#define CPATH(op) "/features/Container:x/inbox/messages/" op
#define COUT(op) "/features/Container:x/outbox/messages/" op

static const struct bad_route bad[] = {
	/* the thing */
	{ "thing not learned", TOPIC("start"), CPATH("start"), NULL, 404, "not learned", COUT("start") },
	{ "other namespace", "other/device/things/live/messages/start", CPATH("start"), THING, 404,
	  "thing other:device is not found", COUT("start") },
	{ "other name", "edge/device2/things/live/messages/start", CPATH("start"), THING, 404,
	  "is not found", COUT("start") },
	{ "name prefix", "edge/devic/things/live/messages/start", CPATH("start"), THING, 404,
	  "is not found", COUT("start") },
	{ "namespace prefix", "edg/device/things/live/messages/start", CPATH("start"), THING, 404,
	  "is not found", COUT("start") },
	{ "thing longer than ours", "edge/device/things/live/messages/start", CPATH("start"),
	  "edge:device:x", 404, "is not found", COUT("start") },
	/* malformed topics: 400, still answered on the outbox path */
	{ "topic without slash", "edge", CPATH("start"), THING, 400, "invalid topic", COUT("start") },
	{ "topic two segments", "edge/device", CPATH("start"), THING, 400, "invalid topic",
	  COUT("start") },
	{ "topic empty namespace", "/device/things/live/messages/start", CPATH("start"), THING, 400,
	  "invalid topic", COUT("start") },
	{ "topic empty name", "edge//things/live/messages/start", CPATH("start"), THING, 400,
	  "invalid topic", COUT("start") },
	{ "topic twin channel", "edge/device/things/twin/commands/modify", CPATH("start"), THING, 400,
	  "invalid topic", COUT("start") },
	{ "topic without subject", "edge/device/things/live/messages/", CPATH("start"), THING, 400,
	  "invalid topic", COUT("start") },
	{ "topic messagesX", "edge/device/things/live/messagesX", CPATH("start"), THING, 400,
	  "invalid topic", COUT("start") },
	/* thing-level messages: the root thing has no operations */
	{ "thing-level op", TOPIC("start"), "/inbox/messages/start", THING, 404,
	  "the thing itself has no operation 'start'", "" },
	/* features */
	{ "unknown feature", TOPIC("request"), "/features/Metrics/inbox/messages/request", THING, 404,
	  "feature Metrics is not found", "/features/Metrics/outbox/messages/request" },
	{ "container without id", TOPIC("start"), "/features/Container:/inbox/messages/start", THING,
	  404, "feature Container: is not found", "/features/Container:/outbox/messages/start" },
	{ "factory lookalike", TOPIC("create"), "/features/ContainerFactoryX/inbox/messages/create",
	  THING, 404, "is not found", "/features/ContainerFactoryX/outbox/messages/create" },
	{ "feature case", TOPIC("create"), "/features/containerfactory/inbox/messages/create", THING,
	  404, "is not found", "/features/containerfactory/outbox/messages/create" },
	/* operations */
	{ "container op on factory", TOPIC("start"), "/features/ContainerFactory/inbox/messages/start",
	  THING, 404, "unsupported operation 'start' on feature ContainerFactory",
	  "/features/ContainerFactory/outbox/messages/start" },
	{ "factory op on container", TOPIC("create"), CPATH("create"), THING, 404,
	  "unsupported operation 'create' on feature Container", COUT("create") },
	{ "unknown op", TOPIC("explode"), CPATH("explode"), THING, 404, "unsupported operation",
	  COUT("explode") },
	{ "op case", TOPIC("Start"), CPATH("Start"), THING, 404, "unsupported operation",
	  COUT("Start") },
	/* path shapes */
	{ "outbox path", TOPIC("start"), "/features/Container:x/outbox/messages/start", THING, 400,
	  "invalid path", "" },
	{ "no operation", TOPIC("start"), "/features/Container:x/inbox/messages/", THING, 400,
	  "invalid path", "" },
	{ "empty feature", TOPIC("start"), "/features//inbox/messages/start", THING, 400,
	  "invalid path", "" },
	{ "feature with slash", TOPIC("start"), "/features/a/b/inbox/messages/start", THING, 400,
	  "invalid path", "" },
	{ "trailing segment", TOPIC("start"), CPATH("start/now"), THING, 400, "invalid path", "" },
	{ "trailing slash", TOPIC("start"), CPATH("start/"), THING, 400, "invalid path", "" },
	{ "relative path", TOPIC("start"), "features/Container:x/inbox/messages/start", THING, 400,
	  "invalid path", "" },
	{ "root path", TOPIC("start"), "/", THING, 400, "invalid path", "" },
	{ "feature only", TOPIC("start"), "/features/Container:x", THING, 400, "invalid path", "" },
	{ "properties path", TOPIC("start"), "/features/Container:x/properties/status", THING, 400,
	  "invalid path", "" },
	/* path errors come before topic errors */
	{ "bad path and topic", "nonsense", "/nonsense", THING, 400, "invalid path", "" },
};

static void test_errors(void)
{
	for (size_t i = 0; i < N(bad); i++) {
		struct ditto_error err;
		struct route r;
		bool ok;

		memset(&r, 0x5a, sizeof(r));
		CU_ASSERT_EQUAL(route(bad[i].topic, bad[i].path, bad[i].thing, &r, &err), -1);
		ok = err.status == bad[i].status && strstr(err.message, bad[i].message) &&
		     strcmp(r.outbox_path, bad[i].outbox) == 0;
		CU_ASSERT_TRUE(ok);
		if (!ok)
			fprintf(stderr, "\n%s: %d '%s' outbox '%s'; expected %d '%s' outbox '%s'\n",
				bad[i].name, err.status, err.message, r.outbox_path, bad[i].status,
				bad[i].message, bad[i].outbox);
	}
}

/* Ids and names at and beyond the limits of struct route. */
static void test_long_ids(void)
{
	char id[ROUTER_ID_MAX + 32], path[512], op[ROUTER_OP_MAX + 8], topic[512];
	struct ditto_error err;
	struct route r;

	/* a container id of ROUTER_ID_MAX characters is routed whole */
	memset(id, 'a', ROUTER_ID_MAX);
	id[ROUTER_ID_MAX] = '\0';
	snprintf(path, sizeof(path), "/features/Container:%s/inbox/messages/start", id);
	CU_ASSERT_EQUAL(route(TOPIC("start"), path, THING, &r, &err), 0);
	CU_ASSERT_EQUAL(strlen(r.container_id), ROUTER_ID_MAX);
	CU_ASSERT_STRING_EQUAL(r.container_id, id);

	/* one more is unknown (404), never routed cut short */
	for (int extra = 1; extra <= 6; extra++) {
		memset(id, 'a', ROUTER_ID_MAX + extra);
		id[ROUTER_ID_MAX + extra] = '\0';
		snprintf(path, sizeof(path), "/features/Container:%s/inbox/messages/start", id);
		CU_ASSERT_EQUAL(route(TOPIC("start"), path, THING, &r, &err), -1);
		CU_ASSERT_EQUAL(err.status, 404);
		if (err.status != 404)
			fprintf(stderr, "\nid of %d characters: routed to '%.20s...' (%zu)\n",
				ROUTER_ID_MAX + extra, r.container_id, strlen(r.container_id));
	}

	/* a feature id too long for any route */
	snprintf(path, sizeof(path), "/features/%0200d/inbox/messages/start", 7);
	CU_ASSERT_EQUAL(route(TOPIC("start"), path, THING, &r, &err), -1);
	CU_ASSERT_EQUAL(err.status, 404);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "too long"));
	CU_ASSERT_STRING_EQUAL(r.outbox_path, "");

	/* an operation name too long */
	memset(op, 'o', ROUTER_OP_MAX);
	op[ROUTER_OP_MAX] = '\0';
	snprintf(path, sizeof(path), "/features/Container:x/inbox/messages/%s", op);
	snprintf(topic, sizeof(topic), TOPIC("%s"), op);
	CU_ASSERT_EQUAL(route(topic, path, THING, &r, &err), -1);
	CU_ASSERT_EQUAL(err.status, 404);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "too long"));

	/* the longest feature id and operation that fit still give a complete outbox path */
	memset(id, 'b', ROUTER_ID_MAX + 15);
	id[ROUTER_ID_MAX + 15] = '\0';
	memset(op, 'p', ROUTER_OP_MAX - 1);
	op[ROUTER_OP_MAX - 1] = '\0';
	snprintf(path, sizeof(path), "/features/%s/inbox/messages/%s", id, op);
	CU_ASSERT_EQUAL(route(TOPIC("x"), path, THING, &r, &err), -1);
	CU_ASSERT_EQUAL(err.status, 404);
	CU_ASSERT_EQUAL(strlen(r.outbox_path), strlen(path) + 1); /* inbox -> outbox */
	CU_ASSERT_PTR_NOT_NULL(strstr(r.outbox_path, "/outbox/messages/ppp"));
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "every operation", test_every_operation },
		{ "thing forms", test_thing_forms },
		{ "errors", test_errors },
		{ "long ids", test_long_ids },
	};
	int failed;

	failed = unit_run("router", NULL, NULL, tests, N(tests));
	return failed;
}
