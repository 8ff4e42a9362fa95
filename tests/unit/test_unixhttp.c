/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backends/common/unixhttp.c against a scripted HTTP server on a unix socket (a thread
 * of this program): request format, answer framing (Content-Length, chunked, read to
 * the end, 1xx, 204), keep-alive reuse and the resend on a kept connection the server
 * closed, every failure class, streams and their interruption.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "unit_main.h"
#include "unixhttp.h"

/* A NULL-safe string check, so that a failed request fails the test, not the program. */
#define ASSERT_TEXT(actual, expected)                                                    \
	CU_ASSERT_TRUE((actual) != NULL && strcmp((actual), (expected)) == 0)

/* What the server does with one request. */
struct step {
	const char *answer;  /* written after the request was read (NULL: nothing) */
	size_t split;        /* write answer in two parts at this offset (0: at once) */
	bool close_after;    /* close the connection after answering */
	bool hang;           /* keep the connection open and answer nothing */
};

#define MAX_STEPS 4
#define REQ_MAX 8192

static struct {
	char path[64];
	int lfd;
	pthread_t thread;
	pthread_mutex_t lock;
	struct step steps[MAX_STEPS];
	size_t n_steps, next;
	int accepts;
	char request[REQ_MAX]; /* the last request as received, NUL-terminated */
	int hung_fd;
	int stop[2];
} srv;

/* Reads one request (head and Content-Length body) into srv.request; false on EOF. */
static bool read_request(int fd)
{
	size_t len = 0, want = 0;

	for (;;) {
		char *end;
		ssize_t n = read(fd, srv.request + len, sizeof(srv.request) - 1 - len);

		if (n <= 0)
			return false;
		len += (size_t)n;
		srv.request[len] = '\0';
		end = strstr(srv.request, "\r\n\r\n");
		if (end && !want) {
			const char *cl = strstr(srv.request, "Content-Length: ");

			want = (size_t)(end + 4 - srv.request) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
		}
		if (want && len >= want)
			return true;
		if (len == sizeof(srv.request) - 1)
			return false;
	}
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Serves one connection; returns when the client or a step closes it. */
static void serve(int fd)
{
	while (read_request(fd)) {
		struct step s = { .close_after = true };

		pthread_mutex_lock(&srv.lock);
		if (srv.next < srv.n_steps)
			s = srv.steps[srv.next++];
		pthread_mutex_unlock(&srv.lock);
		if (s.hang) {
			srv.hung_fd = fd; /* closed by server_stop() */
			return;
		}
		if (s.answer) {
			size_t n = strlen(s.answer), first = s.split ? s.split : n;

			write_all(fd, s.answer, first);
			if (first < n) {
				usleep(20000); /* so that the client reads two pieces */
				write_all(fd, s.answer + first, n - first);
			}
		}
		if (s.close_after)
			break;
	}
	close(fd);
}

static void *server_main(void *unused)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = srv.lfd, .events = POLLIN },
				       { .fd = srv.stop[0], .events = POLLIN } };
		int fd;

		if (poll(p, 2, -1) < 0 || p[1].revents)
			return NULL;
		fd = accept(srv.lfd, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&srv.lock);
		srv.accepts++;
		pthread_mutex_unlock(&srv.lock);
		serve(fd);
	}
}

static void server_start(const struct step *steps, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.lock, NULL);
	memcpy(srv.steps, steps, n * sizeof(*steps));
	srv.n_steps = n;
	srv.hung_fd = -1;
	snprintf(srv.path, sizeof(srv.path), "/tmp/berth-unixhttp-%d.sock", (int)getpid());
	unlink(srv.path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", srv.path);
	srv.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(srv.lfd >= 0);
	CU_ASSERT_FATAL(bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(listen(srv.lfd, 8) == 0);
	CU_ASSERT_FATAL(pipe(srv.stop) == 0);
	CU_ASSERT_FATAL(pthread_create(&srv.thread, NULL, server_main, NULL) == 0);
}

static void server_stop(void)
{
	write_all(srv.stop[1], "x", 1);
	if (srv.hung_fd >= 0)
		close(srv.hung_fd);
	pthread_join(srv.thread, NULL);
	close(srv.lfd);
	close(srv.stop[0]);
	close(srv.stop[1]);
	unlink(srv.path);
	pthread_mutex_destroy(&srv.lock);
}

/* One request on a client of its own; returns unixhttp_request()'s result. */
static int one(const struct unixhttp_request *req, struct unixhttp_response *resp,
	       struct unixhttp_error *err)
{
	struct unixhttp *c = unixhttp_new(srv.path, 2);
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	rc = unixhttp_request(c, req, resp, err);
	unixhttp_free(c);
	return rc;
}

/* Serves `steps` for one request and checks its answer; srv.request stays readable
 * until the next server_start(). */
static void expect_answer(const struct step *steps, size_t n, const struct unixhttp_request *req,
			  long status, const char *body)
{
	struct unixhttp_response resp;
	struct unixhttp_error err;

	server_start(steps, n);
	CU_ASSERT_EQUAL(one(req, &resp, &err), 0);
	CU_ASSERT_EQUAL(resp.status, status);
	ASSERT_TEXT(resp.body, body);
	unixhttp_response_release(&resp);
	server_stop();
}

/* The same for a request that must fail with `failure`, the message containing `text`. */
static void expect_failure(const struct step *steps, size_t n,
			   const struct unixhttp_request *req, int failure, const char *text)
{
	struct unixhttp_response resp;
	struct unixhttp_error err;

	server_start(steps, n);
	CU_ASSERT_EQUAL(one(req, &resp, &err), -1);
	CU_ASSERT_EQUAL(err.failure, failure);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, text));
	unixhttp_response_release(&resp);
	server_stop();
}

static void test_content_length(void)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", .split = 20 },
	};
	struct unixhttp_request req = { .method = "GET", .target = "/v1.41/_ping?x=1" };
	struct unixhttp_response resp;
	struct unixhttp_error err;

	server_start(steps, N(steps));
	CU_ASSERT_EQUAL(one(&req, &resp, &err), 0);
	CU_ASSERT_EQUAL(resp.status, 200);
	ASSERT_TEXT(resp.body, "hello");
	CU_ASSERT_EQUAL(resp.body_len, 5);
	CU_ASSERT_EQUAL(err.failure, UNIXHTTP_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(srv.request, "GET /v1.41/_ping?x=1 HTTP/1.1\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(srv.request, "\r\nHost: localhost\r\n"));
	CU_ASSERT_PTR_NULL(strstr(srv.request, "Content-Length"));
	unixhttp_response_release(&resp);
	server_stop();
}

static void test_post_body(void)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}" },
		{ "HTTP/1.1 204 No Content\r\n\r\n" },
	};
	struct unixhttp_request req = { .method = "POST", .target = "/containers/create",
					.body = "{\"Image\":\"x\"}", .body_len = 13 };
	struct unixhttp_request empty = { .method = "POST", .target = "/containers/1/start" };
	struct unixhttp_response resp;
	struct unixhttp_error err;

	server_start(steps, N(steps));
	CU_ASSERT_EQUAL(one(&req, &resp, &err), 0);
	CU_ASSERT_EQUAL(resp.status, 201);
	CU_ASSERT_PTR_NOT_NULL(strstr(srv.request, "POST /containers/create HTTP/1.1\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(srv.request, "\r\nContent-Type: application/json\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(srv.request, "\r\nContent-Length: 13\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(srv.request, "\r\n\r\n{\"Image\":\"x\"}"));
	unixhttp_response_release(&resp);

	/* no body: an explicit length of 0, no content type; 204 gives an empty body */
	CU_ASSERT_EQUAL(one(&empty, &resp, &err), 0);
	CU_ASSERT_EQUAL(resp.status, 204);
	ASSERT_TEXT(resp.body, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(srv.request, "\r\nContent-Length: 0\r\n"));
	CU_ASSERT_PTR_NULL(strstr(srv.request, "Content-Type"));
	unixhttp_response_release(&resp);
	server_stop();
}

static void test_chunked(void)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", .split = 50 },
	};
	struct unixhttp_request req = { .method = "GET", .target = "/x" };

	expect_answer(steps, N(steps), &req, 200, "hello world");
}

static void test_read_to_the_end(void)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it", .close_after = true },
	};
	struct unixhttp_request req = { .method = "GET", .target = "/x" };

	expect_answer(steps, N(steps), &req, 200, "all of it");
}

static void on_headers_count(void *userdata, long status)
{
	long *seen = userdata;

	seen[0]++;
	seen[1] = status;
}

static void test_interim_answer(void)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" },
	};
	long seen[2] = { 0, 0 };
	struct unixhttp_request req = { .method = "GET", .target = "/x",
					.on_headers = on_headers_count, .userdata = seen };

	expect_answer(steps, N(steps), &req, 200, "ok");
	CU_ASSERT_EQUAL(seen[0], 1);
	CU_ASSERT_EQUAL(seen[1], 200);
}

static void test_keep_alive(void)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc" },
	};
	struct unixhttp_request req = { .method = "GET", .target = "/x" };
	struct unixhttp *c;
	struct unixhttp_response resp;
	struct unixhttp_error err;
	const char *want[] = { "a", "b", "c" };

	server_start(steps, N(steps));
	c = unixhttp_new(srv.path, 1);
	for (size_t i = 0; i < N(want); i++) {
		CU_ASSERT_EQUAL(unixhttp_request(c, &req, &resp, &err), 0);
		ASSERT_TEXT(resp.body, want[i]);
		unixhttp_response_release(&resp);
	}
	CU_ASSERT_EQUAL(srv.accepts, 1);
	unixhttp_free(c);
	server_stop();
}

static void test_no_pool_means_new_connections(void)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb" },
	};
	struct unixhttp_request req = { .method = "GET", .target = "/x" };
	struct unixhttp *c;
	struct unixhttp_response resp;
	struct unixhttp_error err;

	server_start(steps, N(steps));
	c = unixhttp_new(srv.path, 0);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(unixhttp_request(c, &req, &resp, &err), 0);
		unixhttp_response_release(&resp);
	}
	CU_ASSERT_EQUAL(srv.accepts, 2);
	unixhttp_free(c);
	server_stop();
}

/* The server drops a kept connection when the next request arrives, without a byte of
 * answer: the request goes again on a new connection. */
static void test_resend_on_closed_kept_connection(void)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst" },
		{ NULL, .close_after = true },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond" },
	};
	struct unixhttp_request req = { .method = "POST", .target = "/x" };
	struct unixhttp *c;
	struct unixhttp_response resp;
	struct unixhttp_error err;

	server_start(steps, N(steps));
	c = unixhttp_new(srv.path, 1);
	CU_ASSERT_EQUAL(unixhttp_request(c, &req, &resp, &err), 0);
	ASSERT_TEXT(resp.body, "first");
	unixhttp_response_release(&resp);
	CU_ASSERT_EQUAL(unixhttp_request(c, &req, &resp, &err), 0);
	ASSERT_TEXT(resp.body, "second");
	unixhttp_response_release(&resp);
	CU_ASSERT_EQUAL(srv.accepts, 2);
	unixhttp_free(c);
	server_stop();
}

/* A new connection closed without an answer is a failure, never resent. */
static void test_closed_without_answer(void)
{
	static const struct step steps[] = {
		{ NULL, .close_after = true },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx" },
	};
	struct unixhttp_request req = { .method = "POST", .target = "/x" };

	expect_failure(steps, N(steps), &req, UNIXHTTP_E_TRANSFER, "closed before an answer");
	CU_ASSERT_EQUAL(srv.accepts, 1);
}

static void test_truncated_answer(void)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", .close_after = true },
	};
	struct unixhttp_request req = { .method = "GET", .target = "/x" };

	expect_failure(steps, N(steps), &req, UNIXHTTP_E_TRANSFER,
		       "before the answer was complete");
}

static void test_not_http(void)
{
	static const struct step steps[] = {
		{ "SSH-2.0-OpenSSH_9.2\r\n\r\n" },
	};
	struct unixhttp_request req = { .method = "GET", .target = "/x" };

	expect_failure(steps, N(steps), &req, UNIXHTTP_E_TRANSFER, "not an HTTP answer");
}

static void test_timeout(void)
{
	static const struct step steps[] = { { NULL, .hang = true } };
	struct unixhttp_request req = { .method = "GET", .target = "/x", .timeout_ms = 100 };
	struct unixhttp_request idle = { .method = "GET", .target = "/x", .low_speed_time_s = 1 };

	expect_failure(steps, N(steps), &req, UNIXHTTP_E_TIMEOUT, "time limit");
	expect_failure(steps, N(steps), &idle, UNIXHTTP_E_TIMEOUT, "no data for 1 s");
}

static void test_too_big(void)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" },
	};
	struct unixhttp_request req = { .method = "GET", .target = "/x", .max_response = 4 };

	expect_failure(steps, N(steps), &req, UNIXHTTP_E_TOO_BIG, "larger than 4 bytes");
}

static void test_connect_failure(void)
{
	struct unixhttp *c = unixhttp_new("/tmp/berth-unixhttp-nobody-here.sock", 1);
	struct unixhttp *longer;
	struct unixhttp_request req = { .method = "GET", .target = "/x" };
	struct unixhttp_response resp;
	struct unixhttp_error err;
	char path[200];

	CU_ASSERT_EQUAL(unixhttp_request(c, &req, &resp, &err), -1);
	CU_ASSERT_EQUAL(err.failure, UNIXHTTP_E_CONNECT);
	CU_ASSERT_STRING_EQUAL(err.text, strerror(ENOENT));
	unixhttp_response_release(&resp);
	unixhttp_free(c);

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	longer = unixhttp_new(path, 1);
	CU_ASSERT_EQUAL(unixhttp_request(longer, &req, &resp, &err), -1);
	CU_ASSERT_EQUAL(err.failure, UNIXHTTP_E_CONNECT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "socket path longer than"));
	unixhttp_response_release(&resp);
	unixhttp_free(longer);
}

struct collect {
	char data[64];
	size_t len;
	int wake;  /* write end of the wake pipe: written once "hello" has come; -1: not */
	bool refuse; /* return false after the first chunk */
};

static bool on_data_collect(void *userdata, const char *data, size_t len)
{
	struct collect *c = userdata;

	if (c->len + len < sizeof(c->data)) {
		memcpy(c->data + c->len, data, len);
		c->len += len;
		c->data[c->len] = '\0';
	}
	if (c->wake >= 0 && strstr(c->data, "hello"))
		write_all(c->wake, "w", 1);
	return !c->refuse;
}

static void test_stream_woken(void)
{
	/* chunked, never finished: only the wake pipe ends it */
	static const struct step steps[] = {
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
		  .close_after = false },
		{ NULL, .hang = true },
	};
	int wake[2];
	struct collect got = { .len = 0 };
	struct unixhttp *c;
	struct unixhttp_request req = { .method = "GET", .target = "/events",
					.on_data = on_data_collect, .userdata = &got };
	struct unixhttp_response resp;
	struct unixhttp_error err;

	CU_ASSERT_FATAL(pipe(wake) == 0);
	got.wake = wake[1];
	server_start(steps, N(steps));
	c = unixhttp_new(srv.path, 1);
	CU_ASSERT_EQUAL(unixhttp_stream(c, &req, wake[0], &resp, &err), -1);
	CU_ASSERT_EQUAL(err.failure, UNIXHTTP_E_ABORTED);
	ASSERT_TEXT(got.data, "hello");
	CU_ASSERT_EQUAL(resp.status, 200);
	unixhttp_response_release(&resp);
	unixhttp_free(c);
	server_stop();
	close(wake[0]);
	close(wake[1]);
}

static void test_stream_refused_by_callback(void)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
		  .close_after = false },
		{ NULL, .hang = true },
	};
	struct collect got = { .wake = -1, .refuse = true };
	struct unixhttp *c;
	struct unixhttp_request req = { .method = "GET", .target = "/events",
					.on_data = on_data_collect, .userdata = &got };
	struct unixhttp_response resp;
	struct unixhttp_error err;

	server_start(steps, N(steps));
	c = unixhttp_new(srv.path, 1);
	CU_ASSERT_EQUAL(unixhttp_stream(c, &req, -1, &resp, &err), -1);
	CU_ASSERT_EQUAL(err.failure, UNIXHTTP_E_ABORTED);
	ASSERT_TEXT(got.data, "hello");
	unixhttp_response_release(&resp);
	unixhttp_free(c);
	server_stop();
}

static void test_stream_to_its_end(void)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "3\r\n{a}\r\n3\r\n{b}\r\n0\r\n\r\n", .split = 55 },
	};
	struct collect got = { .wake = -1 };
	struct unixhttp *c;
	struct unixhttp_request req = { .method = "POST", .target = "/images/create",
					.on_data = on_data_collect, .userdata = &got };
	struct unixhttp_response resp;
	struct unixhttp_error err;

	server_start(steps, N(steps));
	c = unixhttp_new(srv.path, 1);
	CU_ASSERT_EQUAL(unixhttp_stream(c, &req, -1, &resp, &err), 0);
	ASSERT_TEXT(got.data, "{a}{b}");
	CU_ASSERT_EQUAL(resp.body_len, 0);
	unixhttp_response_release(&resp);
	unixhttp_free(c);
	server_stop();
}

static void test_escape(void)
{
	char *e = unixhttp_escape("a b/c?d=é~_.-");

	CU_ASSERT_STRING_EQUAL(e, "a%20b%2Fc%3Fd%3D%C3%A9~_.-");
	free(e);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "Content-Length answer, request head", test_content_length },
		{ "POST with and without a body", test_post_body },
		{ "chunked answer in two reads", test_chunked },
		{ "answer read to the end of the connection", test_read_to_the_end },
		{ "100 Continue before the answer", test_interim_answer },
		{ "keep-alive: one connection for three requests", test_keep_alive },
		{ "no pool: a connection per request", test_no_pool_means_new_connections },
		{ "kept connection closed by the server: sent again", test_resend_on_closed_kept_connection },
		{ "new connection closed without an answer", test_closed_without_answer },
		{ "answer shorter than its Content-Length", test_truncated_answer },
		{ "not HTTP", test_not_http },
		{ "timeouts: whole request, silence", test_timeout },
		{ "answer over max_response", test_too_big },
		{ "connect failures", test_connect_failure },
		{ "stream interrupted through the wake fd", test_stream_woken },
		{ "stream refused by on_data", test_stream_refused_by_callback },
		{ "stream to its end", test_stream_to_its_end },
		{ "escape", test_escape },
	};

	return unit_run("unixhttp", NULL, NULL, tests, N(tests));
}
