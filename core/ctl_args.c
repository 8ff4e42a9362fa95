/* SPDX-License-Identifier: Apache-2.0 */
/* berthctl's pure part: command line parsing and the Ditto envelopes it sends. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_args.h"

#define MAX_ENV 256

static int usage_error(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int usage_error(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- verbs and their options -------------------------------------------------------- */

enum opt_id {
	O_NAME = 1, O_START, O_ENV, O_RESTART, O_MEMORY, O_MEMORY_RESERVATION, O_MEMORY_SWAP,
	O_BACKEND, O_SIGNAL, O_TIMEOUT, O_FORCE,
};

struct opt {
	const char *name; /* without "--" */
	int id;           /* enum opt_id */
	bool has_arg;
};

static const struct opt create_opts[] = {
	{ "name", O_NAME, true },       { "start", O_START, false },
	{ "env", O_ENV, true },         { "restart", O_RESTART, true },
	{ "memory", O_MEMORY, true },   { "memory-reservation", O_MEMORY_RESERVATION, true },
	{ "memory-swap", O_MEMORY_SWAP, true }, { "backend", O_BACKEND, true },
	{ NULL, 0, false },
};
static const struct opt stop_opts[] = {
	{ "signal", O_SIGNAL, true }, { "timeout", O_TIMEOUT, true }, { "force", O_FORCE, false },
	{ NULL, 0, false },
};
static const struct opt update_opts[] = {
	{ "restart", O_RESTART, true },  { "memory", O_MEMORY, true },
	{ "memory-reservation", O_MEMORY_RESERVATION, true },
	{ "memory-swap", O_MEMORY_SWAP, true }, { NULL, 0, false },
};
static const struct opt remove_opts[] = { { "force", O_FORCE, false }, { NULL, 0, false } };
static const struct opt no_opts[] = { { NULL, 0, false } };

static const struct verb {
	const char *name;
	int verb;
	int positionals;     /* exactly this many */
	const char *args;    /* for messages */
	const char *op;      /* Ditto operation; NULL: not a command */
	const struct opt *opts;
} verbs[] = {
	{ "list", CTL_LIST, 0, "", NULL, no_opts },
	{ "ps", CTL_LIST, 0, "", NULL, no_opts },
	{ "show", CTL_SHOW, 1, "ID|NAME", NULL, no_opts },
	{ "status", CTL_STATUS, 0, "", NULL, no_opts },
	{ "create", CTL_CREATE, 1, "IMAGE", "createWithConfig", create_opts },
	{ "start", CTL_START, 1, "ID|NAME", "start", no_opts },
	{ "stop", CTL_STOP, 1, "ID|NAME", "stop", stop_opts },
	{ "pause", CTL_PAUSE, 1, "ID|NAME", "pause", no_opts },
	{ "resume", CTL_RESUME, 1, "ID|NAME", "resume", no_opts },
	{ "rename", CTL_RENAME, 2, "ID|NAME NEWNAME", "rename", no_opts },
	{ "update", CTL_UPDATE, 1, "ID|NAME", "update", update_opts },
	{ "remove", CTL_REMOVE, 1, "ID|NAME", "remove", remove_opts },
	{ "rm", CTL_REMOVE, 1, "ID|NAME", "remove", remove_opts },
	{ "raw", CTL_RAW, 1, "'<Ditto envelope JSON>'", NULL, no_opts },
	{ "help", CTL_HELP, 0, "", NULL, no_opts },
	{ "version", CTL_VERSION, 0, "", NULL, no_opts },
};

bool ctl_verb_is_container_op(int verb)
{
	switch (verb) {
	case CTL_START:
	case CTL_STOP:
	case CTL_PAUSE:
	case CTL_RESUME:
	case CTL_RENAME:
	case CTL_UPDATE:
	case CTL_REMOVE:
		return true;
	default:
		return false;
	}
}

/* ---- values -------------------------------------------------------------------------- */

/* What the options of one command said. */
struct opts_seen {
	const char *name, *restart, *memory, *reservation, *swap, *backend, *signal;
	const char *env[MAX_ENV];
	int n_env;
	bool start, force, has_timeout;
	long timeout;
};

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* no | always | unless-stopped | on-failure[:N] (or the wire names NO, ALWAYS, ...) ->
 * the Container API's restartPolicy object. */
static json_object *restart_policy(const char *s, char *err, size_t len)
{
	static const struct {
		const char *cli, *wire;
	} types[] = {
		{ "no", "NO" },
		{ "always", "ALWAYS" },
		{ "unless-stopped", "UNLESS_STOPPED" },
		{ "on-failure", "ON_FAILURE" },
	};
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	json_object *o;
	long retries = -1;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if ((strlen(types[i].cli) != n || strncmp(s, types[i].cli, n) != 0) &&
		    (strlen(types[i].wire) != n || strncmp(s, types[i].wire, n) != 0))
			continue;
		if (colon && (i != 3 || parse_long(colon + 1, 0, INT_MAX, &retries) < 0))
			break;
		o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string(types[i].wire));
		if (retries >= 0)
			json_object_object_add(o, "maxRetryCount",
					       json_object_new_int((int)retries));
		return o;
	}
	usage_error(err, len, "invalid restart policy '%s': expected no, always, unless-stopped, "
		    "on-failure or on-failure:N (N retries)", s);
	return NULL;
}

/* {"memory": ..., "memoryReservation": ..., "memorySwap": ...} with the sizes given, as
 * strings (berthd parses and checks them: "200m", "1.2g", "-1"); NULL when none. */
static json_object *resources(const struct opts_seen *o)
{
	json_object *r;

	if (!o->memory && !o->reservation && !o->swap)
		return NULL;
	r = json_object_new_object();
	if (o->memory)
		json_object_object_add(r, "memory", json_object_new_string(o->memory));
	if (o->reservation)
		json_object_object_add(r, "memoryReservation",
				       json_object_new_string(o->reservation));
	if (o->swap)
		json_object_object_add(r, "memorySwap", json_object_new_string(o->swap));
	return r;
}

static int build_create(struct ctl_cmd *cmd, const char *image, const struct opts_seen *o,
			char *const cmdline[], int n_cmdline, char *err, size_t len)
{
	json_object *v = json_object_new_object(), *config = json_object_new_object(), *r;

	json_object_object_add(v, "imageRef", json_object_new_string(image));
	json_object_object_add(v, "start", json_object_new_boolean(o->start));
	if (o->name)
		json_object_object_add(v, "name", json_object_new_string(o->name));
	if (o->backend)
		json_object_object_add(v, "backend", json_object_new_string(o->backend));
	if (o->n_env) {
		json_object *arr = json_object_new_array();

		for (int i = 0; i < o->n_env; i++)
			json_object_array_add(arr, json_object_new_string(o->env[i]));
		json_object_object_add(config, "env", arr);
	}
	if (n_cmdline) {
		json_object *arr = json_object_new_array();

		for (int i = 0; i < n_cmdline; i++)
			json_object_array_add(arr, json_object_new_string(cmdline[i]));
		json_object_object_add(config, "cmd", arr);
	}
	if (o->restart) {
		if (!(r = restart_policy(o->restart, err, len))) {
			json_object_put(v);
			json_object_put(config);
			return -1;
		}
		json_object_object_add(config, "restartPolicy", r);
	}
	if ((r = resources(o)))
		json_object_object_add(config, "resources", r);
	if (json_object_object_length(config))
		json_object_object_add(v, "config", config);
	else
		json_object_put(config);
	cmd->value = v;
	return 0;
}

static int build_value(struct ctl_cmd *cmd, char *const pos[], const struct opts_seen *o,
		       char *const cmdline[], int n_cmdline, char *err, size_t len)
{
	json_object *v, *r;

	switch (cmd->verb) {
	case CTL_CREATE:
		return build_create(cmd, pos[0], o, cmdline, n_cmdline, err, len);
	case CTL_STOP:
		if (!o->signal && !o->has_timeout && !o->force)
			return 0; /* plain stop: SIGTERM, the agent's timeout, then SIGKILL */
		cmd->op = "stopWithOptions";
		v = json_object_new_object();
		if (o->signal)
			json_object_object_add(v, "signal", json_object_new_string(o->signal));
		if (o->has_timeout)
			json_object_object_add(v, "timeout", json_object_new_int((int)o->timeout));
		json_object_object_add(v, "force", json_object_new_boolean(o->force));
		cmd->value = v;
		return 0;
	case CTL_RENAME:
		cmd->value = json_object_new_string(pos[1]);
		return 0;
	case CTL_UPDATE:
		if (!o->restart && !o->memory && !o->reservation && !o->swap)
			return usage_error(err, len, "update: give at least one of --restart, "
					   "--memory, --memory-reservation, --memory-swap");
		v = json_object_new_object();
		if (o->restart) {
			if (!(r = restart_policy(o->restart, err, len))) {
				json_object_put(v);
				return -1;
			}
			json_object_object_add(v, "restartPolicy", r);
		}
		if ((r = resources(o)))
			json_object_object_add(v, "resources", r);
		cmd->value = v;
		return 0;
	case CTL_REMOVE:
		cmd->value = json_object_new_boolean(o->force);
		return 0;
	default:
		return 0; /* start, pause, resume: no value */
	}
}

/* ---- the command line ------------------------------------------------------------------ */

/* The value of option `name`: "--name=value" (inline) or the next argument. */
static int take_value(const char *verb, const char *name, const char *inline_value, int argc,
		      char *const argv[], int *i, const char **out, char *err, size_t len)
{
	if (inline_value) {
		*out = inline_value;
		return 0;
	}
	if (*i + 1 >= argc)
		return usage_error(err, len, "%s%s--%s needs a value", verb ? verb : "",
				   verb ? ": " : "", name);
	*out = argv[++*i];
	return 0;
}

static int parse_timeout(const char *verb, const char *s, long *out, char *err, size_t len)
{
	if (parse_long(s, 0, 86400, out) < 0)
		return usage_error(err, len,
				   "%s%s--timeout '%s': expected whole seconds (0..86400)",
				   verb ? verb : "", verb ? ": " : "", s);
	return 0;
}

/* Options berthctl takes anywhere: --json, --socket. Returns 1 when `arg` was one. */
static int global_option(struct ctl_cmd *cmd, const char *verb, const char *arg, int argc,
			 char *const argv[], int *i, char *err, size_t len)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);

	if ((n == 6 && strncmp(arg, "--json", n) == 0 && !eq) || strcmp(arg, "-j") == 0) {
		cmd->json = true;
		return 1;
	}
	if ((n == 8 && strncmp(arg, "--socket", n) == 0) || strcmp(arg, "-s") == 0)
		return take_value(verb, "socket", eq ? eq + 1 : NULL, argc, argv, i, &cmd->socket,
				  err, len) < 0 ? -1 : 1;
	return 0;
}

static int command_option(const struct verb *v, struct opts_seen *o, const char *arg, int argc,
			  char *const argv[], int *i, char *err, size_t len)
{
	const char *eq, *val = NULL;
	const struct opt *opt = NULL;
	size_t n;

	if (strcmp(arg, "-f") == 0 && v->opts == remove_opts)
		arg = "--force"; /* as docker rm -f */
	eq = strchr(arg, '=');
	n = eq ? (size_t)(eq - arg) - 2 : strlen(arg) - 2;
	if (strncmp(arg, "--", 2) == 0)
		for (const struct opt *p = v->opts; p->name; p++)
			if (strlen(p->name) == n && strncmp(arg + 2, p->name, n) == 0)
				opt = p;
	if (!opt)
		return usage_error(err, len, "%s: unknown option '%s' (see berthctl --help)",
				   v->name, arg);
	if (opt->has_arg) {
		if (take_value(v->name, opt->name, eq ? eq + 1 : NULL, argc, argv, i, &val, err,
			       len) < 0)
			return -1;
	} else if (eq) {
		return usage_error(err, len, "%s: --%s takes no value", v->name, opt->name);
	}
	switch (opt->id) {
	case O_NAME: o->name = val; break;
	case O_START: o->start = true; break;
	case O_ENV:
		if (!*val || *val == '=')
			return usage_error(err, len, "%s: --env '%s': expected NAME=VALUE",
					   v->name, val);
		if (o->n_env == MAX_ENV)
			return usage_error(err, len, "%s: more than %d --env options", v->name,
					   MAX_ENV);
		o->env[o->n_env++] = val;
		break;
	case O_RESTART: o->restart = val; break;
	case O_MEMORY: o->memory = val; break;
	case O_MEMORY_RESERVATION: o->reservation = val; break;
	case O_MEMORY_SWAP: o->swap = val; break;
	case O_BACKEND: o->backend = val; break;
	case O_SIGNAL:
		if (!*val)
			return usage_error(err, len, "%s: --signal needs a signal, e.g. SIGINT",
					   v->name);
		o->signal = val;
		break;
	case O_TIMEOUT:
		if (parse_timeout(v->name, val, &o->timeout, err, len) < 0)
			return -1;
		o->has_timeout = true;
		break;
	case O_FORCE: o->force = true; break;
	}
	return 0;
}

int ctl_parse_args(int argc, char *const argv[], struct ctl_cmd *cmd, char *err, size_t errlen)
{
	const struct verb *v = NULL;
	struct opts_seen o = { 0 };
	char *pos[2];
	int n_pos = 0, i, r, cmdline_at = argc;

	memset(cmd, 0, sizeof(*cmd));
	cmd->timeout_s = CTL_DEFAULT_TIMEOUT;
	err[0] = '\0';

	/* global options, then the command */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cmd->verb = CTL_HELP;
			return 0;
		}
		if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			cmd->verb = CTL_VERSION;
			return 0;
		}
		if (strcmp(a, "--timeout") == 0 || strncmp(a, "--timeout=", 10) == 0) {
			const char *val = NULL;
			long t;

			if (take_value(NULL, "timeout", a[9] ? a + 10 : NULL, argc, argv, &i, &val,
				       err, errlen) < 0 ||
			    parse_timeout(NULL, val, &t, err, errlen) < 0)
				return -1;
			cmd->timeout_s = (int)t;
			continue;
		}
		r = global_option(cmd, NULL, a, argc, argv, &i, err, errlen);
		if (r < 0)
			return -1;
		if (r)
			continue;
		if (a[0] == '-')
			return usage_error(err, errlen, "unknown option '%s' (see berthctl --help)",
					   a);
		break;
	}
	if (i >= argc)
		return usage_error(err, errlen, "no command given (see berthctl --help)");
	for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++)
		if (strcmp(verbs[k].name, argv[i]) == 0)
			v = &verbs[k];
	if (!v)
		return usage_error(err, errlen, "unknown command '%s' (see berthctl --help)",
				   argv[i]);
	cmd->verb = v->verb;
	cmd->op = v->op;
	cmd->factory = v->verb == CTL_CREATE;

	/* the command's options and arguments, in any order; "--" ends the options (create:
	 * what follows is the container's command line) */
	for (i++; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			if (v->verb == CTL_CREATE) {
				cmdline_at = i + 1;
				break;
			}
			for (i++; i < argc; i++) {
				if (n_pos == v->positionals)
					return usage_error(err, errlen,
							   "%s: unexpected argument '%s'",
							   v->name, argv[i]);
				pos[n_pos++] = argv[i];
			}
			break;
		}
		if (a[0] == '-' && a[1]) {
			if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
				cmd->verb = CTL_HELP;
				return 0;
			}
			r = global_option(cmd, v->name, a, argc, argv, &i, err, errlen);
			if (r < 0)
				return -1;
			if (!r && command_option(v, &o, a, argc, argv, &i, err, errlen) < 0)
				return -1;
			continue;
		}
		if (n_pos == v->positionals)
			return usage_error(err, errlen, "%s: unexpected argument '%s'", v->name, a);
		pos[n_pos++] = (char *)a;
	}
	if (n_pos < v->positionals)
		return usage_error(err, errlen, "%s needs %s", v->name, v->args);
	if (cmdline_at < argc && v->verb != CTL_CREATE)
		return usage_error(err, errlen, "%s: unexpected arguments after --", v->name);

	if (v->verb == CTL_RAW)
		cmd->raw = pos[0];
	else if (v->positionals >= 1 && v->verb != CTL_CREATE)
		cmd->target = pos[0];
	if (cmd->target && !*cmd->target)
		return usage_error(err, errlen, "%s: the container id or name is empty", v->name);
	if (build_value(cmd, pos, &o, argv + cmdline_at, argc - cmdline_at, err, errlen) < 0) {
		ctl_cmd_release(cmd);
		return -1;
	}
	return 0;
}

void ctl_cmd_release(struct ctl_cmd *cmd)
{
	json_object_put(cmd->value);
	cmd->value = NULL;
}

/* ---- envelopes -------------------------------------------------------------------------- */

int ctl_topic(const char *thing_id, const char *op, char *buf, size_t len)
{
	const char *colon = thing_id ? strchr(thing_id, ':') : NULL;
	int n;

	if (!colon || colon == thing_id || !colon[1])
		return -1;
	n = snprintf(buf, len, "%.*s/%s/things/live/messages/%s", (int)(colon - thing_id),
		     thing_id, colon + 1, op);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

json_object *ctl_envelope(const struct ctl_cmd *cmd, const char *thing_id,
			  const char *container_id, const char *correlation_id, char *err,
			  size_t errlen)
{
	char topic[512], path[512];
	json_object *env, *headers;
	int n;

	if (!cmd->op) {
		usage_error(err, errlen, "this command sends no Container API operation");
		return NULL;
	}
	if (ctl_topic(thing_id, cmd->op, topic, sizeof(topic)) < 0) {
		usage_error(err, errlen, "the agent's thing id '%s' is not <namespace>:<name>",
			    thing_id ? thing_id : "(unknown)");
		return NULL;
	}
	if (cmd->factory)
		n = snprintf(path, sizeof(path), "/features/ContainerFactory/inbox/messages/%s",
			     cmd->op);
	else
		n = snprintf(path, sizeof(path), "/features/Container:%s/inbox/messages/%s",
			     container_id ? container_id : "", cmd->op);
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    (!cmd->factory && !(container_id && *container_id))) {
		usage_error(err, errlen, "invalid container id");
		return NULL;
	}
	headers = json_object_new_object();
	json_object_object_add(headers, "correlation-id", json_object_new_string(correlation_id));
	json_object_object_add(headers, "response-required", json_object_new_boolean(1));
	/* as Kanto's cloud side sends it: a content type exactly when there is a value */
	if (cmd->value)
		json_object_object_add(headers, "content-type",
				       json_object_new_string("application/json"));
	env = json_object_new_object();
	json_object_object_add(env, "topic", json_object_new_string(topic));
	json_object_object_add(env, "headers", headers);
	json_object_object_add(env, "path", json_object_new_string(path));
	if (cmd->value)
		json_object_object_add(env, "value", json_object_get(cmd->value));
	return env;
}

/* ---- answers -------------------------------------------------------------------------- */

static const char *member_string(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

const char *ctl_resolve(json_object *containers, const char *arg, bool *ambiguous)
{
	size_t n = containers && json_object_is_type(containers, json_type_array)
			   ? json_object_array_length(containers) : 0;
	const char *found = NULL;
	int matches = 0;

	*ambiguous = false;
	for (size_t i = 0; i < n; i++) {
		const char *id = member_string(json_object_array_get_idx(containers, i), "id");

		if (id && strcmp(id, arg) == 0)
			return id;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(containers, i);
		const char *name = member_string(c, "name");

		if (name && strcmp(name, arg) == 0 && member_string(c, "id"))
			return member_string(c, "id");
	}
	if (strlen(arg) < 4)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *id = member_string(json_object_array_get_idx(containers, i), "id");

		if (id && strncmp(id, arg, strlen(arg)) == 0) {
			found = id;
			matches++;
		}
	}
	if (matches > 1) {
		*ambiguous = true;
		return NULL;
	}
	return found;
}

const char *ctl_error_text(json_object *answer, char *buf, size_t len)
{
	json_object *response = NULL, *value = NULL, *st;
	const char *message = NULL, *description = NULL;

	if (answer && json_object_object_get_ex(answer, "response", &response) &&
	    json_object_object_get_ex(response, "value", &value) &&
	    json_object_is_type(value, json_type_object)) {
		message = member_string(value, "message");
		description = member_string(value, "description");
	}
	if (!message)
		message = member_string(answer, "error");
	if (message && description && *description)
		snprintf(buf, len, "%s (%s)", message, description);
	else if (message)
		snprintf(buf, len, "%s", message);
	else if (answer && json_object_object_get_ex(answer, "status", &st))
		snprintf(buf, len, "status %d", json_object_get_int(st));
	else
		snprintf(buf, len, "no answer");
	return buf;
}

int ctl_exit_for_status(int status)
{
	return status >= 200 && status < 300 ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}
