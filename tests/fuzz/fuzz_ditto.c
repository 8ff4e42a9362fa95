/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the intake of a command: ditto_decode (core/ditto.c) on the raw bytes, then
 * router_route (core/router.c) for a known and an unknown thing, ops_parse
 * (core/ops_parse.c, core/spec.c, core/values.c) for every operation whatever the path
 * says, and the encoders on what was decoded. No crash, no leak (ASan's leak check), and
 * the invariants the rest of the core relies on:
 *  - a decode succeeds with topic, path and a non-empty correlation-id, and a root object;
 *    a failure is a 400 (or 500 out of memory) with a message, and what it left in the
 *    envelope is enough for an error response;
 *  - a route names a known feature and operation, a container id of 1..ROUTER_ID_MAX
 *    characters for a container, and an outbox path that is the inbox path with "outbox";
 *  - ops_parse fails with 400, 404 or 501 and a message, or fills what the op needs;
 *  - every encoder returns a JSON object text that parses back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ditto.h"
#include "ops.h"
#include "router.h"

#define REQUIRE(cond)                                                                   \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,      \
				__LINE__, #cond);                                       \
			abort();                                                        \
		}                                                                       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ditto_limits limits = { .max_payload = 65536, .max_depth = 16 };

static void require_message(const char *m, size_t max)
{
	size_t n = strnlen(m, max);

	REQUIRE(n > 0 && n < max);
}

/* The text parses back as an object whose topic is `topic`. */
static void require_envelope_text(char *text, const char *topic)
{
	json_object *o, *t;

	REQUIRE(text);
	o = json_tokener_parse(text);
	REQUIRE(o && json_object_is_type(o, json_type_object));
	REQUIRE(json_object_object_get_ex(o, "topic", &t));
	REQUIRE(strcmp(json_object_get_string(t), topic) == 0);
	json_object_put(o);
	free(text);
}

static void check_route(const struct ditto_envelope *env, const char *thing)
{
	struct ditto_error err = { 0 };
	struct route r;

	if (router_route(env, thing, &r, &err) < 0) {
		REQUIRE(err.status == 400 || err.status == 404);
		require_message(err.message, sizeof(err.message));
		REQUIRE(thing || err.status != 0);
		if (r.outbox_path[0])
			REQUIRE(strncmp(r.outbox_path, "/features/", 10) == 0 &&
				strstr(r.outbox_path, "/outbox/messages/"));
		return;
	}
	REQUIRE(thing);
	REQUIRE(r.op >= OP_CREATE && r.op <= OP_REMOVE);
	REQUIRE(strcmp(router_op_name(r.op), r.op_name) == 0);
	if (r.feature == FEATURE_CONTAINER) {
		size_t n = strlen(r.container_id);

		REQUIRE(r.op >= OP_START);
		REQUIRE(n > 0 && n <= ROUTER_ID_MAX);
		REQUIRE(strcmp(r.feature_id + strlen("Container:"), r.container_id) == 0);
	} else {
		REQUIRE(r.feature == FEATURE_FACTORY);
		REQUIRE(r.op == OP_CREATE || r.op == OP_CREATE_WITH_CONFIG);
		REQUIRE(strcmp(r.feature_id, "ContainerFactory") == 0);
	}
	/* the outbox path is the inbox path with "inbox" replaced */
	{
		const char *in = strstr(env->path, "/inbox/messages/");
		size_t pre = (size_t)(in - env->path);

		REQUIRE(in);
		REQUIRE(strncmp(r.outbox_path, env->path, pre) == 0);
		REQUIRE(strncmp(r.outbox_path + pre, "/outbox/messages/", 17) == 0);
		REQUIRE(strcmp(r.outbox_path + pre + 17, in + 16) == 0);
	}
}

static void check_parse(const struct ditto_envelope *env, int op)
{
	struct ditto_error err = { 0 };
	struct op_args a;

	if (ops_parse(op, env, &a, &err) < 0) {
		REQUIRE(err.status == 400 || err.status == 404 || err.status == 501);
		require_message(err.message, sizeof(err.message));
		ops_args_release(&a);
		return;
	}
	switch (op) {
	case OP_CREATE:
	case OP_CREATE_WITH_CONFIG:
		REQUIRE(a.create.image && *a.create.image);
		REQUIRE(a.create.config && json_object_is_type(a.create.config, json_type_object));
		REQUIRE(!a.create.name || *a.create.name);
		break;
	case OP_STOP:
	case OP_STOP_WITH_OPTIONS:
		REQUIRE(a.stop.signal >= 1 && a.stop.signal <= 64);
		REQUIRE(a.stop.timeout >= 0 && a.stop.timeout <= 86400);
		break;
	case OP_RENAME:
		REQUIRE(!a.name || *a.name);
		break;
	case OP_UPDATE:
		REQUIRE(!a.update.has_restart || !a.update.restart.has_max_retry ||
			a.update.restart.max_retry_count >= 0);
		REQUIRE(!a.update.has_resources || !a.update.resources.has_memory ||
			a.update.resources.memory >= 0);
		break;
	default:
		break;
	}
	ops_args_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ditto_envelope env;
	struct ditto_error err = { 0 };
	int rc = ditto_decode((const char *)data, size, &limits, &env, &err);

	if (rc < 0) {
		REQUIRE(rc == -1);
		REQUIRE(err.status == 400 || err.status == 500);
		require_message(err.message, sizeof(err.message));
		REQUIRE(!env.correlation_id || *env.correlation_id);
		/* what the core answers with */
		require_envelope_text(ditto_encode_error(env.topic ? env.topic : "unknown/unknown/things/twin/errors",
							 env.path ? env.path : "/", env.correlation_id, &err),
				      env.topic ? env.topic : "unknown/unknown/things/twin/errors");
		ditto_envelope_release(&env);
		REQUIRE(!env.root && !env.topic);
		return 0;
	}
	REQUIRE(rc == 0);
	REQUIRE(env.root && json_object_is_type(env.root, json_type_object));
	REQUIRE(env.topic && *env.topic && env.path && *env.path);
	REQUIRE(env.correlation_id && *env.correlation_id);
	REQUIRE(env.has_value || !env.value);

	check_route(&env, "edge:device");
	check_route(&env, "org.eclipse.kanto:my-gw:edge:containers");
	check_route(&env, NULL);
	for (int op = OP_CREATE; op <= OP_REMOVE + 1; op++)
		check_parse(&env, op);

	require_envelope_text(ditto_encode_response(env.topic, env.path, env.correlation_id, 200,
						    env.value), env.topic);
	{
		struct ditto_error e;
		char *twin;

		ditto_error_set(&e, 409, "%s", env.topic);
		snprintf(e.description, sizeof(e.description), "%s", env.path);
		require_envelope_text(ditto_encode_error(env.topic, env.path, env.correlation_id, &e),
				      env.topic);
		/* the correlation-id as a thing id: namespace:name or refused */
		twin = ditto_encode_twin_command(env.correlation_id, "modify", env.path, env.value);
		if (twin) {
			json_object *o = json_tokener_parse(twin);
			json_object *t;

			REQUIRE(strchr(env.correlation_id, ':'));
			REQUIRE(o && json_object_object_get_ex(o, "topic", &t));
			REQUIRE(strstr(json_object_get_string(t), "/things/twin/commands/modify"));
			json_object_put(o);
			free(twin);
		}
	}
	ditto_envelope_release(&env);
	return 0;
}
