/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration: /etc/berth/berth.conf plus conf.d/<name>.conf (lexical order), libconfig
 * syntax. Shape:
 *
 *   agent:      { thing_id = "edge:device"; tenant = "t1"; state_dir = "/var/lib/berth"; ... };
 *   transports: ( { module = "mqtt"; url = "tcp://localhost:1883"; } );
 *   backends:   ( { module = "docker"; socket = "/run/docker.sock"; default = true; } );
 *
 * A conf.d file may set agent keys (a later file wins, key by key) and append
 * transports and backends. Every error names file, line and key:
 *   "/etc/berth/berth.conf:12: agent.stop_timeot: unknown key"
 *   "/etc/berth/conf.d/10-x.conf:3: backends.docker.sockt: unknown key for module docker"
 * An instance is named "<kind>.<name>" (backends.docker) in messages, or
 * "<kind>[<index in its file>]" while its name is not known yet.
 * Strings: thing_id is a Ditto thing id "<namespace>:<name>"; string keys must not be
 * empty; `name` is 1..64 of [A-Za-z0-9_.-]. Note that libconfig 1.5 silently truncates
 * a plain integer literal beyond 32 bits (write 5000000000L for an int64).
 */
#ifndef BERTH_CORE_CONFIG_H
#define BERTH_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#include <berth/error.h>
#include <berth/module.h>

struct agent_config {
	char *thing_id;      /* NULL: learned by a transport (PROTOCOL.md 1.2) */
	char *tenant;        /* NULL: learned or none */
	char *device_id;     /* NULL: same as thing_id */
	char *state_dir;     /* default BERTH_STATE_DIR */
	char *module_dir;    /* default BERTH_MODULE_DIR */
	char *run_dir;       /* control socket directory; default BERTH_RUN_DIR */
	char *control_socket; /* berthctl's unix socket; "" = none; default <run_dir>/berthd.sock */
	int stop_timeout;    /* seconds, default 30, 1..3600 */
	int max_workers;     /* worker threads at most, default 32, 1..1024 */
	int queue_limit;     /* queued commands at most, default 1024, 1..1000000 */
	int max_payload;     /* bytes of one envelope, default 65536, 1024..16777216 */
	int max_json_depth;  /* nesting depth, default 16, 2..64 */
	int log_level;       /* enum berth_log_level, default BERTH_LOG_INFO ("info") */
	int log_target;      /* enum log_target, default LOG_TARGET_AUTO ("auto") */
};

enum config_kind {
	CONFIG_BACKEND = 1,
	CONFIG_TRANSPORT = 2,
};

/* One group of the `backends` or `transports` list. */
struct config_instance {
	int kind;              /* enum config_kind */
	const char *module;    /* `module` (required; [a-z0-9_-]+) */
	const char *name;      /* `name`, default: the module name (unique per kind) */
	bool is_default;       /* backends: `default = true` (at most one; else the first) */
	const char *file;      /* where the group is */
	int line;
	const config_setting_t *group; /* owned by the berth_config */
};

struct berth_config {
	char *main_file;
	struct agent_config agent;
	struct config_instance *backends;
	size_t n_backends;
	struct config_instance *transports;
	size_t n_transports;
	config_t *files;       /* every parsed file, kept alive for the groups above */
	size_t n_files;
	char **include_paths;  /* "<dir>/<name>" of relative @include files (instance files) */
	size_t n_include_paths;
};

/* Loads `path` and `<dir of path>/conf.d/ *.conf` (regular files only, hidden files
 * skipped; other entries are ignored with a warning). @include paths are relative to
 * the directory of `path`, in conf.d files too. Checks the agent group completely
 * and each instance's core keys (module, name, default); driver keys are checked later
 * by config_check_instance(). On error returns -1, err->message = "FILE:LINE: KEY: why". */
int config_load(const char *path, struct berth_config **out, berth_error *err);
void config_free(struct berth_config *cfg);

/* Checks an instance group against its driver's options: unknown keys, wrong types,
 * missing required keys. */
int config_check_instance(const struct config_instance *inst, const berth_option *options,
			  berth_error *err);

/* ---- berth_settings for module open() ----
 * A berth_settings is a config_instance; these implement the berth_host accessors.
 * config_setting_string(s, "name") gives the instance's effective name (the module's
 * when `name` is absent). config_setting_invalid() formats
 * "FILE:LINE: <kind>.<name>.<key>: <message>" with the key's own line when the key is
 * present, else the group's (key may be NULL: "FILE:LINE: <kind>.<name>: <message>"). */
const berth_settings *config_settings(const struct config_instance *inst);
int config_setting_string(const berth_settings *s, const char *key, const char **out);
int config_setting_int(const berth_settings *s, const char *key, long long *out);
int config_setting_bool(const berth_settings *s, const char *key, bool *out);
int config_setting_float(const berth_settings *s, const char *key, double *out);
int config_setting_string_at(const berth_settings *s, const char *key, int index,
			     const char **out);
int config_setting_invalid(const berth_settings *s, const char *key, berth_error *err,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
