/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration: reads berth.conf and conf.d/ *.conf (libconfig), checks the agent group
 * and the core keys of every module instance, checks an instance's driver keys against
 * the driver's option list, and gives modules typed access to their group.
 *
 * Every message starts with "FILE:LINE: " and names the key, so that an administrator
 * finds the mistake without reading the source.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "config.h"
#include "log.h"

#ifndef BERTH_STATE_DIR
#define BERTH_STATE_DIR "/var/lib/berth"
#endif
#ifndef BERTH_MODULE_DIR
#define BERTH_MODULE_DIR "/usr/lib/berth"
#endif
#ifndef BERTH_RUN_DIR
#define BERTH_RUN_DIR "/run/berth"
#endif

#define KIND_NAME(kind) ((kind) == CONFIG_BACKEND ? "backends" : "transports")

/* ---- small helpers ------------------------------------------------------------------- */

/* Fills err with "FILE:LINE: " + the formatted text; returns -1. */
static int __attribute__((format(printf, 5, 0)))
at_verror(berth_error *err, int code, const char *file, unsigned line, const char *fmt,
	  va_list ap)
{
	char text[BERTH_ERROR_MESSAGE_MAX];

	vsnprintf(text, sizeof(text), fmt, ap);
	return berth_error_set(err, code, "%s:%u: %s", file ? file : "(unknown file)", line, text);
}

static int __attribute__((format(printf, 5, 6)))
at_error(berth_error *err, int code, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = at_verror(err, code, file, line, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * The file a setting comes from, as a path the reader can open. libconfig records the
 * name of an @include file as written ("agent.inc"), relative to the include dir; we
 * make it "<include dir>/agent.inc". `raw_ref` is a source name already known to mean
 * `resolved_ref` (the file given to config_read_file(), or an instance group's file).
 * Returns `resolved_ref`, libconfig's name, or `buf`.
 */
static const char *resolve_file(const config_setting_t *s, const char *raw_ref,
				const char *resolved_ref, char *buf, size_t n)
{
	const char *f = s ? config_setting_source_file(s) : NULL;
	const char *dir;
	int r;

	if (!f || (raw_ref && strcmp(f, raw_ref) == 0))
		return resolved_ref;
	dir = s->config ? config_get_include_dir(s->config) : NULL;
	if (f[0] == '/' || !dir)
		return f;
	r = snprintf(buf, n, "%s/%s", dir, f);
	return r < 0 || (size_t)r >= n ? f : buf;
}

/* Error at setting `s`: its own file and line. `top` is the file being read. */
static int __attribute__((format(printf, 4, 5)))
setting_error(berth_error *err, const config_setting_t *s, const char *top, const char *fmt, ...)
{
	char buf[PATH_MAX];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = at_verror(err, BERTH_E_INVALID, resolve_file(s, top, top, buf, sizeof(buf)),
		      config_setting_source_line(s), fmt, ap);
	va_end(ap);
	return r;
}

/* Error at setting `s` of instance `inst`. */
static int __attribute__((format(printf, 4, 5)))
instance_error(berth_error *err, const struct config_instance *inst, const config_setting_t *s,
	       const char *fmt, ...)
{
	char buf[PATH_MAX];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = at_verror(err, BERTH_E_INVALID,
		      resolve_file(s, config_setting_source_file(inst->group), inst->file, buf,
				   sizeof(buf)),
		      s ? config_setting_source_line(s) : (unsigned)inst->line, fmt, ap);
	va_end(ap);
	return r;
}

#define SETTING_ERROR(err, s, top, ...) setting_error((err), (s), (top), __VA_ARGS__)

static bool is_module_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* Instance names: [A-Za-z0-9_.-]+, at most 64 characters. */
static bool is_instance_name(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return n <= 64;
}

/* A Ditto thing id: "<namespace>:<name>". The namespace is Java-package-like
 * ([a-zA-Z][a-zA-Z0-9_]* separated by dots), the name is non-empty, without '/' or
 * control characters, and may contain further colons ("org.example:gw1:edge:containers"). */
static bool is_thing_id(const char *s)
{
	const char *colon = strchr(s, ':');
	const char *p;
	bool start = true;

	if (!colon || colon == s || !colon[1] || strlen(s) > 256)
		return false;
	for (p = s; p < colon; p++) {
		bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
		bool digit = (*p >= '0' && *p <= '9') || *p == '_';

		if (*p == '.') {
			if (start)
				return false;
			start = true;
		} else if (alpha || (digit && !start)) {
			start = false;
		} else {
			return false;
		}
	}
	if (start) /* trailing dot */
		return false;
	for (p = colon + 1; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '/')
			return false;
	return true;
}

static const char *type_expectation(int type)
{
	switch (type) {
	case BERTH_OPT_STRING: return "expected a string";
	case BERTH_OPT_INT: return "expected an integer";
	case BERTH_OPT_BOOL: return "expected a boolean (true or false)";
	case BERTH_OPT_FLOAT: return "expected a number";
	case BERTH_OPT_STRINGS: return "expected a list of strings, e.g. [\"a\", \"b\"]";
	default: return "has an option type the core does not know";
	}
}

static bool is_int_setting(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64;
}

/* ---- agent ---------------------------------------------------------------------------- */

enum agent_key_type { AK_STRING, AK_THING_ID, AK_INT, AK_LOG_LEVEL, AK_LOG_TARGET, AK_SOCKET };

struct agent_key {
	const char *key;
	enum agent_key_type type;
	size_t offset;
	long long min, max; /* AK_INT */
};

#define AGENT_FIELD(f) offsetof(struct agent_config, f)

static const struct agent_key agent_keys[] = {
	{ "thing_id", AK_THING_ID, AGENT_FIELD(thing_id), 0, 0 },
	{ "tenant", AK_STRING, AGENT_FIELD(tenant), 0, 0 },
	{ "device_id", AK_STRING, AGENT_FIELD(device_id), 0, 0 },
	{ "state_dir", AK_STRING, AGENT_FIELD(state_dir), 0, 0 },
	{ "module_dir", AK_STRING, AGENT_FIELD(module_dir), 0, 0 },
	{ "run_dir", AK_STRING, AGENT_FIELD(run_dir), 0, 0 },
	{ "control_socket", AK_SOCKET, AGENT_FIELD(control_socket), 0, 0 },
	{ "stop_timeout", AK_INT, AGENT_FIELD(stop_timeout), 1, 3600 },
	{ "max_workers", AK_INT, AGENT_FIELD(max_workers), 1, 1024 },
	{ "queue_limit", AK_INT, AGENT_FIELD(queue_limit), 1, 1000000 },
	{ "max_payload", AK_INT, AGENT_FIELD(max_payload), 1024, 16777216 },
	{ "max_json_depth", AK_INT, AGENT_FIELD(max_json_depth), 2, 64 },
	{ "log_level", AK_LOG_LEVEL, AGENT_FIELD(log_level), 0, 0 },
	{ "log_target", AK_LOG_TARGET, AGENT_FIELD(log_target), 0, 0 },
};

static int agent_defaults(struct agent_config *a, berth_error *err)
{
	a->state_dir = strdup(BERTH_STATE_DIR);
	a->module_dir = strdup(BERTH_MODULE_DIR);
	a->run_dir = strdup(BERTH_RUN_DIR);
	if (!a->state_dir || !a->module_dir || !a->run_dir)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	a->stop_timeout = 30;
	a->max_workers = 32;
	a->queue_limit = 1024;
	a->max_payload = 65536;
	a->max_json_depth = 16;
	a->log_level = BERTH_LOG_INFO;
	a->log_target = LOG_TARGET_AUTO;
	return 0;
}

static void agent_free(struct agent_config *a)
{
	free(a->thing_id);
	free(a->tenant);
	free(a->device_id);
	free(a->state_dir);
	free(a->module_dir);
	free(a->run_dir);
	free(a->control_socket);
}

static int agent_apply_key(struct agent_config *a, const struct agent_key *k,
			   const config_setting_t *s, const char *file, berth_error *err)
{
	char *base = (char *)a;
	const char *str;

	switch (k->type) {
	case AK_STRING:
	case AK_THING_ID:
	case AK_SOCKET: {
		char *copy, **field = (char **)(base + k->offset);

		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return SETTING_ERROR(err, s, file, "agent.%s: expected a string", k->key);
		str = config_setting_get_string(s);
		if (!*str && k->type != AK_SOCKET) /* "" turns the control socket off */
			return SETTING_ERROR(err, s, file, "agent.%s: must not be empty", k->key);
		if (k->type == AK_SOCKET && *str &&
		    (str[0] != '/' || strlen(str) >= sizeof(((struct sockaddr_un *)0)->sun_path)))
			return SETTING_ERROR(err, s, file, "agent.%s: \"%s\" is not an absolute "
					     "path of at most %zu bytes (\"\" turns the control "
					     "socket off)", k->key, str,
					     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		if (k->type == AK_THING_ID && !is_thing_id(str))
			return SETTING_ERROR(err, s, file,
					     "agent.%s: \"%s\" is not a Ditto thing id (expected "
					     "<namespace>:<name>, e.g. \"edge:device\")",
					     k->key, str);
		copy = strdup(str);
		if (!copy)
			return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		free(*field);
		*field = copy;
		return 0;
	}
	case AK_INT: {
		long long v;

		if (!is_int_setting(s))
			return SETTING_ERROR(err, s, file, "agent.%s: expected an integer", k->key);
		v = config_setting_get_int64(s);
		if (v < k->min || v > k->max)
			return SETTING_ERROR(err, s, file, "agent.%s: must be between %lld and %lld",
					     k->key, k->min, k->max);
		*(int *)(base + k->offset) = (int)v;
		return 0;
	}
	case AK_LOG_LEVEL:
	case AK_LOG_TARGET: {
		bool level = k->type == AK_LOG_LEVEL;
		int v;

		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return SETTING_ERROR(err, s, file, "agent.%s: expected a string", k->key);
		str = config_setting_get_string(s);
		v = level ? log_level_from_name(str) : log_target_from_name(str);
		if (v < 0)
			return SETTING_ERROR(err, s, file, "agent.%s: unknown %s \"%s\" (expected %s)",
					     k->key, level ? "level" : "target", str,
					     level ? "err, warning, notice, info or debug"
						   : "auto, stderr or journal");
		*(int *)(base + k->offset) = v;
		return 0;
	}
	}
	return berth_error_set(err, BERTH_E_INTERNAL, "agent.%s: unhandled key type", k->key);
}

static int agent_apply(struct agent_config *a, const config_setting_t *group, const char *file,
		       berth_error *err)
{
	if (!config_setting_is_group(group))
		return SETTING_ERROR(err, group, file, "agent: expected a group, e.g. agent: { ... };");

	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *key = config_setting_name(s);
		const struct agent_key *k = NULL;

		for (size_t j = 0; j < sizeof(agent_keys) / sizeof(agent_keys[0]); j++)
			if (strcmp(agent_keys[j].key, key) == 0)
				k = &agent_keys[j];
		if (!k)
			return SETTING_ERROR(err, s, file, "agent.%s: unknown key", key);
		if (agent_apply_key(a, k, s, file, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- instances ------------------------------------------------------------------------ */

static bool is_core_key(int kind, const char *key)
{
	return strcmp(key, "module") == 0 || strcmp(key, "name") == 0 ||
	       (kind == CONFIG_BACKEND && strcmp(key, "default") == 0);
}

/* "backends.docker" or, before the name is known, "backends[2]". */
static void instance_label(char *buf, size_t n, int kind, const char *name, int index)
{
	if (name)
		snprintf(buf, n, "%s.%s", KIND_NAME(kind), name);
	else
		snprintf(buf, n, "%s[%d]", KIND_NAME(kind), index);
}

static const struct config_instance *find_instance(const struct config_instance *v, size_t n,
						   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* Sets *out to a lasting name of the file `group` is in: libconfig's own copy of the
 * name, or for a group in a relative @include file "<include dir>/<name>", kept in
 * cfg->include_paths. */
static int instance_file(struct berth_config *cfg, const config_setting_t *group,
			 const char *top, const char **out, berth_error *err)
{
	char buf[PATH_MAX], *copy;
	const char *where = resolve_file(group, top, top, buf, sizeof(buf));
	void *grown;

	if (where != buf) {
		/* libconfig's copy lives as long as the parsed file */
		*out = config_setting_source_file(group) ? config_setting_source_file(group) : top;
		return 0;
	}
	for (size_t i = 0; i < cfg->n_include_paths; i++)
		if (strcmp(cfg->include_paths[i], buf) == 0) {
			*out = cfg->include_paths[i];
			return 0;
		}
	grown = realloc(cfg->include_paths, (cfg->n_include_paths + 1) * sizeof(char *));
	if (!grown)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	cfg->include_paths = grown;
	copy = strdup(buf);
	if (!copy)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	cfg->include_paths[cfg->n_include_paths++] = copy;
	*out = copy;
	return 0;
}

/* Checks one group of a `backends`/`transports` list and appends it. */
static int instance_add(struct berth_config *cfg, int kind, const config_setting_t *group,
			int index, const char *file, berth_error *err)
{
	struct config_instance **vec = kind == CONFIG_BACKEND ? &cfg->backends : &cfg->transports;
	size_t *n = kind == CONFIG_BACKEND ? &cfg->n_backends : &cfg->n_transports;
	struct config_instance inst = { .kind = kind, .group = group };
	const config_setting_t *s;
	const struct config_instance *other;
	char label[160];
	void *grown;

	if (instance_file(cfg, group, file, &inst.file, err) < 0)
		return -1;
	inst.line = (int)config_setting_source_line(group);
	instance_label(label, sizeof(label), kind, NULL, index);

	if (!config_setting_is_group(group))
		return SETTING_ERROR(err, group, file,
				     "%s: expected a group, e.g. { module = \"%s\"; }", label,
				     kind == CONFIG_BACKEND ? "docker" : "mqtt");

	s = config_setting_get_member(group, "module");
	if (!s)
		return SETTING_ERROR(err, group, file, "%s.module: required key missing", label);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return SETTING_ERROR(err, s, file, "%s.module: expected a string", label);
	inst.module = config_setting_get_string(s);
	if (!is_module_name(inst.module))
		return SETTING_ERROR(err, s, file,
				     "%s.module: invalid module name \"%s\" (expected [a-z0-9_-]+)",
				     label, inst.module);
	inst.name = inst.module;

	s = config_setting_get_member(group, "name");
	if (s) {
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return SETTING_ERROR(err, s, file, "%s.name: expected a string", label);
		inst.name = config_setting_get_string(s);
		if (!is_instance_name(inst.name))
			return SETTING_ERROR(err, s, file,
					     "%s.name: invalid name \"%s\" (expected 1 to 64 of "
					     "[A-Za-z0-9_.-])",
					     label, inst.name);
	}
	instance_label(label, sizeof(label), kind, inst.name, index);

	other = find_instance(*vec, *n, inst.name);
	if (other)
		return SETTING_ERROR(err, s ? s : group, file,
				     "%s: duplicate name \"%s\" (also used at %s:%d); give one of "
				     "them a different `name`",
				     label, inst.name, other->file, other->line);

	if (kind == CONFIG_BACKEND) {
		s = config_setting_get_member(group, "default");
		if (s) {
			if (config_setting_type(s) != CONFIG_TYPE_BOOL)
				return SETTING_ERROR(err, s, file,
						     "%s.default: expected a boolean (true or false)",
						     label);
			inst.is_default = config_setting_get_bool(s);
		}
		for (size_t i = 0; inst.is_default && i < *n; i++)
			if ((*vec)[i].is_default)
				return SETTING_ERROR(err, s, file,
						     "%s.default: only one backend may be the default "
						     "(backends.%s at %s:%d already is)",
						     label, (*vec)[i].name, (*vec)[i].file,
						     (*vec)[i].line);
	}

	grown = realloc(*vec, (*n + 1) * sizeof(**vec));
	if (!grown)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	*vec = grown;
	(*vec)[(*n)++] = inst;
	return 0;
}

static int instances_add(struct berth_config *cfg, int kind, const config_setting_t *list,
			 const char *file, berth_error *err)
{
	int n = config_setting_length(list);

	/* `()` is an empty list; `[]` an empty array: both mean "none". */
	if (!config_setting_is_list(list) && !(config_setting_is_array(list) && n == 0))
		return SETTING_ERROR(err, list, file,
				     "%s: expected a list of groups, e.g. %s = ( { module = \"%s\"; } );",
				     KIND_NAME(kind), KIND_NAME(kind),
				     kind == CONFIG_BACKEND ? "docker" : "mqtt");
	for (int i = 0; i < n; i++)
		if (instance_add(cfg, kind, config_setting_get_elem(list, (unsigned)i), i, file,
				 err) < 0)
			return -1;
	return 0;
}

/* ---- files ---------------------------------------------------------------------------- */

static int apply_file(struct berth_config *cfg, const config_t *c, const char *file,
		      berth_error *err)
{
	const config_setting_t *root = config_root_setting(c);

	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *key = config_setting_name(s);
		int r;

		if (strcmp(key, "agent") == 0)
			r = agent_apply(&cfg->agent, s, file, err);
		else if (strcmp(key, "transports") == 0)
			r = instances_add(cfg, CONFIG_TRANSPORT, s, file, err);
		else if (strcmp(key, "backends") == 0)
			r = instances_add(cfg, CONFIG_BACKEND, s, file, err);
		else
			r = SETTING_ERROR(err, s, file,
					  "%s: unknown key (expected agent, transports or backends)",
					  key);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int parse_file(config_t *c, const char *path, const char *include_dir, berth_error *err)
{
	char buf[PATH_MAX];
	struct stat st;
	const char *ef;
	FILE *f;

	/* Opened first only to report the system's reason: libconfig says "file I/O error". */
	f = fopen(path, "r");
	if (!f)
		return berth_error_set(err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INVALID,
				       "%s: cannot read: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return berth_error_set(err, BERTH_E_INVALID, "%s: cannot read: %s", path,
				       strerror(EISDIR));
	}
	fclose(f);

	config_set_include_dir(c, include_dir);
	if (config_read_file(c, path))
		return 0;
	if (config_error_type(c) == CONFIG_ERR_FILE_IO)
		return berth_error_set(err, BERTH_E_INVALID, "%s: cannot read: %s", path,
				       config_error_text(c));
	ef = config_error_file(c);
	if (ef && strcmp(ef, path) != 0 && ef[0] != '/') {
		/* in an @include file, named as written: relative to the include dir */
		int r = snprintf(buf, sizeof(buf), "%s/%s", include_dir, ef);

		if (r > 0 && (size_t)r < sizeof(buf))
			ef = buf;
	}
	return at_error(err, BERTH_E_INVALID, ef ? ef : path, (unsigned)config_error_line(c),
			"syntax error: %s", config_error_text(c));
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The paths of `dir`/ *.conf in strcmp order. A missing dir gives none.
 * *out: malloc()ed array of malloc()ed strings, caller frees. */
static int list_conf_d(const char *dir, char ***out, size_t *n_out, berth_error *err)
{
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n_out = 0;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return berth_error_set(err, BERTH_E_INVALID, "%s: cannot read directory: %s", dir,
				       strerror(errno));
	}
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct stat st;
		char *path;
		void *grown;

		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			goto nomem;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			log_msg(BERTH_LOG_WARNING, NULL, "%s: not a regular file, ignored", path);
			free(path);
			continue;
		}
		grown = realloc(v, (n + 1) * sizeof(*v));
		if (!grown) {
			free(path);
			goto nomem;
		}
		v = grown;
		v[n++] = path;
	}
	if (errno) {
		int e = errno;

		closedir(d);
		free_strv(v, n);
		return berth_error_set(err, BERTH_E_INVALID, "%s: cannot read directory: %s", dir,
				       strerror(e));
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), strcmp_ptr);
	*out = v;
	*n_out = n;
	return 0;
nomem:
	closedir(d);
	free_strv(v, n);
	return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
}

int config_load(const char *path, struct berth_config **out, berth_error *err)
{
	struct berth_config *cfg;
	char *dir_copy = NULL, *dir, *conf_d = NULL;
	char **extra = NULL;
	size_t n_extra = 0;
	FILE *f;

	*out = NULL;
	berth_error_clear(err);

	/* The main file first, so that a missing berth.conf is what gets reported. */
	f = fopen(path, "r");
	if (!f)
		return berth_error_set(err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INVALID,
				       "%s: cannot read: %s", path, strerror(errno));
	fclose(f);

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	cfg->main_file = strdup(path);
	dir_copy = strdup(path);
	if (!cfg->main_file || !dir_copy) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto fail;
	}
	if (agent_defaults(&cfg->agent, err) < 0)
		goto fail;
	dir = dirname(dir_copy);
	if (asprintf(&conf_d, "%s/conf.d", dir) < 0) {
		conf_d = NULL;
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto fail;
	}
	if (list_conf_d(conf_d, &extra, &n_extra, err) < 0)
		goto fail;

	/* Allocated once: libconfig settings point back at their config_t. */
	cfg->files = calloc(1 + n_extra, sizeof(*cfg->files));
	if (!cfg->files) {
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < 1 + n_extra; i++) {
		const char *file = i == 0 ? path : extra[i - 1];
		config_t *c = &cfg->files[i];

		config_init(c);
		cfg->n_files++;
		if (parse_file(c, file, dir, err) < 0 || apply_file(cfg, c, file, err) < 0)
			goto fail;
	}

	/* Derived after every file: a conf.d file may move run_dir. */
	if (!cfg->agent.control_socket &&
	    asprintf(&cfg->agent.control_socket, "%s/berthd.sock", cfg->agent.run_dir) < 0) {
		cfg->agent.control_socket = NULL;
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto fail;
	}

	if (cfg->n_backends) {
		bool any = false;

		for (size_t i = 0; i < cfg->n_backends; i++)
			any |= cfg->backends[i].is_default;
		if (!any)
			cfg->backends[0].is_default = true;
	}

	free_strv(extra, n_extra);
	free(conf_d);
	free(dir_copy);
	*out = cfg;
	return 0;

fail:
	free_strv(extra, n_extra);
	free(conf_d);
	free(dir_copy);
	config_free(cfg);
	return -1;
}

void config_free(struct berth_config *cfg)
{
	if (!cfg)
		return;
	agent_free(&cfg->agent);
	free(cfg->backends);
	free(cfg->transports);
	for (size_t i = 0; i < cfg->n_files; i++)
		config_destroy(&cfg->files[i]);
	free(cfg->files);
	for (size_t i = 0; i < cfg->n_include_paths; i++)
		free(cfg->include_paths[i]);
	free(cfg->include_paths);
	free(cfg->main_file);
	free(cfg);
}

/* ---- driver keys ---------------------------------------------------------------------- */

static bool option_type_matches(int type, const config_setting_t *s, const config_setting_t **bad)
{
	int t = config_setting_type(s);

	*bad = NULL;
	switch (type) {
	case BERTH_OPT_STRING:
		return t == CONFIG_TYPE_STRING;
	case BERTH_OPT_INT:
		return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
	case BERTH_OPT_BOOL:
		return t == CONFIG_TYPE_BOOL;
	case BERTH_OPT_FLOAT:
		return t == CONFIG_TYPE_FLOAT || t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
	case BERTH_OPT_STRINGS:
		if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
			return false;
		for (int i = 0; i < config_setting_length(s); i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

			if (config_setting_type(e) != CONFIG_TYPE_STRING) {
				*bad = e;
				return false;
			}
		}
		return true;
	default:
		return false;
	}
}

/* ", expected one of: a, b, c" when it fits, else "". */
static void known_keys(char *buf, size_t n, int kind, const berth_option *options)
{
	size_t used;
	int r;

	buf[0] = '\0';
	if (!options || !options[0].key)
		return;
	r = snprintf(buf, n, " (known keys: module, name%s", kind == CONFIG_BACKEND ? ", default" : "");
	if (r < 0 || (size_t)r >= n)
		goto none;
	used = (size_t)r;
	for (const berth_option *o = options; o->key; o++) {
		r = snprintf(buf + used, n - used, ", %s", o->key);
		if (r < 0 || (size_t)r >= n - used)
			goto none;
		used += (size_t)r;
	}
	r = snprintf(buf + used, n - used, ")");
	if (r < 0 || (size_t)r >= n - used)
		goto none;
	return;
none:
	buf[0] = '\0';
}

int config_check_instance(const struct config_instance *inst, const berth_option *options,
			  berth_error *err)
{
	const config_setting_t *group = inst->group;
	char label[160];

	instance_label(label, sizeof(label), inst->kind, inst->name, 0);
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i), *bad;
		const char *key = config_setting_name(s);
		const berth_option *opt = NULL;

		if (is_core_key(inst->kind, key))
			continue;
		for (const berth_option *o = options; o && o->key; o++)
			if (strcmp(o->key, key) == 0) {
				opt = o;
				break;
			}
		if (!opt) {
			char known[256];

			known_keys(known, sizeof(known), inst->kind, options);
			return instance_error(err, inst, s, "%s.%s: unknown key for module %s%s",
					     label, key, inst->module, known);
		}
		if (!option_type_matches(opt->type, s, &bad)) {
			if (bad)
				return instance_error(err, inst, bad,
						     "%s.%s: element %d is not a string",
						     label, key, config_setting_index(bad));
			return instance_error(err, inst, s, "%s.%s: %s", label, key,
					     type_expectation(opt->type));
		}
	}
	for (const berth_option *o = options; o && o->key; o++)
		if (o->required && !is_core_key(inst->kind, o->key) &&
		    !config_setting_get_member(group, o->key))
			return at_error(err, BERTH_E_INVALID, inst->file, (unsigned)inst->line,
					"%s.%s: required key missing%s%s%s", label, o->key,
					o->help ? " (" : "", o->help ? o->help : "", o->help ? ")" : "");
	return 0;
}

/* ---- berth_settings ------------------------------------------------------------------- */

const berth_settings *config_settings(const struct config_instance *inst)
{
	return (const berth_settings *)inst;
}

static const struct config_instance *settings_instance(const berth_settings *s)
{
	return (const struct config_instance *)s;
}

static const config_setting_t *settings_member(const berth_settings *s, const char *key)
{
	const struct config_instance *inst = settings_instance(s);

	if (!inst || !inst->group || !key)
		return NULL;
	return config_setting_get_member(inst->group, key);
}

int config_setting_string(const berth_settings *s, const char *key, const char **out)
{
	const config_setting_t *m;

	/* The effective name (the module's when `name` is absent), so drivers can log it. */
	if (key && strcmp(key, "name") == 0 && s) {
		*out = settings_instance(s)->name;
		return 0;
	}
	m = settings_member(s, key);
	if (!m)
		return 1;
	if (config_setting_type(m) != CONFIG_TYPE_STRING)
		return -1;
	*out = config_setting_get_string(m);
	return 0;
}

int config_setting_int(const berth_settings *s, const char *key, long long *out)
{
	const config_setting_t *m = settings_member(s, key);

	if (!m)
		return 1;
	if (!is_int_setting(m))
		return -1;
	*out = config_setting_get_int64(m);
	return 0;
}

int config_setting_bool(const berth_settings *s, const char *key, bool *out)
{
	const config_setting_t *m = settings_member(s, key);

	if (!m)
		return 1;
	if (config_setting_type(m) != CONFIG_TYPE_BOOL)
		return -1;
	*out = config_setting_get_bool(m);
	return 0;
}

int config_setting_float(const berth_settings *s, const char *key, double *out)
{
	const config_setting_t *m = settings_member(s, key);

	if (!m)
		return 1;
	if (config_setting_type(m) == CONFIG_TYPE_FLOAT)
		*out = config_setting_get_float(m);
	else if (is_int_setting(m))
		*out = (double)config_setting_get_int64(m);
	else
		return -1;
	return 0;
}

int config_setting_string_at(const berth_settings *s, const char *key, int index,
			     const char **out)
{
	const config_setting_t *m = settings_member(s, key), *e;

	if (!m)
		return 1;
	if (!config_setting_is_array(m) && !config_setting_is_list(m))
		return -1;
	if (index < 0)
		return -1;
	if (index >= config_setting_length(m))
		return 1;
	e = config_setting_get_elem(m, (unsigned)index);
	if (config_setting_type(e) != CONFIG_TYPE_STRING)
		return -1;
	*out = config_setting_get_string(e);
	return 0;
}

int config_setting_invalid(const berth_settings *s, const char *key, berth_error *err,
			   const char *fmt, ...)
{
	const struct config_instance *inst = settings_instance(s);
	const config_setting_t *m = settings_member(s, key);
	char text[BERTH_ERROR_MESSAGE_MAX], buf[PATH_MAX];
	const char *file;
	unsigned line;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!inst)
		return berth_error_set(err, BERTH_E_INVALID, "%s: %s", key ? key : "?", text);
	file = resolve_file(m, config_setting_source_file(inst->group), inst->file, buf,
			    sizeof(buf));
	line = m ? config_setting_source_line(m) : (unsigned)inst->line;
	if (key)
		return at_error(err, BERTH_E_INVALID, file, line, "%s.%s.%s: %s",
				KIND_NAME(inst->kind), inst->name, key, text);
	return at_error(err, BERTH_E_INVALID, file, line, "%s.%s: %s", KIND_NAME(inst->kind),
			inst->name, text);
}
