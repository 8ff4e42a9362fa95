/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unixhttp: HTTP/1.1 over a unix socket (unixhttp.h). Requests are written here; answers
 * are framed by http-parser (status line, headers, Content-Length, chunked, keep-alive).
 * A small pool keeps idle keep-alive connections for the next request.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "unixhttp.h"

#define CONNECT_TIMEOUT_MS 10000L /* when the request sets no timeout of its own */
#define READ_CHUNK 16384

struct unixhttp {
	char *socket_path;
	unsigned pool_max;
	pthread_mutex_t lock;
	int *idle;        /* pool_max slots: connected sockets, each after a complete answer */
	unsigned n_idle;
};

/* State of one exchange, shared with http-parser's callbacks (parser.data). */
struct xfer {
	const struct unixhttp_request *req;
	struct unixhttp_response *resp;
	size_t cap;
	size_t max;
	bool headers_done;
	bool complete;
	bool aborted;
	bool too_big;
	bool nomem;
};

/* Deadlines of one exchange, in CLOCK_MONOTONIC milliseconds; 0 = none. */
struct clock_limits {
	int64_t deadline; /* the whole request */
	int64_t idle_ms;  /* longest silence while reading (low_speed_time_s) */
	int wake_fd;      /* streams: readable = stop; -1 = none */
};

static int set_error(struct unixhttp_error *err, int failure, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_error(struct unixhttp_error *err, int failure, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->failure = failure;
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct unixhttp *unixhttp_new(const char *socket_path, unsigned pool_max)
{
	struct unixhttp *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->socket_path = strdup(socket_path);
	c->pool_max = pool_max;
	c->idle = pool_max ? calloc(pool_max, sizeof(*c->idle)) : NULL;
	if (!c->socket_path || (pool_max && !c->idle)) {
		free(c->socket_path);
		free(c->idle);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void unixhttp_free(struct unixhttp *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->n_idle; i++)
		close(c->idle[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->idle);
	free(c->socket_path);
	free(c);
}

const char *unixhttp_socket(const struct unixhttp *c)
{
	return c->socket_path;
}

/* ---- connections ---------------------------------------------------------------------- */

/* An idle connection that is still open, or -1. A server that closed it (idle timeout,
 * restart) has made it readable: EOF. */
static int pool_take(struct unixhttp *c)
{
	for (;;) {
		struct pollfd p = { .events = POLLIN };

		pthread_mutex_lock(&c->lock);
		p.fd = c->n_idle ? c->idle[--c->n_idle] : -1;
		pthread_mutex_unlock(&c->lock);
		if (p.fd < 0)
			return -1;
		if (poll(&p, 1, 0) == 0)
			return p.fd;
		close(p.fd);
	}
}

static void pool_put(struct unixhttp *c, int fd)
{
	pthread_mutex_lock(&c->lock);
	if (c->n_idle < c->pool_max) {
		c->idle[c->n_idle++] = fd;
		fd = -1;
	}
	pthread_mutex_unlock(&c->lock);
	if (fd >= 0)
		close(fd);
}

/* Waits until fd has `events` (POLLIN/POLLOUT). Returns 0, or -1 with err (timeout,
 * wake_fd, poll failure). `idle_from` starts the silence timer for reads. */
static int wait_fd(int fd, short events, const struct clock_limits *lim, int64_t idle_from,
		   struct unixhttp_error *err)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = events },
				       { .fd = lim->wake_fd, .events = POLLIN } };
		int64_t now = now_ms(), until = lim->deadline;
		int timeout = -1, n;

		if (lim->idle_ms && events == POLLIN &&
		    (!until || idle_from + lim->idle_ms < until))
			until = idle_from + lim->idle_ms;
		if (until) {
			if (now >= until)
				break;
			timeout = until - now > INT32_MAX ? INT32_MAX : (int)(until - now);
		}
		n = poll(p, lim->wake_fd >= 0 ? 2 : 1, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return set_error(err, UNIXHTTP_E_TRANSFER, "poll: %s", strerror(errno));
		if (lim->wake_fd >= 0 && (p[1].revents & POLLIN))
			return set_error(err, UNIXHTTP_E_ABORTED, "transfer aborted");
		if (p[0].revents)
			return 0;
	}
	if (lim->deadline && now_ms() >= lim->deadline)
		return set_error(err, UNIXHTTP_E_TIMEOUT, "no complete answer within the "
				 "request's time limit");
	return set_error(err, UNIXHTTP_E_TIMEOUT, "no data for %lld s",
			 (long long)(lim->idle_ms / 1000));
}

/* returns: a connected non-blocking socket owned by the caller, or -1 with err. */
static int connect_socket(const struct unixhttp *c, const struct clock_limits *lim,
			  struct unixhttp_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct clock_limits connect_lim = *lim;
	size_t len = strlen(c->socket_path);
	int fd, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (len >= sizeof(sa.sun_path))
		return set_error(err, UNIXHTTP_E_CONNECT, "socket path longer than %zu bytes",
				 sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, c->socket_path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return set_error(err, UNIXHTTP_E_CONNECT, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (errno != EAGAIN && errno != EINPROGRESS) {
		set_error(err, UNIXHTTP_E_CONNECT, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	/* the listener's backlog is full: wait for it, within the connect timeout */
	if (!connect_lim.deadline)
		connect_lim.deadline = now_ms() + CONNECT_TIMEOUT_MS;
	if (wait_fd(fd, POLLOUT, &connect_lim, 0, err) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		if (soerr)
			set_error(err, UNIXHTTP_E_CONNECT, "%s", strerror(soerr));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- one exchange --------------------------------------------------------------------- */

static bool body_append(struct xfer *x, const char *data, size_t len)
{
	struct unixhttp_response *r = x->resp;

	if (r->body_len + len + 1 > x->max) {
		x->too_big = true;
		return false;
	}
	if (r->body_len + len + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 1024;
		char *p;

		while (cap < r->body_len + len + 1)
			cap *= 2;
		if (cap > x->max)
			cap = x->max;
		p = realloc(r->body, cap);
		if (!p) {
			x->nomem = true;
			return false;
		}
		r->body = p;
		x->cap = cap;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return true;
}

static int on_headers_complete(http_parser *p)
{
	struct xfer *x = p->data;

	if (p->status_code < 200) /* an interim answer (100 Continue): its own message */
		return 0;
	x->headers_done = true;
	x->resp->status = p->status_code;
	if (x->req->on_headers)
		x->req->on_headers(x->req->userdata, p->status_code);
	return 0;
}

static int on_body(http_parser *p, const char *data, size_t len)
{
	struct xfer *x = p->data;

	if (x->req->on_data) {
		if (!x->req->on_data(x->req->userdata, data, len)) {
			x->aborted = true;
			return -1;
		}
		return 0;
	}
	return body_append(x, data, len) ? 0 : -1;
}

static int on_message_complete(http_parser *p)
{
	struct xfer *x = p->data;

	if (x->headers_done) {
		x->complete = true;
		http_parser_pause(p, 1); /* anything after the answer is not ours */
	}
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* returns: the request head, malloc()ed, caller frees; NULL when out of memory. */
static char *format_head(const struct unixhttp_request *req, size_t *len_out)
{
	char *head = NULL;
	int n;

	if (req->body)
		n = asprintf(&head, "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: berth\r\n"
			     "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", req->method,
			     req->target, req->content_type ? req->content_type : "application/json",
			     req->body_len);
	else if (strcmp(req->method, "GET") != 0) /* some servers want a length (411) */
		n = asprintf(&head, "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: berth\r\n"
			     "Content-Length: 0\r\n\r\n", req->method, req->target);
	else
		n = asprintf(&head, "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: berth\r\n"
			     "\r\n", req->method, req->target);
	if (n < 0)
		return NULL;
	*len_out = (size_t)n;
	return head;
}

/* Writes head and body (NULL: none) in as few system calls as the socket takes. */
static int send_request(int fd, const char *head, size_t head_len, const char *body,
			size_t body_len, const struct clock_limits *lim, struct unixhttp_error *err)
{
	struct iovec iov[2] = { { (void *)head, head_len }, { (void *)body, body ? body_len : 0 } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

	while (msg.msg_iovlen) {
		ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, lim, 0, err) < 0)
				return -1;
			continue;
		}
		if (n < 0)
			return set_error(err, UNIXHTTP_E_TRANSFER, "send: %s", strerror(errno));
		while (msg.msg_iovlen && (size_t)n >= msg.msg_iov->iov_len) {
			n -= (ssize_t)msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + n;
			msg.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* What exchange() found out about the connection. */
enum outcome {
	OUT_DONE,   /* answer complete */
	OUT_FAILED, /* err says why */
	OUT_STALE,  /* the connection was closed before a single byte of answer came */
};

/* Reads the answer into x. *keep_alive: the connection can carry another request. */
static enum outcome read_answer(int fd, http_parser *p, struct xfer *x,
				const struct clock_limits *lim, bool *keep_alive,
				struct unixhttp_error *err)
{
	size_t received = 0;
	int64_t last = now_ms();

	for (;;) {
		char buf[READ_CHUNK];
		size_t parsed;
		ssize_t n;

		if (wait_fd(fd, POLLIN, lim, last, err) < 0)
			return OUT_FAILED;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno != ECONNRESET) {
			set_error(err, UNIXHTTP_E_TRANSFER, "recv: %s", strerror(errno));
			return OUT_FAILED;
		}
		if (n <= 0) { /* end of the connection: the answer may end with it */
			if (received == 0) {
				set_error(err, UNIXHTTP_E_TRANSFER,
					  "the connection closed before an answer came");
				return OUT_STALE;
			}
			http_parser_execute(p, &parser_settings, NULL, 0);
			if (x->complete)
				return OUT_DONE;
			set_error(err, UNIXHTTP_E_TRANSFER,
				  "the connection closed before the answer was complete");
			return OUT_FAILED;
		}
		received += (size_t)n;
		last = now_ms();
		parsed = http_parser_execute(p, &parser_settings, buf, (size_t)n);
		if (x->complete) {
			*keep_alive = http_should_keep_alive(p) && parsed == (size_t)n;
			return OUT_DONE;
		}
		if (HTTP_PARSER_ERRNO(p) != HPE_OK) {
			if (x->too_big)
				set_error(err, UNIXHTTP_E_TOO_BIG, "response larger than %zu bytes",
					  x->max);
			else if (x->nomem)
				set_error(err, UNIXHTTP_E_NOMEM, "out of memory");
			else if (x->aborted)
				set_error(err, UNIXHTTP_E_ABORTED, "transfer aborted");
			else
				set_error(err, UNIXHTTP_E_TRANSFER, "not an HTTP answer: %s",
					  http_errno_description(HTTP_PARSER_ERRNO(p)));
			return OUT_FAILED;
		}
	}
}

/* Sends the request on fd and reads its answer. */
static enum outcome exchange(int fd, const struct unixhttp_request *req,
			     struct unixhttp_response *resp, const struct clock_limits *lim,
			     bool *keep_alive, struct unixhttp_error *err)
{
	struct xfer x = { .req = req, .resp = resp };
	http_parser p;
	size_t head_len = 0;
	char *head = format_head(req, &head_len);
	int rc;

	*keep_alive = false;
	if (!head) {
		set_error(err, UNIXHTTP_E_NOMEM, "out of memory");
		return OUT_FAILED;
	}
	rc = send_request(fd, head, head_len, req->body, req->body_len, lim, err);
	free(head);
	if (rc < 0) /* a broken pipe: the server closed the connection */
		return err->failure == UNIXHTTP_E_TRANSFER ? OUT_STALE : OUT_FAILED;

	x.max = req->max_response ? req->max_response : UNIXHTTP_DEFAULT_MAX_RESPONSE;
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = &x;
	switch (read_answer(fd, &p, &x, lim, keep_alive, err)) {
	case OUT_STALE:
		return OUT_STALE;
	case OUT_FAILED:
		return OUT_FAILED;
	case OUT_DONE:
		break;
	}
	if (!resp->body && !body_append(&x, "", 0)) {
		set_error(err, UNIXHTTP_E_NOMEM, "out of memory");
		return OUT_FAILED;
	}
	if (err) {
		err->failure = UNIXHTTP_OK;
		err->text[0] = '\0';
	}
	return OUT_DONE;
}

/* One request on a pooled or new connection (pooled = false: a new one, never kept). */
static int perform(struct unixhttp *c, const struct unixhttp_request *req, bool pooled,
		   int wake_fd, struct unixhttp_response *resp, struct unixhttp_error *err)
{
	struct clock_limits lim = {
		.deadline = req->timeout_ms > 0 ? now_ms() + req->timeout_ms : 0,
		.idle_ms = req->low_speed_time_s > 0 ? req->low_speed_time_s * 1000 : 0,
		.wake_fd = wake_fd,
	};
	struct unixhttp_error local;

	if (!err) /* exchange() reads the failure back */
		err = &local;
	memset(resp, 0, sizeof(*resp));
	for (;;) {
		int fd = pooled ? pool_take(c) : -1;
		bool reused = fd >= 0, keep_alive = false;
		enum outcome out;

		if (fd < 0)
			fd = connect_socket(c, &lim, err);
		if (fd < 0)
			return -1;
		out = exchange(fd, req, resp, &lim, &keep_alive, err);
		if (out == OUT_DONE && keep_alive && pooled)
			pool_put(c, fd);
		else
			close(fd);
		if (out == OUT_DONE)
			return 0;
		/* A kept connection the server closed meanwhile: the request never reached
		 * it, so it is sent again on a new connection (as every HTTP client does). */
		if (out == OUT_STALE && reused) {
			unixhttp_response_release(resp);
			continue;
		}
		return -1;
	}
}

int unixhttp_request(struct unixhttp *c, const struct unixhttp_request *req,
		     struct unixhttp_response *resp, struct unixhttp_error *err)
{
	return perform(c, req, true, -1, resp, err);
}

int unixhttp_stream(struct unixhttp *c, const struct unixhttp_request *req, int wake_fd,
		    struct unixhttp_response *resp, struct unixhttp_error *err)
{
	return perform(c, req, false, wake_fd, resp, err);
}

void unixhttp_response_release(struct unixhttp_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

char *unixhttp_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(s);
	char *out, *p;

	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(len * 3 + 1);
	if (!out)
		return NULL;
	p = out;
	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
		    (*q >= '0' && *q <= '9') || *q == '-' || *q == '.' || *q == '_' || *q == '~') {
			*p++ = (char)*q;
		} else {
			*p++ = '%';
			*p++ = hex[*q >> 4];
			*p++ = hex[*q & 15];
		}
	}
	*p = '\0';
	return out;
}
