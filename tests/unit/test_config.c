/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for core/config.c: loading berth.conf + conf.d, every class of error with
 * its exact file, line and key, config_check_instance() and the berth_settings
 * accessors. Test files live in tests/data/config/<case>/; table-driven variants are
 * written to a private temporary directory.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "config.h"
#include "log.h"
#include "unit_main.h"

#define CASE_DIR TEST_DATA_DIR "/config"

static char tmp_dir[64];

static char *case_path(const char *name, const char *file)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s/%s/%s", CASE_DIR, name, file);
	return buf;
}

/* Loads tests/data/config/<name>/berth.conf, which must succeed. */
static struct berth_config *load_ok(const char *name)
{
	struct berth_config *cfg = NULL;
	berth_error err;

	berth_error_clear(&err);
	if (config_load(case_path(name, "berth.conf"), &cfg, &err) != 0) {
		fprintf(stderr, "\n%s: unexpected error: %s\n", name, err.message);
		return NULL;
	}
	return cfg;
}

/* Checks that `msg` starts with "<file>:<line>: " and contains every needle. */
static bool message_is(const char *msg, const char *file, int line, const char *needle1,
		       const char *needle2)
{
	char prefix[1200];
	bool ok;

	snprintf(prefix, sizeof(prefix), "%s:%d: ", file, line);
	ok = strncmp(msg, prefix, strlen(prefix)) == 0 && (!needle1 || strstr(msg, needle1)) &&
	     (!needle2 || strstr(msg, needle2));
	if (!ok)
		fprintf(stderr, "\nmessage:  %s\nexpected: %s... %s ... %s\n", msg, prefix,
			needle1 ? needle1 : "", needle2 ? needle2 : "");
	return ok;
}

/* Loads case `name`, which must fail at `file` (relative to the case dir) and `line`
 * with a message containing the needles. */
static void expect_error(const char *name, const char *file, int line, const char *needle1,
			 const char *needle2)
{
	struct berth_config *cfg = (void *)1;
	char main_file[1024], where[1024];
	berth_error err;

	snprintf(main_file, sizeof(main_file), "%s", case_path(name, "berth.conf"));
	snprintf(where, sizeof(where), "%s", case_path(name, file));
	berth_error_clear(&err);
	CU_ASSERT_EQUAL(config_load(main_file, &cfg, &err), -1);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL(err.code, BERTH_E_INVALID);
	CU_ASSERT_TRUE(message_is(err.message, where, line, needle1, needle2));
}

/* ---- temporary configurations for table-driven cases ---------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes `text` as <tmp>/berth.conf and loads it. */
static int load_text(const char *text, struct berth_config **cfg, berth_error *err)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/berth.conf", tmp_dir);
	f = fopen(path, "w");
	if (!f)
		return -2;
	fputs(text, f);
	fclose(f);
	berth_error_clear(err);
	return config_load(path, cfg, err);
}

static char *tmp_conf(void)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s/berth.conf", tmp_dir);
	return buf;
}

/* ---- valid configurations --------------------------------------------------------------- */

static void test_valid_full(void)
{
	struct berth_config *cfg = load_ok("valid");
	const struct agent_config *a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	a = &cfg->agent;
	CU_ASSERT_STRING_EQUAL(cfg->main_file, case_path("valid", "berth.conf"));
	CU_ASSERT_STRING_EQUAL(a->thing_id, "org.example:gw1:edge:containers");
	CU_ASSERT_STRING_EQUAL(a->tenant, "t1");
	CU_ASSERT_STRING_EQUAL(a->device_id, "gw1");
	CU_ASSERT_STRING_EQUAL(a->state_dir, "/var/lib/berth-test");
	CU_ASSERT_STRING_EQUAL(a->module_dir, "/usr/lib/berth-test");
	CU_ASSERT_STRING_EQUAL(a->run_dir, "/run/berth-test");
	CU_ASSERT_EQUAL(a->stop_timeout, 45);
	CU_ASSERT_EQUAL(a->max_workers, 8);
	CU_ASSERT_EQUAL(a->queue_limit, 100);
	CU_ASSERT_EQUAL(a->max_payload, 131072);
	CU_ASSERT_EQUAL(a->max_json_depth, 20);
	CU_ASSERT_EQUAL(a->log_level, BERTH_LOG_DEBUG);
	CU_ASSERT_EQUAL(a->log_target, LOG_TARGET_STDERR);

	CU_ASSERT_EQUAL_FATAL(cfg->n_transports, 2);
	CU_ASSERT_EQUAL(cfg->transports[0].kind, CONFIG_TRANSPORT);
	CU_ASSERT_STRING_EQUAL(cfg->transports[0].module, "mqtt");
	CU_ASSERT_STRING_EQUAL(cfg->transports[0].name, "mqtt");
	CU_ASSERT_EQUAL(cfg->transports[0].line, 18);
	CU_ASSERT_STRING_EQUAL(cfg->transports[0].file, case_path("valid", "berth.conf"));
	CU_ASSERT_STRING_EQUAL(cfg->transports[1].module, "amqp");
	CU_ASSERT_STRING_EQUAL(cfg->transports[1].name, "cloud");
	CU_ASSERT_EQUAL(cfg->transports[1].line, 19);
	CU_ASSERT_FALSE(cfg->transports[0].is_default || cfg->transports[1].is_default);

	CU_ASSERT_EQUAL_FATAL(cfg->n_backends, 2);
	CU_ASSERT_EQUAL(cfg->backends[0].kind, CONFIG_BACKEND);
	CU_ASSERT_STRING_EQUAL(cfg->backends[0].module, "docker");
	CU_ASSERT_STRING_EQUAL(cfg->backends[0].name, "docker");
	CU_ASSERT_FALSE(cfg->backends[0].is_default);
	CU_ASSERT_EQUAL(cfg->backends[0].line, 26);
	CU_ASSERT_STRING_EQUAL(cfg->backends[1].module, "nspawn");
	CU_ASSERT_STRING_EQUAL(cfg->backends[1].name, "machines");
	CU_ASSERT_TRUE(cfg->backends[1].is_default);
	CU_ASSERT_EQUAL(cfg->backends[1].line, 30);
	CU_ASSERT_PTR_NOT_NULL(cfg->backends[1].group);
	config_free(cfg);
}

static void test_defaults(void)
{
	struct berth_config *cfg = load_ok("defaults");
	const struct agent_config *a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	a = &cfg->agent;
	CU_ASSERT_PTR_NULL(a->thing_id);
	CU_ASSERT_PTR_NULL(a->tenant);
	CU_ASSERT_PTR_NULL(a->device_id);
	CU_ASSERT_STRING_EQUAL(a->state_dir, BERTH_STATE_DIR);
	CU_ASSERT_STRING_EQUAL(a->module_dir, BERTH_MODULE_DIR);
	CU_ASSERT_STRING_EQUAL(a->run_dir, BERTH_RUN_DIR);
	CU_ASSERT_EQUAL(a->stop_timeout, 30);
	CU_ASSERT_EQUAL(a->max_workers, 32);
	CU_ASSERT_EQUAL(a->queue_limit, 1024);
	CU_ASSERT_EQUAL(a->max_payload, 65536);
	CU_ASSERT_EQUAL(a->max_json_depth, 16);
	CU_ASSERT_EQUAL(a->log_level, BERTH_LOG_INFO);
	CU_ASSERT_EQUAL(a->log_target, LOG_TARGET_AUTO);
	CU_ASSERT_EQUAL(cfg->n_transports, 0);
	CU_ASSERT_EQUAL_FATAL(cfg->n_backends, 2);
	CU_ASSERT_TRUE(cfg->backends[0].is_default); /* none said default: the first */
	CU_ASSERT_FALSE(cfg->backends[1].is_default);
	CU_ASSERT_STRING_EQUAL(cfg->backends[1].name, "podman");
	config_free(cfg);
}

static void test_include(void)
{
	static const berth_option options[] = { { "socket", BERTH_OPT_STRING, true, NULL }, { 0 } };
	struct berth_config *cfg = load_ok("include");
	berth_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(cfg->agent.thing_id, "edge:included");
	CU_ASSERT_EQUAL(cfg->agent.stop_timeout, 7);
	/* a group from an included file: that file's path (not just its name) and line */
	CU_ASSERT_EQUAL_FATAL(cfg->n_backends, 1);
	CU_ASSERT_STRING_EQUAL(cfg->backends[0].file, case_path("include", "backends.inc"));
	CU_ASSERT_EQUAL(cfg->backends[0].line, 2);
	CU_ASSERT_EQUAL(config_check_instance(&cfg->backends[0], options, &err), -1);
	CU_ASSERT_TRUE(message_is(err.message, case_path("include", "backends.inc"), 4,
				  ": backends.docker.socket: expected a string", NULL));
	CU_ASSERT_EQUAL(config_setting_invalid(config_settings(&cfg->backends[0]), "socket", &err,
					       "bad"),
			-1);
	CU_ASSERT_TRUE(message_is(err.message, case_path("include", "backends.inc"), 4,
				  ": backends.docker.socket: bad", NULL));
	config_free(cfg);
}

static void test_confd_override_and_append(void)
{
	struct berth_config *cfg = load_ok("confd");
	static const char *const order[] = { "docker", "podman", "nspawn", "containerd" };

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	/* key by key: 10-first sets thing_id; 20-second then 9-last (strcmp order) set
	 * stop_timeout; tenant and max_workers stay as berth.conf says */
	CU_ASSERT_STRING_EQUAL(cfg->agent.thing_id, "edge:first");
	CU_ASSERT_STRING_EQUAL(cfg->agent.tenant, "t-main");
	CU_ASSERT_EQUAL(cfg->agent.stop_timeout, 9);
	CU_ASSERT_EQUAL(cfg->agent.max_workers, 4);

	CU_ASSERT_EQUAL_FATAL(cfg->n_backends, 4);
	for (size_t i = 0; i < 4; i++) {
		CU_ASSERT_STRING_EQUAL(cfg->backends[i].name, order[i]);
		CU_ASSERT_EQUAL(cfg->backends[i].is_default, i == 2);
	}
	CU_ASSERT_STRING_EQUAL(cfg->backends[1].file, case_path("confd", "conf.d/10-first.conf"));
	CU_ASSERT_EQUAL(cfg->backends[1].line, 2);
	CU_ASSERT_STRING_EQUAL(cfg->backends[2].file, case_path("confd", "conf.d/20-second.conf"));
	CU_ASSERT_EQUAL(cfg->backends[2].line, 3);
	CU_ASSERT_STRING_EQUAL(cfg->backends[3].file, case_path("confd", "conf.d/9-last.conf"));

	CU_ASSERT_EQUAL_FATAL(cfg->n_transports, 2);
	CU_ASSERT_STRING_EQUAL(cfg->transports[0].name, "mqtt");
	CU_ASSERT_STRING_EQUAL(cfg->transports[1].name, "amqp");
	/* README, disabled.conf.off and .hidden.conf were not parsed */
	CU_ASSERT_EQUAL(cfg->n_files, 4);
	config_free(cfg);
}

/* ---- errors --------------------------------------------------------------------------- */

static void test_missing_file(void)
{
	struct berth_config *cfg = NULL;
	berth_error err;

	CU_ASSERT_EQUAL(config_load(CASE_DIR "/no-such-case/berth.conf", &cfg, &err), -1);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL(err.code, BERTH_E_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(err.message, CASE_DIR "/no-such-case/berth.conf: cannot read: "
						     "No such file or directory");
}

static void test_confd_not_a_directory(void)
{
	struct berth_config *cfg = NULL;
	berth_error err;

	CU_ASSERT_EQUAL(config_load(case_path("confd_not_dir", "berth.conf"), &cfg, &err), -1);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_STRING_EQUAL(err.message, CASE_DIR "/confd_not_dir/conf.d: cannot read "
						     "directory: Not a directory");
}

static void test_syntax_errors(void)
{
	expect_error("syntax", "berth.conf", 3, ": syntax error: syntax error", NULL);
	expect_error("syntax_confd", "conf.d/50-broken.conf", 3, ": syntax error: ", NULL);
	/* in an @include file: that file's name and line */
	expect_error("include_syntax", "broken.inc", 3, ": syntax error: ", NULL);
}

static void test_unknown_keys(void)
{
	expect_error("unknown_top", "berth.conf", 4,
		     ": agnet: unknown key (expected agent, transports or backends)", NULL);
	expect_error("agent_unknown", "berth.conf", 3, ": agent.stop_timeot: unknown key", NULL);
	/* a key from an @include file is reported where it is */
	expect_error("include_error", "bad.inc", 2, ": agent.stop_timeot: unknown key", NULL);
}

static void test_agent_types_and_ranges(void)
{
	expect_error("agent_type", "berth.conf", 4, ": agent.stop_timeout: expected an integer",
		     NULL);
	expect_error("agent_string_type", "berth.conf", 2, ": agent.tenant: expected a string",
		     NULL);
	expect_error("agent_range", "berth.conf", 2,
		     ": agent.max_payload: must be between 1024 and 16777216", NULL);
	expect_error("agent_not_group", "berth.conf", 2, ": agent: expected a group", NULL);
	expect_error("agent_thing_id", "berth.conf", 2,
		     ": agent.thing_id: \"device-without-namespace\" is not a Ditto thing id",
		     "<namespace>:<name>");
	expect_error("agent_log_level", "berth.conf", 3,
		     ": agent.log_level: unknown level \"verbose\" (expected err, warning, notice, "
		     "info or debug)",
		     NULL);
	expect_error("agent_log_target", "berth.conf", 2,
		     ": agent.log_target: unknown target \"syslog\" (expected auto, stderr or "
		     "journal)",
		     NULL);
	/* an override in conf.d is checked like the main file */
	expect_error("agent_confd_range", "conf.d/10-override.conf", 2,
		     ": agent.stop_timeout: must be between 1 and 3600", NULL);
}

static void test_instance_errors(void)
{
	expect_error("transports_not_list", "berth.conf", 1,
		     ": transports: expected a list of groups", NULL);
	expect_error("element_not_group", "berth.conf", 3, ": backends[0]: expected a group", NULL);
	expect_error("module_missing", "berth.conf", 3, ": backends[1].module: required key missing",
		     NULL);
	expect_error("module_type", "berth.conf", 3, ": backends[0].module: expected a string", NULL);
	expect_error("module_bad", "berth.conf", 3,
		     ": transports[0].module: invalid module name \"MQTT\" (expected [a-z0-9_-]+)",
		     NULL);
	expect_error("name_bad", "berth.conf", 4, ": backends[0].name: invalid name \"my docker\"",
		     NULL);
	expect_error("default_type", "berth.conf", 4,
		     ": backends.docker.default: expected a boolean (true or false)", NULL);
}

static void test_duplicate_names(void)
{
	char other[1100];

	snprintf(other, sizeof(other), "(also used at %s:2)", case_path("dup_name", "berth.conf"));
	expect_error("dup_name", "berth.conf", 3, ": backends.docker: duplicate name \"docker\"",
		     other);
	/* across files; the line is that of the `name` key */
	snprintf(other, sizeof(other), "(also used at %s:2)",
		 case_path("dup_name_confd", "berth.conf"));
	expect_error("dup_name_confd", "conf.d/10-dup.conf", 4,
		     ": backends.docker: duplicate name \"docker\"", other);
}

static void test_two_defaults(void)
{
	char other[1100];

	snprintf(other, sizeof(other), "(backends.docker at %s:2 already is)",
		 case_path("two_defaults", "berth.conf"));
	expect_error("two_defaults", "conf.d/10-more.conf", 4,
		     ": backends.podman.default: only one backend may be the default", other);
}

/* ---- table-driven values, through temporary files -------------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void test_confd_odd_entries(void)
{
	struct berth_config *cfg;
	berth_error err;
	char path[256];

	/* a directory named *.conf is skipped (with a warning), a regular file is read */
	snprintf(path, sizeof(path), "%s/conf.d", tmp_dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/conf.d/00-dir.conf", tmp_dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/conf.d/50-file.conf", tmp_dir);
	write_file(path, "agent: { tenant = \"from-confd\"; };\n");
	CU_ASSERT_EQUAL(load_text("agent: { tenant = \"main\"; };\n", &cfg, &err), 0);
	if (cfg) {
		CU_ASSERT_STRING_EQUAL(cfg->agent.tenant, "from-confd");
		CU_ASSERT_EQUAL(cfg->n_files, 2);
		config_free(cfg);
	}
	snprintf(path, sizeof(path), "%s/conf.d", tmp_dir);
	rm_tree(path);

	/* a directory where berth.conf should be */
	berth_error_clear(&err);
	CU_ASSERT_EQUAL(config_load(tmp_dir, &cfg, &err), -1);
	CU_ASSERT_PTR_NULL(cfg);
	snprintf(path, sizeof(path), "%s: cannot read: Is a directory", tmp_dir);
	CU_ASSERT_STRING_EQUAL(err.message, path);
}

static void test_thing_ids(void)
{
	static const char *const good[] = {
		"edge:device", "org.example:gw1:edge:containers", "a_b.c9:x", "ns:name with space",
	};
	static const char *const bad[] = {
		"nocolon", ":name", "ns:", "1ns:x", "ns.:x", ".ns:x", "ns..x:y", "ns:a/b", "n-s:x",
		"",
	};
	struct berth_config *cfg;
	berth_error err;
	char text[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "agent: {\n  thing_id = \"%s\";\n};\n", good[i]);
		CU_ASSERT_EQUAL(load_text(text, &cfg, &err), 0);
		if (cfg) {
			CU_ASSERT_STRING_EQUAL(cfg->agent.thing_id, good[i]);
			config_free(cfg);
		} else {
			fprintf(stderr, "\n%s: %s\n", good[i], err.message);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "agent: {\n  thing_id = \"%s\";\n};\n", bad[i]);
		CU_ASSERT_EQUAL(load_text(text, &cfg, &err), -1);
		CU_ASSERT_TRUE(message_is(err.message, tmp_conf(), 2, ": agent.thing_id: ", NULL));
	}
}

static void test_int_ranges(void)
{
	static const struct {
		const char *key;
		long long min, max;
		size_t offset;
	} keys[] = {
		{ "stop_timeout", 1, 3600, offsetof(struct agent_config, stop_timeout) },
		{ "max_workers", 1, 1024, offsetof(struct agent_config, max_workers) },
		{ "queue_limit", 1, 1000000, offsetof(struct agent_config, queue_limit) },
		{ "max_payload", 1024, 16777216, offsetof(struct agent_config, max_payload) },
		{ "max_json_depth", 2, 64, offsetof(struct agent_config, max_json_depth) },
	};
	struct berth_config *cfg;
	berth_error err;
	char text[256], range[128];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		long long values[] = { keys[i].min, keys[i].max, keys[i].min - 1, keys[i].max + 1 };

		snprintf(range, sizeof(range), ": agent.%s: must be between %lld and %lld",
			 keys[i].key, keys[i].min, keys[i].max);
		for (int v = 0; v < 4; v++) {
			/* an int64 literal is accepted like an int */
			snprintf(text, sizeof(text), "agent: {\n\n  %s = %lld%s;\n};\n", keys[i].key,
				 values[v], v == 1 ? "L" : "");
			if (v < 2) {
				CU_ASSERT_EQUAL(load_text(text, &cfg, &err), 0);
				if (cfg) {
					CU_ASSERT_EQUAL(*(int *)((char *)&cfg->agent + keys[i].offset),
							values[v]);
					config_free(cfg);
				}
			} else {
				CU_ASSERT_EQUAL(load_text(text, &cfg, &err), -1);
				CU_ASSERT_TRUE(message_is(err.message, tmp_conf(), 3, range, NULL));
			}
		}
		snprintf(text, sizeof(text), "agent: {\n  %s = 1.5;\n};\n", keys[i].key);
		CU_ASSERT_EQUAL(load_text(text, &cfg, &err), -1);
		CU_ASSERT_TRUE(message_is(err.message, tmp_conf(), 2, "expected an integer", NULL));
	}
}

static void test_log_names(void)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "err", BERTH_LOG_ERR },       { "warning", BERTH_LOG_WARNING },
		{ "notice", BERTH_LOG_NOTICE }, { "info", BERTH_LOG_INFO },
		{ "debug", BERTH_LOG_DEBUG },
	};
	static const struct {
		const char *name;
		int target;
	} targets[] = {
		{ "auto", LOG_TARGET_AUTO },
		{ "stderr", LOG_TARGET_STDERR },
		{ "journal", LOG_TARGET_JOURNAL },
	};
	struct berth_config *cfg;
	berth_error err;
	char text[256];

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(text, sizeof(text), "agent: { log_level = \"%s\"; };\n", levels[i].name);
		CU_ASSERT_EQUAL_FATAL(load_text(text, &cfg, &err), 0);
		CU_ASSERT_EQUAL(cfg->agent.log_level, levels[i].level);
		config_free(cfg);
	}
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		snprintf(text, sizeof(text), "agent: { log_target = \"%s\"; };\n", targets[i].name);
		CU_ASSERT_EQUAL_FATAL(load_text(text, &cfg, &err), 0);
		CU_ASSERT_EQUAL(cfg->agent.log_target, targets[i].target);
		config_free(cfg);
	}
	CU_ASSERT_EQUAL(load_text("agent: { log_level = 7; };\n", &cfg, &err), -1);
	CU_ASSERT_TRUE(message_is(err.message, tmp_conf(), 1, ": agent.log_level: expected a string",
				  NULL));
}

static void test_module_and_instance_names(void)
{
	static const char *const good_modules[] = { "docker", "my-mod_2", "0" };
	static const char *const bad_modules[] = { "Docker", "../x", "a.b", "", "a b", "docker.so" };
	static const char *const good_names[] = { "Docker-2", "a.b_c", "x" };
	static const char *const bad_names[] = { "", "a/b", "a b", "ünïcode" };
	struct berth_config *cfg;
	berth_error err;
	char text[256];

	for (size_t i = 0; i < sizeof(good_modules) / sizeof(good_modules[0]); i++) {
		snprintf(text, sizeof(text), "backends: ( { module = \"%s\"; } );\n", good_modules[i]);
		CU_ASSERT_EQUAL(load_text(text, &cfg, &err), 0);
		config_free(cfg);
	}
	for (size_t i = 0; i < sizeof(bad_modules) / sizeof(bad_modules[0]); i++) {
		snprintf(text, sizeof(text), "backends: ( { module = \"%s\"; } );\n", bad_modules[i]);
		CU_ASSERT_EQUAL(load_text(text, &cfg, &err), -1);
		CU_ASSERT_TRUE(message_is(err.message, tmp_conf(), 1,
					  ": backends[0].module: invalid module name", NULL));
	}
	for (size_t i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++) {
		snprintf(text, sizeof(text), "transports: ( { module = \"m\"; name = \"%s\"; } );\n",
			 good_names[i]);
		CU_ASSERT_EQUAL(load_text(text, &cfg, &err), 0);
		if (cfg) {
			CU_ASSERT_STRING_EQUAL(cfg->transports[0].name, good_names[i]);
			config_free(cfg);
		}
	}
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		snprintf(text, sizeof(text), "transports: ( { module = \"m\"; name = \"%s\"; } );\n",
			 bad_names[i]);
		CU_ASSERT_EQUAL(load_text(text, &cfg, &err), -1);
		CU_ASSERT_TRUE(message_is(err.message, tmp_conf(), 1,
					  ": transports[0].name: invalid name", NULL));
	}
	/* the same name for a backend and a transport is fine: names are per kind */
	CU_ASSERT_EQUAL(load_text("backends: ( { module = \"x\"; } );\n"
				  "transports: ( { module = \"x\"; } );\n",
				  &cfg, &err),
			0);
	config_free(cfg);
	/* an empty list, in either spelling, means none */
	CU_ASSERT_EQUAL(load_text("backends: ();\ntransports: [];\n", &cfg, &err), 0);
	if (cfg) {
		CU_ASSERT_EQUAL(cfg->n_backends + cfg->n_transports, 0);
		config_free(cfg);
	}
	CU_ASSERT_EQUAL(load_text("backends: [ 1, 2 ];\n", &cfg, &err), -1);
	CU_ASSERT_TRUE(message_is(err.message, tmp_conf(), 1, ": backends: expected a list of groups",
				  NULL));
	CU_ASSERT_EQUAL(load_text("backends: ( { module = \"x\"; name = 5; } );\n", &cfg, &err), -1);
	CU_ASSERT_TRUE(message_is(err.message, tmp_conf(), 1, ": backends[0].name: expected a string",
				  NULL));
}

/* ---- config_check_instance and the accessors ------------------------------------------ */

static const berth_option check_options[] = {
	{ "socket", BERTH_OPT_STRING, true, "the runtime's socket" },
	{ "timeout", BERTH_OPT_INT, false, "seconds" },
	{ "big", BERTH_OPT_INT, false, NULL },
	{ "ratio", BERTH_OPT_FLOAT, false, NULL },
	{ "scale", BERTH_OPT_FLOAT, false, NULL },
	{ "verbose", BERTH_OPT_BOOL, false, NULL },
	{ "hosts", BERTH_OPT_STRINGS, false, NULL },
	{ "labels", BERTH_OPT_STRINGS, false, NULL },
	{ 0 }
};

static const struct config_instance *find_backend(const struct berth_config *cfg,
						  const char *name)
{
	for (size_t i = 0; i < cfg->n_backends; i++)
		if (strcmp(cfg->backends[i].name, name) == 0)
			return &cfg->backends[i];
	return NULL;
}

static void check_fails(const struct berth_config *cfg, const char *name, int line,
			const char *needle)
{
	const struct config_instance *inst = find_backend(cfg, name);
	berth_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(inst);
	berth_error_clear(&err);
	CU_ASSERT_EQUAL(config_check_instance(inst, check_options, &err), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_INVALID);
	CU_ASSERT_TRUE(message_is(err.message, case_path("check", "berth.conf"), line, needle, NULL));
}

static void test_check_instance(void)
{
	struct berth_config *cfg = load_ok("check");
	berth_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(config_check_instance(find_backend(cfg, "docker"), check_options, &err), 0);
	CU_ASSERT_EQUAL(config_check_instance(find_backend(cfg, "minimal"), check_options, &err), 0);

	check_fails(cfg, "typo", 17, ": backends.typo.sockt: unknown key for module docker "
				     "(known keys: module, name, default, socket, timeout, big, "
				     "ratio, scale, verbose, hosts, labels)");
	check_fails(cfg, "wrongint", 23, ": backends.wrongint.timeout: expected an integer");
	check_fails(cfg, "wrongstring", 28, ": backends.wrongstring.socket: expected a string");
	check_fails(cfg, "wrongbool", 34,
		    ": backends.wrongbool.verbose: expected a boolean (true or false)");
	check_fails(cfg, "wrongfloat", 40, ": backends.wrongfloat.scale: expected a number");
	check_fails(cfg, "wrongstrings", 46, ": backends.wrongstrings.hosts: expected a list of "
					     "strings");
	check_fails(cfg, "wrongelem", 53, ": backends.wrongelem.labels: element 1 is not a string");
	/* a missing key has no line of its own: the group's */
	check_fails(cfg, "missing", 55, ": backends.missing.socket: required key missing (the "
					"runtime's socket)");

	/* no options at all: any driver key is unknown */
	CU_ASSERT_EQUAL(config_check_instance(find_backend(cfg, "docker"), NULL, &err), -1);
	CU_ASSERT_TRUE(message_is(err.message, case_path("check", "berth.conf"), 5,
				  ": backends.docker.socket: unknown key for module docker", NULL));
	/* `default` is a core key of backends only */
	CU_ASSERT_EQUAL_FATAL(cfg->n_transports, 1);
	CU_ASSERT_EQUAL(config_check_instance(&cfg->transports[0], NULL, &err), -1);
	CU_ASSERT_TRUE(message_is(err.message, case_path("check", "berth.conf"), 70,
				  ": transports.mqtt.default: unknown key for module mqtt", NULL));
	config_free(cfg);
}

static void test_accessors(void)
{
	struct berth_config *cfg = load_ok("check");
	const berth_settings *s;
	const char *str;
	long long i;
	double d;
	bool b;
	berth_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	s = config_settings(find_backend(cfg, "docker"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);

	CU_ASSERT_EQUAL(config_setting_string(s, "socket", &str), 0);
	CU_ASSERT_STRING_EQUAL(str, "/run/docker.sock");
	CU_ASSERT_EQUAL(config_setting_string(s, "nothere", &str), 1);
	CU_ASSERT_EQUAL(config_setting_string(s, "timeout", &str), -1);
	CU_ASSERT_EQUAL(config_setting_string(s, "module", &str), 0);
	CU_ASSERT_STRING_EQUAL(str, "docker");
	CU_ASSERT_EQUAL(config_setting_string(s, "name", &str), 0); /* effective name */
	CU_ASSERT_STRING_EQUAL(str, "docker");

	CU_ASSERT_EQUAL(config_setting_int(s, "timeout", &i), 0);
	CU_ASSERT_EQUAL(i, 5);
	CU_ASSERT_EQUAL(config_setting_int(s, "big", &i), 0);
	CU_ASSERT_EQUAL(i, 5000000000LL);
	CU_ASSERT_EQUAL(config_setting_int(s, "scale", &i), -1);
	CU_ASSERT_EQUAL(config_setting_int(s, "socket", &i), -1);
	CU_ASSERT_EQUAL(config_setting_int(s, "nothere", &i), 1);

	CU_ASSERT_EQUAL(config_setting_float(s, "scale", &d), 0);
	CU_ASSERT_DOUBLE_EQUAL(d, 2.5, 1e-9);
	CU_ASSERT_EQUAL(config_setting_float(s, "ratio", &d), 0); /* an int */
	CU_ASSERT_DOUBLE_EQUAL(d, 1.0, 1e-9);
	CU_ASSERT_EQUAL(config_setting_float(s, "big", &d), 0); /* an int64 */
	CU_ASSERT_DOUBLE_EQUAL(d, 5e9, 1e-3);
	CU_ASSERT_EQUAL(config_setting_float(s, "verbose", &d), -1);
	CU_ASSERT_EQUAL(config_setting_float(s, "nothere", &d), 1);

	CU_ASSERT_EQUAL(config_setting_bool(s, "verbose", &b), 0);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(config_setting_bool(s, "timeout", &b), -1);
	CU_ASSERT_EQUAL(config_setting_bool(s, "nothere", &b), 1);

	CU_ASSERT_EQUAL(config_setting_string_at(s, "hosts", 0, &str), 0); /* an array */
	CU_ASSERT_STRING_EQUAL(str, "a");
	CU_ASSERT_EQUAL(config_setting_string_at(s, "hosts", 1, &str), 0);
	CU_ASSERT_STRING_EQUAL(str, "b");
	CU_ASSERT_EQUAL(config_setting_string_at(s, "hosts", 2, &str), 1);
	CU_ASSERT_EQUAL(config_setting_string_at(s, "labels", 2, &str), 0); /* a list */
	CU_ASSERT_STRING_EQUAL(str, "z");
	CU_ASSERT_EQUAL(config_setting_string_at(s, "labels", 3, &str), 1);
	CU_ASSERT_EQUAL(config_setting_string_at(s, "labels", -1, &str), -1);
	CU_ASSERT_EQUAL(config_setting_string_at(s, "socket", 0, &str), -1);
	CU_ASSERT_EQUAL(config_setting_string_at(s, "nothere", 0, &str), 1);

	/* the key's own line when present, the group's otherwise */
	berth_error_clear(&err);
	CU_ASSERT_EQUAL(config_setting_invalid(s, "timeout", &err, "must be at least %d", 7), -1);
	CU_ASSERT_EQUAL(err.code, BERTH_E_INVALID);
	CU_ASSERT_TRUE(message_is(err.message, case_path("check", "berth.conf"), 6,
				  ": backends.docker.timeout: must be at least 7", NULL));
	CU_ASSERT_EQUAL(config_setting_invalid(s, "nothere", &err, "is needed with %s", "x"), -1);
	CU_ASSERT_TRUE(message_is(err.message, case_path("check", "berth.conf"), 3,
				  ": backends.docker.nothere: is needed with x", NULL));
	CU_ASSERT_EQUAL(config_setting_invalid(s, NULL, &err, "cannot start"), -1);
	CU_ASSERT_TRUE(message_is(err.message, case_path("check", "berth.conf"), 3,
				  ": backends.docker: cannot start", NULL));

	/* the wrongelem list: an element that is not a string */
	s = config_settings(find_backend(cfg, "wrongelem"));
	CU_ASSERT_EQUAL(config_setting_string_at(s, "labels", 0, &str), 0);
	CU_ASSERT_EQUAL(config_setting_string_at(s, "labels", 1, &str), -1);
	config_free(cfg);
}

static void test_control_socket(void)
{
	struct berth_config *cfg;
	berth_error err;
	char text[512], long_path[200];

	/* default: <run_dir>/berthd.sock, with run_dir as finally configured */
	CU_ASSERT_EQUAL_FATAL(load_text("agent: { log_level = \"info\"; };\n", &cfg, &err), 0);
	CU_ASSERT_STRING_EQUAL(cfg->agent.control_socket, BERTH_RUN_DIR "/berthd.sock");
	config_free(cfg);
	CU_ASSERT_EQUAL_FATAL(load_text("agent: { run_dir = \"/run/x\"; };\n", &cfg, &err), 0);
	CU_ASSERT_STRING_EQUAL(cfg->agent.control_socket, "/run/x/berthd.sock");
	config_free(cfg);
	CU_ASSERT_EQUAL_FATAL(load_text("agent: { control_socket = \"/tmp/c.sock\"; "
					"run_dir = \"/run/x\"; };\n", &cfg, &err), 0);
	CU_ASSERT_STRING_EQUAL(cfg->agent.control_socket, "/tmp/c.sock");
	config_free(cfg);
	/* "" turns it off */
	CU_ASSERT_EQUAL_FATAL(load_text("agent: { control_socket = \"\"; };\n", &cfg, &err), 0);
	CU_ASSERT_STRING_EQUAL(cfg->agent.control_socket, "");
	config_free(cfg);
	/* relative, too long for sun_path, not a string */
	CU_ASSERT_EQUAL(load_text("agent: {\n  control_socket = \"run/b.sock\";\n};\n", &cfg,
				  &err), -1);
	CU_ASSERT_TRUE(message_is(err.message, tmp_conf(), 2,
				  ": agent.control_socket: \"run/b.sock\" is not an absolute path of "
				  "at most 107 bytes", "turns the control socket off"));
	memset(long_path, 'a', sizeof(long_path));
	long_path[0] = '/';
	long_path[108] = '\0'; /* 108 bytes: one too many */
	snprintf(text, sizeof(text), "agent: { control_socket = \"%s\"; };\n", long_path);
	CU_ASSERT_EQUAL(load_text(text, &cfg, &err), -1);
	CU_ASSERT_TRUE(message_is(err.message, tmp_conf(), 1, ": agent.control_socket: ", NULL));
	long_path[107] = '\0';
	snprintf(text, sizeof(text), "agent: { control_socket = \"%s\"; };\n", long_path);
	CU_ASSERT_EQUAL_FATAL(load_text(text, &cfg, &err), 0);
	CU_ASSERT_EQUAL(strlen(cfg->agent.control_socket), 107);
	config_free(cfg);
	CU_ASSERT_EQUAL(load_text("agent: { control_socket = 1; };\n", &cfg, &err), -1);
	CU_ASSERT_TRUE(message_is(err.message, tmp_conf(), 1,
				  ": agent.control_socket: expected a string", NULL));
}

static void test_free_null(void)
{
	config_free(NULL);
	CU_PASS("config_free(NULL) is a no-op");
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "valid full configuration", test_valid_full },
		{ "defaults and first default backend", test_defaults },
		{ "@include relative to berth.conf", test_include },
		{ "conf.d override and append, strcmp order", test_confd_override_and_append },
		{ "missing main file", test_missing_file },
		{ "conf.d not a directory", test_confd_not_a_directory },
		{ "syntax errors", test_syntax_errors },
		{ "unknown keys", test_unknown_keys },
		{ "agent types and ranges", test_agent_types_and_ranges },
		{ "instance core keys", test_instance_errors },
		{ "duplicate names", test_duplicate_names },
		{ "two defaults", test_two_defaults },
		{ "conf.d: odd entries; a directory as berth.conf", test_confd_odd_entries },
		{ "thing ids", test_thing_ids },
		{ "integer ranges", test_int_ranges },
		{ "log level and target names", test_log_names },
		{ "module and instance names", test_module_and_instance_names },
		{ "config_check_instance", test_check_instance },
		{ "berth_settings accessors", test_accessors },
		{ "agent.control_socket", test_control_socket },
		{ "config_free(NULL)", test_free_null },
	};
	int failures;

	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/berth-test-config-XXXXXX");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	/* warnings (an ignored conf.d entry) are expected: keep the output to CUnit's */
	log_setup(LOG_TARGET_STDERR, BERTH_LOG_ERR);
	failures = unit_run("config", NULL, NULL, tests, N(tests));
	rm_tree(tmp_dir);
	return failures ? 1 : 0;
}
