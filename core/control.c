/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket: berthctl's unix socket, a transport built into the core. Commands
 * go through command_inbound() like a cloud command; list/show/status read the tables.
 * Protocol and threading in control.h.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "backends.h"
#include "command.h"
#include "container.h"
#include "control.h"
#include "ditto.h"
#include "identity.h"
#include "log.h"
#include "queue.h"
#include "transports.h"

#define READ_CHUNK 4096
#define PARSE_DEPTH 80    /* a request wraps an envelope of up to agent.max_json_depth (64) */
#define TOKEN_MAX 64

struct client {
	int fd;            /* -1: the slot is free */
	unsigned gen;      /* bumped whenever the slot is freed: a late answer cannot reach a
			    * newer connection in the same slot */
	unsigned long long seq;  /* requests taken from this connection */
	bool waiting;      /* a command is in the core; nothing more is read until it answers */
	bool hangup;       /* close once `out` is written */
	char *out;         /* the response being written (malloc()ed), or NULL */
	size_t out_len, out_off;
	/* control thread only: */
	char *in;          /* bytes received and not handled yet */
	size_t in_len, in_cap;
	bool eof;          /* the peer shut down its side: answer what it sent, then close */
};

struct control {
	struct berth_transport_handle *t;
	char *path;
	size_t max_request;
	int listen_fd;
	int wake_fd;
	bool created;      /* the socket file at `path` is ours (dev/ino), unlink it at close */
	dev_t dev;
	ino_t ino;
	pthread_t thread;
	bool running;

	pthread_mutex_t lock; /* guards quit and clients[] except the thread-only fields */
	bool quit;
	struct client clients[CONTROL_MAX_CLIENTS];

	/* Held across command_inbound(): after stop() returns, no command enters the core. */
	pthread_mutex_t intake_lock;
	bool stopping;
};

/* ---- small helpers ---------------------------------------------------------------- */

static void wake(struct control *ctl)
{
	uint64_t one = 1;

	if (write(ctl->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("control: cannot wake the control thread: %s", strerror(errno));
}

/* One response line. Consumes o. returns: malloc()ed "<json>\n", or NULL */
static char *line_from(json_object *o, size_t *len)
{
	const char *text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
	char *line = NULL;

	if (text) {
		*len = strlen(text) + 1;
		line = malloc(*len + 1);
		if (line) {
			memcpy(line, text, *len - 1);
			line[*len - 1] = '\n';
			line[*len] = '\0';
		}
	}
	json_object_put(o);
	return line;
}

static json_object *status_object(int status)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_int(status));
	return o;
}

static json_object *error_object(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static json_object *error_object(int status, const char *fmt, ...)
{
	char text[512];
	json_object *o = status_object(status);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(text));
	return o;
}

static void add_string(json_object *o, const char *key, const char *value)
{
	if (value)
		json_object_object_add(o, key, json_object_new_string(value));
}

static void add_time(json_object *o, const char *key, int64_t ns)
{
	char buf[64];

	if (ns)
		add_string(o, key, container_format_time(ns, buf, sizeof(buf)));
}

/* Closes a connection after reading away what it sent and nobody will read: a unix
 * socket closed with unread data makes the peer's next read fail (ECONNRESET), before it
 * can read the answer it was sent. */
static void drain_and_close(int fd)
{
	char sink[4096];

	for (int i = 0; i < 256 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	close(fd);
}

/* Sends a short line to a connection that is being refused and never polled (best
 * effort: the socket buffer of a fresh connection has room). */
static void refuse(int fd, json_object *o)
{
	size_t len;
	char *line = line_from(o, &len);

	if (line && send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("control: cannot tell a refused client why: %s", strerror(errno));
	free(line);
	drain_and_close(fd);
}

/* ---- clients ---------------------------------------------------------------------- */

/* Queues the response to the client's current request (control thread). */
static void respond(struct control *ctl, struct client *c, json_object *o)
{
	size_t len = 0;
	char *line = line_from(o, &len);

	pthread_mutex_lock(&ctl->lock);
	if (line) {
		c->out = line;
		c->out_len = len;
		c->out_off = 0;
	} else {
		log_err("control: cannot encode a response: out of memory");
		c->hangup = true;
	}
	pthread_mutex_unlock(&ctl->lock);
}

static void client_close(struct control *ctl, struct client *c)
{
	pthread_mutex_lock(&ctl->lock);
	if (c->fd >= 0)
		drain_and_close(c->fd);
	c->fd = -1;
	c->gen++;
	c->waiting = false;
	c->hangup = false;
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	pthread_mutex_unlock(&ctl->lock);
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	c->eof = false;
}

/* ---- requests --------------------------------------------------------------------- */

static json_object *list_response(void)
{
	size_t n;
	struct container **list = containers_list(&n);
	json_object *o, *arr;

	if (!list)
		return error_object(500, "out of memory");
	o = status_object(200);
	arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct container *c = list[i];
		json_object *e;

		pthread_mutex_lock(&c->lock);
		if (c->removed) {
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		e = json_object_new_object();
		add_string(e, "id", c->id);
		add_string(e, "name", c->name);
		add_string(e, "backend", c->backend->name);
		add_string(e, "nativeId", c->native_id);
		add_string(e, "image", c->image);
		add_string(e, "state", container_status_name(c->state.status));
		json_object_object_add(e, "pid", json_object_new_int(c->state.pid));
		json_object_object_add(e, "exitCode", json_object_new_int(c->state.exit_code));
		add_string(e, "error", c->state.error);
		add_time(e, "createdAt", c->created_ns);
		add_time(e, "startedAt", c->state.started_ns);
		add_time(e, "finishedAt", c->state.finished_ns);
		json_object_object_add(e, "restartCount", json_object_new_int(c->restart_count));
		pthread_mutex_unlock(&c->lock);
		json_object_array_add(arr, e);
	}
	containers_list_free(list, n);
	json_object_object_add(o, "containers", arr);
	return o;
}

static json_object *show_response(json_object *req)
{
	json_object *v, *o, *rec = NULL;
	struct container *c;
	const char *key;

	if (!json_object_object_get_ex(req, "id", &v) ||
	    !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
		return error_object(400, "show needs \"id\": a container id or name");
	key = json_object_get_string(v);
	c = containers_get(key);
	if (!c)
		c = containers_find_name(key, NULL);
	if (c) {
		pthread_mutex_lock(&c->lock);
		if (!c->removed)
			rec = container_record_json(c);
		pthread_mutex_unlock(&c->lock);
		container_unref(c);
	}
	if (!rec)
		return error_object(404, "no container has the id or name '%.200s'", key);
	o = status_object(200);
	json_object_object_add(o, "container", rec);
	return o;
}

static json_object *status_response(void)
{
	char thing[IDENTITY_MAX], tenant[IDENTITY_MAX];
	json_object *o = status_object(200), *a = json_object_new_object(), *arr, *cmds;
	struct command_stats stats;

	add_string(a, "version", PACKAGE_VERSION);
	json_object_object_add(a, "thingId", identity_thing(thing, sizeof(thing))
						? json_object_new_string(thing) : NULL);
	identity_tenant(tenant, sizeof(tenant));
	json_object_object_add(a, "tenant", *tenant ? json_object_new_string(tenant) : NULL);

	arr = json_object_new_array();
	for (size_t i = 0; i < transports_count(); i++) {
		struct berth_transport_handle *t = transports_at(i);
		json_object *e;

		if (t->builtin)
			continue;
		e = json_object_new_object();
		add_string(e, "name", t->name);
		add_string(e, "module", t->drv->name);
		json_object_object_add(e, "online",
				       json_object_new_boolean(transport_is_online(t)));
		json_object_array_add(arr, e);
	}
	json_object_object_add(a, "transports", arr);

	arr = json_object_new_array();
	for (size_t i = 0; i < backends_count(); i++) {
		struct berth_backend_handle *b = backends_at(i);
		json_object *e = json_object_new_object();

		add_string(e, "name", b->name);
		add_string(e, "module", b->drv->name);
		json_object_object_add(e, "default", json_object_new_boolean(b->is_default));
		pthread_mutex_lock(&b->lock);
		json_object_object_add(e, "reachable", json_object_new_boolean(b->reachable));
		add_string(e, "version", b->version);
		add_string(e, "error", b->reachable ? NULL : b->why);
		pthread_mutex_unlock(&b->lock);
		json_object_array_add(arr, e);
	}
	json_object_object_add(a, "backends", arr);

	json_object_object_add(a, "containers", json_object_new_int64((int64_t)containers_count()));
	json_object_object_add(a, "queuePending", json_object_new_int64((int64_t)queue_pending()));
	command_stats(&stats);
	cmds = json_object_new_object();
	json_object_object_add(cmds, "received", json_object_new_int64((int64_t)stats.received));
	json_object_object_add(cmds, "answered", json_object_new_int64((int64_t)stats.answered));
	json_object_object_add(cmds, "rejectedEarly",
			       json_object_new_int64((int64_t)stats.rejected_early));
	json_object_object_add(cmds, "busy", json_object_new_int64((int64_t)stats.busy));
	json_object_object_add(a, "commands", cmds);
	json_object_object_add(o, "agent", a);
	return o;
}

/* Whether the core will answer the envelope: it does unless the header response-required
 * is false, read exactly as ditto_decode() reads it. An envelope that is not even JSON
 * is answered (with an error). */
static bool wants_answer(json_object *env)
{
	json_object *headers, *v;
	const char *s;

	if (!json_object_is_type(env, json_type_object) ||
	    !json_object_object_get_ex(env, "headers", &headers) ||
	    !json_object_is_type(headers, json_type_object))
		return true;
	v = ditto_object_get_ci(headers, "response-required");
	if (!v)
		return true;
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	s = json_object_get_string(v);
	return !(json_object_is_type(v, json_type_string) && strcmp(s, "false") == 0);
}

static json_object *parse_text(const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(PARSE_DEPTH);
	json_object *o;

	if (!tok || len > INT_MAX) {
		json_tokener_free(tok);
		return NULL;
	}
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o && json_tokener_get_parse_end(tok) < len) {
		/* trailing bytes: only blanks are allowed */
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (!strchr(" \t\r\n", text[i])) {
				json_object_put(o);
				o = NULL;
				break;
			}
	}
	json_tokener_free(tok);
	return o;
}

/* {"request":"command"}: returns the immediate response, or NULL when the answer comes
 * later through send_reply(). */
static json_object *command_request(struct control *ctl, struct client *c, size_t slot,
				    json_object *req)
{
	char token[TOKEN_MAX];
	json_object *env, *parsed = NULL;
	const char *payload;
	size_t len;
	bool answer;
	int disposition;
	unsigned long long seq;
	berth_inbound msg;

	if (!json_object_object_get_ex(req, "envelope", &env) ||
	    !(json_object_is_type(env, json_type_object) ||
	      json_object_is_type(env, json_type_string)))
		return error_object(400, "command needs \"envelope\": a Ditto envelope (an object, "
				    "or its JSON text)");
	if (json_object_is_type(env, json_type_string)) {
		/* as is: the core's decoder sees exactly these bytes */
		payload = json_object_get_string(env);
		len = (size_t)json_object_get_string_len(env);
		parsed = parse_text(payload, len);
		answer = parsed ? wants_answer(parsed) : true;
		json_object_put(parsed);
	} else {
		payload = json_object_to_json_string_ext(env, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE);
		len = strlen(payload);
		answer = wants_answer(env);
	}

	pthread_mutex_lock(&ctl->intake_lock);
	if (ctl->stopping) {
		pthread_mutex_unlock(&ctl->intake_lock);
		return error_object(503, "berthd is shutting down: it takes no more commands");
	}
	pthread_mutex_lock(&ctl->lock);
	seq = ++c->seq;
	c->waiting = answer;
	pthread_mutex_unlock(&ctl->lock);
	snprintf(token, sizeof(token), "%zu:%u:%llu", slot, c->gen, seq);
	msg = (berth_inbound){
		.size = sizeof(msg),
		.payload = payload,
		.payload_len = len,
		.reply_to = answer ? token : NULL,
		.content_type = "application/json",
	};
	/* The answer may arrive before this returns, on this thread or a worker. */
	disposition = command_inbound(ctl->t, &msg);
	pthread_mutex_unlock(&ctl->intake_lock);

	if (!answer) {
		if (disposition == BERTH_DISPOSITION_ACCEPTED)
			return status_object(202);
		return error_object(disposition == BERTH_DISPOSITION_REJECTED ? 400 : 503,
				    disposition == BERTH_DISPOSITION_REJECTED
				    ? "the one-way envelope is not a Ditto command"
				    : "the agent cannot take the command now");
	}
	if (disposition != BERTH_DISPOSITION_ACCEPTED) {
		bool still_waiting;

		/* Not expected with a reply address and no redelivery; never leave it hanging. */
		pthread_mutex_lock(&ctl->lock);
		still_waiting = c->waiting && c->seq == seq;
		c->waiting = false;
		pthread_mutex_unlock(&ctl->lock);
		if (still_waiting)
			return error_object(503, "the agent did not take the command "
					    "(disposition %d)", disposition);
	}
	return NULL;
}

static void handle_request(struct control *ctl, struct client *c, size_t slot, const char *text,
			   size_t len)
{
	json_object *req = parse_text(text, len), *v, *res;
	const char *what;

	if (!req || !json_object_is_type(req, json_type_object)) {
		res = error_object(400, "a request is one JSON object on one line, e.g. "
				   "{\"request\":\"list\"}");
		goto out;
	}
	if (!json_object_object_get_ex(req, "request", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		res = error_object(400, "the request has no \"request\" member (list, show, status "
				   "or command)");
		goto out;
	}
	what = json_object_get_string(v);
	if (strcmp(what, "list") == 0)
		res = list_response();
	else if (strcmp(what, "show") == 0)
		res = show_response(req);
	else if (strcmp(what, "status") == 0)
		res = status_response();
	else if (strcmp(what, "command") == 0)
		res = command_request(ctl, c, slot, req);
	else
		res = error_object(400, "unknown request '%.64s': expected list, show, status or "
				   "command", what);
out:
	json_object_put(req);
	if (res)
		respond(ctl, c, res);
}

/* Handles buffered requests while the client is idle; closes it when it is done. */
static void client_advance(struct control *ctl, struct client *c, size_t slot)
{
	for (;;) {
		bool busy, done;
		char *nl;

		pthread_mutex_lock(&ctl->lock);
		busy = c->out || c->waiting;
		done = c->hangup && !c->out && !c->waiting;
		pthread_mutex_unlock(&ctl->lock);
		if (done) {
			client_close(ctl, c);
			return;
		}
		if (busy)
			return;
		nl = c->in_len ? memchr(c->in, '\n', c->in_len) : NULL;
		if ((nl && (size_t)(nl - c->in) > ctl->max_request) ||
		    (!nl && c->in_len > ctl->max_request)) {
			respond(ctl, c, error_object(413, "a request line is at most %zu bytes",
						     ctl->max_request));
			pthread_mutex_lock(&ctl->lock);
			c->hangup = true;
			pthread_mutex_unlock(&ctl->lock);
		} else if (nl) {
			size_t n = (size_t)(nl - c->in);
			bool blank = true;

			for (size_t i = 0; i < n && blank; i++)
				blank = strchr(" \t\r", c->in[i]) != NULL;
			if (!blank)
				handle_request(ctl, c, slot, c->in, n);
			memmove(c->in, nl + 1, c->in_len - n - 1);
			c->in_len -= n + 1;
		} else if (c->eof) {
			/* a last line without its newline still counts */
			bool blank = true;

			for (size_t i = 0; i < c->in_len && blank; i++)
				blank = strchr(" \t\r", c->in[i]) != NULL;
			if (!blank)
				handle_request(ctl, c, slot, c->in, c->in_len);
			c->in_len = 0;
			pthread_mutex_lock(&ctl->lock);
			c->hangup = true;
			pthread_mutex_unlock(&ctl->lock);
		} else {
			return;
		}
	}
}

/* Reads what is there. Returns -1 when the client is gone. */
static int client_read(struct control *ctl, struct client *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_len > ctl->max_request)
			return 0; /* client_advance() refuses it */
		if (c->in_cap - c->in_len < READ_CHUNK) {
			size_t cap = c->in_cap ? c->in_cap * 2 : READ_CHUNK * 2;
			char *grown;

			if (cap > ctl->max_request + 2 * READ_CHUNK)
				cap = ctl->max_request + 2 * READ_CHUNK;
			grown = realloc(c->in, cap);
			if (!grown)
				return -1;
			c->in = grown;
			c->in_cap = cap;
		}
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n > 0) {
			c->in_len += (size_t)n;
			continue;
		}
		if (n == 0) {
			c->eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	}
}

/* Writes what is queued. Returns -1 when the client is gone. */
static int client_write(struct control *ctl, struct client *c)
{
	int rc = 0;

	pthread_mutex_lock(&ctl->lock);
	while (c->out && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			c->out_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			rc = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
			break;
		}
	}
	if (c->out && c->out_off == c->out_len) {
		free(c->out);
		c->out = NULL;
		c->out_len = c->out_off = 0;
	}
	pthread_mutex_unlock(&ctl->lock);
	return rc;
}

static void client_io(struct control *ctl, size_t slot, short revents)
{
	struct client *c = &ctl->clients[slot];

	if (revents & POLLOUT) {
		if (client_write(ctl, c) < 0) {
			client_close(ctl, c);
			return;
		}
	}
	if (revents & POLLIN) {
		if (client_read(ctl, c) < 0) {
			client_close(ctl, c);
			return;
		}
	} else if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
		/* gone (also while its command runs: the answer will be dropped) */
		client_close(ctl, c);
		return;
	}
	client_advance(ctl, c, slot);
}

/* Accepts one connection: the next one waits for the next poll, so that the connections
 * that hung up before it came are seen (and their slots freed) first. */
static void accept_client(struct control *ctl)
{
	int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	size_t slot;

	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control: accept on %s failed: %s", ctl->path, strerror(errno));
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("control: refused a connection whose credentials cannot be read: %s",
			 strerror(errno));
		refuse(fd, error_object(403, "credentials unreadable"));
		return;
	}
	if (cred.uid != 0 && cred.uid != geteuid()) {
		log_warn("control: refused a connection from uid %u (pid %d): only root and "
			 "uid %u may use %s", (unsigned)cred.uid, (int)cred.pid,
			 (unsigned)geteuid(), ctl->path);
		refuse(fd, error_object(403, "permission denied: only root and berthd's user "
					"(uid %u) may use the control socket",
					(unsigned)geteuid()));
		return;
	}
	pthread_mutex_lock(&ctl->lock);
	for (slot = 0; slot < CONTROL_MAX_CLIENTS && ctl->clients[slot].fd >= 0; slot++)
		;
	if (slot < CONTROL_MAX_CLIENTS) {
		ctl->clients[slot].fd = fd;
		ctl->clients[slot].seq = 0;
	}
	pthread_mutex_unlock(&ctl->lock);
	if (slot == CONTROL_MAX_CLIENTS) {
		log_warn("control: refused a connection from pid %d: %d connections are open",
			 (int)cred.pid, CONTROL_MAX_CLIENTS);
		refuse(fd, error_object(503, "too many control connections (%d): try again",
					CONTROL_MAX_CLIENTS));
		return;
	}
	log_debug("control: connection %zu from pid %d uid %u", slot, (int)cred.pid,
		  (unsigned)cred.uid);
}

static void *control_thread(void *arg)
{
	struct control *ctl = arg;
	struct pollfd pfd[2 + CONTROL_MAX_CLIENTS];
	size_t slot_of[2 + CONTROL_MAX_CLIENTS];

	for (;;) {
		nfds_t n = 0;

		pthread_mutex_lock(&ctl->lock);
		if (ctl->quit) {
			pthread_mutex_unlock(&ctl->lock);
			break;
		}
		pfd[n++] = (struct pollfd){ .fd = ctl->wake_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = ctl->listen_fd, .events = POLLIN };
		for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
			struct client *c = &ctl->clients[i];

			if (c->fd < 0)
				continue;
			slot_of[n] = i;
			pfd[n++] = (struct pollfd){
				.fd = c->fd,
				.events = c->out ? POLLOUT
					: (!c->waiting && !c->hangup && !c->eof ? POLLIN : 0),
			};
		}
		pthread_mutex_unlock(&ctl->lock);

		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("control: poll failed, the control socket stops: %s",
				strerror(errno));
			break;
		}
		if (pfd[0].revents) {
			uint64_t v;

			if (read(ctl->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_debug("control: wake-up read failed: %s", strerror(errno));
		}
		/* Connections first: the slots of those that hung up are free for the new one
		 * (a peer that closed before it connected again is seen in the same poll). */
		for (nfds_t k = 2; k < n; k++)
			if (pfd[k].revents)
				client_io(ctl, slot_of[k], pfd[k].revents);
		if (pfd[1].revents & POLLIN)
			accept_client(ctl);
	}
	return NULL;
}

/* ---- socket ------------------------------------------------------------------------ */

/* mkdir -p of the socket's directory (0755 for what it creates). */
static int make_parent_dirs(const char *path, berth_error *err)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST)
				return berth_error_set(err, BERTH_E_RUNTIME, "control socket %s: "
						       "cannot create the directory %s: %s", path,
						       dir, strerror(errno));
			*p = saved;
			if (!saved)
				break;
		}
	}
	return 0;
}

/* A socket file left at `path`: unlinked when nobody listens on it any more; an error
 * when berthd (another one) does, or when it is not a socket. */
static int clear_stale(const char *path, const struct sockaddr_un *addr, berth_error *err)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : berth_error_set(err, BERTH_E_RUNTIME,
							     "control socket %s: %s", path,
							     strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return berth_error_set(err, BERTH_E_INVALID,
				       "control socket %s: the path exists and is not a socket "
				       "(set agent.control_socket elsewhere, or to \"\" for none)",
				       path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_error_set(err, BERTH_E_RUNTIME, "control socket: %s", strerror(errno));
	r = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	if (r == 0)
		return berth_error_set(err, BERTH_E_CONFLICT,
				       "control socket %s: another process (berthd?) is listening "
				       "on it", path);
	if (errno != ECONNREFUSED)
		return berth_error_set(err, BERTH_E_RUNTIME, "control socket %s: %s", path,
				       strerror(errno));
	log_info("control: removing the stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return berth_error_set(err, BERTH_E_RUNTIME, "control socket %s: cannot remove the "
				       "stale socket: %s", path, strerror(errno));
	return 0;
}

static int listen_on(struct control *ctl, berth_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(ctl->path) >= sizeof(addr.sun_path))
		return berth_error_set(err, BERTH_E_INVALID,
				       "control socket %s: longer than %zu bytes (set "
				       "agent.control_socket)", ctl->path,
				       sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, ctl->path, strlen(ctl->path) + 1);
	if (make_parent_dirs(ctl->path, err) < 0 || clear_stale(ctl->path, &addr, err) < 0)
		return -1;
	ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->listen_fd < 0)
		return berth_error_set(err, BERTH_E_RUNTIME, "control socket: %s", strerror(errno));
	if (bind(ctl->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return berth_error_set(err, BERTH_E_RUNTIME, "control socket %s: cannot bind: %s",
				       ctl->path, strerror(errno));
	/* Nobody can connect before listen(): setting the mode now leaves no window, and
	 * the process-wide umask stays untouched while other threads run. */
	if (lstat(ctl->path, &st) == 0) {
		ctl->created = true;
		ctl->dev = st.st_dev;
		ctl->ino = st.st_ino;
	}
	if (chmod(ctl->path, 0660) < 0)
		return berth_error_set(err, BERTH_E_RUNTIME, "control socket %s: chmod: %s",
				       ctl->path, strerror(errno));
	if (listen(ctl->listen_fd, CONTROL_MAX_CLIENTS) < 0)
		return berth_error_set(err, BERTH_E_RUNTIME, "control socket %s: listen: %s",
				       ctl->path, strerror(errno));
	return 0;
}

/* ---- the driver ---------------------------------------------------------------------- */

static uint64_t control_capabilities(void *instance)
{
	return 0; /* nothing is redelivered: a full queue is answered 429/503 */
}

static int start_listening(struct control *ctl, berth_error *err)
{
	int r;

	if (listen_on(ctl, err) < 0)
		return -1;
	ctl->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctl->wake_fd < 0)
		return berth_error_set(err, BERTH_E_RUNTIME, "control socket: eventfd: %s",
				       strerror(errno));
	r = pthread_create(&ctl->thread, NULL, control_thread, ctl);
	if (r != 0)
		return berth_error_set(err, BERTH_E_RUNTIME, "control socket: cannot start its "
				       "thread: %s", strerror(r));
	ctl->running = true;
	return 0;
}

/* A control socket that cannot be had is no reason to leave the cloud unserved: berthd
 * goes on without it, loudly. */
static int control_start(void *instance, berth_error *err)
{
	struct control *ctl = instance;
	berth_error why;

	berth_error_clear(&why);
	if (start_listening(ctl, &why) < 0) {
		log_warn("%s; berthd goes on without a control socket (berthctl cannot reach it)",
			 why.message);
		if (ctl->listen_fd >= 0)
			close(ctl->listen_fd);
		ctl->listen_fd = -1;
		return 0;
	}
	log_notice("control socket %s: listening", ctl->path);
	return 0;
}

/* "<slot>:<gen>:<seq>" */
static int parse_token(const char *s, size_t *slot, unsigned *gen, unsigned long long *seq)
{
	char *end;
	unsigned long v;

	if (!s)
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end != ':' || v >= CONTROL_MAX_CLIENTS)
		return -1;
	*slot = v;
	s = end + 1;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end != ':' || v > UINT_MAX)
		return -1;
	*gen = (unsigned)v;
	s = end + 1;
	*seq = strtoull(s, &end, 10);
	return errno || end == s || *end ? -1 : 0;
}

static int control_send_reply(void *instance, const berth_reply *reply, berth_error *err)
{
	struct control *ctl = instance;
	json_object *o, *response;
	unsigned long long seq;
	unsigned gen;
	size_t slot, len = 0;
	struct client *c;
	bool delivered = false;
	char *line;

	if (parse_token(reply->reply_to, &slot, &gen, &seq) < 0)
		return berth_error_set(err, BERTH_E_INVALID,
				       "control: malformed reply address '%s'",
				       reply->reply_to ? reply->reply_to : "(none)");
	response = reply->payload ? parse_text(reply->payload, reply->payload_len) : NULL;
	o = status_object(reply->status);
	json_object_object_add(o, "response", response);
	line = line_from(o, &len);
	if (!line)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");

	pthread_mutex_lock(&ctl->lock);
	c = &ctl->clients[slot];
	if (c->fd >= 0 && c->gen == gen && c->waiting && c->seq == seq && !c->out) {
		c->out = line;
		c->out_len = len;
		c->out_off = 0;
		c->waiting = false;
		delivered = true;
	}
	pthread_mutex_unlock(&ctl->lock);
	if (!delivered) {
		/* berthctl gave up waiting (or was killed): nobody to tell */
		log_debug("control: the answer (status %d) for connection %s is dropped: the "
			  "client has gone", reply->status, reply->reply_to);
		free(line);
		return 0;
	}
	wake(ctl);
	return 0;
}

static int control_send_event(void *instance, const berth_outbound_event *ev, berth_error *err)
{
	return 0; /* twin events are for the cloud; the core sends none to built-ins */
}

static void control_stop(void *instance)
{
	struct control *ctl = instance;

	pthread_mutex_lock(&ctl->intake_lock);
	ctl->stopping = true;
	pthread_mutex_unlock(&ctl->intake_lock);
}

static void control_free(struct control *ctl)
{
	struct stat st;

	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			client_close(ctl, &ctl->clients[i]);
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	/* only the file we created: a newer berthd may have replaced it */
	if (ctl->created && lstat(ctl->path, &st) == 0 && st.st_dev == ctl->dev &&
	    st.st_ino == ctl->ino && unlink(ctl->path) < 0)
		log_warn("control: cannot remove %s: %s", ctl->path, strerror(errno));
	if (ctl->wake_fd >= 0)
		close(ctl->wake_fd);
	pthread_mutex_destroy(&ctl->lock);
	pthread_mutex_destroy(&ctl->intake_lock);
	free(ctl->path);
	free(ctl);
}

static void control_close(void *instance)
{
	struct control *ctl = instance;

	if (ctl->running) {
		pthread_mutex_lock(&ctl->lock);
		ctl->quit = true;
		pthread_mutex_unlock(&ctl->lock);
		wake(ctl);
		pthread_join(ctl->thread, NULL);
	}
	control_free(ctl);
}

/* Built in: open() is never called (control_open() sets the instance up). */
static const berth_transport_driver control_driver = {
	.size = sizeof(berth_transport_driver),
	.name = "control",
	.description = "berthctl's local unix socket (built in)",
	.capabilities = control_capabilities,
	.start = control_start,
	.send_reply = control_send_reply,
	.send_event = control_send_event,
	.stop = control_stop,
	.close = control_close,
};

int control_open(const struct agent_config *agent, berth_error *err)
{
	struct control *ctl;

	if (!agent->control_socket || !*agent->control_socket) {
		log_info("control socket: none (agent.control_socket is \"\")");
		return 0;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	ctl->listen_fd = -1;
	ctl->wake_fd = -1;
	pthread_mutex_init(&ctl->lock, NULL);
	pthread_mutex_init(&ctl->intake_lock, NULL);
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		ctl->clients[i].fd = -1;
	ctl->max_request = (size_t)agent->max_payload + CONTROL_REQUEST_SLACK;
	ctl->path = strdup(agent->control_socket);
	if (!ctl->path) {
		control_free(ctl);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	ctl->t = transports_add_builtin("control", &control_driver, ctl, err);
	if (!ctl->t) {
		control_free(ctl);
		return -1;
	}
	return 0;
}
