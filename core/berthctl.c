/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berthctl: the local CLI. Talks to berthd's control socket (core/control.h): lists and
 * shows containers, and sends Container API commands as the Ditto envelopes the cloud
 * would send, so that they take the same path through berthd as a cloud command.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl_args.h"

#ifndef BERTH_RUN_DIR
#define BERTH_RUN_DIR "/run/berth"
#endif
#define DEFAULT_SOCKET BERTH_RUN_DIR "/berthd.sock"
#define MAX_ANSWER (64u << 20) /* bytes of one answer line */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: berthctl [--socket PATH] [--json] [--timeout S] COMMAND [ARGS...]\n"
		"\n"
		"Operates berthd's containers from the device. Commands go through berthd exactly\n"
		"as the cloud's Container API commands do (the same checks, queue and answers).\n"
		"\n"
		"Commands:\n"
		"  list | ps                      the containers: ID, NAME, BACKEND, STATE, IMAGE\n"
		"  show ID|NAME                   one container's record\n"
		"  status                         the agent: thing, transports, backends, queue\n"
		"  create IMAGE [--name N] [--start] [--env K=V]... [--backend B]\n"
		"         [--restart no|always|unless-stopped|on-failure[:N]]\n"
		"         [--memory SIZE] [--memory-reservation SIZE] [--memory-swap SIZE]\n"
		"         [-- CMD ARGS...]        createWithConfig; prints the new container's id\n"
		"  start|pause|resume ID|NAME\n"
		"  stop ID|NAME [--signal SIG] [--timeout S] [--force]\n"
		"                                 stopWithOptions when an option is given, else\n"
		"                                 stop (SIGTERM, the agent's timeout, SIGKILL)\n"
		"  rename ID|NAME NEWNAME\n"
		"  update ID|NAME [--restart ...] [--memory ...] [--memory-reservation ...]\n"
		"                 [--memory-swap ...]\n"
		"  remove|rm ID|NAME [--force|-f]\n"
		"  raw '<Ditto envelope JSON>'    sends the envelope as is\n"
		"\n"
		"ID|NAME is a container id, a name, or a unique prefix (4+ characters) of an id.\n"
		"Sizes as the Container API takes them: 200m, 1.2g, 500M; -1 = unlimited swap.\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH   berthd's control socket (default $BERTHCTL_SOCKET, else\n"
		"                      " DEFAULT_SOCKET ")\n"
		"  -j, --json          print JSON: the record, the list, the status, or the Ditto\n"
		"                      response envelope of a command\n"
		"      --timeout S     seconds to wait for berthd's answer (default %d; 0 = no\n"
		"                      limit); before COMMAND (after `stop` it is the stop's)\n"
		"  -h, --help          this help\n"
		"  -V, --version       berthctl's version\n"
		"\n"
		"Exit status:\n"
		"  0  success\n"
		"  1  the operation failed: berthd answered 4xx/5xx (the message says why)\n"
		"  2  usage error\n"
		"  3  cannot reach berthd (no socket, connection refused, permission denied)\n"
		"  4  no answer within --timeout (the operation may still complete)\n",
		CTL_DEFAULT_TIMEOUT);
}

/* ---- the connection -------------------------------------------------------------------- */

struct conn {
	int fd;
	const char *path;
	struct timespec deadline; /* tv_sec 0: none */
	char *buf;                /* received, not yet a whole line */
	size_t len, cap;
};

static int ms_left(const struct conn *c)
{
	struct timespec now;
	long long ms;

	if (!c->deadline.tv_sec)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (c->deadline.tv_sec - now.tv_sec) * 1000LL +
	     (c->deadline.tv_nsec - now.tv_nsec) / 1000000LL;
	return ms < 0 ? 0 : ms > 86400000LL ? 86400000 : (int)ms;
}

static int conn_open(struct conn *c, const char *path, int timeout_s)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	c->path = path;
	if (timeout_s > 0) {
		clock_gettime(CLOCK_MONOTONIC, &c->deadline);
		c->deadline.tv_sec += timeout_s;
	}
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "berthctl: socket path %s is too long\n", path);
		return CTL_EXIT_USAGE;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "berthctl: cannot reach berthd at %s: %s%s\n", path,
			strerror(errno), errno == ENOENT || errno == ECONNREFUSED
				? " (is berthd running? is agent.control_socket set elsewhere? "
				  "see --socket)" : "");
		return CTL_EXIT_UNREACHABLE;
	}
	return CTL_EXIT_OK;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

/* Reads one answer line into *answer. Returns an exit code. */
static int read_answer(struct conn *c, json_object **answer)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		ssize_t n;
		int r;

		if (nl) {
			size_t line = (size_t)(nl - c->buf);

			*nl = '\0';
			*answer = json_tokener_parse(c->buf);
			memmove(c->buf, nl + 1, c->len - line - 1);
			c->len -= line + 1;
			if (!*answer || !json_object_is_type(*answer, json_type_object)) {
				json_object_put(*answer);
				*answer = NULL;
				fprintf(stderr, "berthctl: berthd sent an answer that is not a "
					"JSON object\n");
				return CTL_EXIT_UNREACHABLE;
			}
			return CTL_EXIT_OK;
		}
		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *grown;

			if (cap > MAX_ANSWER) {
				fprintf(stderr, "berthctl: berthd's answer is longer than %u "
					"bytes\n", MAX_ANSWER);
				return CTL_EXIT_UNREACHABLE;
			}
			grown = realloc(c->buf, cap);
			if (!grown) {
				fprintf(stderr, "berthctl: out of memory\n");
				return CTL_EXIT_UNREACHABLE;
			}
			c->buf = grown;
			c->cap = cap;
		}
		r = poll(&pfd, 1, ms_left(c));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			fprintf(stderr, "berthctl: no answer from berthd within the timeout; the "
				"operation may still complete (see --timeout)\n");
			return CTL_EXIT_TIMEOUT;
		}
		n = r < 0 ? -1 : read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "berthctl: berthd closed the connection%s%s\n",
				n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			return CTL_EXIT_UNREACHABLE;
		}
		c->len += (size_t)n;
	}
}

static int answer_status(json_object *answer)
{
	json_object *v;

	return json_object_object_get_ex(answer, "status", &v) &&
	       json_object_is_type(v, json_type_int) ? json_object_get_int(v) : 0;
}

/* Sends a request and reads its answer. Consumes req. Returns an exit code; an answer
 * berthd gave (whatever its status) is CTL_EXIT_OK here, except a refused connection. */
static int roundtrip(struct conn *c, json_object *req, json_object **answer)
{
	const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text), off = 0;
	int rc, send_errno = 0;
	char ebuf[512];

	*answer = NULL;
	while (off <= len) {
		/* the line, then its newline */
		const char *p = off < len ? text + off : "\n";
		size_t n = off < len ? len - off : 1;
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			send_errno = errno;
			break;
		}
		off += (size_t)w;
	}
	json_object_put(req);
	/* Even when sending failed, berthd may have said why (403) before it hung up. */
	rc = read_answer(c, answer);
	if (rc != CTL_EXIT_OK && send_errno) {
		fprintf(stderr, "berthctl: cannot send to berthd at %s: %s\n", c->path,
			strerror(send_errno));
		return CTL_EXIT_UNREACHABLE;
	}
	if (rc == CTL_EXIT_OK && answer_status(*answer) == 403) {
		fprintf(stderr, "berthctl: berthd refused the connection: %s\n",
			ctl_error_text(*answer, ebuf, sizeof(ebuf)));
		json_object_put(*answer);
		*answer = NULL;
		return CTL_EXIT_UNREACHABLE;
	}
	return rc;
}

static json_object *request(const char *what)
{
	json_object *req = json_object_new_object();

	json_object_object_add(req, "request", json_object_new_string(what));
	return req;
}

/* ---- printing -------------------------------------------------------------------------- */

static const char *member(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

static void print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Prints a failed answer; returns the exit code. */
static int print_failure(json_object *answer)
{
	char text[1024];

	fprintf(stderr, "error %d: %s\n", answer_status(answer),
		ctl_error_text(answer, text, sizeof(text)));
	return CTL_EXIT_FAILED;
}

static void print_table(json_object *containers)
{
	static const char *const keys[] = { "id", "name", "backend", "state", "image" };
	static const char *const heads[] = { "ID", "NAME", "BACKEND", "STATE", "IMAGE" };
	size_t n = json_object_array_length(containers), w[5];

	for (int k = 0; k < 5; k++)
		w[k] = strlen(heads[k]);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 5; k++) {
			const char *s = member(json_object_array_get_idx(containers, i), keys[k]);

			if (s && strlen(s) > w[k])
				w[k] = strlen(s);
		}
	for (int k = 0; k < 5; k++)
		printf("%-*s%s", k < 4 ? (int)w[k] : 0, heads[k], k < 4 ? "  " : "\n");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 5; k++) {
			const char *s = member(json_object_array_get_idx(containers, i), keys[k]);

			printf("%-*s%s", k < 4 ? (int)w[k] : 0, s ? s : "-", k < 4 ? "  " : "\n");
		}
}

static void print_time_ns(const char *label, json_object *rec, const char *key)
{
	json_object *v;
	char buf[64];
	struct tm tm;
	time_t t;
	int64_t ns;

	if (!json_object_object_get_ex(rec, key, &v) || !(ns = json_object_get_int64(v)))
		return;
	t = (time_t)(ns / 1000000000LL);
	if (gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		printf("%-12s %s\n", label, buf);
}

static void print_record(json_object *rec)
{
	json_object *state = NULL, *config = NULL, *v;
	const char *s;

	json_object_object_get_ex(rec, "state", &state);
	printf("%-12s %s\n", "ID:", member(rec, "id") ? member(rec, "id") : "-");
	printf("%-12s %s\n", "Name:", member(rec, "name") ? member(rec, "name") : "-");
	printf("%-12s %s", "Backend:", member(rec, "backend") ? member(rec, "backend") : "-");
	if ((s = member(rec, "nativeId")))
		printf(" (native id %s)", s);
	printf("\n%-12s %s\n", "Image:", member(rec, "imageRef") ? member(rec, "imageRef") : "-");
	printf("%-12s %s", "State:", member(state, "status") ? member(state, "status") : "-");
	if (json_object_object_get_ex(state, "pid", &v) && json_object_get_int(v) > 0)
		printf(", pid %d", json_object_get_int(v));
	if (json_object_object_get_ex(state, "exitCode", &v))
		printf(", exit code %d", json_object_get_int(v));
	if (json_object_object_get_ex(state, "oomKilled", &v) && json_object_get_boolean(v))
		printf(", killed for lack of memory");
	printf("\n");
	if ((s = member(state, "error")))
		printf("%-12s %s\n", "Error:", s);
	print_time_ns("Created:", rec, "createdAt");
	if ((s = member(state, "startedAt")))
		printf("%-12s %s\n", "Started:", s);
	if ((s = member(state, "finishedAt")))
		printf("%-12s %s\n", "Finished:", s);
	if (json_object_object_get_ex(rec, "restartCount", &v))
		printf("%-12s %d\n", "Restarts:", json_object_get_int(v));
	if (json_object_object_get_ex(rec, "manuallyStopped", &v) && json_object_get_boolean(v))
		printf("%-12s %s\n", "Stopped by:", "a command (restart policies hold off)");
	if (json_object_object_get_ex(rec, "config", &config)) {
		printf("Config:\n");
		print_json(config);
	}
}

static void print_status(json_object *a)
{
	json_object *arr, *v;
	const char *thing = member(a, "thingId"), *tenant = member(a, "tenant");

	printf("berthd %s\n", member(a, "version") ? member(a, "version") : "?");
	printf("%-12s %s%s%s\n", "thing:", thing ? thing : "(not known yet)",
	       tenant ? ", tenant " : "", tenant ? tenant : "");
	printf("%-12s", "transports:");
	if (json_object_object_get_ex(a, "transports", &arr) && json_object_array_length(arr)) {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *t = json_object_array_get_idx(arr, i);

			json_object_object_get_ex(t, "online", &v);
			printf("%s %s (%s) %s", i ? "," : "", member(t, "name"),
			       member(t, "module"),
			       json_object_get_boolean(v) ? "online" : "offline");
		}
		printf("\n");
	} else {
		printf(" none\n");
	}
	if (json_object_object_get_ex(a, "backends", &arr)) {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *b = json_object_array_get_idx(arr, i), *reach, *dflt;
			const char *ver = member(b, "version"), *why = member(b, "error");

			json_object_object_get_ex(b, "reachable", &reach);
			json_object_object_get_ex(b, "default", &dflt);
			printf("%-12s %s (%s)%s: %s%s%s\n", i ? "" : "backends:", member(b, "name"),
			       member(b, "module"),
			       json_object_get_boolean(dflt) ? ", default" : "",
			       json_object_get_boolean(reach) ? "reachable" : "unreachable",
			       ver || why ? ", " : "", ver ? ver : why ? why : "");
		}
	}
	printf("%-12s %s\n", "containers:",
	       member(a, "containers") ? member(a, "containers") : "?");
	printf("%-12s %s pending\n", "queue:",
	       member(a, "queuePending") ? member(a, "queuePending") : "?");
}

/* Prints a command's answer; returns the exit code. */
static int print_command_answer(json_object *answer, bool json)
{
	int status = answer_status(answer);
	json_object *response = NULL, *value = NULL;

	json_object_object_get_ex(answer, "response", &response);
	if (json) {
		print_json(response && !json_object_is_type(response, json_type_null) ? response
										: answer);
		return ctl_exit_for_status(status);
	}
	if (ctl_exit_for_status(status) != CTL_EXIT_OK)
		return print_failure(answer);
	if (response && json_object_object_get_ex(response, "value", &value) && value) {
		if (json_object_is_type(value, json_type_string))
			puts(json_object_get_string(value));
		else
			print_json(value);
	} else {
		puts(status == 202 ? "queued" : "ok");
	}
	return CTL_EXIT_OK;
}

/* ---- commands -------------------------------------------------------------------------- */

/* A random correlation id (UUID v4 form). */
static void new_correlation_id(char *buf, size_t len)
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* no entropy source: time and pid are unique enough locally */
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			for (size_t i = got; i < sizeof(b); i++)
				b[i] = (unsigned char)((ts.tv_nsec >> (i % 4 * 8)) ^ getpid() ^ i);
			break;
		}
		got += (size_t)n;
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(buf, len, "berthctl-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8],
		 b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static int do_list(struct conn *c, const struct ctl_cmd *cmd)
{
	json_object *answer, *containers;
	int rc = roundtrip(c, request("list"), &answer);

	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctl_exit_for_status(answer_status(answer)) != CTL_EXIT_OK) {
		rc = print_failure(answer);
	} else if (!json_object_object_get_ex(answer, "containers", &containers) ||
		   !json_object_is_type(containers, json_type_array)) {
		fprintf(stderr, "berthctl: berthd's list has no containers array\n");
		rc = CTL_EXIT_FAILED;
	} else if (cmd->json) {
		print_json(containers);
	} else {
		print_table(containers);
	}
	json_object_put(answer);
	return rc;
}

/* Resolves cmd->target through a list request: *id is set to a malloc()ed id, the target
 * itself when nothing matches (berthd then answers 404, as it would to the cloud). */
static int resolve(struct conn *c, const char *target, char **id)
{
	json_object *answer, *containers = NULL;
	const char *found;
	bool ambiguous;
	int rc = roundtrip(c, request("list"), &answer);

	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctl_exit_for_status(answer_status(answer)) != CTL_EXIT_OK) {
		rc = print_failure(answer);
		json_object_put(answer);
		return rc;
	}
	json_object_object_get_ex(answer, "containers", &containers);
	found = ctl_resolve(containers, target, &ambiguous);
	if (ambiguous) {
		fprintf(stderr, "berthctl: '%s' is the beginning of several container ids: give "
			"more of it\n", target);
		json_object_put(answer);
		return CTL_EXIT_USAGE;
	}
	*id = strdup(found ? found : target);
	json_object_put(answer);
	return CTL_EXIT_OK;
}

static int do_show(struct conn *c, const struct ctl_cmd *cmd)
{
	json_object *req = request("show"), *answer, *rec;
	char *id = NULL;
	int rc = resolve(c, cmd->target, &id);

	if (rc != CTL_EXIT_OK) {
		json_object_put(req);
		return rc;
	}
	json_object_object_add(req, "id", json_object_new_string(id));
	free(id);
	rc = roundtrip(c, req, &answer);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctl_exit_for_status(answer_status(answer)) != CTL_EXIT_OK)
		rc = print_failure(answer);
	else if (!json_object_object_get_ex(answer, "container", &rec))
		rc = print_failure(answer);
	else if (cmd->json)
		print_json(rec);
	else
		print_record(rec);
	json_object_put(answer);
	return rc;
}

static int get_status(struct conn *c, json_object **answer, json_object **agent)
{
	int rc = roundtrip(c, request("status"), answer);

	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctl_exit_for_status(answer_status(*answer)) != CTL_EXIT_OK ||
	    !json_object_object_get_ex(*answer, "agent", agent)) {
		rc = print_failure(*answer);
		json_object_put(*answer);
		*answer = NULL;
	}
	return rc;
}

static int do_status(struct conn *c, const struct ctl_cmd *cmd)
{
	json_object *answer, *agent;
	int rc = get_status(c, &answer, &agent);

	if (rc != CTL_EXIT_OK)
		return rc;
	if (cmd->json)
		print_json(agent);
	else
		print_status(agent);
	json_object_put(answer);
	return CTL_EXIT_OK;
}

/* Sends an envelope (an object, or for raw its text) and prints the answer. */
static int send_command(struct conn *c, const struct ctl_cmd *cmd, json_object *envelope)
{
	json_object *req = request("command"), *answer;
	int rc;

	json_object_object_add(req, "envelope", envelope);
	rc = roundtrip(c, req, &answer);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = print_command_answer(answer, cmd->json);
	json_object_put(answer);
	return rc;
}

static int do_operation(struct conn *c, const struct ctl_cmd *cmd)
{
	json_object *status, *agent, *envelope;
	char correlation_id[64], err[256], *id = NULL;
	const char *thing;
	int rc = get_status(c, &status, &agent);

	if (rc != CTL_EXIT_OK)
		return rc;
	thing = member(agent, "thingId");
	if (!thing) {
		fprintf(stderr, "berthctl: berthd has not learned its thing id yet (no transport "
			"has connected): it cannot take commands until it has\n");
		json_object_put(status);
		return CTL_EXIT_FAILED;
	}
	if (!cmd->factory && (rc = resolve(c, cmd->target, &id)) != CTL_EXIT_OK) {
		json_object_put(status);
		return rc;
	}
	new_correlation_id(correlation_id, sizeof(correlation_id));
	envelope = ctl_envelope(cmd, thing, id, correlation_id, err, sizeof(err));
	free(id);
	json_object_put(status);
	if (!envelope) {
		fprintf(stderr, "berthctl: %s\n", err);
		return CTL_EXIT_USAGE;
	}
	return send_command(c, cmd, envelope);
}

int main(int argc, char **argv)
{
	struct ctl_cmd cmd;
	struct conn c = { .fd = -1 };
	const char *path;
	char err[512];
	int rc;

	if (ctl_parse_args(argc, argv, &cmd, err, sizeof(err)) < 0) {
		fprintf(stderr, "berthctl: %s\n", err);
		return CTL_EXIT_USAGE;
	}
	if (cmd.verb == CTL_HELP) {
		usage(stdout);
		return CTL_EXIT_OK;
	}
	if (cmd.verb == CTL_VERSION) {
		printf("berthctl %s\n", PACKAGE_VERSION);
		return CTL_EXIT_OK;
	}
	path = cmd.socket ? cmd.socket : getenv("BERTHCTL_SOCKET");
	if (!path || !*path)
		path = DEFAULT_SOCKET;
	rc = conn_open(&c, path, cmd.timeout_s);
	if (rc == CTL_EXIT_OK) {
		switch (cmd.verb) {
		case CTL_LIST:
			rc = do_list(&c, &cmd);
			break;
		case CTL_SHOW:
			rc = do_show(&c, &cmd);
			break;
		case CTL_STATUS:
			rc = do_status(&c, &cmd);
			break;
		case CTL_RAW:
			rc = send_command(&c, &cmd, json_object_new_string(cmd.raw));
			break;
		default:
			rc = do_operation(&c, &cmd);
			break;
		}
	}
	conn_close(&c);
	ctl_cmd_release(&cmd);
	if (fflush(stdout) != 0 && rc == CTL_EXIT_OK)
		rc = CTL_EXIT_FAILED;
	return rc;
}
