/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd backend: gRPC over HTTP/2 on a unix socket, one connection per call.
 *
 * The session is an nghttp2 client driven by hand (nghttp2_session_mem_send/mem_recv)
 * over a non-blocking AF_UNIX socket and poll(), so that a deadline and a wake-up fd
 * bound every wait. A request is HEADERS (:method POST, :scheme http, :path
 * /<service>/<method>, content-type application/grpc, te trailers, containerd-namespace,
 * grpc-timeout) and one DATA frame with a gRPC length-prefixed message (1 byte
 * compressed = 0, 4 bytes big-endian length, the protobuf bytes) ending the stream. The
 * answer is HEADERS, DATA (messages in the same framing, split across frames as they
 * come) and trailers with grpc-status and grpc-message; a failure may come as
 * Trailers-Only (one HEADERS frame with END_STREAM). See grpc's PROTOCOL-HTTP2.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "ctrd_grpc.h"

#define GRPC_MESSAGE_MAX 400 /* what we keep of grpc-message */
#define WINDOW_SIZE (1u << 20)
#define READ_CHUNK 16384
#define ACCEPT_QUIET_MS 200

struct call {
	const char *method;
	const char *what;
	int fd;
	int wake_fd;
	int64_t deadline_ms; /* CLOCK_MONOTONIC; 0 = none */
	nghttp2_session *session;
	int32_t stream_id;

	/* request */
	uint8_t *out;        /* the framed request message; malloc()ed */
	size_t out_len, out_off;

	/* response */
	int http_status;
	int grpc_status;     /* -1 until seen */
	char grpc_message[GRPC_MESSAGE_MAX];
	bool closed;         /* the stream has ended */
	uint32_t close_error; /* HTTP/2 RST_STREAM / GOAWAY code, 0 = none */
	uint8_t *in;         /* bytes of an incomplete message; malloc()ed */
	size_t in_len, in_cap;
	bool too_big;

	/* unary: the first message, malloc()ed; streaming: ops */
	uint8_t *msg;
	size_t msg_len;
	bool have_msg;
	const struct ctrd_grpc_stream_ops *ops;
	bool accepted;       /* on_accepted was called */
	int stop_rc;         /* on_message's non-zero return */
};

int ctrd_grpc_code(int grpc_status)
{
	switch (grpc_status) {
	case CTRD_GRPC_OK: return BERTH_OK;
	case CTRD_GRPC_NOT_FOUND: return BERTH_E_NOT_FOUND;
	case CTRD_GRPC_ALREADY_EXISTS:
	case CTRD_GRPC_FAILED_PRECONDITION: return BERTH_E_CONFLICT;
	case CTRD_GRPC_UNAVAILABLE: return BERTH_E_UNAVAILABLE;
	case CTRD_GRPC_DEADLINE_EXCEEDED: return BERTH_E_TIMEOUT;
	case CTRD_GRPC_INVALID_ARGUMENT: return BERTH_E_INVALID;
	default: return BERTH_E_RUNTIME;
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The milliseconds left before the deadline for poll(): -1 = none, 0 = expired. */
static int remaining_ms(const struct call *c)
{
	int64_t left;

	if (!c->deadline_ms)
		return -1;
	left = c->deadline_ms - mono_ms();
	if (left <= 0)
		return 0;
	return left > 60000 ? 60000 : (int)left;
}

/* grpc-message is percent-encoded (PROTOCOL-HTTP2.md); decode into c->grpc_message. */
static void set_grpc_message(struct call *c, const uint8_t *v, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < sizeof(c->grpc_message); i++) {
		unsigned hi, lo;

		if (v[i] == '%' && i + 2 < len && sscanf((const char *)v + i + 1, "%1x%1x", &hi,
							 &lo) == 2) {
			c->grpc_message[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			c->grpc_message[o++] = (char)v[i];
		}
	}
	c->grpc_message[o] = '\0';
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *userdata)
{
	struct call *c = userdata;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != c->stream_id)
		return 0;
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		c->http_status = 0;
		for (size_t i = 0; i < valuelen && value[i] >= '0' && value[i] <= '9'; i++)
			c->http_status = c->http_status * 10 + (value[i] - '0');
	} else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
		c->grpc_status = 0;
		for (size_t i = 0; i < valuelen && i < 4 && value[i] >= '0' && value[i] <= '9'; i++)
			c->grpc_status = c->grpc_status * 10 + (value[i] - '0');
	} else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
		set_grpc_message(c, value, valuelen);
	}
	return 0;
}

/* A streaming call is taken as accepted when its response headers arrive, or when it has
 * stayed open ACCEPT_QUIET_MS after the request was sent: grpc-go sends a stream's headers
 * with its first message, and a subscription may be quiet for hours, while a refusal
 * (bad filter, unknown method) comes at once as Trailers-Only. */
static void accept_stream(struct call *c)
{
	if (c->accepted || !c->ops || !c->ops->on_accepted)
		return;
	c->accepted = true;
	c->ops->on_accepted(c->ops->userdata);
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *userdata)
{
	struct call *c = userdata;

	if (frame->hd.type == NGHTTP2_HEADERS && frame->hd.stream_id == c->stream_id &&
	    frame->headers.cat == NGHTTP2_HCAT_RESPONSE && c->http_status == 200 &&
	    !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		accept_stream(c);
	return 0;
}

/* Hands every complete length-prefixed message in c->in to the caller. */
static int deliver_messages(struct call *c)
{
	size_t off = 0;

	while (c->in_len - off >= 5) {
		const uint8_t *p = c->in + off;
		uint32_t len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 |
			       p[4];

		if (len > CTRD_GRPC_MAX_MESSAGE || p[0] != 0) {
			c->too_big = true; /* or compressed, which we never asked for */
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		if (c->in_len - off - 5 < len)
			break;
		if (c->ops) {
			int rc = c->ops->on_message(c->ops->userdata, p + 5, len);

			if (rc) {
				c->stop_rc = rc;
				return NGHTTP2_ERR_CALLBACK_FAILURE;
			}
		} else if (!c->have_msg) {
			c->msg = malloc(len ? len : 1);
			if (!c->msg)
				return NGHTTP2_ERR_CALLBACK_FAILURE;
			memcpy(c->msg, p + 5, len);
			c->msg_len = len;
			c->have_msg = true;
		}
		off += 5 + (size_t)len;
	}
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream_id,
			 const uint8_t *data, size_t len, void *userdata)
{
	struct call *c = userdata;

	if (stream_id != c->stream_id)
		return 0;
	if (c->in_len + len > c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap : 4096;
		uint8_t *p;

		while (cap < c->in_len + len)
			cap *= 2;
		if (cap > (size_t)CTRD_GRPC_MAX_MESSAGE + 5 + READ_CHUNK) {
			c->too_big = true;
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		p = realloc(c->in, cap);
		if (!p)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		c->in = p;
		c->in_cap = cap;
	}
	memcpy(c->in + c->in_len, data, len);
	c->in_len += len;
	return deliver_messages(c);
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code,
			   void *userdata)
{
	struct call *c = userdata;

	if (stream_id == c->stream_id) {
		c->closed = true;
		c->close_error = error_code;
	}
	return 0;
}

static ssize_t read_request(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
			    uint32_t *data_flags, nghttp2_data_source *source, void *userdata)
{
	struct call *c = userdata;
	size_t n = c->out_len - c->out_off;

	if (n > length)
		n = length;
	memcpy(buf, c->out + c->out_off, n);
	c->out_off += n;
	if (c->out_off == c->out_len)
		*data_flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static int fail_unreachable(const struct call *c, const struct ctrd_grpc_target *t,
			    const char *text, berth_error *err)
{
	return berth_error_set(err, BERTH_E_UNAVAILABLE, "containerd at %s is unreachable: %s",
			       t->socket, text);
}

/* Connects without blocking past the deadline. */
static int connect_socket(struct call *c, const struct ctrd_grpc_target *t, berth_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 0;

	if (strlen(t->socket) >= sizeof(sa.sun_path))
		return berth_error_set(err, BERTH_E_INVALID, "socket path too long: %s",
				       t->socket);
	strcpy(sa.sun_path, t->socket);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return fail_unreachable(c, t, strerror(errno), err);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	if (errno != EAGAIN && errno != EINPROGRESS)
		return fail_unreachable(c, t, strerror(errno), err);
	/* the listen backlog is full: wait for the socket to become writable */
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
		socklen_t len = sizeof(one);
		int n = poll(&pfd, 1, remaining_ms(c));

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return berth_error_set(err, BERTH_E_TIMEOUT,
					       "containerd at %s did not accept a connection in "
					       "time", t->socket);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &one, &len) < 0 || one)
			return fail_unreachable(c, t, strerror(one ? one : errno), err);
		return 0;
	}
}

/* Writes whatever nghttp2 wants to send. */
static int flush_out(struct call *c, const struct ctrd_grpc_target *t, berth_error *err)
{
	while (nghttp2_session_want_write(c->session)) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(c->session, &data);
		size_t off = 0;

		if (n < 0)
			return berth_error_set(err, BERTH_E_INTERNAL, "HTTP/2: %s",
					       nghttp2_strerror((int)n));
		if (n == 0)
			break;
		while (off < (size_t)n) {
			ssize_t w = send(c->fd, data + off, (size_t)n - off, MSG_NOSIGNAL);

			if (w >= 0) {
				off += (size_t)w;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
				int p = poll(&pfd, 1, remaining_ms(c));

				if (p == 0)
					return berth_error_set(err, BERTH_E_TIMEOUT,
							       "%s: containerd did not read "
							       "the request in time", c->what);
				continue;
			}
			return fail_unreachable(c, t, strerror(errno), err);
		}
	}
	return 0;
}

/* Runs the session until the stream has ended. */
static int run(struct call *c, const struct ctrd_grpc_target *t, berth_error *err)
{
	uint8_t buf[READ_CHUNK];

	for (;;) {
		struct pollfd pfd[2] = { { .fd = c->fd, .events = POLLIN },
					 { .fd = c->wake_fd, .events = POLLIN } };
		bool quiet_wait = false;
		ssize_t n;
		int p, ms;

		if (flush_out(c, t, err) < 0)
			return -1;
		if (c->closed)
			return 0;
		if (!nghttp2_session_want_read(c->session))
			return fail_unreachable(c, t, "the HTTP/2 session ended", err);
		ms = remaining_ms(c);
		if (c->ops && c->ops->on_accepted && !c->accepted && c->out_off == c->out_len &&
		    (ms < 0 || ms > ACCEPT_QUIET_MS)) {
			ms = ACCEPT_QUIET_MS;
			quiet_wait = true;
		}
		p = poll(pfd, c->wake_fd >= 0 ? 2 : 1, ms);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return berth_error_set(err, BERTH_E_INTERNAL, "poll: %s", strerror(errno));
		if (p == 0 && quiet_wait) {
			accept_stream(c);
			continue;
		}
		if (p == 0)
			return berth_error_set(err, BERTH_E_TIMEOUT,
					       "%s: containerd did not answer in time", c->what);
		if (c->wake_fd >= 0 && (pfd[1].revents & POLLIN))
			return berth_error_set(err, BERTH_E_SHUTDOWN, "%s: cancelled", c->what);
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return fail_unreachable(c, t, strerror(errno), err);
		if (n == 0)
			return fail_unreachable(c, t, "containerd closed the connection", err);
		n = nghttp2_session_mem_recv(c->session, buf, (size_t)n);
		if (n < 0) {
			if (c->stop_rc)
				return c->stop_rc;
			if (c->too_big)
				return berth_error_set(err, BERTH_E_RUNTIME,
						       "%s: containerd sent a message larger "
						       "than %u bytes", c->what,
						       CTRD_GRPC_MAX_MESSAGE);
			return berth_error_set(err, BERTH_E_RUNTIME, "%s: HTTP/2: %s", c->what,
					       nghttp2_strerror((int)n));
		}
	}
}

/* The call's outcome from :status, grpc-status and the stream's end. */
static int result(struct call *c, const struct ctrd_grpc_target *t, berth_error *err)
{
	if (c->grpc_status > 0) {
		return berth_error_set(err, ctrd_grpc_code(c->grpc_status), "%s: %s", c->what,
				       c->grpc_message[0] ? c->grpc_message
							  : "containerd gave no reason");
	}
	if (c->grpc_status == 0 && c->http_status == 200)
		return 0;
	if (c->close_error)
		return berth_error_set(err, BERTH_E_UNAVAILABLE,
				       "%s: containerd at %s reset the stream (HTTP/2 error %u)",
				       c->what, t->socket, c->close_error);
	if (c->http_status && c->http_status != 200)
		return berth_error_set(err, BERTH_E_RUNTIME, "%s: containerd answered HTTP %d",
				       c->what, c->http_status);
	return berth_error_set(err, BERTH_E_RUNTIME, "%s: containerd sent no grpc-status",
			       c->what);
}

#define NV(n, v)                                                                         \
	{ (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v),                      \
	  NGHTTP2_NV_FLAG_NO_COPY_NAME }

static int start_call(struct call *c, const struct ctrd_grpc_target *t,
		      const ProtobufCMessage *req, long timeout_ms, berth_error *err)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, WINDOW_SIZE },
	};
	nghttp2_data_provider prd = { .read_callback = read_request };
	char timeout[32] = "";
	size_t packed, n_nv;
	int rc;

	c->fd = -1;
	c->grpc_status = -1;
	c->deadline_ms = timeout_ms > 0 ? mono_ms() + timeout_ms : 0;

	packed = req ? protobuf_c_message_get_packed_size(req) : 0;
	if (packed > CTRD_GRPC_MAX_MESSAGE)
		return berth_error_set(err, BERTH_E_INVALID, "%s: request too large", c->what);
	c->out_len = 5 + packed;
	c->out = malloc(c->out_len);
	if (!c->out)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	c->out[0] = 0;
	c->out[1] = (uint8_t)(packed >> 24);
	c->out[2] = (uint8_t)(packed >> 16);
	c->out[3] = (uint8_t)(packed >> 8);
	c->out[4] = (uint8_t)packed;
	if (req)
		protobuf_c_message_pack(req, c->out + 5);

	if (connect_socket(c, t, err) < 0)
		return -1;

	if (nghttp2_session_callbacks_new(&cbs) != 0)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	rc = nghttp2_session_client_new(&c->session, cbs, c);
	nghttp2_session_callbacks_del(cbs);
	if (rc != 0)
		return berth_error_set(err, BERTH_E_NOMEM, "HTTP/2 session: %s",
				       nghttp2_strerror(rc));
	rc = nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 2);
	if (rc == 0)
		/* a connection window as large as the stream's (the default is 64 KiB) */
		rc = nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0,
							   WINDOW_SIZE);
	if (rc != 0)
		return berth_error_set(err, BERTH_E_INTERNAL, "HTTP/2 settings: %s",
				       nghttp2_strerror(rc));
	if (timeout_ms > 0)
		snprintf(timeout, sizeof(timeout), "%ldm", timeout_ms);
	{
		nghttp2_nv nva[] = {
			NV(":method", "POST"),
			NV(":scheme", "http"),
			NV(":authority", "localhost"),
			NV(":path", c->method),
			NV("content-type", "application/grpc"),
			NV("te", "trailers"),
			NV("user-agent", "berth-containerd"),
			NV("containerd-namespace", t->namespace),
			NV("grpc-timeout", timeout),
		};

		n_nv = sizeof(nva) / sizeof(nva[0]) - (timeout[0] ? 0 : 1);
		c->stream_id = nghttp2_submit_request(c->session, NULL, nva, n_nv, &prd, NULL);
	}
	if (c->stream_id < 0)
		return berth_error_set(err, BERTH_E_INTERNAL, "HTTP/2 request: %s",
				       nghttp2_strerror(c->stream_id));
	return 0;
}

static void end_call(struct call *c)
{
	if (c->session)
		nghttp2_session_del(c->session);
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	free(c->in);
	free(c->msg);
}

int ctrd_grpc_call(const struct ctrd_grpc_target *t, const char *method,
		   const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
		   ProtobufCMessage **resp_out, long timeout_ms, const char *what,
		   int *grpc_status_out, berth_error *err)
{
	struct call c = { .method = method, .what = what ? what : method, .wake_fd = -1 };
	int ret = -1;

	if (resp_out)
		*resp_out = NULL;
	if (start_call(&c, t, req, timeout_ms, err) < 0 || run(&c, t, err) < 0 ||
	    result(&c, t, err) < 0)
		goto out;
	if (resp_desc && resp_out) {
		*resp_out = protobuf_c_message_unpack(resp_desc, NULL, c.msg_len,
						      c.msg ? c.msg : (const uint8_t *)"");
		if (!*resp_out) {
			berth_error_set(err, BERTH_E_RUNTIME, "%s: containerd's answer is not a %s",
					c.what, resp_desc->name);
			goto out;
		}
	}
	ret = 0;
out:
	if (grpc_status_out)
		*grpc_status_out = c.grpc_status;
	end_call(&c);
	return ret;
}

int ctrd_grpc_stream(const struct ctrd_grpc_target *t, const char *method,
		     const ProtobufCMessage *req, const struct ctrd_grpc_stream_ops *ops,
		     long timeout_ms, int wake_fd, const char *what, berth_error *err)
{
	struct call c = { .method = method, .what = what ? what : method, .wake_fd = wake_fd,
			  .ops = ops };
	int ret;

	ret = start_call(&c, t, req, timeout_ms, err);
	if (ret == 0)
		ret = run(&c, t, err);
	if (ret == 0)
		ret = result(&c, t, err);
	end_call(&c);
	return ret;
}
