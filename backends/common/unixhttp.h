/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unixhttp: HTTP/1.1 over a unix socket, for backends whose runtime speaks a REST API
 * on a local socket (Docker Engine API, Podman's libpod API). Answers are framed by
 * http-parser (Content-Length, chunked, read to the end, keep-alive).
 *
 * Why not libcurl: berthd with the Docker backend on libcurl measured 11.8 MB RSS and
 * 1.7 MB private dirty at idle, 6.6 MB and 0.7 MB of it for libcurl, the 26 libraries
 * it pulls in (GnuTLS, Kerberos, LDAP, libssh2, ...) and the OpenSSL set-up that
 * curl_global_init() always runs; a local socket needs none of them.
 *
 * A client keeps a small mutex-protected pool of idle keep-alive connections, so that
 * requests from several threads each get their own connection and consecutive requests
 * reuse one. A kept connection the server has closed meanwhile is detected before use,
 * and a request whose connection turns out closed before any answer byte is sent again
 * once on a new connection. Requests block; streams (event feeds, pull progress)
 * deliver the body in chunks and can be interrupted from another thread through a
 * file descriptor.
 */
#ifndef BERTH_UNIXHTTP_H
#define BERTH_UNIXHTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Why a request did not produce an HTTP response. */
enum unixhttp_failure {
	UNIXHTTP_OK = 0,
	UNIXHTTP_E_CONNECT,  /* nobody listens on the socket (missing, refused) */
	UNIXHTTP_E_TIMEOUT,  /* no complete answer in time */
	UNIXHTTP_E_TRANSFER, /* the connection broke or the answer was not HTTP */
	UNIXHTTP_E_TOO_BIG,  /* the body exceeded the request's max_response */
	UNIXHTTP_E_ABORTED,  /* the caller's on_data returned false or wake_fd fired */
	UNIXHTTP_E_NOMEM,
};

#define UNIXHTTP_ERROR_MAX 256

struct unixhttp_error {
	int failure;                  /* enum unixhttp_failure */
	char text[UNIXHTTP_ERROR_MAX]; /* e.g. "Connection refused" */
};

struct unixhttp_request {
	const char *method;       /* "GET", "POST", "DELETE" */
	const char *target;       /* path and query, escaped: "/v1.41/containers/json?all=1" */
	const char *body;         /* NULL: no body */
	size_t body_len;
	const char *content_type; /* default "application/json" when there is a body */
	long timeout_ms;          /* whole request; 0: none */
	long low_speed_time_s;    /* fail when no byte arrives for this long; 0: off */
	size_t max_response;      /* collected body limit; 0: UNIXHTTP_DEFAULT_MAX_RESPONSE */

	/* Streaming: when on_data is set the body is handed over chunk by chunk instead of
	 * being collected; returning false aborts the transfer (UNIXHTTP_E_ABORTED). */
	bool (*on_data)(void *userdata, const char *data, size_t len);
	/* Called once when the response headers are complete, with the HTTP status. */
	void (*on_headers)(void *userdata, long status);
	void *userdata;
};

#define UNIXHTTP_DEFAULT_MAX_RESPONSE (8u << 20)

struct unixhttp_response {
	long status;   /* HTTP status */
	char *body;    /* malloc()ed and NUL-terminated (empty when streamed); see release */
	size_t body_len;
};

struct unixhttp;

/* A client for `socket_path` keeping at most `pool_max` idle connections (0: no pooling,
 * a new connection per request). Returns NULL when out of memory. */
struct unixhttp *unixhttp_new(const char *socket_path, unsigned pool_max);
void unixhttp_free(struct unixhttp *c);
const char *unixhttp_socket(const struct unixhttp *c);

/*
 * Performs one request. Returns 0 when the server answered (any HTTP status: look at
 * resp->status) and -1 when it did not (err says why). resp must be released with
 * unixhttp_response_release() in both cases.
 */
int unixhttp_request(struct unixhttp *c, const struct unixhttp_request *req,
		     struct unixhttp_response *resp, struct unixhttp_error *err);

/*
 * Like unixhttp_request() for a long-lived stream, on a connection of its own (not from
 * the pool, never kept) so that it is never reused by a short request. It returns when the
 * server ends the body, on failure, or promptly (within a few ms) after `wake_fd`
 * becomes readable (UNIXHTTP_E_ABORTED; the byte is not consumed).
 */
int unixhttp_stream(struct unixhttp *c, const struct unixhttp_request *req, int wake_fd,
		    struct unixhttp_response *resp, struct unixhttp_error *err);

void unixhttp_response_release(struct unixhttp_response *resp);

/* Percent-encodes `s` for a query value (RFC 3986 unreserved characters pass).
 * returns: malloc()ed, caller frees; NULL when out of memory. */
char *unixhttp_escape(const char *s);

#endif
