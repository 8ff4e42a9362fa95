/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the intake half of the operations (core/ops_parse.c) and the
 * configuration rules under it (core/spec.c): value shapes and types (400), defaults,
 * normalisation, patches and their merge, and the spec handed to a backend.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "ops.h"
#include "spec.h"
#include "unit_main.h"

#define MiB (1024LL * 1024)

/* Parses `value` (JSON text; NULL: no value) for `op`; returns ops_parse's result. */
static int parse(int op, const char *value, struct op_args *a, struct ditto_error *err)
{
	struct ditto_envelope env = { .topic = "t", .path = "p" };
	int rc;

	memset(err, 0, sizeof(*err));
	if (value) {
		env.root = json_tokener_parse(value);
		env.has_value = true;
		env.value = env.root;
		if (!env.root && strcmp(value, "null") != 0)
			fprintf(stderr, "\nbad test JSON: %s\n", value);
	}
	rc = ops_parse(op, &env, a, err);
	json_object_put(env.root);
	return rc;
}

/* The value must be refused with `status` and a message containing `needle`. */
static void refused(int op, const char *value, int status, const char *needle)
{
	struct ditto_error err;
	struct op_args a;
	bool ok;

	ok = parse(op, value, &a, &err) == -1 && err.status == status &&
	     strstr(err.message, needle) != NULL;
	CU_ASSERT_TRUE(ok);
	if (!ok)
		fprintf(stderr, "\n%s %s: %d '%s'; expected %d '%s'\n", router_op_name(op), value,
			err.status, err.message, status, needle);
	ops_args_release(&a);
}

static void accepted(int op, const char *value, struct op_args *a)
{
	struct ditto_error err;
	int rc = parse(op, value, a, &err);

	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		fprintf(stderr, "\n%s %s: %d '%s'\n", router_op_name(op), value, err.status,
			err.message);
}

static const char *cfg_str(json_object *config, const char *a, const char *b)
{
	json_object *v = json_object_object_get(config, a);

	if (b)
		v = json_object_object_get(v, b);
	return v ? json_object_get_string(v) : NULL;
}

/* ---- create / createWithConfig ------------------------------------------------------- */

static void test_create(void)
{
	struct op_args a;
	char long_ref[600];

	accepted(OP_CREATE, "{\"imageRef\":\"docker.io/library/busybox:latest\"}", &a);
	CU_ASSERT_STRING_EQUAL(a.create.image, "docker.io/library/busybox:latest");
	CU_ASSERT_FALSE(a.create.start);
	CU_ASSERT_PTR_NULL(a.create.name);
	CU_ASSERT_PTR_NULL(a.create.backend);
	/* defaults in the twin's config */
	CU_ASSERT_STRING_EQUAL(cfg_str(a.create.config, "restartPolicy", "type"), "UNLESS_STOPPED");
	CU_ASSERT_STRING_EQUAL(cfg_str(a.create.config, "networkMode", NULL), "BRIDGE");
	CU_ASSERT_PTR_NULL(json_object_object_get(a.create.config, "resources"));
	ops_args_release(&a);
	CU_ASSERT_PTR_NULL(a.create.image);

	accepted(OP_CREATE, "{\"ImageRef\":\"busybox\",\"START\":true}", &a); /* keys: any case */
	CU_ASSERT_TRUE(a.create.start);
	ops_args_release(&a);
	accepted(OP_CREATE, "{\"imageRef\":\"busybox\",\"start\":null}", &a);
	CU_ASSERT_FALSE(a.create.start);
	ops_args_release(&a);

	refused(OP_CREATE, NULL, 400, "value is missing");
	refused(OP_CREATE, "null", 400, "value is missing");
	refused(OP_CREATE, "\"busybox\"", 400, "must be an object");
	refused(OP_CREATE, "{}", 400, "imageRef is required");
	refused(OP_CREATE, "{\"imageRef\":5}", 400, "imageRef must be a string");
	refused(OP_CREATE, "{\"imageRef\":\"\"}", 400, "must not be empty");
	refused(OP_CREATE, "{\"imageRef\":\"busy box\"}", 400, "blanks");
	refused(OP_CREATE, "{\"imageRef\":\"busybox\\n\"}", 400, "blanks");
	refused(OP_CREATE, "{\"imageRef\":\"busybox\",\"start\":\"true\"}", 400, "start must be true or false");
	refused(OP_CREATE, "{\"imageRef\":\"busybox\",\"name\":\"x\"}", 400, "unknown key 'name'");
	refused(OP_CREATE, "{\"imageRef\":\"busybox\",\"config\":{}}", 400, "unknown key 'config'");
	snprintf(long_ref, sizeof(long_ref), "{\"imageRef\":\"%0513d\"}", 1);
	refused(OP_CREATE, long_ref, 400, "longer than 512");
}

static void test_create_with_config(void)
{
	struct op_args a;

	accepted(OP_CREATE_WITH_CONFIG,
		 "{\"imageRef\":\"busybox\",\"name\":\"web_1.a-b\",\"backend\":\"mini\",\"start\":true,"
		 "\"config\":{\"restartPolicy\":{\"type\":\"on-failure\",\"maxRetryCount\":3},"
		 "\"resources\":{\"memory\":\"200m\"},\"env\":[\"A=1\",\"B\"],\"cmd\":[\"sh\",\"-c\",\"x\"],"
		 "\"hostName\":\"h\",\"domainName\":\"\",\"networkMode\":\"host\",\"privileged\":false,"
		 "\"extraHosts\":[\"ctrhost:host_ip\"],\"devices\":[],\"log\":{},\"tty\":false}}", &a);
	CU_ASSERT_STRING_EQUAL(a.create.name, "web_1.a-b");
	CU_ASSERT_STRING_EQUAL(a.create.backend, "mini");
	CU_ASSERT_TRUE(a.create.start);
	CU_ASSERT_STRING_EQUAL(cfg_str(a.create.config, "restartPolicy", "type"), "ON_FAILURE");
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(
				json_object_object_get(a.create.config, "restartPolicy"), "maxRetryCount")), 3);
	CU_ASSERT_STRING_EQUAL(cfg_str(a.create.config, "resources", "memory"), "200m");
	/* as Docker: swap defaults to twice the memory */
	CU_ASSERT_STRING_EQUAL(cfg_str(a.create.config, "resources", "memorySwap"), "400m");
	CU_ASSERT_STRING_EQUAL(cfg_str(a.create.config, "networkMode", NULL), "HOST");
	CU_ASSERT_STRING_EQUAL(cfg_str(a.create.config, "hostName", NULL), "h");
	CU_ASSERT_PTR_NULL(json_object_object_get(a.create.config, "domainName")); /* "" dropped */
	CU_ASSERT_PTR_NULL(json_object_object_get(a.create.config, "privileged"));
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(a.create.config, "env")), 2);
	ops_args_release(&a);

	/* name "" or null: the container id becomes the name later */
	accepted(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"busybox\",\"name\":\"\",\"config\":null}", &a);
	CU_ASSERT_PTR_NULL(a.create.name);
	CU_ASSERT_STRING_EQUAL(cfg_str(a.create.config, "restartPolicy", "type"), "UNLESS_STOPPED");
	ops_args_release(&a);

	/* unlimited swap stays -1 */
	accepted(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"busybox\",\"config\":{\"resources\":"
					"{\"memory\":\"200m\",\"memorySwap\":\"-1\"}}}", &a);
	CU_ASSERT_STRING_EQUAL(cfg_str(a.create.config, "resources", "memorySwap"), "-1");
	ops_args_release(&a);

	/* ports and mounts: defaults filled, spellings normalised */
	accepted(OP_CREATE_WITH_CONFIG,
		 "{\"imageRef\":\"busybox\",\"config\":{\"portMappings\":[{\"containerPort\":80,"
		 "\"hostPort\":8080}],\"mountPoints\":[{\"source\":\"/data\",\"destination\":\"/d\","
		 "\"propagationMode\":\"rshared\"}]}}", &a);
	{
		json_object *p = json_object_array_get_idx(
			json_object_object_get(a.create.config, "portMappings"), 0);
		json_object *m = json_object_array_get_idx(
			json_object_object_get(a.create.config, "mountPoints"), 0);

		CU_ASSERT_STRING_EQUAL(cfg_str(p, "proto", NULL), "tcp");
		CU_ASSERT_STRING_EQUAL(cfg_str(p, "hostIP", NULL), "0.0.0.0");
		CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(p, "hostPortEnd")), 8080);
		CU_ASSERT_STRING_EQUAL(cfg_str(m, "propagationMode", NULL), "RSHARED");
	}
	ops_args_release(&a);

	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"name\":\"bad name\"}", 400, "name");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"name\":\"-x\"}", 400, "name");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"name\":7}", 400, "name must be a string");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"backend\":\"\"}", 400, "backend");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"backend\":1}", 400, "backend");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"colour\":1}", 400, "unknown key 'colour'");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"config\":[]}", 400, "config must be an object");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"config\":{\"cpus\":2}}", 400,
		"unknown key config.cpus");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"config\":{\"devices\":[{\"pathOnHost\":"
				       "\"/dev/x\"}]}}", 501, "config.devices is not supported");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"config\":{\"tty\":true}}", 501, "tty");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"config\":{\"resources\":{\"memory\":\"2m\"}}}",
		400, "memory");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"config\":{\"resources\":{\"memory\":\"512\"}}}",
		400, "memory");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"config\":{\"resources\":{\"memorySwap\":\"1g\"}}}",
		400, "config.resources");
	refused(OP_CREATE_WITH_CONFIG,
		"{\"imageRef\":\"b\",\"config\":{\"resources\":{\"memory\":\"200m\",\"memorySwap\":\"199m\"}}}",
		400, "config.resources");
	refused(OP_CREATE_WITH_CONFIG,
		"{\"imageRef\":\"b\",\"config\":{\"restartPolicy\":{\"maxRetryCount\":1}}}", 400,
		"config.restartPolicy.type is required");
	refused(OP_CREATE_WITH_CONFIG,
		"{\"imageRef\":\"b\",\"config\":{\"restartPolicy\":{\"type\":\"always\",\"maxRetryCount\":1}}}",
		400, "config.restartPolicy");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"config\":{\"networkMode\":\"none\"}}", 400,
		"networkMode");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"config\":{\"env\":[\"1A=x\"]}}", 400, "env");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"config\":{\"env\":\"A=1\"}}", 400, "env");
	refused(OP_CREATE_WITH_CONFIG, "{\"imageRef\":\"b\",\"config\":{\"extraHosts\":[\"nocolon\"]}}",
		400, "extraHosts");
	refused(OP_CREATE_WITH_CONFIG,
		"{\"imageRef\":\"b\",\"config\":{\"portMappings\":[{\"hostPort\":80}]}}", 400,
		"containerPort is required");
	refused(OP_CREATE_WITH_CONFIG,
		"{\"imageRef\":\"b\",\"config\":{\"portMappings\":[{\"containerPort\":70000}]}}", 400,
		"containerPort");
	refused(OP_CREATE_WITH_CONFIG,
		"{\"imageRef\":\"b\",\"config\":{\"portMappings\":[{\"containerPort\":80,\"hostPort\":90,"
		"\"hostPortEnd\":89}]}}", 400, "hostPortEnd");
	refused(OP_CREATE_WITH_CONFIG,
		"{\"imageRef\":\"b\",\"config\":{\"mountPoints\":[{\"source\":\"data\",\"destination\":\"/d\"}]}}",
		400, "absolute");
	refused(OP_CREATE_WITH_CONFIG,
		"{\"imageRef\":\"b\",\"config\":{\"mountPoints\":[{\"source\":\"/a\",\"destination\":\"/d\","
		"\"propagationMode\":\"weird\"}]}}", 400, "propagationMode");
}

/* ---- stop, stopWithOptions ----------------------------------------------------------- */

static void test_stop_options(void)
{
	static const struct {
		const char *value;
		int signal, timeout;
		bool force;
	} ok[] = {
		{ NULL, SIGTERM, 0, false },
		{ "null", SIGTERM, 0, false },
		{ "{}", SIGTERM, 0, false },
		{ "{\"signal\":\"SIGINT\",\"timeout\": 30,\"force\": true}", SIGINT, 30, true },
		{ "{\"signal\":\"\"}", SIGTERM, 0, false },
		{ "{\"signal\":\"9\"}", SIGKILL, 0, false },
		{ "{\"signal\":\"HUP\"}", SIGHUP, 0, false },
		{ "{\"signal\":2}", SIGINT, 0, false }, /* "names or numbers, e.g. SIGINT or 2" */
		{ "{\"signal\":15.0}", SIGTERM, 0, false },
		{ "{\"signal\":null,\"timeout\":null,\"force\":null}", SIGTERM, 0, false },
		{ "{\"timeout\":30.0}", SIGTERM, 30, false },
		{ "{\"timeout\":0}", SIGTERM, 0, false },
		{ "{\"timeout\":86400}", SIGTERM, 86400, false },
		{ "{\"Signal\":\"SIGUSR1\",\"TIMEOUT\":1,\"Force\":false}", SIGUSR1, 1, false },
	};
	struct op_args a;

	for (size_t i = 0; i < N(ok); i++) {
		accepted(OP_STOP_WITH_OPTIONS, ok[i].value, &a);
		CU_ASSERT_EQUAL(a.stop.signal, ok[i].signal);
		CU_ASSERT_EQUAL(a.stop.timeout, ok[i].timeout);
		CU_ASSERT_EQUAL(a.stop.force, ok[i].force);
		ops_args_release(&a);
	}
	/* plain stop ignores its value and always ends with the container stopped */
	accepted(OP_STOP, "{\"signal\":\"SIGINT\",\"force\":false}", &a);
	CU_ASSERT_EQUAL(a.stop.signal, SIGTERM);
	CU_ASSERT_TRUE(a.stop.force);
	ops_args_release(&a);

	refused(OP_STOP_WITH_OPTIONS, "[]", 400, "must be an object");
	refused(OP_STOP_WITH_OPTIONS, "\"SIGINT\"", 400, "must be an object");
	refused(OP_STOP_WITH_OPTIONS, "{\"signal\":\"SIGFOO\"}", 400, "SIGFOO");
	refused(OP_STOP_WITH_OPTIONS, "{\"signal\":\"sigterm\"}", 400, "sigterm");
	refused(OP_STOP_WITH_OPTIONS, "{\"signal\":\"0\"}", 400, "signal");
	refused(OP_STOP_WITH_OPTIONS, "{\"signal\":0}", 400, "signal");
	refused(OP_STOP_WITH_OPTIONS, "{\"signal\":65}", 400, "signal");
	refused(OP_STOP_WITH_OPTIONS, "{\"signal\":2.5}", 400, "whole number");
	refused(OP_STOP_WITH_OPTIONS, "{\"signal\":true}", 400, "name or a number");
	refused(OP_STOP_WITH_OPTIONS, "{\"timeout\":-1}", 400, "negative");
	refused(OP_STOP_WITH_OPTIONS, "{\"timeout\":86401}", 400, "at most 86400");
	refused(OP_STOP_WITH_OPTIONS, "{\"timeout\":\"30\"}", 400, "timeout must be a number");
	refused(OP_STOP_WITH_OPTIONS, "{\"timeout\":30.5}", 400, "whole number");
	refused(OP_STOP_WITH_OPTIONS, "{\"timeout\":1e300}", 400, "timeout");
	refused(OP_STOP_WITH_OPTIONS, "{\"force\":\"true\"}", 400, "force must be true or false");
	refused(OP_STOP_WITH_OPTIONS, "{\"force\":1}", 400, "force");
	refused(OP_STOP_WITH_OPTIONS, "{\"grace\":1}", 400, "unknown key 'grace'");
}

/* ---- rename, remove, start/pause/resume, unknown -------------------------------------- */

static void test_rename_remove(void)
{
	char long_name[200];
	struct op_args a;

	accepted(OP_RENAME, "\"new_container_name\"", &a);
	CU_ASSERT_STRING_EQUAL(a.name, "new_container_name");
	ops_args_release(&a);
	accepted(OP_RENAME, "\"\"", &a); /* empty: a no-op later */
	CU_ASSERT_PTR_NULL(a.name);
	ops_args_release(&a);
	accepted(OP_RENAME, NULL, &a);
	CU_ASSERT_PTR_NULL(a.name);
	ops_args_release(&a);
	refused(OP_RENAME, "42", 400, "must be a string");
	refused(OP_RENAME, "{\"name\":\"x\"}", 400, "must be a string");
	refused(OP_RENAME, "\"bad/name\"", 400, "name");
	refused(OP_RENAME, "\".hidden\"", 400, "name");
	snprintf(long_name, sizeof(long_name), "\"%0129d\"", 0);
	refused(OP_RENAME, long_name, 400, "name");

	accepted(OP_REMOVE, "true", &a);
	CU_ASSERT_TRUE(a.force);
	ops_args_release(&a);
	accepted(OP_REMOVE, "false", &a);
	CU_ASSERT_FALSE(a.force);
	ops_args_release(&a);
	accepted(OP_REMOVE, NULL, &a);
	CU_ASSERT_FALSE(a.force);
	ops_args_release(&a);
	accepted(OP_REMOVE, "null", &a);
	CU_ASSERT_FALSE(a.force);
	ops_args_release(&a);
	refused(OP_REMOVE, "\"true\"", 400, "true or false");
	refused(OP_REMOVE, "1", 400, "true or false");
	refused(OP_REMOVE, "{\"force\":true}", 400, "true or false");

	/* start, pause and resume ignore their value whatever it is */
	accepted(OP_START, "\"anything\"", &a);
	ops_args_release(&a);
	accepted(OP_PAUSE, "[1,2]", &a);
	ops_args_release(&a);
	accepted(OP_RESUME, "{\"x\":1}", &a);
	ops_args_release(&a);

	refused(99, "{}", 404, "unsupported operation");
}

/* ---- update ------------------------------------------------------------------------- */

static void test_update(void)
{
	struct op_args a;

	accepted(OP_UPDATE, NULL, &a);
	CU_ASSERT_FALSE(a.update.has_restart || a.update.has_resources);
	ops_args_release(&a);
	accepted(OP_UPDATE, "{}", &a);
	CU_ASSERT_FALSE(a.update.has_restart || a.update.has_resources);
	ops_args_release(&a);
	accepted(OP_UPDATE, "{\"restartPolicy\":null,\"resources\":null}", &a);
	CU_ASSERT_FALSE(a.update.has_restart || a.update.has_resources);
	ops_args_release(&a);

	/* only what is named: a restart policy with only maxRetryCount */
	accepted(OP_UPDATE, "{\"RESTARTPOLICY\":{\"maxRetryCount\":5}}", &a);
	CU_ASSERT_TRUE(a.update.has_restart);
	CU_ASSERT_FALSE(a.update.restart.has_type);
	CU_ASSERT_TRUE(a.update.restart.has_max_retry);
	CU_ASSERT_FALSE(a.update.restart.has_timeout);
	CU_ASSERT_EQUAL(a.update.restart.max_retry_count, 5);
	CU_ASSERT_FALSE(a.update.has_resources);
	ops_args_release(&a);

	/* the reference agent's spelling of the timeout, and upper-case types */
	accepted(OP_UPDATE, "{\"restartPolicy\":{\"type\":\"ON_FAILURE\",\"retryTimeout\":7}}", &a);
	CU_ASSERT_EQUAL(a.update.restart.type, BERTH_RESTART_ON_FAILURE);
	CU_ASSERT_EQUAL(a.update.restart.retry_timeout_s, 7);
	ops_args_release(&a);

	/* "" removes a limit: present, value 0 */
	accepted(OP_UPDATE, "{\"resources\":{\"memory\":\"\",\"memorySwap\":\"-1\"}}", &a);
	CU_ASSERT_TRUE(a.update.resources.has_memory);
	CU_ASSERT_EQUAL(a.update.resources.memory, 0);
	CU_ASSERT_FALSE(a.update.resources.has_reservation);
	CU_ASSERT_TRUE(a.update.resources.has_swap);
	CU_ASSERT_EQUAL(a.update.resources.swap, -1);
	ops_args_release(&a);

	/* update judges the merged result later; alone, 2m parses (the minimum is a rule) */
	accepted(OP_UPDATE, "{\"resources\":{\"memory\":\"1.2g\",\"memoryReservation\":\"100 k\"}}", &a);
	CU_ASSERT_EQUAL(a.update.resources.memory, 1288490188LL);
	CU_ASSERT_EQUAL(a.update.resources.reservation, 100 * 1024);
	ops_args_release(&a);

	refused(OP_UPDATE, "[]", 400, "must be an object");
	refused(OP_UPDATE, "{\"cpu\":1}", 400, "unknown key 'cpu'");
	refused(OP_UPDATE, "{\"restartPolicy\":\"always\"}", 400, "restartPolicy must be an object");
	refused(OP_UPDATE, "{\"restartPolicy\":{\"type\":\"sometimes\"}}", 400, "restartPolicy.type");
	refused(OP_UPDATE, "{\"restartPolicy\":{\"type\":1}}", 400, "restartPolicy.type");
	refused(OP_UPDATE, "{\"restartPolicy\":{\"maxRetryCount\":-1}}", 400, "maxRetryCount");
	refused(OP_UPDATE, "{\"restartPolicy\":{\"maxRetryCount\":\"3\"}}", 400, "maxRetryCount");
	refused(OP_UPDATE, "{\"restartPolicy\":{\"timeout\":-5}}", 400, "restartPolicy.timeout");
	refused(OP_UPDATE, "{\"restartPolicy\":{\"timeout\":1,\"retryTimeout\":1}}", 400, "not both");
	refused(OP_UPDATE, "{\"restartPolicy\":{\"delay\":1}}", 400, "unknown key restartPolicy.delay");
	refused(OP_UPDATE, "{\"resources\":{\"memory\":500}}", 400, "resources.memory must be a string");
	refused(OP_UPDATE, "{\"resources\":{\"memory\":\"500MB\"}}", 400, "memory");
	refused(OP_UPDATE, "{\"resources\":{\"memoryReservation\":\"-1\"}}", 400, "memoryReservation");
	refused(OP_UPDATE, "{\"resources\":{\"cpus\":\"1\"}}", 400, "unknown key resources.cpus");
	refused(OP_UPDATE, "{\"resources\":[]}", 400, "resources must be an object");
}

/* ---- spec: merge rules, config accessors, the backend spec ---------------------------- */

static void test_restart_merge(void)
{
	berth_restart_policy p = { .type = BERTH_RESTART_ON_FAILURE, .max_retry_count = 3,
				   .retry_timeout_s = 10 };
	struct restart_patch patch = { 0 };

	/* nothing named: nothing changes */
	spec_apply_restart_patch(&p, &patch);
	CU_ASSERT_EQUAL(p.type, BERTH_RESTART_ON_FAILURE);
	CU_ASSERT_EQUAL(p.max_retry_count, 3);
	CU_ASSERT_EQUAL(p.retry_timeout_s, 10);

	/* same type again: retry settings stay */
	patch = (struct restart_patch){ .has_type = true, .type = BERTH_RESTART_ON_FAILURE };
	spec_apply_restart_patch(&p, &patch);
	CU_ASSERT_EQUAL(p.max_retry_count, 3);

	/* only the count */
	patch = (struct restart_patch){ .has_max_retry = true, .max_retry_count = 5 };
	spec_apply_restart_patch(&p, &patch);
	CU_ASSERT_EQUAL(p.max_retry_count, 5);
	CU_ASSERT_EQUAL(p.retry_timeout_s, 10);

	/* away from on-failure: the retry settings not given again are dropped */
	patch = (struct restart_patch){ .has_type = true, .type = BERTH_RESTART_ALWAYS };
	spec_apply_restart_patch(&p, &patch);
	CU_ASSERT_EQUAL(p.type, BERTH_RESTART_ALWAYS);
	CU_ASSERT_EQUAL(p.max_retry_count, 0);
	CU_ASSERT_EQUAL(p.retry_timeout_s, 0);

	/* back to on-failure with a count */
	patch = (struct restart_patch){ .has_type = true, .type = BERTH_RESTART_ON_FAILURE,
					.has_max_retry = true, .max_retry_count = 2 };
	spec_apply_restart_patch(&p, &patch);
	CU_ASSERT_EQUAL(p.type, BERTH_RESTART_ON_FAILURE);
	CU_ASSERT_EQUAL(p.max_retry_count, 2);
}

static void test_resources_merge(void)
{
	berth_resources r = { .memory = 200 * MiB, .memory_reservation = 100 * MiB,
			      .memory_swap = 400 * MiB };
	struct resources_patch patch = { .has_memory = true, .memory = 300 * MiB };

	spec_apply_resources_patch(&r, &patch);
	CU_ASSERT_EQUAL(r.memory, 300 * MiB);
	CU_ASSERT_EQUAL(r.memory_reservation, 100 * MiB);
	CU_ASSERT_EQUAL(r.memory_swap, 400 * MiB);
	patch = (struct resources_patch){ .has_reservation = true, .reservation = 0,
					  .has_swap = true, .swap = -1 };
	spec_apply_resources_patch(&r, &patch);
	CU_ASSERT_EQUAL(r.memory, 300 * MiB);
	CU_ASSERT_EQUAL(r.memory_reservation, 0);
	CU_ASSERT_EQUAL(r.memory_swap, -1);
}

static void test_config_accessors(void)
{
	json_object *config = json_object_new_object();
	berth_restart_policy p = { .type = BERTH_RESTART_ON_FAILURE, .max_retry_count = 4,
				   .retry_timeout_s = 9 }, back;
	berth_resources r = { .memory = 500 * MiB, .memory_reservation = 0,
			      .memory_swap = 1024 * MiB }, rback;

	/* an empty config reads as the defaults */
	spec_config_restart(config, &back);
	CU_ASSERT_EQUAL(back.type, BERTH_RESTART_UNLESS_STOPPED);
	spec_config_resources(config, &rback);
	CU_ASSERT_EQUAL(rback.memory, 0);

	spec_config_set_restart(config, &p);
	spec_config_restart(config, &back);
	CU_ASSERT_EQUAL(back.type, p.type);
	CU_ASSERT_EQUAL(back.max_retry_count, 4);
	CU_ASSERT_EQUAL(back.retry_timeout_s, 9);
	CU_ASSERT_STRING_EQUAL(cfg_str(config, "restartPolicy", "type"), "ON_FAILURE");

	spec_config_set_resources(config, &r);
	CU_ASSERT_STRING_EQUAL(cfg_str(config, "resources", "memory"), "500m");
	CU_ASSERT_STRING_EQUAL(cfg_str(config, "resources", "memorySwap"), "1g");
	CU_ASSERT_PTR_NULL(json_object_object_get(json_object_object_get(config, "resources"),
						  "memoryReservation"));
	spec_config_resources(config, &rback);
	CU_ASSERT_EQUAL(rback.memory, r.memory);
	CU_ASSERT_EQUAL(rback.memory_reservation, 0);
	CU_ASSERT_EQUAL(rback.memory_swap, r.memory_swap);

	/* no limits at all: the resources object goes */
	r = (berth_resources){ 0 };
	spec_config_set_resources(config, &r);
	CU_ASSERT_PTR_NULL(json_object_object_get(config, "resources"));
	json_object_put(config);
}

static void test_spec_build(void)
{
	struct ditto_error err;
	struct spec_holder h;
	json_object *config = NULL, *in = json_tokener_parse(
		"{\"cmd\":[\"sh\",\"-c\",\"sleep 1\"],\"env\":[\"A=1\"],\"hostName\":\"h\","
		"\"domainName\":\"d\",\"privileged\":true,\"networkMode\":\"HOST\","
		"\"extraHosts\":[\"a:1.2.3.4\"],\"mountPoints\":[{\"source\":\"/s\",\"destination\":"
		"\"/d\",\"propagationMode\":\"SLAVE\"}],\"portMappings\":[{\"containerPort\":80,"
		"\"hostPort\":8000,\"hostPortEnd\":8005,\"proto\":\"UDP\",\"hostIP\":\"127.0.0.1\"}],"
		"\"restartPolicy\":{\"type\":\"no\"},\"resources\":{\"memory\":\"3m\","
		"\"memoryReservation\":\"1m\",\"memorySwap\":\"-1\"}}");

	CU_ASSERT_EQUAL_FATAL(spec_normalize_config(in, &config, &err), 0);
	CU_ASSERT_EQUAL_FATAL(spec_build(&h, "id-1", "name-1", "img", config), 0);
	CU_ASSERT_EQUAL(h.spec.size, sizeof(h.spec));
	CU_ASSERT_STRING_EQUAL(h.spec.berth_id, "id-1");
	CU_ASSERT_STRING_EQUAL(h.spec.name, "name-1");
	CU_ASSERT_STRING_EQUAL(h.spec.image, "img");
	CU_ASSERT_STRING_EQUAL(h.spec.cmd[0], "sh");
	CU_ASSERT_STRING_EQUAL(h.spec.cmd[2], "sleep 1");
	CU_ASSERT_PTR_NULL(h.spec.cmd[3]);
	CU_ASSERT_STRING_EQUAL(h.spec.env[0], "A=1");
	CU_ASSERT_PTR_NULL(h.spec.env[1]);
	CU_ASSERT_STRING_EQUAL(h.spec.hostname, "h");
	CU_ASSERT_STRING_EQUAL(h.spec.domainname, "d");
	CU_ASSERT_TRUE(h.spec.privileged);
	CU_ASSERT_STRING_EQUAL(h.spec.network_mode, "host");
	CU_ASSERT_STRING_EQUAL(h.spec.extra_hosts[0], "a:1.2.3.4");
	CU_ASSERT_EQUAL_FATAL(h.spec.n_mounts, 1);
	CU_ASSERT_STRING_EQUAL(h.spec.mounts[0].propagation, "slave");
	CU_ASSERT_EQUAL_FATAL(h.spec.n_ports, 1);
	CU_ASSERT_STRING_EQUAL(h.spec.ports[0].proto, "udp");
	CU_ASSERT_STRING_EQUAL(h.spec.ports[0].host_ip, "127.0.0.1");
	CU_ASSERT_EQUAL(h.spec.ports[0].host_port, 8000);
	CU_ASSERT_EQUAL(h.spec.ports[0].host_port_end, 8005);
	CU_ASSERT_EQUAL(h.spec.ports[0].container_port, 80);
	CU_ASSERT_EQUAL(h.spec.restart.type, BERTH_RESTART_NO);
	CU_ASSERT_EQUAL(h.spec.resources.memory, 3 * MiB);
	CU_ASSERT_EQUAL(h.spec.resources.memory_reservation, 1 * MiB);
	CU_ASSERT_EQUAL(h.spec.resources.memory_swap, -1);
	spec_holder_release(&h);
	json_object_put(config);
	json_object_put(in);

	/* the defaults of a bare create */
	CU_ASSERT_EQUAL_FATAL(spec_normalize_config(NULL, &config, &err), 0);
	CU_ASSERT_EQUAL_FATAL(spec_build(&h, "id-2", "n", "img", config), 0);
	CU_ASSERT_PTR_NULL(h.spec.cmd);
	CU_ASSERT_PTR_NULL(h.spec.hostname);
	CU_ASSERT_FALSE(h.spec.privileged);
	CU_ASSERT_STRING_EQUAL(h.spec.network_mode, "bridge");
	CU_ASSERT_EQUAL(h.spec.n_mounts, 0);
	CU_ASSERT_EQUAL(h.spec.restart.type, BERTH_RESTART_UNLESS_STOPPED);
	CU_ASSERT_EQUAL(h.spec.resources.memory, 0);
	spec_holder_release(&h);
	json_object_put(config);
}

static void test_json_integer(void)
{
	struct ditto_error err;
	json_object *v;
	int64_t n = -7;

	v = json_object_new_double(3.0);
	CU_ASSERT_EQUAL(spec_json_integer(v, "x", 0, 10, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 3);
	json_object_put(v);
	v = json_object_new_double(1e19);
	CU_ASSERT_EQUAL(spec_json_integer(v, "x", INT64_MIN, INT64_MAX, &n, &err), -1);
	json_object_put(v);
	v = json_object_new_int64(11);
	CU_ASSERT_EQUAL(spec_json_integer(v, "x", 0, 10, &n, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "between 0 and 10"));
	json_object_put(v);
	v = json_object_new_boolean(1);
	CU_ASSERT_EQUAL(spec_json_integer(v, "x", 0, 10, &n, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "x must be a number, not boolean"));
	json_object_put(v);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "create", test_create },
		{ "createWithConfig", test_create_with_config },
		{ "stop options", test_stop_options },
		{ "rename, remove and value-less ops", test_rename_remove },
		{ "update", test_update },
		{ "restart policy merge", test_restart_merge },
		{ "resources merge", test_resources_merge },
		{ "config accessors", test_config_accessors },
		{ "backend spec", test_spec_build },
		{ "JSON integers", test_json_integer },
	};
	int failed;

	failed = unit_run("parse", NULL, NULL, tests, N(tests));
	return failed;
}
